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
//! Nor may a Jurisdiction go while something hangs off it: its finalizer
//! ([`FINALIZER`]) holds the deletion, with condition DeletionBlocked naming the agencies
//! and child jurisdictions that remain ([`in_use`]), until they are gone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::ObjectMeta;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer;
use kube::{Api, Client, Resource, ResourceExt};
use sanxiang_crds::agency::Agency;
use sanxiang_crds::conditions::{
    condition_type, is_condition_true, new_condition, reason, upsert_condition,
};
use sanxiang_crds::jurisdiction::{
    Jurisdiction, JurisdictionLevel as Level, JurisdictionStatus, validate_jurisdiction,
};

use sanxiang_crds::jurisdiction_policy::JurisdictionPolicy;
use sanxiang_domain::policy::PolicySource;

use crate::apply::{self, apply, is_subset};
use crate::context::{Context, MANAGED_BY};
use crate::jurisdiction_policy::{loosenings_of, policy_level};
use crate::naming::jurisdiction_namespace;

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

/// What keeps `j` from being deleted (pure): its child jurisdictions and the agencies
/// under it, present or being deleted; `None` when nothing does.
pub fn in_use<'a>(
    j: &Jurisdiction,
    jurisdictions: impl IntoIterator<Item = &'a Jurisdiction>,
    agencies: impl IntoIterator<Item = &'a Agency>,
) -> Option<String> {
    let code = j.spec.code.as_str();
    let prefix = match j.spec.level {
        Level::Province => code.get(..2),
        Level::City => code.get(..4),
        Level::County => Some(code),
    }
    .unwrap_or(code);
    let children: Vec<String> = jurisdictions
        .into_iter()
        .filter(|c| c.spec.parent.as_deref() == Some(code))
        .map(|c| c.name_any())
        .collect();
    let agencies: Vec<String> = agencies
        .into_iter()
        .filter(|a| match j.spec.level {
            Level::County => a.spec.jurisdiction == code,
            _ => a.spec.jurisdiction.starts_with(prefix),
        })
        .map(|a| format!("{}/{}", a.namespace().unwrap_or_default(), a.name_any()))
        .collect();
    if children.is_empty() && agencies.is_empty() {
        return None;
    }
    let list = |what: &str, names: &[String]| {
        let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
        let more = names.len().saturating_sub(shown.len());
        format!(
            "{} {what} ({}{})",
            names.len(),
            shown.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        )
    };
    let mut held = Vec::new();
    if !agencies.is_empty() {
        held.push(list("agencies", &agencies));
    }
    if !children.is_empty() {
        held.push(list("child jurisdictions", &children));
    }
    Some(format!(
        "{:?} {code} still has {}; the deletion waits until they are deleted first \
         (an Agency's records go by its own deletionPolicy, never with its Jurisdiction)",
        j.spec.level,
        held.join(" and ")
    ))
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
    let policies_valid = new_condition(
        condition_type::POLICIES_VALID,
        loosened.is_empty(),
        if loosened.is_empty() {
            reason::WITHIN_BOUNDS
        } else {
            reason::POLICY_LOOSENED
        },
        if loosened.is_empty() {
            "spec.policies only tighten the bounds above them".to_string()
        } else {
            loosened.join("; ")
        },
        generation,
        Time(Utc::now()),
    );
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

/// Agencies provisioned (Ready) under a jurisdiction: for a county its own, for a city
/// its own and its counties', for a province all of its cities' (pure).
pub fn agency_count<'a>(
    level: Level,
    code: &str,
    agencies: impl IntoIterator<Item = &'a Agency>,
) -> u32 {
    let prefix = match level {
        Level::Province => code.get(..2),
        Level::City => code.get(..4),
        Level::County => Some(code),
    }
    .unwrap_or(code);
    let under = |a: &Agency| match level {
        Level::County => a.spec.jurisdiction == code,
        _ => a.spec.jurisdiction.starts_with(prefix),
    };
    let count = agencies
        .into_iter()
        .filter(|a| a.metadata.deletion_timestamp.is_none() && under(a))
        .filter(|a| {
            a.status
                .as_ref()
                .is_some_and(|s| is_condition_true(&s.conditions, condition_type::READY))
        })
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The labels of a city's namespace (its city and province codes) or a province's (its
/// province code only: no city code, so no city's admission rules or alert fence apply).
pub fn namespace_labels(
    level: Level,
    code: &str,
    parent: Option<&str>,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([(MANAGED_BY.0.into(), MANAGED_BY.1.into())]);
    if level == Level::Province {
        labels.insert(PROVINCE_CODE_LABEL.into(), code.into());
    } else {
        labels.insert(CITY_CODE_LABEL.into(), code.into());
        labels.insert(
            PROVINCE_CODE_LABEL.into(),
            parent.unwrap_or_default().into(),
        );
    }
    labels
}

/// The namespace of a city's or province's agencies (pure).
fn namespace_object(namespace: &str, labels: BTreeMap<String, String>) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.to_string()),
            labels: Some(labels),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The Role and RoleBinding for a city's administrators, or a province's in its
/// province-level agencies' namespace (pure).
pub fn build_rbac(
    namespace: &str,
    level: Level,
    groups: &[String],
    owner: k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
) -> (Role, RoleBinding) {
    let meta = ObjectMeta {
        name: Some(AGENCY_ADMIN_ROLE.into()),
        namespace: Some(namespace.into()),
        labels: Some(BTreeMap::from([(MANAGED_BY.0.into(), MANAGED_BY.1.into())])),
        owner_references: Some(vec![owner]),
        ..Default::default()
    };
    let rule = |resources: &[&str], verbs: &[&str]| PolicyRule {
        api_groups: Some(vec!["sanxiang.io".into()]),
        resources: Some(resources.iter().map(|s| s.to_string()).collect()),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let all = [
        "get", "list", "watch", "create", "update", "patch", "delete",
    ];
    let events = PolicyRule {
        // Events explain failures (kubectl describe agency).
        api_groups: Some(vec!["".into(), "events.k8s.io".into()]),
        resources: Some(vec!["events".into()]),
        verbs: vec!["get".into(), "list".into(), "watch".into()],
        ..Default::default()
    };
    let rules = if level == Level::Province {
        // The province-level agencies, and what the operator reports on them. Plans,
        // policies and alert routing of the province are not namespaced objects here.
        vec![
            rule(&["agencies"], &all),
            rule(&["agencies/status"], &["get"]),
            events,
        ]
    } else {
        vec![
            // Self-service onboarding: create, edit and remove the city's agencies.
            rule(&["agencies"], &all),
            // The city's own supervision plans (admission: issued by the city or one of
            // its counties, naming only them; the province's plans are not theirs).
            rule(&["supervisionplans"], &all),
            // The city's own policies for itself and its counties (JurisdictionPolicy;
            // admission: only the city and its counties, one object each). They only
            // tighten what provincial IT set in the Jurisdictions.
            rule(&["jurisdictionpolicies"], &all),
            // Read what the operator reports; the status is the operator's to write.
            rule(
                &[
                    "agencies/status",
                    "supervisionplans/status",
                    "jurisdictionpolicies/status",
                ],
                &["get"],
            ),
            // The city's alert routing (prometheus-operator's AlertmanagerConfig); its
            // renderer confines it to the city's alerts.
            PolicyRule {
                api_groups: Some(vec!["monitoring.coreos.com".into()]),
                resources: Some(vec!["alertmanagerconfigs".into()]),
                verbs: all.map(String::from).to_vec(),
                ..Default::default()
            },
            PolicyRule {
                api_groups: Some(vec!["monitoring.coreos.com".into()]),
                resources: Some(vec!["alertmanagerconfigs/status".into()]),
                verbs: vec!["get".into()],
                ..Default::default()
            },
            events,
        ]
    };
    let role = Role {
        metadata: meta.clone(),
        rules: Some(rules),
    };
    let binding = RoleBinding {
        metadata: meta,
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: AGENCY_ADMIN_ROLE.into(),
        },
        subjects: Some(
            groups
                .iter()
                .map(|g| Subject {
                    api_group: Some("rbac.authorization.k8s.io".into()),
                    kind: "Group".into(),
                    name: g.clone(),
                    ..Default::default()
                })
                .collect(),
        ),
    };
    (role, binding)
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

/// Applies `desired` unless every field it sets already has that value on the server.
async fn apply_if_changed<K>(api: &Api<K>, desired: &K) -> Result<(), Error>
where
    K: Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let name = desired.meta().name.clone().unwrap_or_default();
    let current = api.get_opt(&name).await?;
    if current.is_none_or(|c| !is_subset(&json(desired), &json(&c))) {
        apply(api, &name, desired).await?;
    }
    Ok(())
}

fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("serialisable")
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
mod io_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    fn agency(jurisdiction: &str, ready: bool) -> Agency {
        let mut a: Agency = serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "Agency",
            "metadata": {"name": "a", "namespace": "sx-211200"},
            "spec": {"jurisdiction": jurisdiction, "displayName": "局",
                     "creditCode": "91350100M000100Y43", "categories": ["Penalty"]}
        }))
        .unwrap();
        let condition = new_condition(
            condition_type::READY,
            ready,
            reason::PROVISIONED,
            "",
            None,
            Time(Utc::now()),
        );
        a.status = Some(sanxiang_crds::agency::AgencyStatus {
            conditions: vec![condition],
            ..Default::default()
        });
        a
    }

    fn jurisdiction(level: &str, code: &str, parent: Option<&str>) -> Jurisdiction {
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

    #[test]
    fn a_jurisdiction_is_in_use_while_agencies_or_children_remain() {
        let province = jurisdiction("Province", "210000", None);
        let city = jurisdiction("City", "211200", Some("210000"));
        let county = jurisdiction("County", "211221", Some("211200"));
        let all = [province.clone(), city.clone(), county.clone()];
        let agencies = [agency("211221", false)];
        let county_use = in_use(&county, &all, &agencies).unwrap();
        assert!(
            county_use.starts_with("County 211221 still has 1 agencies (sx-211200/a)"),
            "{county_use}"
        );
        let city_use = in_use(&city, &all, &agencies).unwrap();
        assert!(
            city_use.contains("1 agencies (sx-211200/a) and 1 child jurisdictions (j-211221)"),
            "{city_use}"
        );
        assert!(
            in_use(&province, &all, &[])
                .unwrap()
                .contains("child jurisdictions (j-211200)")
        );
        // A province-level agency holds its province, and no city.
        let provincial = [agency("210000", true)];
        assert!(
            in_use(&province, &all, &provincial)
                .unwrap()
                .starts_with("Province 210000 still has 1 agencies (sx-211200/a)")
        );
        assert_eq!(in_use(&city, &[], &provincial), None);
        assert_eq!(agency_count(Level::Province, "210000", &provincial), 1);
        assert_eq!(agency_count(Level::City, "210100", &provincial), 0);
        assert_eq!(in_use(&county, &all, &[]), None);
        assert_eq!(in_use(&county, &all, &[agency("211223", true)]), None);
    }

    #[test]
    fn a_provinces_namespace_is_no_citys_and_its_role_covers_agencies_only() {
        let labels = namespace_labels(Level::Province, "210000", None);
        assert_eq!(
            labels.get(PROVINCE_CODE_LABEL).map(String::as_str),
            Some("210000")
        );
        assert!(!labels.contains_key(CITY_CODE_LABEL));
        let city = namespace_labels(Level::City, "210100", Some("210000"));
        assert_eq!(
            city.get(CITY_CODE_LABEL).map(String::as_str),
            Some("210100")
        );
        assert_eq!(
            city.get(PROVINCE_CODE_LABEL).map(String::as_str),
            Some("210000")
        );

        let owner = OwnerReference {
            api_version: "sanxiang.io/v1alpha1".into(),
            kind: "Jurisdiction".into(),
            name: "j-210000".into(),
            uid: "u".into(),
            ..Default::default()
        };
        let resources = |level| {
            let (role, binding) =
                build_rbac("sx-210000", level, &["province-it".into()], owner.clone());
            assert_eq!(binding.subjects.unwrap()[0].name, "province-it");
            role.rules
                .unwrap()
                .into_iter()
                .flat_map(|r| r.resources.unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            resources(Level::Province),
            ["agencies", "agencies/status", "events"]
        );
        let for_city = resources(Level::City);
        assert!(
            for_city.contains(&"jurisdictionpolicies".to_string())
                && for_city.contains(&"alertmanagerconfigs".to_string()),
            "{for_city:?}"
        );
    }

    #[test]
    fn agencies_count_where_they_are_ready_under_the_jurisdiction() {
        let all = [
            agency("211200", true),
            agency("211221", true),
            agency("211221", false),
            agency("211223", true),
            agency("210100", true),
        ];
        assert_eq!(agency_count(Level::County, "211221", &all), 1);
        assert_eq!(agency_count(Level::City, "211200", &all), 3);
        assert_eq!(agency_count(Level::City, "210100", &all), 1);
        assert_eq!(agency_count(Level::Province, "210000", &all), 4);
        assert_eq!(agency_count(Level::Province, "510000", &all), 0);
    }
}
