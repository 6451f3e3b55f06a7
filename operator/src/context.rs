//! What every reconcile shares: the kube client, caches of the cluster-wide inputs
//! (jurisdictions, calendars, plans, managed Secrets), the PostgreSQL servers, NATS, the
//! metrics, the event recorder and per-object backoff state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::Store;
use sanxiang_crds::agency::Agency;
use sanxiang_crds::calendar::{Calendar, CalendarError, WorkCalendar};
use sanxiang_crds::jurisdiction::Jurisdiction;
use sanxiang_crds::jurisdiction_policy::JurisdictionPolicy;
use sanxiang_crds::plan::SupervisionPlan;
use sanxiang_domain::Clock;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::nats::Nats;
use crate::postgres::Servers;

/// The one field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "sanxiang-operator";
/// Label on everything the operator creates.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "sanxiang-operator");

/// The reflector caches reconciles read instead of the API server.
pub struct Caches {
    /// The Agency controller's own cache.
    pub agencies: Store<Agency>,
    pub jurisdictions: Store<Jurisdiction>,
    /// The cities' own policies, in their namespaces.
    pub jurisdiction_policies: Store<JurisdictionPolicy>,
    pub calendars: Store<WorkCalendar>,
    pub plans: Store<SupervisionPlan>,
    /// Secrets labelled managed-by sanxiang-operator (credentials).
    pub secrets: Store<Secret>,
    /// City namespaces (labelled with their city code).
    pub namespaces: Store<Namespace>,
    /// The agency name claims (Leases labelled managed-by, in the lease namespace).
    pub claims: Store<Lease>,
}

/// Pings that make a controller look at all its objects again.
pub struct Triggers {
    /// Every agency (cluster-wide inputs changed).
    pub agencies: tokio::sync::mpsc::Sender<()>,
    /// Every jurisdiction (an agency's readiness changed: the counts move).
    pub jurisdictions: tokio::sync::mpsc::Sender<()>,
}

pub struct Context {
    pub client: Client,
    pub config: Config,
    pub metrics: Metrics,
    pub recorder: Recorder,
    pub agencies: Store<Agency>,
    pub namespaces: Store<Namespace>,
    pub jurisdictions: Store<Jurisdiction>,
    /// The cities' own policies (JurisdictionPolicy objects).
    pub jurisdiction_policies: Store<JurisdictionPolicy>,
    pub calendars: Store<WorkCalendar>,
    pub plans: Store<SupervisionPlan>,
    /// Secrets labelled managed-by sanxiang-operator (credentials).
    pub secrets: Store<Secret>,
    /// The agency name claims ([`crate::agency::claim`]).
    pub claims: Store<Lease>,
    pub postgres: Servers,
    pub nats: Arc<Nats>,
    /// Asks the Agency controller to look at every agency again (its `reconcile_all_on`
    /// trigger, shared with changes of cluster-wide inputs).
    pub reconcile_all: tokio::sync::mpsc::Sender<()>,
    /// Asks the Jurisdiction controller to recount agencies.
    pub recount_agencies: tokio::sync::mpsc::Sender<()>,
    /// "Now" for due dates and milestone windows (the system clock; tests may set it).
    pub clock: Clock,
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Client,
        config: Config,
        metrics: Metrics,
        caches: Caches,
        postgres: Servers,
        nats: Arc<Nats>,
        triggers: Triggers,
    ) -> Self {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: FIELD_MANAGER.into(),
                instance: config.identity.clone(),
            },
        );
        Self {
            client,
            config,
            metrics,
            recorder,
            agencies: caches.agencies,
            namespaces: caches.namespaces,
            jurisdictions: caches.jurisdictions,
            jurisdiction_policies: caches.jurisdiction_policies,
            calendars: caches.calendars,
            plans: caches.plans,
            secrets: caches.secrets,
            claims: caches.claims,
            postgres,
            nats,
            reconcile_all: triggers.agencies,
            recount_agencies: triggers.jurisdictions,
            clock: Clock::system(),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The working-day calendar from every WorkCalendar object.
    pub fn calendar(&self) -> Result<Calendar, CalendarError> {
        let objects = self.calendars.state();
        Calendar::from_specs(objects.iter().map(|c| &c.spec))
    }

    /// Records an event on `object` (what `kubectl describe` shows); failing to record is
    /// logged, never fatal.
    pub async fn publish_event(
        &self,
        object: &k8s_openapi::api::core::v1::ObjectReference,
        type_: EventType,
        action: &str,
        reason: &str,
        note: &str,
    ) {
        let event = Event {
            type_,
            reason: reason.into(),
            // The Events API limits notes to 1 kB.
            note: Some(note.chars().take(1000).collect()),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, object).await {
            tracing::debug!(error = %e, "publishing event failed");
        }
    }

    /// Exponential backoff per object: 1 s, 2 s, 4 s … capped at 5 minutes.
    pub fn backoff(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().expect("backoff lock");
        let n = failures.entry(key.to_string()).or_insert(0);
        *n = (*n + 1).min(9);
        Duration::from_secs((1u64 << (*n - 1)).min(300))
    }

    pub fn reset_backoff(&self, key: &str) {
        self.failures.lock().expect("backoff lock").remove(key);
    }
}
