//! The supervision workspace (执法监督工作台) of the county, city and province justice
//! bureaus.
//!
//! It reads what agencies pushed upward — the province's aggregate JetStream stream
//! ([`ingest`]) — and never an agency's database: decision metadata without personal data,
//! compliance counts and milestone reports (payloads in `sanxiang_domain::supervision`).
//! On top of that it keeps what supervisors do, in its own PostgreSQL database: notices
//! (通报) with a rectification deadline in working days, the agency's answers, acceptance or
//! return, accountability (问责) ([`api::notices`]); inspections; confirmation of reported
//! milestones ([`api::milestones`]); case-file review (案卷评查) on a reproducible sample
//! ([`sample`], [`api::reviews`]). Milestones due and missed per agency come from the
//! SupervisionPlans it watches ([`duties`]). Who sees what: [`scope`].

pub mod api;
pub mod config;
pub mod duties;
pub mod ingest;
pub mod metrics;
pub mod sample;
pub mod scope;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sanxiang_domain::Clock;
use sanxiang_tenant_service::auth::Verifier;
use sanxiang_tenant_service::calendar::{CalendarSource, Calendars};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The workspace's own schema, applied at start.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub struct Inner {
    pub pool: PgPool,
    pub verifier: Verifier,
    pub calendars: Calendars,
    pub clock: Clock,
    pub metrics: metrics::Metrics,
    pub ingest: ingest::Status,
    /// The SupervisionPlans and Agencies watched for milestones due and missed.
    pub plans: duties::Plans,
}

pub type AppState = Arc<Inner>;

/// Opens the workspace database and migrates it.
pub async fn connect_db(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .context("connecting to the supervision database")?;
    MIGRATOR
        .run(&pool)
        .await
        .context("migrating the supervision database")?;
    Ok(pool)
}

/// Where the stream is and how it is followed.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    pub stream: String,
    pub consumer: String,
    pub batch: usize,
}

/// A running workspace (API, admin port, stream consumer); stopped when dropped.
pub struct Service {
    pub api_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub state: AppState,
    tasks: Vec<JoinHandle<()>>,
}

impl Service {
    pub async fn start(
        state: AppState,
        js: async_nats::jetstream::Context,
        stream: StreamSettings,
        api: TcpListener,
        admin: TcpListener,
    ) -> anyhow::Result<Self> {
        let api_addr = api.local_addr()?;
        let admin_addr = admin.local_addr()?;
        let tasks = vec![
            tokio::spawn(ingest::follow(js, stream, state.clone())),
            tokio::spawn(serve(api, api::router(state.clone()))),
            tokio::spawn(serve(admin, metrics::admin_router(state.clone()))),
        ];
        Ok(Self {
            api_addr,
            admin_addr,
            state,
            tasks,
        })
    }

    /// Waits until a task ends (it should not).
    pub async fn wait(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        let _ = futures::future::select_all(tasks).await;
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn serve(listener: TcpListener, app: axum::Router) {
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "server stopped");
    }
}

/// Runs the binary.
pub async fn run(args: config::Args) -> anyhow::Result<()> {
    let verifier = args.verifier()?;
    let clock = args.clock()?;
    let pool = connect_db(&args.database_url, args.database_max_connections).await?;
    let calendars = if args.calendars_from_kube {
        let calendars = Calendars::awaiting_source();
        let source = Box::new(sanxiang_tenant_service::kube_source::KubeCalendarSource::new());
        let c = calendars.clone();
        tokio::spawn(async move {
            if let Err(e) = source.run(c).await {
                tracing::error!(error = %e, "calendar source stopped");
            }
        });
        calendars
    } else {
        Calendars::from_dir(args.calendar_dir.as_deref())?
    };
    let plans = if args.plans_from_kube {
        let client = kube::Client::try_default()
            .await
            .context("kube client for --plans-from-kube")?;
        duties::Plans::watch(client)
    } else {
        duties::Plans::none()
    };
    let nats = match &args.nats_creds {
        Some(path) => async_nats::ConnectOptions::with_credentials_file(path)
            .await
            .with_context(|| format!("reading NATS credentials {}", path.display()))?,
        None => async_nats::ConnectOptions::new(),
    }
    .name("sanxiang-supervision")
    .retry_on_initial_connect()
    .request_timeout(Some(args.nats_timeout()))
    .connect(args.nats_url.as_str())
    .await
    .context("connecting to NATS")?;
    let state = Arc::new(Inner {
        pool,
        verifier,
        calendars,
        clock,
        metrics: metrics::Metrics::new(),
        ingest: Default::default(),
        plans,
    });
    let api = TcpListener::bind(args.listen).await?;
    let admin = TcpListener::bind(args.admin_listen).await?;
    let service = Service::start(
        state,
        async_nats::jetstream::new(nats),
        StreamSettings {
            stream: args.stream.clone(),
            consumer: args.consumer.clone(),
            batch: args.batch,
        },
        api,
        admin,
    )
    .await?;
    tracing::info!(api = %service.api_addr, admin = %service.admin_addr, stream = %args.stream, "supervision workspace serving");
    service.wait().await;
    anyhow::bail!("a server or the stream consumer stopped")
}
