//! The Jurisdiction controller: a city gets a namespace for its agencies, and RBAC that
//! lets the city's administrator groups manage Agency objects, their plans and their
//! own policies (JurisdictionPolicy) there — and nothing else. A province gets a namespace
//! too, for its province-level agencies (省级行政执法机关), labelled with the province code
//! and no city code; there its administrator groups (provincial IT) manage Agency objects
//! only: the province's policies, plans and calendars are provincial IT's cluster-wide
//! objects already.
//!
//! Pipeline: read → validate (pure, same rules as the CRD's CEL) → build (pure: the
//! namespace, Role and RoleBinding) → apply (server-side, only when they differ from the
//! server's) → status. The namespace is deliberately not owned by the Jurisdiction:
//! deleting a Jurisdiction must never cascade into deleting agencies and their records.
//!
//! What a city gets is built in `namespace.rs`; what hangs off a jurisdiction (its
//! agencies, counted in the status, and its children) is read in `agencies.rs`.
//!
//! Nor may a Jurisdiction go while something hangs off it: its finalizer
//! ([`FINALIZER`]) holds the deletion, with condition DeletionBlocked naming the agencies
//! and child jurisdictions that remain ([`in_use`]), until they are gone.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer;
use kube::{Api, Client, Resource, ResourceExt};
use sanxiang_crds::conditions::{condition_type, new_condition, reason, upsert_condition};
use sanxiang_crds::jurisdiction::{
    Jurisdiction, JurisdictionLevel as Level, JurisdictionStatus, validate_jurisdiction,
};
use sanxiang_crds::jurisdiction_policy::JurisdictionPolicy;
use sanxiang_domain::policy::PolicySource;

use crate::apply;
use crate::context::Context;
use crate::jurisdiction_policy::{loosenings_of, policies_valid, policy_level};
use crate::naming::jurisdiction_namespace;

mod agencies;
#[cfg(test)]
mod io_tests;
mod namespace;

pub use agencies::{agency_count, in_use};
use namespace::{apply_if_changed, namespace_object};
pub use namespace::{build_rbac, namespace_labels};

pub const CONTROLLER: &str = "jurisdiction";
/// Namespace labels the admission policy and the operator read.
pub const CITY_CODE_LABEL: &str = "sanxiang.io/city-code";
pub const PROVINCE_CODE_LABEL: &str = "sanxiang.io/province-code";
/// Name of the Role and RoleBinding granted to a city's (or province's) administrators.
pub const AGENCY_ADMIN_ROLE: &str = "sanxiang-agency-admin";
/// Holds a Jurisdiction's deletion while agencies or child jurisdictions remain.
pub const FINALIZER: &str = "sanxiang.io/jurisdiction-in-use";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer {FINALIZER}: {0}")]
    Finalizer(String),
}

impl Error {
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube(_) => "KubeApi",
            Error::Finalizer(_) => "Finalizer",
        }
    }
}

pub async fn reconcile(j: Arc<Jurisdiction>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile(CONTROLLER);
    let api = Api::<Jurisdiction>::all(ctx.client.clone());
    if j.metadata.deletion_timestamp.is_some() && j.finalizers().iter().any(|f| f == FINALIZER) {
        let agencies = ctx.agencies.state();
        let children = ctx.jurisdictions.state();
        if let Some(message) = in_use(
            &j,
            children.iter().map(|c| c.as_ref()),
            agencies.iter().map(|a| a.as_ref()),
        ) {
            let mut status = j.status.clone().unwrap_or_default();
            let blocked = new_condition(
                condition_type::DELETION_BLOCKED,
                true,
                reason::IN_USE,
                message.clone(),
                j.metadata.generation,
                Time(Utc::now()),
            );
            if upsert_condition(&mut status.conditions, blocked) {
                publish_warning(&ctx, &j, reason::IN_USE, &message).await;
            }
            write(&ctx.client, &j, &status).await?;
            // Agencies and children going away trigger no reconcile of this object.
            return Ok(Action::requeue(Duration::from_secs(5)));
        }
    }
    finalizer::finalizer(&api, FINALIZER, j, |event| async {
        match event {
            // Nothing hangs off it any more (checked above): the finalizer may go.
            finalizer::Event::Cleanup(_) => Ok(Action::await_change()),
            finalizer::Event::Apply(j) => provision(j, ctx.clone()).await,
        }
    })
    .await
    .map_err(|e| match e {
        finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(other.to_string()),
    })
}

