//! Command-line configuration.

use crate::auth::Verifier;
use crate::calendar::{CalendarSource, Calendars};
use crate::db::PoolSettings;
use crate::tenants::{FileTenantSource, TenantRegistry, TenantSource};
use crate::{NatsSettings, Settings};
use clap::Parser;
use sanxiang_domain::Clock;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "sanxiang-tenant-service",
    version,
    about = "Sanxiang tenant service"
)]
pub struct Args {
    /// Address of the public API.
    #[arg(long, env = "SANXIANG_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Address of the admin port (/metrics, /live, /ready).
    #[arg(long, env = "SANXIANG_ADMIN_LISTEN", default_value = "0.0.0.0:9090")]
    pub admin_listen: SocketAddr,
    /// Tenants directory file (YAML) for local runs.
    #[arg(long, env = "SANXIANG_TENANTS_FILE")]
    pub tenants_file: Option<PathBuf>,
    /// Read tenants from the operator's database Secrets in the cluster.
    #[arg(
        long,
        env = "SANXIANG_TENANTS_FROM_KUBE",
        conflicts_with = "tenants_file"
    )]
    pub tenants_from_kube: bool,
    /// Limit the Secret watch to one namespace (default: all namespaces). In a cluster,
    /// the namespace where the operator keeps the copies of the agencies' database Secrets
    /// (its --tenant-credentials-namespace), so that a Role there is all the service needs.
    #[arg(long, env = "SANXIANG_KUBE_NAMESPACE")]
    pub kube_namespace: Option<String>,
    /// Directory of WorkCalendar YAML files, for runs without Kubernetes. With
    /// --tenants-from-kube the calendars are the cluster's WorkCalendar objects, watched.
    #[arg(
        long,
        env = "SANXIANG_CALENDAR_DIR",
        conflicts_with = "tenants_from_kube"
    )]
    pub calendar_dir: Option<PathBuf>,
    /// File holding the HS256 secret for bearer tokens.
    #[arg(long, env = "SANXIANG_JWT_HS256_SECRET_FILE")]
    pub jwt_hs256_secret_file: Option<PathBuf>,
    /// PEM public key (Ed25519 or RSA) for bearer tokens.
    #[arg(long, env = "SANXIANG_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// OpenID Connect (`--oidc-*`), shared with the supervision workspace.
    #[command(flatten)]
    pub oidc: OidcArgs,
    /// NATS URL; without it the outbox is kept but not relayed.
    #[arg(long, env = "SANXIANG_NATS_URL")]
    pub nats_url: Option<String>,
    #[arg(long, env = "SANXIANG_NATS_USER")]
    pub nats_user: Option<String>,
    #[arg(long, env = "SANXIANG_NATS_PASSWORD")]
    pub nats_password: Option<String>,
    /// NATS credentials file (JWT + nkey).
    #[arg(long, env = "SANXIANG_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// Fixed "now" for tests (RFC 3339).
    #[arg(long, env = "SANXIANG_TEST_NOW")]
    pub now: Option<String>,
    /// Total database connections over all tenants.
    #[arg(long, default_value_t = 200)]
    pub max_db_connections: u32,
    /// Connections per tenant pool.
    #[arg(long, default_value_t = 5)]
    pub connections_per_tenant: u32,
    /// Close a tenant's pool after this many idle seconds.
    #[arg(long, default_value_t = 300)]
    pub pool_idle_seconds: u64,
    /// Seconds between metric scans.
    #[arg(long, default_value_t = 30)]
    pub scan_interval_seconds: u64,
    /// Seconds between outbox sweeps over every tenant (writes are relayed at once anyway).
    #[arg(long, default_value_t = 10)]
    pub relay_sweep_seconds: u64,
    /// Milliseconds a tenant query may run (PostgreSQL `statement_timeout`).
    #[arg(long, default_value_t = 5000)]
    pub statement_timeout_ms: u64,
    /// Seconds a client has to send its request headers.
    #[arg(long, default_value_t = 10)]
    pub header_read_timeout_seconds: u64,
    /// Longest accepted bearer-token lifetime: `exp` at most this many seconds ahead.
    #[arg(
        long,
        env = "SANXIANG_MAX_TOKEN_LIFETIME_SECONDS",
        default_value_t = 86_400
    )]
    pub max_token_lifetime_seconds: u64,
    /// Role that approves publications as the second person (`none`: no approval step).
    #[arg(
        long,
        env = "SANXIANG_PUBLICATION_APPROVER_ROLE",
        default_value = "agency_admin"
    )]
    pub publication_approver_role: String,
    /// Working days the legal office has for a review opinion.
    #[arg(long, env = "SANXIANG_REVIEW_TIME_LIMIT_DAYS", default_value_t = 10)]
    pub review_time_limit_days: u32,
    /// Directory of per-agency record-signing keys (`<agency>.key`, hex Ed25519 seed),
    /// outside the tenant databases.
    #[arg(long, env = "SANXIANG_RECORD_SIGNING_KEY_DIR")]
    pub record_signing_key_dir: Option<PathBuf>,
    /// The market regulator (`market_regulator` role of the agency's county or city), not
    /// the justice bureau, reviews random-inspection lists (随机抽查事项清单).
    #[arg(long, env = "SANXIANG_MARKET_REGULATOR_REVIEWS_RANDOM_INSPECTIONS")]
    pub market_regulator_reviews_random_inspections: bool,
}

