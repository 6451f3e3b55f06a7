//! Command line and environment (listed in the crate README, which the Helm chart follows).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use sanxiang_domain::Clock;
use sanxiang_tenant_service::auth::{OidcSettings, Verifier};

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
    /// The OpenID Connect issuer whose tokens are accepted (roles from its groups).
    #[arg(long, env = "SANXIANG_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    #[arg(long, env = "SANXIANG_OIDC_AUDIENCE", requires = "oidc_issuer")]
    pub oidc_audience: Option<String>,
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
        let oidc = match (&self.oidc_issuer, &self.oidc_audience) {
            (Some(i), Some(a)) => Some(OidcSettings::new(i.clone(), a.clone())),
            (Some(_), None) => anyhow::bail!("--oidc-issuer needs --oidc-audience"),
            _ => None,
        };
        Verifier::from_files(
            self.jwt_hs256_secret_file.as_deref(),
            self.jwt_public_key_file.as_deref(),
            oidc,
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
