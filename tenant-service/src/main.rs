use clap::Parser;
use sanxiang_tenant_service::Service;
use sanxiang_tenant_service::config::Args;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .json()
        .init();
    let args = Args::parse();
    let settings = args.settings()?;
    let api = tokio::net::TcpListener::bind(args.listen).await?;
    let admin = tokio::net::TcpListener::bind(args.admin_listen).await?;
    let service = Service::start(settings, api, admin).await?;
    shutdown_signal().await?;
    tracing::info!("shutting down");
    service.stop().await;
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM (Kubernetes stopping the pod).
async fn shutdown_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
