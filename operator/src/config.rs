//! Command-line configuration. Every flag also reads an environment variable, so secrets
//! (database and NATS URLs with passwords) come from Secrets in a Deployment rather than
//! from the command line.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

#[derive(Clone, Debug, Parser)]
#[command(name = "sanxiang-operator", version, about)]
pub struct Config {
    /// Address of the admin server (/live, /ready, /metrics).
    #[arg(long, env = "SANXIANG_ADMIN_ADDR", default_value = "127.0.0.1:8080")]
    pub admin_addr: SocketAddr,

    /// URL of the operator's role on the default PostgreSQL server (Agency
    /// spec.database.server "default"): LOGIN CREATEDB CREATEROLE and pg_signal_backend,
    /// no superuser (docs/deploy.md).
    #[arg(long, env = "SANXIANG_POSTGRES_URL")]
    pub postgres_url: String,

    /// YAML map of further PostgreSQL servers, name -> URL of the operator's role there,
    /// for agencies placed beyond the default server.
    #[arg(long, env = "SANXIANG_POSTGRES_SERVERS_FILE")]
    pub postgres_servers_file: Option<PathBuf>,

    /// Host name tenants use to reach the default server, when it differs from the
    /// operator's (e.g. a Service name); defaults to the host of --postgres-url.
    #[arg(long, env = "SANXIANG_POSTGRES_TENANT_HOST")]
    pub postgres_tenant_host: Option<String>,

    /// NATS server URL.
    #[arg(long, env = "SANXIANG_NATS_URL")]
    pub nats_url: String,

    /// Credentials (`.creds`) of a user of NATS's system account: the operator pushes
    /// account JWTs with `$SYS.REQ.CLAIMS.UPDATE` and checks them with `CLAIMS.LIST`.
    #[arg(long, env = "SANXIANG_NATS_SYSTEM_CREDS_FILE")]
    pub nats_system_creds_file: PathBuf,

    /// Seed of the NATS operator signing key (listed in the operator JWT); signs account
    /// JWTs.
    #[arg(long, env = "SANXIANG_NATS_OPERATOR_SIGNING_KEY_FILE")]
    pub nats_operator_signing_key_file: PathBuf,

    /// Seed of the account signing key (listed in every account JWT); signs user JWTs.
    #[arg(long, env = "SANXIANG_NATS_ACCOUNT_SIGNING_KEY_FILE")]
    pub nats_account_signing_key_file: PathBuf,

    /// JetStream file storage of the aggregate account (all county, city and province
    /// streams), bytes.
    #[arg(long, env = "SANXIANG_NATS_AGGREGATE_DISK_BYTES", default_value_t = 4 << 30)]
    pub nats_aggregate_disk_bytes: i64,

    /// JetStream memory storage of the aggregate account, bytes.
    #[arg(long, env = "SANXIANG_NATS_AGGREGATE_MEMORY_BYTES", default_value_t = 256 << 20)]
    pub nats_aggregate_memory_bytes: i64,

    /// Largest message any account may publish, bytes (an agency's own limit may only be
    /// lower).
    #[arg(long, env = "SANXIANG_NATS_MAX_PAYLOAD_BYTES", default_value_t = 1 << 20)]
    pub nats_max_payload_bytes: i64,

    /// Limits of every aggregate stream (county, city, province): bytes. A full stream
    /// refuses new messages (it never drops records); raise this or the quota above.
    #[arg(long, env = "SANXIANG_NATS_STREAM_MAX_BYTES", default_value_t = 128 << 20)]
    pub nats_stream_max_bytes: i64,

    /// Limits of every aggregate stream: messages.
    #[arg(
        long,
        env = "SANXIANG_NATS_STREAM_MAX_MESSAGES",
        default_value_t = 10_000_000
    )]
    pub nats_stream_max_messages: i64,

    /// Replicas of every aggregate stream (3 on a three-server cluster, so losing one
    /// server loses nothing and stops nothing).
    #[arg(long, env = "SANXIANG_NATS_STREAM_REPLICAS", default_value_t = 1)]
    pub nats_stream_replicas: usize,

    /// Name of a Secret (in --lease-namespace, the release namespace) the operator creates,
    /// if missing, with the tenant service's NATS credentials (key `creds`).
    #[arg(long, env = "SANXIANG_NATS_TENANT_SERVICE_SECRET")]
    pub nats_tenant_service_secret: Option<String>,

    /// How long rotated-out agency credentials keep working, seconds.
    #[arg(
        long,
        env = "SANXIANG_NATS_ROTATION_GRACE_SECONDS",
        default_value_t = 300
    )]
    pub nats_rotation_grace_seconds: u64,

    /// From this day of each year (MM-DD) next year's WorkCalendar is expected:
    /// `sanxiang_calendar_year_missing` reads 1 for it until it is loaded.
    #[arg(
        long,
        env = "SANXIANG_CALENDAR_WARN_FROM",
        default_value = "11-01",
        value_parser = crate::calendar_watch::parse_month_day
    )]
    pub calendar_warn_from: sanxiang_crds::month_day::MonthDay,

    /// Base URL of the runbooks linked from alerts.
    #[arg(
        long,
        env = "SANXIANG_RUNBOOK_BASE_URL",
        default_value = "https://sanxiang.example/docs/runbooks"
    )]
    pub runbook_base_url: String,

    /// Base URL of the province's disclosure platform: alerts link the agency's page,
    /// `<url>/agencies/<agency>` (annotation `agency_url`). Unset: no link.
    #[arg(long, env = "SANXIANG_PORTAL_BASE_URL")]
    pub portal_base_url: Option<String>,

    /// Namespace where the operator keeps a copy of every agency's database Secret, the
    /// only Secrets the tenant service may read (`credential_copies`); unset: no copies
    /// (the tenant service then needs to read the agencies' namespaces).
    #[arg(long, env = "SANXIANG_TENANT_CREDENTIALS_NAMESPACE")]
    pub tenant_credentials_namespace: Option<String>,

    /// Namespace of the leader-election Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "sanxiang-system")]
    pub lease_namespace: String,

    /// Name of the leader-election Lease.
    #[arg(long, default_value = "sanxiang-operator")]
    pub lease_name: String,

    /// Identity of this replica in the Lease (defaults to the host name).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,

    /// Exit when standard input closes: lets a test or `make up` tie the operator's life
    /// to its parent's without signals.
    #[arg(long, hide = true)]
    pub exit_on_stdin_close: bool,

    /// Agencies reconciled at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: u16,

    /// Seconds between orphan sweeps, which lock (never drop) tenant databases whose
    /// Agency is gone without the operator's cleanup; the first runs on becoming leader.
    /// 0: never — only for an operator whose PostgreSQL servers also hold the tenants of
    /// another cluster (whose Agencies it cannot see), as in tests with a private apiserver.
    #[arg(long, env = "SANXIANG_ORPHAN_SWEEP_SECONDS", default_value_t = 300)]
    pub orphan_sweep_seconds: u64,
}

impl Config {
    /// PostgreSQL servers by name: "default" plus those of --postgres-servers-file.
    pub fn postgres_servers(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let mut servers = BTreeMap::new();
        if let Some(path) = &self.postgres_servers_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            servers = serde_yaml::from_str(&text).map_err(|e| {
                anyhow::anyhow!("{}: expected a map of name -> URL: {e}", path.display())
            })?;
        }
        servers.insert("default".into(), self.postgres_url.clone());
        Ok(servers)
    }
}
