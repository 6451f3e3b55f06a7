//! The Agency controller: one agency becomes one tenant.
//!
//! Pipeline, as in Stackable's operators:
//! 1. **read** the agency, the jurisdictions, calendars and plans (from caches);
//! 2. **validate** — the spec's own rules ([`sanxiang_crds::agency::validate_agency`]) and
//!    its placement ([`placement::resolve`]); an invalid agency gets `Ready=False` with a
//!    reason and a message naming the field, an event, and waits for a change;
//! 3. **build** the names and objects (pure: [`crate::naming`], [`build`], [`crate::alerts`]);
//! 4. **apply** each part — database, messaging, alerts — writing only what differs;
//! 5. **status**: one condition per part plus `Ready`, `observedGeneration`, and the names
//!    of what was provisioned; written only when it changed.
//!
//! A part that fails (server unreachable) gets its condition `False` with the reason, the
//! other parts still proceed, and the object is retried with exponential backoff. The
//! finalizer exists only because the database and the stream live outside Kubernetes;
//! on deletion `deletionPolicy: Retain` (the default) keeps them and `Delete` drops them.

pub mod build;
pub mod milestones;
pub mod placement;

use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, Utc};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};
use rand::Rng;
use sanxiang_crds::agency::{Agency, AgencyStatus, DeletionPolicy, validate_agency};
use sanxiang_crds::conditions::{condition_type, new_condition, reason, upsert_condition};

use crate::alerts::{AgencyAlertInput, agency_rule_spec};
use crate::apply::{self, apply, is_subset};
use crate::context::{Context, FIELD_MANAGER};
use crate::naming::{self, AgencyNames, Placement};
use crate::nats;
use crate::postgres;

pub const CONTROLLER: &str = "agency";
/// Guards the database and stream, which live outside Kubernetes.
pub const FINALIZER: &str = "sanxiang.io/tenant-resources";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{part}: {message}")]
    Part {
        part: &'static str,
        reason: &'static str,
        message: String,
    },
}

impl Error {
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube(_) => "KubeApi",
            Error::Part { reason, .. } => reason,
        }
    }
}

/// Outcome of one part of the apply step.
struct PartResult {
    condition: &'static str,
    ready: bool,
    reason: &'static str,
    message: String,
}