async fn provision(j: Arc<Jurisdiction>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = j.name_any();
    let generation = j.metadata.generation;
    let mut status = j.status.clone().unwrap_or_default();

    let errors = validate_jurisdiction(&j.spec);
    if !errors.is_empty() {
        let message = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        publish_warning(&ctx, &j, reason::INVALID_SPEC, &message).await;
        set_ready(
            &mut status,
            false,
            reason::INVALID_SPEC,
            message,
            generation,
        );
        write(&ctx.client, &j, &status).await?;
        // Invalid specs wait for a change.
        return Ok(Action::await_change());
    }

    let all = ctx.jurisdictions.state();
    let objects = ctx.jurisdiction_policies.state();
    let loosened = own_loosenings(
        &j,
        &all.iter().map(|o| o.as_ref()).collect::<Vec<_>>(),
        &objects.iter().map(|o| o.as_ref()).collect::<Vec<_>>(),
    );
    let policies_valid = policies_valid(&loosened, generation, Time(Utc::now()));
    if upsert_condition(&mut status.conditions, policies_valid) && !loosened.is_empty() {
        publish_warning(&ctx, &j, reason::POLICY_LOOSENED, &loosened.join("; ")).await;
    }
    let agencies = ctx.agencies.state();
    status.agency_count = Some(agency_count(
        j.spec.level,
        &j.spec.code,
        agencies.iter().map(|a| a.as_ref()),
    ));
    if j.spec.level != Level::County {
        let namespace = jurisdiction_namespace(&j.spec.code);
        let labels = namespace_labels(j.spec.level, &j.spec.code, j.spec.parent.as_deref());
        apply_if_changed(
            &Api::all(ctx.client.clone()),
            &namespace_object(&namespace, labels),
        )
        .await?;
        let owner = j.controller_owner_ref(&()).expect("jurisdiction has a uid");
        let (role, binding) = build_rbac(
            &namespace,
            j.spec.level,
            &j.spec.administrator_groups,
            owner,
        );
        apply_if_changed(&Api::namespaced(ctx.client.clone(), &namespace), &role).await?;
        apply_if_changed(&Api::namespaced(ctx.client.clone(), &namespace), &binding).await?;
        status.namespace = Some(namespace.clone());
        set_ready(
            &mut status,
            true,
            reason::PROVISIONED,
            format!(
                "namespace {namespace} ready; groups {:?} may manage Agency objects there",
                j.spec.administrator_groups
            ),
            generation,
        );
    } else {
        set_ready(&mut status, true, reason::PROVISIONED, "valid", generation);
    }
    // The hierarchy may be declared in any order: a missing parent does not hold back the
    // city's namespace, but the Jurisdiction is not Ready until its parent exists.
    let missing_parent = j.spec.parent.as_ref().filter(|parent| {
        !ctx.jurisdictions
            .state()
            .iter()
            .any(|other| &other.spec.code == *parent)
    });
    if let Some(parent) = missing_parent {
        let message = format!(
            "spec.parent: no Jurisdiction with code {parent} exists; declare it (kubectl get jurisdictions)"
        );
        set_ready(
            &mut status,
            false,
            reason::PARENT_NOT_FOUND,
            message.clone(),
            generation,
        );
        if j.status.as_ref() != Some(&status) {
            publish_warning(&ctx, &j, reason::PARENT_NOT_FOUND, &message).await;
        }
        write(&ctx.client, &j, &status).await?;
        // A new parent triggers no reconcile of its children: look again soon.
        return Ok(Action::requeue(Duration::from_secs(10)));
    }
    write(&ctx.client, &j, &status).await?;
    ctx.reset_backoff(&name);
    Ok(Action::requeue(Duration::from_secs(3600)))
}