impl Args {
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let clock = match &self.now {
            Some(n) => Clock::parse_fixed(n).map_err(|e| anyhow::anyhow!("--now {n:?}: {e}"))?,
            None => Clock::system(),
        };
        let verifier = Verifier::from_files(
            self.jwt_hs256_secret_file.as_deref(),
            self.jwt_public_key_file.as_deref(),
            self.oidc.settings()?,
        )?
        .with_max_lifetime(Duration::from_secs(self.max_token_lifetime_seconds));
        let publication_approver = match self.publication_approver_role.as_str() {
            "none" => None,
            r => Some(
                serde_json::from_value::<crate::auth::Role>(serde_json::json!(r)).map_err(|_| {
                    anyhow::anyhow!(
                        "--publication-approver-role {r:?}: expected none, officer, reviewer or agency_admin"
                    )
                })?,
            ),
        };
        anyhow::ensure!(
            publication_approver.is_none_or(|r| !r.is_supervisor()),
            "--publication-approver-role must be a role of the agency"
        );
        anyhow::ensure!(
            (1..=60).contains(&self.review_time_limit_days),
            "--review-time-limit-days must be between 1 and 60"
        );
        let (calendars, calendar_source): (_, Option<Box<dyn CalendarSource>>) =
            if self.tenants_from_kube {
                (
                    Calendars::awaiting_source(),
                    Some(Box::new(crate::kube_source::KubeCalendarSource::new())),
                )
            } else {
                (Calendars::from_dir(self.calendar_dir.as_deref())?, None)
            };
        let tenant_source: Box<dyn TenantSource> =
            match (&self.tenants_file, self.tenants_from_kube) {
                (Some(f), false) => Box::new(FileTenantSource::new(f)),
                (None, true) => Box::new(crate::kube_source::KubeSecretSource::new(
                    self.kube_namespace.clone(),
                )),
                _ => anyhow::bail!("give --tenants-file or --tenants-from-kube"),
            };
        let nats = self.nats_url.as_ref().map(|url| NatsSettings {
            url: url.clone(),
            user: self.nats_user.clone(),
            password: self.nats_password.clone(),
            creds_file: self.nats_creds.clone(),
        });
        anyhow::ensure!(
            self.connections_per_tenant >= 1,
            "--connections-per-tenant must be at least 1"
        );
        anyhow::ensure!(
            self.max_db_connections >= self.connections_per_tenant,
            "--max-db-connections must be at least --connections-per-tenant"
        );
        Ok(Settings {
            tenants: TenantRegistry::new(),
            tenant_source: Some(tenant_source),
            calendars,
            calendar_source,
            verifier,
            clock,
            pools: PoolSettings {
                max_total_connections: self.max_db_connections,
                per_tenant_connections: self.connections_per_tenant,
                idle_timeout: Duration::from_secs(self.pool_idle_seconds),
                acquire_timeout: Duration::from_secs(10),
                statement_timeout: Duration::from_millis(self.statement_timeout_ms.max(100)),
                ..Default::default()
            },
            nats,
            scan_interval: Duration::from_secs(self.scan_interval_seconds.max(1)),
            relay_sweep: Duration::from_secs(self.relay_sweep_seconds.max(1)),
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds.max(1)),
            policy: crate::state::Policy {
                publication_approver,
                review_time_limit_days: self.review_time_limit_days,
                signing_key_dir: self.record_signing_key_dir.clone(),
                market_regulator_reviews_random_inspections: self
                    .market_regulator_reviews_random_inspections,
            },
        })
    }
}