pub async fn reconcile(agency: Arc<Agency>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile(CONTROLLER);
    let namespace = agency.namespace().unwrap_or_default();
    let name = agency.name_any();
    let key = format!("{namespace}/{name}");
    let api: Api<Agency> = Api::namespaced(ctx.client.clone(), &namespace);

    if agency.metadata.deletion_timestamp.is_some() {
        return cleanup(&agency, &ctx, &api).await;
    }

    // ---- read + validate ---------------------------------------------------------------
    let mut status = agency.status.clone().unwrap_or_default();
    let generation = agency.metadata.generation;
    let resolved = match validate(&agency, &ctx, &namespace).await? {
        Ok(resolved) => resolved,
        Err((why, message)) => {
            let before = status.clone();
            for part in [
                condition_type::DATABASE_READY,
                condition_type::MESSAGING_READY,
                condition_type::ALERTS_READY,
            ] {
                // Parts already provisioned stay as they are; only unknown ones are marked.
                if sanxiang_crds::conditions::find_condition(&status.conditions, part).is_none() {
                    set(
                        &mut status,
                        part,
                        false,
                        why,
                        "waiting for a valid spec",
                        generation,
                    );
                }
            }
            set(
                &mut status,
                condition_type::READY,
                false,
                why,
                &message,
                generation,
            );
            status.observed_generation = generation;
            apply::write_status(&api, &agency.name_any(), agency.status.as_ref(), &status).await?;
            // An agency provisioned before (its placement recorded) now reads not Ready. One
            // never provisioned gets no series: without placement labels it would outlive
            // the Agency (which has no finalizer yet); its condition and event say it all.
            if let Some(p) = recorded_placement(&agency) {
                ctx.metrics
                    .agency_ready
                    .with_label_values(&[&namespace, &name, &p.province, &p.city, p.county_token()])
                    .set(0);
            }
            // One event per new finding, not one per look: an unchanged refusal stays quiet.
            if before != status {
                publish(&ctx, &agency, EventType::Warning, why, &message).await;
            }
            return Ok(match why {
                // These clear when another object goes away (the name's holder, an agency
                // over the quota), which triggers no reconcile of this one: look again.
                reason::NAME_TAKEN | reason::QUOTA_EXCEEDED => {
                    Action::requeue(Duration::from_secs(300))
                }
                // The rest clear when this Agency or a Jurisdiction changes, which does.
                _ => Action::await_change(),
            });
        }
    };
    ensure_finalizer(&api, &agency).await?;

    // ---- build ------------------------------------------------------------------------
    let placement = resolved.placement.clone();
    let names = naming::agency_names(&namespace, &name, &placement);
    let owner = agency.controller_owner_ref(&()).expect("agency has a uid");
    let rules = build::TenantRules {
        disclosure_overrides: &agency.spec.disclosure.overrides,
        policies: &resolved.policies,
    };
    let meta = build::tenant_metadata(&name, &placement, &names, &owner, &namespace, &rules);

    // ---- apply ------------------------------------------------------------------------
    let phase = |name: &str| ctx.metrics.phase.with_label_values(&[name]).start_timer();
    let timer = phase("database");
    let database = apply_database(&agency, &ctx, &names, &meta).await;
    drop(timer);
    // Timed inside (account and user, then streams).
    let messaging = apply_messaging(&agency, &ctx, &names, &placement, &meta).await;
    let timer = phase("prometheus_rule");
    let alerts = apply_alerts(&agency, &ctx, &names, &resolved, &meta).await;
    drop(timer);
    let parts = [database, messaging, alerts];

    // ---- status -----------------------------------------------------------------------
    let mut first_error = None;
    for part in &parts {
        set(
            &mut status,
            part.condition,
            part.ready,
            part.reason,
            &part.message,
            generation,
        );
        if !part.ready && first_error.is_none() {
            first_error = Some(part);
        }
    }
    let ready = first_error.is_none();
    match first_error {
        None => set(
            &mut status,
            condition_type::READY,
            true,
            reason::PROVISIONED,
            "database, messaging and alerts are provisioned",
            generation,
        ),
        Some(p) => set(
            &mut status,
            condition_type::READY,
            false,
            p.reason,
            &format!("{}: {}", p.condition, p.message),
            generation,
        ),
    }
    status.observed_generation = generation;
    status.database = Some(names.database.clone());
    status.database_role = Some(names.role.clone());
    status.credentials_secret = Some(names.database_secret.clone());
    status.nats_subject_prefix = Some(names.subject_prefix.clone());
    status.nats_credentials_secret = Some(names.nats_secret.clone());
    status.streams = aggregate_chain(&placement);
    status.prometheus_rule = Some(names.prometheus_rule.clone());
    let timer = phase("status");
    apply::write_status(&api, &agency.name_any(), agency.status.as_ref(), &status).await?;
    drop(timer);
    ctx.metrics
        .agency_ready
        .with_label_values(&[
            &namespace,
            &name,
            &placement.province,
            &placement.city,
            placement.county_token(),
        ])
        .set(i64::from(ready));

    match first_error {
        None => {
            ctx.reset_backoff(&key);
            // Milestone windows move with the calendar: look again within a day.
            Ok(Action::requeue(Duration::from_secs(6 * 3600)))
        }
        Some(p) if p.reason == reason::CALENDAR_MISSING => {
            // Waits for a WorkCalendar (the controller re-runs when one is added).
            Ok(Action::requeue(Duration::from_secs(3600)))
        }
        Some(p) => {
            publish(&ctx, &agency, EventType::Warning, p.reason, &p.message).await;
            Err(Error::Part {
                part: p.condition,
                reason: p.reason,
                message: p.message.clone(),
            })
        }
    }
}

