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

    /// Superuser URL of the default PostgreSQL server (Agency spec.database.server
    /// "default").
    #[arg(long, env = "SANXIANG_POSTGRES_URL")]
    pub postgres_url: String,

    /// YAML map of further PostgreSQL servers, name -> superuser URL, for agencies placed
    /// beyond the default server.
    #[arg(long, env = "SANXIANG_POSTGRES_SERVERS_FILE")]
    pub postgres_servers_file: Option<PathBuf>,

    /// Host name tenants use to reach the default server, when it differs from the
    /// operator's (e.g. a Service name); defaults to the host of --postgres-url.
    #[arg(long, env = "SANXIANG_POSTGRES_TENANT_HOST")]
    pub postgres_tenant_host: Option<String>,

    /// NATS server URL.
    #[arg(long, env = "SANXIANG_NATS_URL")]
    pub nats_url: String,

    /// NATS administrator user (JetStream API access).
    #[arg(long, env = "SANXIANG_NATS_USER")]
    pub nats_user: String,

    #[arg(long, env = "SANXIANG_NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: String,

    /// The NATS authorization file the operator owns: rewritten with the static users
    /// plus one user per agency, then the server is told to reload.
    #[arg(long, env = "SANXIANG_NATS_AUTH_FILE")]
    pub nats_auth_file: PathBuf,

    /// JSON list of users that exist independently of agencies (administrators, the tenant
    /// service): `[{"user": .., "password": .., "permissions": {..}|null}]`.
    #[arg(long, env = "SANXIANG_NATS_STATIC_USERS_FILE")]
    pub nats_static_users_file: PathBuf,

    /// nats-server's pid file; the operator sends SIGHUP to reload the authorization file.
    /// Without it, a config-reloader sidecar is expected to do so.
    #[arg(long, env = "SANXIANG_NATS_PID_FILE")]
    pub nats_pid_file: Option<PathBuf>,

    /// bcrypt cost for NATS password hashes.
    #[arg(long, default_value_t = 10)]
    pub nats_bcrypt_cost: u32,

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
