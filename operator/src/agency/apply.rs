//! Stage 4, apply: each part of the tenant — database, messaging, alerts — made to match
//! what [`super::build`] produced, writing only what differs from the caches or the
//! server. A part that fails reports its condition reason and message; the other parts
//! still proceed. NATS is reached only through [`crate::nats`] (`ctx.nats`: the agency's
//! account, user and aggregate streams).

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use rand::Rng;
use sanxiang_crds::agency::Agency;
use sanxiang_crds::conditions::{condition_type, reason};
use sanxiang_domain::DatabaseCredentials;

use super::build::{self, AlertRule, Desired};
use crate::apply::{apply, is_subset};
use crate::context::{Context, FIELD_MANAGER};
use crate::naming::{AgencyNames, Placement};
use crate::nats;
use crate::postgres;

/// Outcome of one part of the apply step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartResult {
    pub condition: &'static str,
    pub ready: bool,
    pub reason: &'static str,
    pub message: String,
}

/// A part that failed, for the error policy (metric label and event reason).
#[derive(Debug, thiserror::Error)]
#[error("{part}: {message}")]
pub struct PartFailed {
    pub part: &'static str,
    pub reason: &'static str,
    pub message: String,
}

/// Applies the three parts; never fails as a whole (each part reports).
pub async fn apply_parts(agency: &Agency, ctx: &Context, desired: &Desired) -> [PartResult; 3] {
    let phase = |name: &str| ctx.metrics.phase.with_label_values(&[name]).start_timer();
    let timer = phase("database");
    let database = apply_database(agency, ctx, &desired.names, &desired.meta).await;
    drop(timer);
    // Timed inside (account and user, then streams).
    let messaging = apply_messaging(
        agency,
        ctx,
        &desired.names,
        &desired.placement,
        &desired.meta,
    )
    .await;
    let timer = phase("prometheus_rule");
    let alerts = apply_alerts(ctx, &desired.names, &desired.alerts).await;
    drop(timer);
    [database, messaging, alerts]
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
        // Sub-phases of `database`, so that its time can be told apart.
        let step = |name: &str| ctx.metrics.phase.with_label_values(&[name]).start_timer();
        let timer = step("database_secret_read");
        let existing = existing_secret(ctx, meta, &names.database_secret)
            .await
            .map_err(|e| (reason::DATABASE_UNAVAILABLE, e.to_string()))?;
        drop(timer);
        let (password, reset) = match existing
            .as_ref()
            .and_then(|s| build::secret_value(s, DatabaseCredentials::PASSWORD))
        {
            Some(p) => (p, false),
            None => (random_password(), true),
        };
        let unavailable = |e: postgres::DbError| (reason::DATABASE_UNAVAILABLE, e.to_string());
        let timer = step("database_postgres");
        postgres::ensure_tenant_database(&server.pool, names.tenant_roles(), &password, reset)
            .await
            .map_err(unavailable)?;
        drop(timer);
        let secret = build::database_secret(
            meta.clone(),
            names,
            &build::DatabaseSecretInput {
                host: &server.tenant_host,
                port: server.tenant_port,
                password: &password,
            },
        );
        let _timer = step("database_secret_write");
        apply_secret(ctx, existing.as_ref(), &secret)
            .await
            .map_err(|e| (reason::DATABASE_UNAVAILABLE, format!("writing Secret: {e}")))?;
        Ok(format!(
            "database {} on server {:?}, owned by role {} (migrations, {}); the service's \
             role {} (DML only) in Secret {}",
            names.database,
            agency.spec.database.server,
            names.owner_role,
            crate::tenant_schema::marker(),
            names.role,
            names.database_secret
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
    ctx: &Context,
    names: &AgencyNames,
    alerts: &Result<AlertRule, (&'static str, String)>,
) -> PartResult {
    let result: Result<String, (&'static str, String)> = async {
        let built = alerts.clone()?;
        let namespace = built.rule.metadata.namespace.clone().unwrap_or_default();
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
        let desired = serde_json::to_value(&built.rule).expect("serialisable");
        if current
            .is_none_or(|c| !is_subset(&desired, &serde_json::to_value(&c).expect("serialisable")))
        {
            api.patch(
                &names.prometheus_rule,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&built.rule),
            )
            .await
            .map_err(unavailable)?;
        }
        let mut message = format!(
            "PrometheusRule {} with {} milestone occurrence(s)",
            names.prometheus_rule, built.occurrences
        );
        if !built.pending.is_empty() {
            message.push_str(&format!("; pending: {}", built.pending.join(", ")));
        }
        Ok(message)
    }
    .await;
    part(condition_type::ALERTS_READY, result)
}

// ---- helpers ----------------------------------------------------------------------------

/// The Secret from the cache, or from the API when the cache has not seen it yet (a
/// password must never be regenerated just because the cache lags).
pub(super) async fn existing_secret(
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

fn random_password() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(40)
        .map(char::from)
        .collect()
}