pub fn error_policy(agency: Arc<Agency>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.error(CONTROLLER, error.reason());
    let key = format!(
        "{}/{}",
        agency.namespace().unwrap_or_default(),
        agency.name_any()
    );
    tracing::warn!(agency = %key, error = %error, "reconcile failed");
    Action::requeue(ctx.backoff(&key))
}

/// Spec rules, then placement against the Jurisdictions and the namespace's city.
async fn validate(
    agency: &Agency,
    ctx: &Context,
    namespace: &str,
) -> Result<Result<placement::Resolved, (&'static str, String)>, Error> {
    if let Some(message) =
        nats::credentials::subject_token_error("metadata.name", &agency.name_any())
    {
        return Ok(Err((reason::INVALID_SPEC, message)));
    }
    let errors = validate_agency(&agency.spec);
    if !errors.is_empty() {
        let message = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Ok(Err((reason::INVALID_SPEC, message)));
    }
    // The tenant service and the public search address an agency by name, so a name is
    // unique across the province: the oldest holder keeps it.
    let same_name = Api::<Agency>::all(ctx.client.clone())
        .list(&ListParams::default().fields(&format!("metadata.name={}", agency.name_any())))
        .await?;
    if let Some(holder) = same_name.items.iter().find(|other| {
        other.uid() != agency.uid()
            && (
                other.metadata.creation_timestamp.as_ref().map(|t| t.0),
                other.namespace(),
            ) < (
                agency.metadata.creation_timestamp.as_ref().map(|t| t.0),
                agency.namespace(),
            )
    }) {
        return Ok(Err((
            reason::NAME_TAKEN,
            format!(
                "metadata.name: agency name {:?} is already used in namespace {}; agency \
                 names are unique across the province (e.g. prefix the city: shenyang-market)",
                agency.name_any(),
                holder.namespace().unwrap_or_default()
            ),
        )));
    }
    let ns = Api::<Namespace>::all(ctx.client.clone())
        .get_opt(namespace)
        .await?;
    let city_label = ns.as_ref().and_then(|n| {
        n.labels()
            .get(crate::jurisdiction::CITY_CODE_LABEL)
            .cloned()
    });
    let jurisdictions = ctx.jurisdictions.state();
    let refs: Vec<_> = jurisdictions.iter().map(|j| j.as_ref()).collect();
    let resolved = match placement::resolve(
        &agency.spec.jurisdiction,
        namespace,
        city_label.as_deref(),
        &refs,
    ) {
        Ok(r) => r,
        Err(refusal) => return Ok(Err((refusal.reason, refusal.message))),
    };
    if let Some(max) = resolved.max_agencies {
        // The oldest agencies keep their places; later ones over the quota are refused.
        let mut peers: Vec<_> = ctx_agencies_in(ctx, namespace).await?;
        peers.sort_by_key(|a| {
            (
                a.metadata.creation_timestamp.clone().map(|t| t.0),
                a.name_any(),
            )
        });
        let position = peers.iter().position(|a| a.uid() == agency.uid());
        if position.is_some_and(|p| p >= max as usize) {
            return Ok(Err((
                reason::QUOTA_EXCEEDED,
                format!(
                    "the city's quota.maxAgencies is {max} and {} agencies exist in {namespace}",
                    peers.len()
                ),
            )));
        }
    }
    Ok(Ok(resolved))
}

async fn ctx_agencies_in(ctx: &Context, namespace: &str) -> Result<Vec<Agency>, Error> {
    let api: Api<Agency> = Api::namespaced(ctx.client.clone(), namespace);
    Ok(api.list(&Default::default()).await?.items)
}