/// The OpenID Connect flags, one definition for every binary that verifies the platform's
/// tokens (the tenant service and the supervision workspace flatten it into their
/// arguments).
#[derive(Debug, Clone, clap::Args)]
pub struct OidcArgs {
    /// OpenID Connect issuer whose tokens are accepted (exactly as in its tokens' `iss`);
    /// its keys are found by discovery and JWKS.
    #[arg(long, env = "SANXIANG_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// Audience the provider's tokens must be issued for (this API).
    #[arg(long, env = "SANXIANG_OIDC_AUDIENCE", requires = "oidc_issuer")]
    pub oidc_audience: Option<String>,
    /// Claim holding the user's groups (a dotted path for nested claims, e.g. `ext.groups`).
    #[arg(long, env = "SANXIANG_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,
    /// Prefix of Sanxiang's groups (`<prefix>:<agency>:officer`, …).
    #[arg(long, env = "SANXIANG_OIDC_GROUP_PREFIX", default_value = "sx")]
    pub oidc_group_prefix: String,
    /// Fewest seconds between two fetches of the provider's keys (an unknown `kid` asks
    /// for a fetch).
    #[arg(long, env = "SANXIANG_OIDC_JWKS_REFETCH_SECONDS", default_value_t = 30)]
    pub oidc_jwks_refetch_seconds: u64,
    /// PEM CA bundle to trust for the provider's TLS (besides the system's).
    #[arg(long, env = "SANXIANG_OIDC_CA_FILE")]
    pub oidc_ca_file: Option<PathBuf>,
}

impl OidcArgs {
    /// The verifier's OIDC settings, or `None` without `--oidc-issuer`.
    pub fn settings(&self) -> anyhow::Result<Option<crate::auth::OidcSettings>> {
        let Some(issuer) = &self.oidc_issuer else {
            return Ok(None);
        };
        let audience = self
            .oidc_audience
            .clone()
            .ok_or_else(|| anyhow::anyhow!("--oidc-issuer needs --oidc-audience"))?;
        anyhow::ensure!(
            !self.oidc_group_prefix.is_empty() && !self.oidc_group_prefix.contains(':'),
            "--oidc-group-prefix must be non-empty and hold no ':'"
        );
        let mut s = crate::auth::OidcSettings::new(issuer.clone(), audience);
        s.mapping = crate::auth::GroupMapping {
            claim: self.oidc_groups_claim.clone(),
            prefix: self.oidc_group_prefix.clone(),
        };
        s.refetch_min_interval = Duration::from_secs(self.oidc_jwks_refetch_seconds.max(1));
        if let Some(f) = &self.oidc_ca_file {
            s.ca_pem = Some(std::fs::read(f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?);
        }
        Ok(Some(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_to_settings() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("jwt");
        std::fs::write(&secret, "0123456789abcdef0123\n").unwrap();
        let tenants = dir.path().join("tenants.yaml");
        std::fs::write(&tenants, "[]").unwrap();
        let args = Args::try_parse_from([
            "sanxiang-tenant-service",
            "--tenants-file",
            tenants.to_str().unwrap(),
            "--jwt-hs256-secret-file",
            secret.to_str().unwrap(),
            "--now",
            "2026-03-12T02:00:00Z",
            "--max-db-connections",
            "50",
            "--connections-per-tenant",
            "5",
        ])
        .unwrap();
        let s = args.settings().unwrap();
        assert_eq!(s.clock.today().to_string(), "2026-03-12");
        assert_eq!(s.pools.max_pools(), 10);
        assert!(s.nats.is_none());
        // Neither tenant source: refused.
        let args = Args::try_parse_from(["x", "--jwt-hs256-secret-file", secret.to_str().unwrap()])
            .unwrap();
        assert!(args.settings().is_err());
        // No JWT key: refused.
        let args =
            Args::try_parse_from(["x", "--tenants-file", tenants.to_str().unwrap()]).unwrap();
        let err = args.settings().err().expect("refused");
        assert!(err.to_string().contains("JWT"), "{err}");
    }
}
