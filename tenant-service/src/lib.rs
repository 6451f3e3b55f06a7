//! Sanxiang tenant service: the multi-tenant HTTP API of the "three systems" of
//! administrative law enforcement (disclosure, full-process recording, legal review).
//!
//! See `README.md` beside this crate for the API and configuration.

pub mod api;
pub mod auth;
pub mod calendar;
pub mod config;
pub mod db;
pub mod deadlines;
pub mod error;
pub mod hashchain;
pub mod health;
pub mod kube_source;
pub mod metrics;
pub mod nats_subjects;
pub mod outbox;
pub mod redaction;
pub mod scan;
pub mod serve;
pub mod state;
pub mod tenants;
pub mod upward;

use crate::auth::Verifier;
use crate::calendar::{CalendarSource, Calendars};
use crate::db::{PoolCache, PoolSettings};
use crate::metrics::Metrics;
use crate::state::{AppState, Inner};
use crate::tenants::{TenantRegistry, TenantSource};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use sanxiang_domain::Clock;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How to reach NATS.
#[derive(Debug, Clone, Default)]
pub struct NatsSettings {
    pub url: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub creds_file: Option<std::path::PathBuf>,
}

/// Everything the service needs, already loaded.
pub struct Settings {
    pub tenants: TenantRegistry,
    pub tenant_source: Option<Box<dyn TenantSource>>,
    pub calendars: Calendars,
    /// Keeps `calendars` current (the WorkCalendar watch); `None` for fixed calendars.
    pub calendar_source: Option<Box<dyn CalendarSource>>,
    pub verifier: Verifier,
    pub clock: Clock,
    pub pools: PoolSettings,
    pub nats: Option<NatsSettings>,
    pub scan_interval: Duration,
    pub relay_sweep: Duration,
    /// Longest wait for a client's request headers before its connection is closed.
    pub header_read_timeout: Duration,
    pub policy: state::Policy,
}

/// A running service (API + admin listeners, relay, scanner).
pub struct Service {
    pub state: AppState,
    pub api_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
    servers: Vec<JoinHandle<()>>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

/// Connects to NATS with one connection for the whole service; reconnects forever and
/// buffers while disconnected.
pub async fn connect_nats(s: &NatsSettings) -> anyhow::Result<async_nats::Client> {
    let mut opts = async_nats::ConnectOptions::new()
        .name("sanxiang-tenant-service")
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(5));
    if let Some(path) = &s.creds_file {
        opts = opts.credentials_file(path).await?;
    } else if let (Some(u), Some(p)) = (&s.user, &s.password) {
        opts = opts.user_and_password(u.clone(), p.clone());
    }
    Ok(opts.connect(&s.url).await?)
}

/// The admin router: `/metrics`, `/live`, `/ready`.
pub fn admin_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(metrics_handler))
        .route("/live", axum::routing::get(|| async { "ok" }))
        .route("/ready", axum::routing::get(ready))
        .with_state(state)
}

async fn metrics_handler(State(st): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        st.metrics.render(),
    )
}

async fn ready(State(st): State<AppState>) -> impl IntoResponse {
    if !st.tenants.is_ready() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "tenants not loaded".to_string(),
        );
    }
    let problems = st.loops.problems();
    if !problems.is_empty() {
        return (StatusCode::SERVICE_UNAVAILABLE, problems.join("; "));
    }
    if !st.calendars.is_loaded() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "calendars not loaded".to_string(),
        );
    }
    if let Some(n) = &st.nats
        && n.connection_state() != async_nats::connection::State::Connected
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "NATS not connected".to_string(),
        );
    }
    (StatusCode::OK, "ready".to_string())
}

/// The state every handler shares, over `settings`.
fn shared_state(
    settings: &Settings,
    relay_tx: tokio::sync::mpsc::UnboundedSender<String>,
    nats: Option<async_nats::Client>,
    jetstream: Option<async_nats::jetstream::Context>,
) -> AppState {
    Arc::new(Inner {
        policy: settings.policy.clone(),
        tenants: settings.tenants.clone(),
        pools: PoolCache::new(settings.pools.clone()),
        verifier: settings.verifier.clone(),
        calendars: settings.calendars.clone(),
        clock: settings.clock.clone(),
        metrics: Metrics::new(),
        relay_tx,
        calendar_missing: Default::default(),
        jetstream,
        nats,
        scanned: Default::default(),
        last_labels: Default::default(),
        relay_pending: Default::default(),
        loops: Default::default(),
        compliance_pushed: Default::default(),
    })
}

