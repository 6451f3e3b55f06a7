//! Command line and environment (listed in the crate README, which the Helm chart follows).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use sanxiang_domain::Clock;
use sanxiang_tenant_service::auth::Verifier;
use sanxiang_tenant_service::config::OidcArgs;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "sanxiang-supervision",
    version,
    about = "The supervision workspace (执法监督工作台) fed by the province's aggregate stream"
)]
pub struct Args {
    #[arg(long, env = "SANXIANG_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// /live, /ready and /metrics.
    #[arg(long, env = "SANXIANG_ADMIN_LISTEN", default_value = "0.0.0.0:9090")]
    pub admin_listen: SocketAddr,
    /// The workspace's own PostgreSQL database (it runs its migrations at start).
    #[arg(long, env = "SANXIANG_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    #[arg(long, env = "SANXIANG_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,
    #[arg(
        long,
        env = "SANXIANG_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats_url: String,
    /// A NATS credentials file (.creds) allowed to read the aggregate stream.
    #[arg(long, env = "SANXIANG_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// The aggregate stream followed, e.g. SX_PROVINCE_210000.
    #[arg(long, env = "SANXIANG_STREAM")]
    pub stream: String,
    /// Durable consumer name on that stream.
    #[arg(long, env = "SANXIANG_CONSUMER", default_value = "supervision")]
    pub consumer: String,
    /// Messages per fetch; each fetch is applied in one transaction.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Static HS256 secret for tokens (local runs, tests).
    #[arg(long, env = "SANXIANG_JWT_HS256_SECRET_FILE")]
    pub jwt_hs256_secret_file: Option<PathBuf>,
    /// Ed25519 or RSA public key (PEM) for tokens.
    #[arg(long, env = "SANXIANG_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// OpenID Connect, exactly as the tenant service takes it (`--oidc-issuer`,
    /// `--oidc-audience`, `--oidc-groups-claim`, `--oidc-group-prefix`,
    /// `--oidc-jwks-refetch-seconds`, `--oidc-ca-file`).
    #[command(flatten)]
    pub oidc: OidcArgs,
    /// WorkCalendar YAML files (for runs without Kubernetes).
    #[arg(
        long,
        env = "SANXIANG_CALENDAR_DIR",
        conflicts_with = "calendars_from_kube"
    )]
    pub calendar_dir: Option<PathBuf>,
    /// Watch the cluster's WorkCalendar objects (KUBECONFIG or in-cluster).
    #[arg(long, env = "SANXIANG_CALENDARS_FROM_KUBE")]
    pub calendars_from_kube: bool,
    /// Watch the cluster's SupervisionPlan and Agency objects for milestones due and missed
    /// (needs `get/list/watch` on `supervisionplans` and `agencies.sanxiang.io`).
    #[arg(long, env = "SANXIANG_PLANS_FROM_KUBE")]
    pub plans_from_kube: bool,
    /// Pin "now" (RFC 3339) for tests and demonstrations.
    #[arg(long, env = "SANXIANG_TEST_NOW")]
    pub now: Option<String>,
}

impl Args {
    pub fn verifier(&self) -> anyhow::Result<Verifier> {
        Verifier::from_files(
            self.jwt_hs256_secret_file.as_deref(),
            self.jwt_public_key_file.as_deref(),
            self.oidc.settings()?,
        )
    }

    pub fn clock(&self) -> anyhow::Result<Clock> {
        match &self.now {
            Some(n) => Clock::parse_fixed(n).map_err(|e| anyhow::anyhow!("--now {n:?}: {e}")),
            None => Ok(Clock::system()),
        }
    }

    pub fn nats_timeout(&self) -> Duration {
        Duration::from_secs(5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_tenant_services_oidc_flags() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(ca.path(), b"-----BEGIN CERTIFICATE-----\n").unwrap();
        let args = Args::try_parse_from([
            "sanxiang-supervision",
            "--database-url=postgres://x/y",
            "--stream=SX_PROVINCE_210000",
            "--oidc-issuer=https://id.example.invalid/",
            "--oidc-audience=sanxiang-api",
            "--oidc-groups-claim=ext.groups",
            "--oidc-group-prefix=lnsx",
            &format!("--oidc-ca-file={}", ca.path().display()),
        ])
        .unwrap();
        let s = args.oidc.settings().unwrap().expect("OIDC configured");
        assert_eq!(
            (s.mapping.claim.as_str(), s.mapping.prefix.as_str()),
            ("ext.groups", "lnsx")
        );
        assert_eq!(
            s.ca_pem.as_deref(),
            Some(&b"-----BEGIN CERTIFICATE-----\n"[..])
        );
        let bad = Args::try_parse_from([
            "sanxiang-supervision",
            "--database-url=postgres://x/y",
            "--stream=S",
            "--oidc-issuer=https://id.example.invalid/",
            "--oidc-audience=a",
            "--oidc-group-prefix=a:b",
        ])
        .unwrap();
        let e = bad.oidc.settings().unwrap_err().to_string();
        assert!(e.contains("--oidc-group-prefix"), "{e}");
    }
}
