use clap::Parser;
use sanxiang_disclosure::config::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .json()
        .init();
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Serve) => sanxiang_disclosure::serve(cli.common, cli.serve).await,
        Some(Command::Rebuild { into }) => sanxiang_disclosure::rebuild(cli.common, into).await,
        Some(Command::Dump) => sanxiang_disclosure::dump(&cli.common),
    }
}