async fn ensure_finalizer(api: &Api<Agency>, agency: &Agency) -> Result<(), Error> {
    if agency.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let mut finalizers = agency.finalizers().to_vec();
    finalizers.push(FINALIZER.into());
    let patch = serde_json::json!({
        "metadata": {"finalizers": finalizers, "resourceVersion": agency.resource_version()}
    });
    api.patch(
        &agency.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

// ---- database ---------------------------------------------------------------------------

async fn apply_database(
    agency: &Agency,
    ctx: &Context,
    names: &AgencyNames,
    meta: &kube::api::ObjectMeta,
) -> PartResult {
    let result: Result<String, (&'static str, String)> = async {
        let server = ctx
            .postgres
            .get(&agency.spec.database.server)
            .map_err(|e| (reason::INVALID_SPEC, e.to_string()))?;
        let existing = existing_secret(ctx, meta, &names.database_secret)
            .await
            .map_err(|e| (reason::DATABASE_UNAVAILABLE, e.to_string()))?;
        let (password, reset) = match existing
            .as_ref()
            .and_then(|s| build::secret_value(s, "password"))
        {
            Some(p) => (p, false),
            None => (random_password(), true),
        };
        let unavailable = |e: postgres::DbError| (reason::DATABASE_UNAVAILABLE, e.to_string());
        let provisioned = postgres::ensure_tenant_database(
            &server.pool,
            &names.database,
            &names.role,
            &password,
            reset,
        )
        .await
        .map_err(unavailable)?;
        if !provisioned.created_role {
            // A role retained from an earlier Agency of the same name logs in again.
            postgres::enable_login(&server.pool, &names.role)
                .await
                .map_err(unavailable)?;
        }
        let secret = build::database_secret(
            meta.clone(),
            names,
            &build::DatabaseSecretInput {
                host: &server.tenant_host,
                port: server.tenant_port,
                password: &password,
            },
        );
        apply_secret(ctx, existing.as_ref(), &secret)
            .await
            .map_err(|e| (reason::DATABASE_UNAVAILABLE, format!("writing Secret: {e}")))?;
        Ok(format!(
            "database {} with role {} on server {:?}; credentials in Secret {}",
            names.database, names.role, agency.spec.database.server, names.database_secret
        ))
    }
    .await;
    part(condition_type::DATABASE_READY, result)
}

// ---- messaging --------------------------------------------------------------------------

async fn apply_messaging(
    agency: &Agency,
    ctx: &Context,
    names: &AgencyNames,
    placement: &Placement,
    meta: &kube::api::ObjectMeta,
) -> PartResult {
    let result: Result<String, (&'static str, String)> = async {
        let unavailable = |e: anyhow::Error| (reason::NATS_UNAVAILABLE, format!("{e:#}"));
        let existing = existing_secret(ctx, meta, &names.nats_secret)
            .await
            .map_err(|e| (reason::NATS_UNAVAILABLE, e.to_string()))?;
        let stored = existing
            .as_ref()
            .and_then(nats::credentials::Stored::from_secret);
        let limits = &agency.spec.messaging;
        let provisioned = ctx
            .nats
            .ensure_agency(
                &nats::AgencyMessaging {
                    namespace: &agency.namespace().unwrap_or_default(),
                    name: &agency.name_any(),
                    uid: &agency.uid().unwrap_or_default(),
                    subject_prefix: &names.subject_prefix,
                    placement,
                    rotation_requested: agency
                        .annotations()
                        .get(nats::ROTATE_ANNOTATION)
                        .map_or("", String::as_str),
                    limits: nats::AgencyLimits {
                        max_connections: limits.max_connections,
                        max_subscriptions: limits.max_subscriptions,
                        max_payload: limits.max_message_bytes,
                    },
                },
                stored.as_ref(),
            )
            .await
            .map_err(unavailable)?;
        let secret = build::nats_secret(
            meta.clone(),
            names,
            provisioned.data,
            provisioned.annotations,
        );
        apply_secret(ctx, existing.as_ref(), &secret)
            .await
            .map_err(|e| (reason::NATS_UNAVAILABLE, format!("writing Secret: {e}")))?;
        Ok(provisioned.message)
    }
    .await;
    part(condition_type::MESSAGING_READY, result)
}

/// The aggregates that hold an agency's messages, nearest first.
pub fn aggregate_chain(placement: &Placement) -> Vec<String> {
    nats::aggregate_chain(placement)
}

// ---- alerts -----------------------------------------------------------------------------

async fn apply_alerts(
    agency: &Agency,
    ctx: &Context,
    names: &AgencyNames,
    resolved: &placement::Resolved,
    meta: &kube::api::ObjectMeta,
) -> PartResult {
    let result: Result<String, (&'static str, String)> = async {
        let today = shanghai_today();
        let namespace = agency.namespace().unwrap_or_default();
        let calendar = ctx
            .calendar()
            .map_err(|e| (reason::CALENDAR_MISSING, e.to_string()))?;
        let plans = ctx.plans.state();
        let plan_refs: Vec<_> = plans.iter().map(|p| p.as_ref()).collect();
        let milestones = milestones::for_agency(
            &plan_refs,
            &namespace,
            agency.labels(),
            &agency.spec.jurisdiction,
            &resolved.placement,
            &calendar,
            today,
        )
        .map_err(|e| (reason::CALENDAR_MISSING, e.to_string()))?;
        let stats_due = resolved
            .policies
            .annual_statistics_due
            .in_year(today.year())
            .ok_or((
                reason::INVALID_SPEC,
                "policies.annualStatisticsDue is not a date".to_string(),
            ))?;
        let spec = agency_rule_spec(&AgencyAlertInput {
            agency: &agency.name_any(),
            namespace: &namespace,
            province: &resolved.placement.province,
            city: &resolved.placement.city,
            county: resolved.placement.county_token(),
            reviewer_ratio_permille: resolved.policies.legal_reviewer_ratio_permille,
            routing_labels: &agency.spec.alerting.labels,
            milestones: &milestones,
            annual_statistics_year: today.year() - 1,
            annual_statistics_due: stats_due,
            runbook_base_url: &ctx.config.runbook_base_url,
        });
        let rule = build::prometheus_rule(meta.clone(), names, spec);
        let api: Api<DynamicObject> = Api::namespaced_with(
            ctx.client.clone(),
            &namespace,
            &build::prometheus_rule_resource(),
        );
        let unavailable = |e: kube::Error| (reason::ALERTS_UNAVAILABLE, e.to_string());
        let current = api
            .get_opt(&names.prometheus_rule)
            .await
            .map_err(unavailable)?;
        let desired = serde_json::to_value(&rule).expect("serialisable");
        if current
            .is_none_or(|c| !is_subset(&desired, &serde_json::to_value(&c).expect("serialisable")))
        {
            api.patch(
                &names.prometheus_rule,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&rule),
            )
            .await
            .map_err(unavailable)?;
        }
        Ok(format!(
            "PrometheusRule {} with {} milestone occurrence(s)",
            names.prometheus_rule,
            milestones.len()
        ))
    }
    .await;
    part(condition_type::ALERTS_READY, result)
}

// ---- deletion ---------------------------------------------------------------------------

async fn cleanup(agency: &Agency, ctx: &Context, api: &Api<Agency>) -> Result<Action, Error> {
    if !agency.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let namespace = agency.namespace().unwrap_or_default();
    let name = agency.name_any();
    let policy = agency.spec.database.deletion_policy;
    // The placement recorded in the Secret annotations survives a deleted Jurisdiction.
    let (placement, names) = match recorded_placement(agency) {
        Some(p) => {
            let names = naming::agency_names(&namespace, &name, &p);
            (p, names)
        }
        None => {
            // Never provisioned (e.g. invalid all along): nothing outside Kubernetes.
            remove_finalizer(api, agency).await?;
            return Ok(Action::await_change());
        }
    };
    let part_error = |part: &'static str, reason: &'static str| {
        move |e: String| Error::Part {
            part,
            reason,
            message: e,
        }
    };
    // A database on a server the operator never knew (DatabaseReady refused with
    // InvalidSpec) was never created: there is nothing to keep or drop there. Any other
    // failure to reach the server waits, so records are never left behind by accident.
    let database_never_created = agency.status.as_ref().is_some_and(|s| {
        sanxiang_crds::conditions::find_condition(&s.conditions, condition_type::DATABASE_READY)
            .is_some_and(|c| c.status != "True" && c.reason == reason::INVALID_SPEC)
    });
    let server = match ctx.postgres.get(&agency.spec.database.server) {
        Ok(server) => Some(server),
        Err(_) if database_never_created => None,
        Err(e) => {
            return Err(part_error("database", reason::DATABASE_UNAVAILABLE)(
                e.to_string(),
            ));
        }
    };
    match (policy, server) {
        (DeletionPolicy::Delete, server) => {
            if let Some(server) = server {
                postgres::drop_tenant_database(&server.pool, &names.database, &names.role)
                    .await
                    .map_err(|e| {
                        part_error("database", reason::DATABASE_UNAVAILABLE)(e.to_string())
                    })?;
            }
        }
        (DeletionPolicy::Retain, Some(server)) => {
            // Records stay; the credentials (whose Secrets go with the Agency) stop working.
            postgres::disable_login(&server.pool, &names.role)
                .await
                .map_err(|e| part_error("database", reason::DATABASE_UNAVAILABLE)(e.to_string()))?;
        }
        (DeletionPolicy::Retain, None) => {}
    }
    // Every user of the agency's NATS account is refused from now on; under Delete the
    // account leaves the servers too. (Its messages stay in the aggregates.)
    ctx.nats
        .revoke_agency(
            &agency.uid().unwrap_or_default(),
            &format!("{namespace}/{name}"),
            &names.subject_prefix,
            policy == DeletionPolicy::Delete,
        )
        .await
        .map_err(|e| part_error("messaging", reason::NATS_UNAVAILABLE)(format!("{e:#}")))?;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    match secrets
        .delete(&names.nats_secret, &Default::default())
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => return Err(e.into()),
    }
    let (why, note) = match policy {
        DeletionPolicy::Retain => (
            reason::RETAINED_ON_DELETE,
            format!(
                "deletionPolicy Retain: database {} kept, login disabled; NATS account \
                 revoked; its messages stay in the aggregates",
                names.database
            ),
        ),
        DeletionPolicy::Delete => (
            reason::DELETING,
            format!(
                "deletionPolicy Delete: database {} and NATS account removed; its \
                 messages stay in the aggregates",
                names.database
            ),
        ),
    };
    publish(ctx, agency, EventType::Normal, why, &note).await;
    let _ = ctx.metrics.agency_ready.remove_label_values(&[
        &namespace,
        &name,
        &placement.province,
        &placement.city,
        placement.county_token(),
    ]);
    remove_finalizer(api, agency).await?;
    retrigger_waiting_peers(ctx, agency).await;
    Ok(Action::await_change())
}

