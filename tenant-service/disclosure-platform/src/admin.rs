//! The admin port: `/live`, `/ready` and `/metrics`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::directory::Directory;
use crate::ingest::Status;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AdminState {
    pub metrics: Arc<Metrics>,
    pub status: Arc<Status>,
    pub directory: Directory,
    pub directory_required: bool,
    pub max_lag_messages: u64,
    pub max_lag_seconds: u64,
}

pub fn router(st: AdminState) -> Router {
    Router::new()
        .route("/live", get(|| async { "ok" }))
        .route("/ready", get(ready))
        .route(
            "/metrics",
            get(|State(st): State<AdminState>| async move { st.metrics.render() }),
        )
        .with_state(st)
}

async fn ready(State(st): State<AdminState>) -> (StatusCode, String) {
    if st.directory_required && !st.directory.synced() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "directory not loaded yet".into(),
        );
    }
    if !st.status.caught_up(st.max_lag_messages, st.max_lag_seconds) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "index behind the stream: {} messages, {} s (bounds {}, {} s)",
                st.status
                    .lag_messages
                    .load(std::sync::atomic::Ordering::Relaxed),
                st.status
                    .lag_seconds
                    .load(std::sync::atomic::Ordering::Relaxed),
                st.max_lag_messages,
                st.max_lag_seconds
            ),
        );
    }
    (StatusCode::OK, "ready".into())
}
