//! Wiring: admin server, caches, leader election and the four controllers (Jurisdiction,
//! JurisdictionPolicy, Agency, SupervisionPlan).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{Controller, WatchStreamExt, controller, watcher};
use kube::{Api, Client, Resource};
use sanxiang_crds::agency::Agency;
use sanxiang_crds::calendar::WorkCalendar;
use sanxiang_crds::jurisdiction::Jurisdiction;
use sanxiang_crds::jurisdiction_policy::JurisdictionPolicy;
use sanxiang_crds::plan::SupervisionPlan;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::admin::{self, AdminState};
use crate::config::Config;
use crate::context::{Caches, Context, MANAGED_BY, Triggers};
use crate::leader::LeaderElector;
use crate::metrics::Metrics;
use crate::nats::Nats;
use crate::postgres::Servers;
use crate::{
    agency, calendar_watch, credential_copies, jurisdiction, jurisdiction_policy, orphans, plan,
    storage_versions,
};

/// How long the agency controller waits for an agency's events to settle before it
/// reconciles. A provisioning reconcile writes the finalizer, two Secrets and the status,
/// each an event that queued one more reconcile (about six per new agency, measured by
/// the onboarding bench, each reading the PrometheusRule and the database's catalog, and
/// before the claims cache the Lease); events closer together than this are served by one.
const AGENCY_DEBOUNCE: Duration = Duration::from_millis(500);