/// The public API router over `settings`, without listeners, NATS, relay or background
/// loops: the middle test tier sends it requests with `tower::ServiceExt::oneshot`, so API
/// rules are tested against a real tenant database in milliseconds. Events stay in the
/// tenant's outbox (nothing relays them).
pub fn in_process_router(settings: Settings) -> anyhow::Result<Router> {
    anyhow::ensure!(
        settings.nats.is_none() && settings.tenant_source.is_none(),
        "the in-process router runs without NATS and without a tenant source"
    );
    let (relay_tx, _) = tokio::sync::mpsc::unbounded_channel();
    Ok(api::router(shared_state(&settings, relay_tx, None, None)))
}

impl Service {
    /// Starts the service on the given listeners.
    pub async fn start(
        settings: Settings,
        api: TcpListener,
        admin: TcpListener,
    ) -> anyhow::Result<Self> {
        let (relay_tx, relay_rx) = tokio::sync::mpsc::unbounded_channel();
        let nats = match &settings.nats {
            Some(n) => Some(connect_nats(n).await?),
            None => None,
        };
        let jetstream = nats.clone().map(async_nats::jetstream::new);
        let state = shared_state(&settings, relay_tx, nats, jetstream);
        let mut tasks = Vec::new();
        if let Some(source) = settings.tenant_source {
            let registry = settings.tenants.clone();
            tasks.push(tokio::spawn(async move {
                if let Err(e) = source.run(registry).await {
                    tracing::error!(error = %e, "tenant source stopped");
                }
            }));
        }
        if let Some(source) = settings.calendar_source {
            let calendars = state.calendars.clone();
            tasks.push(tokio::spawn(async move {
                if let Err(e) = source.run(calendars).await {
                    tracing::error!(error = %e, "calendar source stopped");
                }
            }));
        }
        tasks.push(tokio::spawn(deadlines::run_resolver(state.clone())));
        let api_addr = api.local_addr()?;
        let admin_addr = admin.local_addr()?;
        let app = api::router(state.clone());
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let graceful = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let mut servers = Vec::new();
        let header_timeout = settings.header_read_timeout;
        let rx = shutdown.subscribe();
        servers.push(tokio::spawn(serve::serve(
            api,
            app,
            header_timeout,
            graceful(rx),
        )));
        let admin_app = admin_router(state.clone());
        let rx = shutdown.subscribe();
        servers.push(tokio::spawn(serve::serve(
            admin,
            admin_app,
            header_timeout,
            graceful(rx),
        )));
        // The relay is woken by writes and sweeps on its own; only its end is watched. The
        // scanner must finish a round within a few intervals.
        let relayed = state.jetstream.is_some();
        if relayed {
            state.loops.register("relay", None);
        }
        state.loops.register(
            "scanner",
            Some(settings.scan_interval * 3 + Duration::from_secs(120)),
        );
        let relay = tokio::spawn(outbox::run_relay(
            state.clone(),
            relay_rx,
            settings.relay_sweep,
        ));
        let st = state.clone();
        tasks.push(tokio::spawn(async move {
            if relayed {
                health::supervise(&st.loops, &st.metrics, "relay", relay).await;
            } else {
                let _ = relay.await; // without NATS it returns at once: nothing to watch
            }
        }));
        let scanner = tokio::spawn(scan::run_scanner(state.clone(), settings.scan_interval));
        let st = state.clone();
        tasks.push(tokio::spawn(async move {
            health::supervise(&st.loops, &st.metrics, "scanner", scanner).await;
        }));
        tracing::info!(%api_addr, %admin_addr, "tenant service started");
        Ok(Self {
            state,
            api_addr,
            admin_addr,
            tasks,
            servers,
            shutdown,
        })
    }

    /// Stops accepting requests, lets in-flight ones finish (up to 10 s), stops the
    /// background tasks and closes the tenant pools.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for s in self.servers {
            let abort = s.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), s)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
        self.state.pools.close_all().await;
        if let Some(n) = &self.state.nats {
            // Never wait long for a NATS that is down: the outbox keeps what was not acked.
            let _ = tokio::time::timeout(Duration::from_secs(2), n.flush()).await;
        }
    }
}
