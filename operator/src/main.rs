//! `sanxiang-operator`: parses flags, sets up logging and runs [`sanxiang_operator::run`].

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,kube=warn,sqlx=warn".into()),
        )
        .init();
    let config = sanxiang_operator::Config::parse();
    if config.exit_on_stdin_close {
        tokio::spawn(async {
            use tokio::io::AsyncReadExt;
            let mut sink = Vec::new();
            let _ = tokio::io::stdin().read_to_end(&mut sink).await;
            tracing::info!("standard input closed; exiting");
            std::process::exit(0);
        });
    }
    sanxiang_operator::run(config).await
}