/// Agencies refused because this one held the name or a quota place may proceed now that
/// it is gone: ask the controller to look again at once (a no-op for the others, which
/// write nothing when nothing changed).
async fn retrigger_waiting_peers(ctx: &Context, gone: &Agency) {
    let same_namespace =
        Api::<Agency>::namespaced(ctx.client.clone(), &gone.namespace().unwrap_or_default())
            .list(&ListParams::default())
            .await;
    let same_name = Api::<Agency>::all(ctx.client.clone())
        .list(&ListParams::default().fields(&format!("metadata.name={}", gone.name_any())))
        .await;
    for peer in [same_namespace, same_name]
        .into_iter()
        .flat_map(|l| l.map(|l| l.items).unwrap_or_default())
    {
        let waiting = peer.status.as_ref().is_some_and(|s| {
            sanxiang_crds::conditions::find_condition(&s.conditions, condition_type::READY)
                .is_some_and(|c| {
                    c.reason == reason::NAME_TAKEN || c.reason == reason::QUOTA_EXCEEDED
                })
        });
        if waiting && peer.uid() != gone.uid() {
            // A full channel already holds a pending request.
            let _ = ctx.reconcile_all.try_send(());
            return;
        }
    }
}

/// Where the agency was provisioned, from the subject prefix in the status the operator
/// wrote (so deletion works even when its Jurisdiction is gone).
fn recorded_placement(agency: &Agency) -> Option<Placement> {
    let prefix = agency.status.as_ref()?.nats_subject_prefix.clone()?;
    let mut tokens = prefix.split('.').skip(1);
    Some(Placement {
        province: tokens.next()?.to_string(),
        city: tokens.next()?.to_string(),
        county: tokens.next().filter(|c| *c != "-").map(str::to_string),
    })
}