pub async fn run(config: Config) -> anyhow::Result<()> {
    let client = Client::try_default().await.map_err(|e| {
        anyhow::anyhow!("no Kubernetes configuration (KUBECONFIG or in-cluster): {e}")
    })?;
    let metrics = Metrics::default();
    let ready = Arc::new(AtomicBool::new(false));
    let admin_task = tokio::spawn(admin::serve(
        config.admin_addr,
        AdminState {
            metrics: metrics.clone(),
            ready: ready.clone(),
        },
    ));

    // Any change to a cluster-wide input re-runs every agency (they are few enough, and
    // the idle reconcile writes nothing).
    let (trigger_tx, trigger_rx) = mpsc::channel::<()>(1);
    // Plans' due dates move with the calendars; jurisdictions count their agencies.
    let (plan_trigger_tx, plan_trigger_rx) = mpsc::channel::<()>(1);
    let (jurisdiction_trigger_tx, jurisdiction_trigger_rx) = mpsc::channel::<()>(1);
    let (calendar_watch_tx, calendar_watch_rx) = mpsc::channel::<()>(1);
    // Jurisdictions and the cities' policy objects both move the policy bounds.
    let (policy_trigger_tx, policy_trigger_rx) = mpsc::channel::<()>(1);
    // Only their specs (and their coming and going) matter to agencies and policies: the
    // statuses, rewritten as the agency counts move, would re-run every agency each time.
    let jurisdictions = spec_cache::<Jurisdiction>(
        &client,
        watcher::Config::default(),
        vec![trigger_tx.clone(), policy_trigger_tx.clone()],
    );
    let jurisdiction_policies = cache::<JurisdictionPolicy>(
        &client,
        watcher::Config::default(),
        vec![
            trigger_tx.clone(),
            jurisdiction_trigger_tx.clone(),
            policy_trigger_tx,
        ],
    );
    let calendars = cache::<WorkCalendar>(
        &client,
        watcher::Config::default(),
        vec![trigger_tx.clone(), plan_trigger_tx, calendar_watch_tx],
    );
    let plans = cache::<SupervisionPlan>(
        &client,
        watcher::Config::default(),
        vec![trigger_tx.clone()],
    );
    // A city or province namespace that appears lets its waiting agencies be placed
    // (both kinds carry the province code).
    let namespaces = cache::<Namespace>(
        &client,
        watcher::Config::default().labels(jurisdiction::PROVINCE_CODE_LABEL),
        vec![trigger_tx.clone()],
    );
    let secrets = cache::<Secret>(
        &client,
        watcher::Config::default().labels(&format!("{}={}", MANAGED_BY.0, MANAGED_BY.1)),
        vec![],
    );
    // The agency name claims: a reconcile that finds its own claim here asks nobody.
    let claims = cache_of::<Lease>(
        Api::namespaced(client.clone(), &config.lease_namespace),
        watcher::Config::default().labels(&format!("{}={}", MANAGED_BY.0, MANAGED_BY.1)),
        vec![],
    );

    let postgres = Servers::new(
        &config.postgres_servers()?,
        config.postgres_tenant_host.as_deref(),
        config.concurrency,
    )?;
    let nats = Arc::new(Nats::connect(&config, metrics.phase.clone()).await?);
    tokio::spawn(nats.clone().run_maintenance());
    if let Some(name) = &config.nats_tenant_service_secret {
        write_tenant_service_creds(&client, &config.lease_namespace, name, &nats).await?;
    }

    for (what, ready) in [
        ("jurisdictions", jurisdictions.wait_until_ready().await),
        (
            "jurisdiction policies",
            jurisdiction_policies.wait_until_ready().await,
        ),
        ("work calendars", calendars.wait_until_ready().await),
        ("supervision plans", plans.wait_until_ready().await),
        ("secrets", secrets.wait_until_ready().await),
        ("namespaces", namespaces.wait_until_ready().await),
        ("agency name claims", claims.wait_until_ready().await),
    ] {
        ready.map_err(|e| anyhow::anyhow!("cache of {what} never filled: {e}"))?;
    }
    ready.store(true, Ordering::Relaxed);
    tracing::info!("caches synced");

    // Like client-go: host name plus a random suffix, so two replicas on one host (or a
    // restarted one) never mistake each other's Lease for their own.
    let identity = config
        .identity
        .clone()
        .unwrap_or_else(|| format!("{}_{:08x}", host_name(), rand::random::<u32>()));
    let elector = LeaderElector::new(
        client.clone(),
        &config.lease_namespace,
        &config.lease_name,
        &identity,
    );
    elector.acquire().await?;
    metrics.leader.set(1);

    let managed = watcher::Config::default().labels(&format!("{}={}", MANAGED_BY.0, MANAGED_BY.1));
    let triggers = futures::stream::unfold(trigger_rx, |mut rx| async move {
        rx.recv().await.map(|()| ((), rx))
    });
    // The controller's own cache of agencies, kept without managed fields.
    let (agency_store, agency_writer) = reflector::store();
    let agency_events = reflected(
        Api::<Agency>::all(client.clone()),
        watcher::Config::default(),
        agency_writer,
    )
    .applied_objects();
    let agency_controller = Controller::for_stream(agency_events, agency_store)
        .owns(Api::<Secret>::all(client.clone()), managed.clone())
        .reconcile_all_on(triggers)
        .with_config(
            controller::Config::default()
                .concurrency(config.concurrency)
                .debounce(AGENCY_DEBOUNCE),
        );

    let ctx = Arc::new(Context::new(
        client.clone(),
        config.clone(),
        metrics,
        Caches {
            agencies: agency_controller.store(),
            jurisdictions,
            jurisdiction_policies,
            calendars,
            plans,
            secrets,
            namespaces,
            claims,
        },
        postgres,
        nats,
        Triggers {
            agencies: trigger_tx,
            jurisdictions: jurisdiction_trigger_tx,
        },
    ));

    let jurisdiction_controller = Controller::new(
        Api::<Jurisdiction>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<Role>::all(client.clone()), managed.clone())
    .owns(Api::<RoleBinding>::all(client.clone()), managed.clone())
    .reconcile_all_on(receiver_stream(jurisdiction_trigger_rx))
    // Agencies' statuses reach the cache a moment after they are written.
    .with_config(controller::Config::default().debounce(Duration::from_secs(1)))
    .shutdown_on_signal()
    .run(
        jurisdiction::reconcile,
        jurisdiction::error_policy,
        ctx.clone(),
    )
    .for_each(|_| async {});
    let policy_controller = Controller::new(
        Api::<JurisdictionPolicy>::all(client.clone()),
        watcher::Config::default(),
    )
    .reconcile_all_on(receiver_stream(policy_trigger_rx))
    .shutdown_on_signal()
    .run(
        jurisdiction_policy::reconcile,
        jurisdiction_policy::error_policy,
        ctx.clone(),
    )
    .for_each(|_| async {});
    tokio::spawn(policy_controller);
    tokio::spawn(calendar_watch::run(ctx.clone(), calendar_watch_rx));
    // After a CRD version bump: objects still stored in an older version are rewritten.
    let crd_names = sanxiang_crds::manifests::crds()
        .iter()
        .map(kube::ResourceExt::name_any)
        .collect();
    tokio::spawn(storage_versions::run(client.clone(), crd_names));
    if let Some(namespace) = config.tenant_credentials_namespace.clone() {
        tokio::spawn(credential_copies::run(client.clone(), namespace));
    }
    if config.orphan_sweep_seconds > 0 {
        tokio::spawn(orphans::run(
            ctx.clone(),
            Duration::from_secs(config.orphan_sweep_seconds),
        ));
    }
    let agency_controller = agency_controller
        .shutdown_on_signal()
        .run(agency::reconcile, agency::error_policy, ctx.clone())
        .for_each(|_| async {});
    let plan_controller = Controller::new(
        Api::<SupervisionPlan>::all(client.clone()),
        watcher::Config::default(),
    )
    .reconcile_all_on(receiver_stream(plan_trigger_rx))
    .shutdown_on_signal()
    .run(plan::reconcile, plan::error_policy, ctx.clone())
    .for_each(|_| async {});

    tokio::select! {
        _ = futures::future::join3(jurisdiction_controller, agency_controller, plan_controller) => {
            tracing::info!("controllers stopped (signal)");
            Ok(())
        }
        lost = elector.keep_renewing() => Err(lost),
        admin = admin_task => Err(anyhow::anyhow!("admin server stopped: {admin:?}")),
    }
}

