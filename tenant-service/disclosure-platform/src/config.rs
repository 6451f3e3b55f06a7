//! Command line and environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "sanxiang-disclosure",
    version,
    about = "The provincial disclosure platform (行政执法信息公示平台)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub serve: Serve,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the portal and follow the stream (the default).
    Serve,
    /// Replay the whole stream into a new, empty index directory and exit.
    Rebuild {
        /// The new index directory (must not hold an index).
        #[arg(long)]
        into: PathBuf,
    },
    /// Print every stored document of an index as JSON lines, sorted by key.
    Dump,
}

/// What both serving and rebuilding need.
#[derive(Debug, Clone, ClapArgs)]
pub struct Common {
    /// NATS server URL(s), comma-separated.
    #[arg(
        long,
        env = "SANXIANG_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats_url: String,
    /// A NATS credentials file (.creds: user JWT and NKey seed) for operator mode.
    #[arg(long, env = "SANXIANG_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    #[arg(long, env = "SANXIANG_NATS_USER")]
    pub nats_user: Option<String>,
    #[arg(long, env = "SANXIANG_NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// The aggregate stream followed, e.g. SX_PROVINCE_210000 (or SX_CITY_210100 for a
    /// city's own portal).
    #[arg(long, env = "SANXIANG_STREAM")]
    pub stream: String,
    /// Durable consumer name.
    #[arg(long, env = "SANXIANG_CONSUMER", default_value = "disclosure-platform")]
    pub consumer: String,
    /// Index directory (a persistent volume in Kubernetes).
    #[arg(
        long,
        env = "SANXIANG_INDEX_DIR",
        default_value = "/var/lib/sanxiang-disclosure/index"
    )]
    pub index_dir: PathBuf,
    /// Messages per fetch; a commit follows each fetch.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Indexing memory budget in MB.
    #[arg(long, default_value_t = 64)]
    pub index_memory_mb: usize,
    /// Read the directory (Agency, Jurisdiction objects) from Kubernetes.
    #[arg(long, default_value_t = false)]
    pub directory_from_kube: bool,
    /// Watch Agencies only in this namespace (default: all namespaces).
    #[arg(long)]
    pub agency_namespace: Option<String>,
}

/// Serving only.
#[derive(Debug, Clone, ClapArgs)]
pub struct Serve {
    #[arg(long, env = "SANXIANG_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    #[arg(long, env = "SANXIANG_ADMIN_LISTEN", default_value = "0.0.0.0:9090")]
    pub admin_listen: SocketAddr,
    /// Portal title; default: <province>行政执法信息公示平台.
    #[arg(long)]
    pub title: Option<String>,
    /// Origins allowed to call the JSON API from a browser (repeatable; `*` for any).
    #[arg(long = "cors-origin")]
    pub cors_origins: Vec<String>,
    /// Sustained requests per second per client.
    #[arg(long, default_value_t = 20.0)]
    pub rate_limit_per_second: f64,
    /// Burst per client.
    #[arg(long, default_value_t = 60.0)]
    pub rate_limit_burst: f64,
    /// Take the client address from X-Forwarded-For (behind an ingress).
    #[arg(long, default_value_t = false)]
    pub trust_forwarded_for: bool,
    /// Natural persons' publications are hidden this many days after publication
    /// (default: kept).
    #[arg(long)]
    pub natural_person_retention_days: Option<u32>,
    /// /ready fails when more messages than this are waiting.
    #[arg(long, default_value_t = 1000)]
    pub ready_max_lag_messages: u64,
    /// /ready fails when the oldest waiting message is older than this.
    #[arg(long, default_value_t = 120)]
    pub ready_max_lag_seconds: u64,
    /// Cache-Control max-age of public pages, seconds.
    #[arg(long, default_value_t = 10)]
    pub cache_max_age: u32,
}