pub fn error_policy(j: Arc<Jurisdiction>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.error(CONTROLLER, error.reason());
    tracing::warn!(jurisdiction = %j.name_any(), error = %error, "reconcile failed");
    Action::requeue(ctx.backoff(&j.name_any()))
}

/// This jurisdiction's policy values that loosen a bound set above it (pure): its chain
/// of ancestors from the province down, with the cities' policy objects, then itself,
/// through the inheritance rules.
pub fn own_loosenings(
    j: &Jurisdiction,
    jurisdictions: &[&Jurisdiction],
    objects: &[&JurisdictionPolicy],
) -> Vec<String> {
    let own = PolicySource::jurisdiction(policy_level(j.spec.level), &j.spec.code);
    loosenings_of(&own, &j.spec.code, jurisdictions, objects)
}

/// Writes the jurisdiction's status (server-side apply, the operator's field manager)
/// unless it equals the status the jurisdiction was read with.
async fn write(
    client: &Client,
    j: &Jurisdiction,
    status: &JurisdictionStatus,
) -> Result<(), Error> {
    let api = Api::<Jurisdiction>::all(client.clone());
    apply::write_status(&api, &j.name_any(), j.status.as_ref(), status).await?;
    Ok(())
}

fn set_ready(
    status: &mut JurisdictionStatus,
    ready: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
) {
    let condition: Condition = new_condition(
        condition_type::READY,
        ready,
        reason,
        message,
        generation,
        Time(Utc::now()),
    );
    upsert_condition(&mut status.conditions, condition);
    status.observed_generation = generation;
}

async fn publish_warning(ctx: &Context, j: &Jurisdiction, reason: &str, note: &str) {
    ctx.publish_event(
        &j.object_ref(&()),
        EventType::Warning,
        "Validate",
        reason,
        note,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn jurisdiction(level: &str, code: &str, parent: Option<&str>) -> Jurisdiction {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "Jurisdiction",
            "metadata": {"name": format!("j-{code}")},
            "spec": {"level": level, "code": code, "parent": parent, "displayName": code}
        }))
        .unwrap()
    }

    #[test]
    fn a_city_that_loosens_its_provinces_bound_is_told_which_field() {
        let mut province = jurisdiction("Province", "510000", None);
        province.spec.policies.withdrawal_deadline_days = Some(2);
        let mut city = jurisdiction("City", "511700", Some("510000"));
        city.spec.policies.withdrawal_deadline_days = Some(3);
        let county = jurisdiction("County", "511722", Some("511700"));
        let all = [&province, &city, &county];
        let found = own_loosenings(&city, &all, &[]);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("spec.policies.withdrawalDeadlineDays: City 511700 sets 3"),
            "{}",
            found[0]
        );
        assert!(
            own_loosenings(&county, &all, &[]).is_empty(),
            "the county sets nothing"
        );
        assert!(own_loosenings(&province, &all, &[]).is_empty());
    }

    #[test]
    fn a_county_looser_than_its_citys_own_policy_object_is_told_so() {
        let province = jurisdiction("Province", "510000", None);
        let city = jurisdiction("City", "511700", Some("510000"));
        let mut county = jurisdiction("County", "511722", Some("511700"));
        county.spec.policies.withdrawal_deadline_days = Some(2);
        let object: JurisdictionPolicy = serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "JurisdictionPolicy",
            "metadata": {"name": "policy-511700", "namespace": "sx-511700"},
            "spec": {"jurisdiction": "511700", "policies": {"withdrawalDeadlineDays": 1}}
        }))
        .unwrap();
        let all = [&province, &city, &county];
        assert!(own_loosenings(&county, &all, &[]).is_empty());
        let found = own_loosenings(&county, &all, &[&object]);
        assert_eq!(
            found,
            [
                "spec.policies.withdrawalDeadlineDays: County 511722 sets 2 working days, looser \
              than the bound 1 (CityPolicy sx-511700/policy-511700) above it; the bound applies"
            ]
        );
        assert!(own_loosenings(&city, &all, &[&object]).is_empty());
    }
}