/// A stream of the pings `rx` receives, for `reconcile_all_on`.
fn receiver_stream(rx: mpsc::Receiver<()>) -> impl Stream<Item = ()> + Send {
    futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|()| ((), rx)) },
    )
}

/// A reflector cache of every `K` in the cluster, driven in the background; each change
/// pings every one of `changes`.
fn cache<K>(client: &Client, config: watcher::Config, changes: Vec<mpsc::Sender<()>>) -> Store<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    cache_of(Api::all(client.clone()), config, changes)
}

/// [`cache`] of what `api` reaches.
fn cache_of<K>(api: Api<K>, config: watcher::Config, changes: Vec<mpsc::Sender<()>>) -> Store<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let stream = reflected(api, config, writer).touched_objects();
    tokio::spawn(drive(stream, changes));
    store
}

/// The watch of `api` that fills `writer`'s cache. Every cache of the operator is filled
/// so: objects enter it without `metadata.managedFields`, which no reconcile reads and
/// which were the largest part of a cached agency and its Secrets (the operator's memory
/// grew by some 60 KiB per agency, 309 MiB at 5,000).
fn reflected<K>(
    api: Api<K>,
    config: watcher::Config,
    writer: reflector::store::Writer<K>,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    watcher(api, config)
        .default_backoff()
        .modify(|object: &mut K| object.meta_mut().managed_fields = None)
        .reflect(writer)
}

/// Like [`cache`], but pings only when an object's `metadata.generation` moves (its
/// spec changed), when it appears or goes, and when the watch (re)starts; a change of
/// status alone pings nobody. Onboarding 1,000 agencies rewrote the Jurisdictions'
/// `agencyCount` about twenty times, and each rewrite reconciled every agency again.
fn spec_cache<K>(
    client: &Client,
    config: watcher::Config,
    changes: Vec<mpsc::Sender<()>>,
) -> Store<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let mut generations = std::collections::HashMap::new();
    let stream =
        reflected(Api::<K>::all(client.clone()), config, writer).filter_map(move |event| {
            let key = |o: &K| o.meta().uid.clone().or_else(|| o.meta().name.clone());
            let ping = match &event {
                Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                    let generation = o.meta().generation;
                    generations.insert(key(o), generation) != Some(generation)
                }
                Ok(watcher::Event::Delete(o)) => {
                    generations.remove(&key(o));
                    true
                }
                Ok(watcher::Event::Init) => false,
                Ok(watcher::Event::InitDone) | Err(_) => true,
            };
            futures::future::ready(ping.then_some(event.map(|_| ())))
        });
    tokio::spawn(drive(stream, changes));
    store
}

/// Drives a watch stream, pinging every one of `changes` on each event (a full channel
/// already holds a pending ping); errors are logged and the watch retries.
pub(crate) async fn drive<S, T, E>(stream: S, changes: Vec<mpsc::Sender<()>>)
where
    S: Stream<Item = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(_) => {
                for tx in &changes {
                    // A full channel already holds a pending ping: coalesce.
                    let _ = tx.try_send(());
                }
            }
            Err(e) => tracing::warn!(error = %e, "watch error (retrying)"),
        }
    }
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("sanxiang-operator-{}", std::process::id()))
}

/// Creates the tenant service's NATS credentials Secret unless it exists (its user key is
/// derived, so a re-created Secret names the same user).
async fn write_tenant_service_creds(
    client: &Client,
    namespace: &str,
    name: &str,
    nats: &Nats,
) -> anyhow::Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    if api.get_opt(name).await?.is_some() {
        return Ok(());
    }
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some([(MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string())].into()),
            ..Default::default()
        },
        string_data: Some([("creds".to_string(), nats.tenant_service_creds()?)].into()),
        type_: Some("Opaque".into()),
        ..Default::default()
    };
    match api.create(&Default::default(), &secret).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}