async fn remove_finalizer(api: &Api<Agency>, agency: &Agency) -> Result<(), Error> {
    let finalizers: Vec<_> = agency
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    let patch = serde_json::json!({
        "metadata": {"finalizers": finalizers, "resourceVersion": agency.resource_version()}
    });
    match api
        .patch(
            &agency.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

// ---- helpers ----------------------------------------------------------------------------

/// The Secret from the cache, or from the API when the cache has not seen it yet (a
/// password must never be regenerated just because the cache lags).
async fn existing_secret(
    ctx: &Context,
    meta: &kube::api::ObjectMeta,
    name: &str,
) -> Result<Option<Secret>, kube::Error> {
    let namespace = meta.namespace.clone().unwrap_or_default();
    if let Some(s) = ctx.secrets.get(&ObjectRef::new(name).within(&namespace)) {
        return Ok(Some((*s).clone()));
    }
    Api::<Secret>::namespaced(ctx.client.clone(), &namespace)
        .get_opt(name)
        .await
}

async fn apply_secret(
    ctx: &Context,
    existing: Option<&Secret>,
    desired: &Secret,
) -> Result<(), kube::Error> {
    let desired_json = serde_json::to_value(desired).expect("serialisable");
    if existing.is_some_and(|e| {
        is_subset(
            &desired_json,
            &serde_json::to_value(e).expect("serialisable"),
        )
    }) {
        return Ok(());
    }
    let namespace = desired.metadata.namespace.clone().unwrap_or_default();
    let name = desired.metadata.name.clone().unwrap_or_default();
    apply(
        &Api::<Secret>::namespaced(ctx.client.clone(), &namespace),
        &name,
        desired,
    )
    .await?;
    Ok(())
}

fn part(condition: &'static str, result: Result<String, (&'static str, String)>) -> PartResult {
    match result {
        Ok(message) => PartResult {
            condition,
            ready: true,
            reason: reason::PROVISIONED,
            message,
        },
        Err((reason, message)) => PartResult {
            condition,
            ready: false,
            reason,
            message,
        },
    }
}

fn set(
    status: &mut AgencyStatus,
    type_: &str,
    ready: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    upsert_condition(
        &mut status.conditions,
        new_condition(type_, ready, reason, message, generation, Time(Utc::now())),
    );
}

async fn publish(ctx: &Context, agency: &Agency, type_: EventType, reason: &str, note: &str) {
    ctx.publish_event(&agency.object_ref(&()), type_, "Reconcile", reason, note)
        .await;
}

fn random_password() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(40)
        .map(char::from)
        .collect()
}

/// Today in China Standard Time (UTC+8, no daylight saving), where deadlines are counted.
pub fn shanghai_today() -> chrono::NaiveDate {
    (Utc::now() + chrono::Duration::hours(8)).date_naive()
}
