//! Shared state of the service.

use crate::auth::{Access, Claims, Verifier, authorize};
use crate::calendar::Calendars;
use crate::db::PoolCache;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::tenants::{Tenant, TenantRegistry};
use axum::http::HeaderMap;
use sanxiang_domain::Clock;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Service-wide policy settings (command line).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Role of the second person who approves publications; `None`: no approval step.
    pub publication_approver: Option<crate::auth::Role>,
    /// Working days the legal office has for its opinion.
    pub review_time_limit_days: u32,
    /// Directory of per-agency record-signing keys (`<agency>.key`), outside the tenant
    /// databases; `None`: entries are not signed.
    pub signing_key_dir: Option<std::path::PathBuf>,
    /// The market regulator reviews random-inspection lists instead of the justice bureau
    /// ([`crate::api::list_reviewers`]).
    pub market_regulator_reviews_random_inspections: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            publication_approver: Some(crate::auth::Role::AgencyAdmin),
            review_time_limit_days: 10,
            signing_key_dir: None,
            market_regulator_reviews_random_inspections: false,
        }
    }
}

pub struct Inner {
    pub policy: Policy,
    pub tenants: TenantRegistry,
    pub pools: PoolCache,
    pub verifier: Verifier,
    pub calendars: Calendars,
    pub clock: Clock,
    pub metrics: Metrics,
    /// Agencies whose outbox should be relayed now.
    pub relay_tx: mpsc::UnboundedSender<String>,
    /// Agencies for which a deadline could not be computed: the missing year.
    pub calendar_missing: Mutex<HashMap<String, i32>>,
    /// JetStream context, when NATS is configured.
    pub jetstream: Option<async_nats::jetstream::Context>,
    pub nats: Option<async_nats::Client>,
    /// Agencies covered by the last metrics scan, and their labels.
    pub scanned: Mutex<std::collections::HashSet<String>>,
    pub last_labels: Mutex<HashMap<String, (String, String, String)>>,
    /// Agencies whose outbox still has rows (failed relay or seen by the scan).
    pub relay_pending: Mutex<std::collections::HashSet<String>>,
    /// Health of the background loops, reported by `/ready`.
    pub loops: crate::health::LoopHealth,
    /// The compliance counts last pushed upward, per agency ([`crate::upward`]).
    pub compliance_pushed: Mutex<HashMap<String, sanxiang_domain::supervision::ComplianceReport>>,
}

pub type AppState = Arc<Inner>;

/// A request's authenticated, authorized tenant context.
pub struct TenantCtx {
    pub claims: Claims,
    pub tenant: Arc<Tenant>,
    pub pool: PgPool,
}

impl Inner {
    /// Authenticates the request, authorizes it for `agency`, and opens the tenant's pool.
    pub async fn tenant_ctx(
        &self,
        headers: &HeaderMap,
        agency: &str,
        access: Access,
    ) -> Result<TenantCtx, ApiError> {
        let claims = self.verifier.from_headers(headers).await?;
        if !self.tenants.is_ready() {
            // Before the first load every agency would look unknown (404): say "not yet".
            return Err(ApiError::unavailable(
                "tenants are not loaded yet; retry shortly",
            ));
        }
        let tenant = self.tenants.get(agency);
        authorize(&claims, agency, tenant.as_deref(), access)?;
        let tenant = tenant.expect("authorize checked the tenant exists");
        let pool = self.pools.get(&tenant).await?;
        Ok(TenantCtx {
            claims,
            tenant,
            pool,
        })
    }

    /// Asks the relay to push this agency's outbox now.
    pub fn kick_relay(&self, agency: &str) {
        let _ = self.relay_tx.send(agency.to_string());
    }

    pub fn note_calendar_missing(&self, agency: &str, year: i32) {
        self.calendar_missing
            .lock()
            .expect("lock")
            .insert(agency.to_string(), year);
    }
}
