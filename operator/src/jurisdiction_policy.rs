//! The policy layers of a jurisdiction, and the JurisdictionPolicy controller that tells a
//! city's administrators whether their policy object is in force and within its bounds.
//!
//! Two kinds of object set policies: Jurisdictions (`spec.policies`, provincial IT's) and
//! JurisdictionPolicies (a city's own, in its namespace, for the city or a county). For an
//! agency of county K in city C of province P the layers are, outermost first:
//! national → P → C → C's object → K → K's object ([`policy_layers`]), and
//! `sanxiang_domain::policy::inherit` lets each only tighten. So a city's object is bound
//! by provincial IT's values, and a county's values (either kind) by the city's.
//!
//! An object counts only where admission would have put it: in the namespace of the
//! city it belongs to (`sx-<city>`), named `policy-<code>`, with a valid spec. The
//! operator checks this again ([`refusal`]) because objects may predate the admission
//! policy or live on a cluster without it; one that fails reads `Ready=False` naming the
//! field, and is ignored.
//!
//! Pipeline: read (the caches) → status (pure, [`policy_status`]) → write only when it
//! changed. The controller looks at every object again whenever a Jurisdiction or another
//! policy object changes, since both move the bounds.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};
use sanxiang_crds::conditions::{condition_type, new_condition, reason, upsert_condition};
use sanxiang_crds::field_error::join_field_errors;
use sanxiang_crds::jurisdiction::{Jurisdiction, JurisdictionLevel as Level};
use sanxiang_crds::jurisdiction_policy::{
    JurisdictionPolicy, JurisdictionPolicyStatus, policy_object_name, validate_jurisdiction_policy,
};
use sanxiang_domain::policy::{PolicyLayer, PolicyLevel, PolicySource, inherit};

use crate::apply;
use crate::context::Context;
use crate::naming::jurisdiction_namespace;

pub const CONTROLLER: &str = "jurisdiction-policy";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

impl Error {
    /// Metric label of the error.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube(_) => "KubeApi",
        }
    }
}

/// The inheritance level of a jurisdiction level.
pub fn policy_level(level: Level) -> PolicyLevel {
    match level {
        Level::Province => PolicyLevel::Province,
        Level::City => PolicyLevel::City,
        Level::County => PolicyLevel::County,
    }
}

/// `namespace/name` of an object, as its policy source names it.
fn key(p: &JurisdictionPolicy) -> String {
    format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any())
}

/// The layer `p` contributes, if it is in force for `code` of city `city` (pure).
fn object_layer(
    level: PolicyLevel,
    code: &str,
    city: &str,
    objects: &[&JurisdictionPolicy],
) -> Option<PolicyLayer> {
    let namespace = jurisdiction_namespace(city);
    let name = policy_object_name(code);
    objects
        .iter()
        .find(|p| {
            p.namespace().as_deref() == Some(namespace.as_str())
                && p.name_any() == name
                && p.spec.jurisdiction == code
                && validate_jurisdiction_policy(&name, &p.spec).is_empty()
        })
        .map(|p| PolicyLayer {
            source: PolicySource::object(level, code, key(p)),
            values: p.spec.policies.values(),
        })
}

/// The policy layers down to jurisdiction `code` (pure): from its province, each level's
/// Jurisdiction followed by the city's policy object for it when one is in force. A
/// missing ancestor contributes nothing (the hierarchy may be declared in any order).
pub fn policy_layers(
    code: &str,
    jurisdictions: &[&Jurisdiction],
    objects: &[&JurisdictionPolicy],
) -> Vec<PolicyLayer> {
    let find = |code: &str| jurisdictions.iter().find(|j| j.spec.code == code).copied();
    let mut chain: Vec<&Jurisdiction> = find(code).into_iter().collect();
    while let Some(parent) = chain
        .last()
        .and_then(|c| c.spec.parent.as_deref())
        .and_then(find)
    {
        if chain.len() > 3 || chain.iter().any(|c| c.spec.code == parent.spec.code) {
            break; // a malformed hierarchy; validation reports it
        }
        chain.push(parent);
    }
    let mut layers = Vec::new();
    let mut city: Option<&str> = None;
    for j in chain.iter().rev() {
        let level = policy_level(j.spec.level);
        layers.push(PolicyLayer {
            source: PolicySource::jurisdiction(level, &j.spec.code),
            values: j.spec.policies.values(),
        });
        if j.spec.level == Level::City {
            city = Some(&j.spec.code);
        }
        // A county the province administers directly has no city, hence no city object.
        if j.spec.level != Level::Province
            && let Some(city) = city
            && let Some(layer) = object_layer(level, &j.spec.code, city, objects)
        {
            layers.push(layer);
        }
    }
    layers
}

/// The loosenings `source` makes among the layers down to `code` (pure), as messages.
pub fn loosenings_of(
    source: &PolicySource,
    code: &str,
    jurisdictions: &[&Jurisdiction],
    objects: &[&JurisdictionPolicy],
) -> Vec<String> {
    inherit(&policy_layers(code, jurisdictions, objects))
        .1
        .into_iter()
        .filter(|l| &l.by == source)
        .map(|l| l.to_string())
        .collect()
}

/// Why `p` is not in force (pure): a condition reason and a message naming the field;
/// `None` when it is.
pub fn refusal(
    p: &JurisdictionPolicy,
    jurisdictions: &[&Jurisdiction],
) -> Option<(&'static str, String)> {
    let errors = validate_jurisdiction_policy(&p.name_any(), &p.spec);
    if !errors.is_empty() {
        return Some((reason::INVALID_SPEC, join_field_errors(&errors)));
    }
    let code = p.spec.jurisdiction.as_str();
    let namespace = p.namespace().unwrap_or_default();
    let find = |code: &str| jurisdictions.iter().find(|j| j.spec.code == code).copied();
    let Some(own) = find(code) else {
        return Some((
            reason::JURISDICTION_NOT_FOUND,
            format!(
                "spec.jurisdiction: no Jurisdiction with code {code} exists; provincial IT \
                 declares it first (kubectl get jurisdictions)"
            ),
        ));
    };
    let city = match own.spec.level {
        Level::City => Some(code),
        Level::County => own
            .spec
            .parent
            .as_deref()
            .and_then(find)
            .filter(|c| c.spec.level == Level::City)
            .map(|c| c.spec.code.as_str()),
        Level::Province => None,
    };
    match city {
        Some(city) if jurisdiction_namespace(city) == namespace => None,
        Some(city) => Some((
            reason::JURISDICTION_MISMATCH,
            format!(
                "spec.jurisdiction: {code} belongs to city {city}, whose policy objects live in \
                 namespace {}, not {namespace}; a city sets the policies of itself and its counties",
                jurisdiction_namespace(city)
            ),
        )),
        None => Some((
            reason::JURISDICTION_MISMATCH,
            format!(
                "spec.jurisdiction: {code} is not under a city (a province, or a county the \
                 province administers directly); its policies are provincial IT's, in its \
                 Jurisdiction"
            ),
        )),
    }
}

/// Fills the status of `p` (pure): `Ready` (in force, or why not), `PoliciesValid` (the
/// fields that loosen a bound above, which are not obeyed) and `observedGeneration`.
/// Returns the loosening message when there is one.
pub fn policy_status(
    status: &mut JurisdictionPolicyStatus,
    p: &JurisdictionPolicy,
    jurisdictions: &[&Jurisdiction],
    objects: &[&JurisdictionPolicy],
    now: Time,
) -> Option<String> {
    let generation = p.metadata.generation;
    let refused = refusal(p, jurisdictions);
    let (ready, why, message) = match &refused {
        Some((why, message)) => (false, *why, message.clone()),
        None => (
            true,
            reason::IN_FORCE,
            format!(
                "in force for {}: it tightens the policies of the Jurisdiction and the levels above",
                p.spec.jurisdiction
            ),
        ),
    };
    upsert_condition(
        &mut status.conditions,
        new_condition(
            condition_type::READY,
            ready,
            why,
            message,
            generation,
            now.clone(),
        ),
    );
    let loosened = match (
        &refused,
        jurisdictions
            .iter()
            .find(|j| j.spec.code == p.spec.jurisdiction),
    ) {
        (None, Some(j)) => loosenings_of(
            &PolicySource::object(policy_level(j.spec.level), &p.spec.jurisdiction, key(p)),
            &p.spec.jurisdiction,
            jurisdictions,
            objects,
        ),
        _ => Vec::new(),
    };
    upsert_condition(
        &mut status.conditions,
        policies_valid(&loosened, generation, now),
    );
    status.observed_generation = generation;
    (!loosened.is_empty()).then(|| loosened.join("; "))
}

/// The `PoliciesValid` condition of a Jurisdiction or a JurisdictionPolicy (pure): True
/// when its `spec.policies` only tighten the bounds above them, else False, reason
/// PolicyLoosened, with the `loosened` messages naming each field and bound.
pub fn policies_valid(loosened: &[String], generation: Option<i64>, now: Time) -> Condition {
    if loosened.is_empty() {
        new_condition(
            condition_type::POLICIES_VALID,
            true,
            reason::WITHIN_BOUNDS,
            "spec.policies only tighten the bounds above them",
            generation,
            now,
        )
    } else {
        new_condition(
            condition_type::POLICIES_VALID,
            false,
            reason::POLICY_LOOSENED,
            loosened.join("; "),
            generation,
            now,
        )
    }
}

pub async fn reconcile(p: Arc<JurisdictionPolicy>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile(CONTROLLER);
    let jurisdictions = ctx.jurisdictions.state();
    let objects = ctx.jurisdiction_policies.state();
    let js: Vec<&Jurisdiction> = jurisdictions.iter().map(|j| j.as_ref()).collect();
    let os: Vec<&JurisdictionPolicy> = objects.iter().map(|o| o.as_ref()).collect();
    let mut status = p.status.clone().unwrap_or_default();
    let loosened = policy_status(&mut status, &p, &js, &os, Time(Utc::now()));
    if p.status.as_ref() != Some(&status) {
        let note = match (&loosened, refusal(&p, &js)) {
            (_, Some((why, message))) => Some((why, message)),
            (Some(message), None) => Some((reason::POLICY_LOOSENED, message.clone())),
            (None, None) => None,
        };
        if let Some((why, message)) = note {
            ctx.publish_event(
                &p.object_ref(&()),
                EventType::Warning,
                "Validate",
                why,
                &message,
            )
            .await;
        }
    }
    let api: Api<JurisdictionPolicy> =
        Api::namespaced(ctx.client.clone(), &p.namespace().unwrap_or_default());
    apply::write_status(&api, &p.name_any(), p.status.as_ref(), &status).await?;
    ctx.reset_backoff(&key(&p));
    Ok(Action::requeue(Duration::from_secs(3600)))
}

pub fn error_policy(p: Arc<JurisdictionPolicy>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.error(CONTROLLER, error.reason());
    tracing::warn!(policy = %key(&p), error = %error, "reconcile failed");
    Action::requeue(ctx.backoff(&key(&p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sanxiang_crds::conditions::find_condition;

    fn jurisdiction(
        level: &str,
        code: &str,
        parent: Option<&str>,
        policies: serde_json::Value,
    ) -> Jurisdiction {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "Jurisdiction",
            "metadata": {"name": format!("j-{code}")},
            "spec": {"level": level, "code": code, "parent": parent, "displayName": code,
                     "policies": policies}
        }))
        .unwrap()
    }

    fn object(
        namespace: &str,
        name: &str,
        code: &str,
        policies: serde_json::Value,
    ) -> JurisdictionPolicy {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "JurisdictionPolicy",
            "metadata": {"name": name, "namespace": namespace, "generation": 2},
            "spec": {"jurisdiction": code, "policies": policies}
        }))
        .unwrap()
    }

    fn world() -> Vec<Jurisdiction> {
        use serde_json::json;
        vec![
            jurisdiction(
                "Province",
                "510000",
                None,
                json!({"legalReviewerRatioPermille": 60}),
            ),
            jurisdiction(
                "City",
                "511700",
                Some("510000"),
                json!({"withdrawalDeadlineDays": 2}),
            ),
            jurisdiction("County", "511722", Some("511700"), json!({})),
            jurisdiction("City", "510100", Some("510000"), json!({})),
            jurisdiction("County", "510104", Some("510100"), json!({})),
        ]
    }

    #[test]
    fn a_citys_objects_follow_their_jurisdictions_and_name_their_source() {
        use serde_json::json;
        let w = world();
        let js: Vec<&Jurisdiction> = w.iter().collect();
        let city = object(
            "sx-511700",
            "policy-511700",
            "511700",
            json!({"withdrawalDeadlineDays": 1, "annualStatisticsDue": {"month": 1, "day": 10}}),
        );
        let county = object(
            "sx-511700",
            "policy-511722",
            "511722",
            json!({"publicationRetentionDays": 1825}),
        );
        // Chengdu's object in Dazhou's namespace, and one named wrongly: neither counts.
        let misplaced = object(
            "sx-511700",
            "policy-510104",
            "510104",
            json!({"withdrawalDeadlineDays": 1}),
        );
        let misnamed = object(
            "sx-511700",
            "dazhou",
            "511722",
            json!({"withdrawalDeadlineDays": 1}),
        );
        let os = [&city, &county, &misplaced, &misnamed];
        let sources: Vec<String> = policy_layers("511722", &js, &os)
            .iter()
            .map(|l| l.source.to_string())
            .collect();
        assert_eq!(
            sources,
            [
                "Province 510000",
                "City 511700",
                "CityPolicy sx-511700/policy-511700",
                "County 511722",
                "CountyPolicy sx-511700/policy-511722",
            ]
        );
        let (e, l) = inherit(&policy_layers("511722", &js, &os));
        assert!(l.is_empty(), "{l:?}");
        assert_eq!(
            e.withdrawal_deadline_days.source(),
            "CityPolicy sx-511700/policy-511700"
        );
        assert_eq!(
            e.publication_retention_days.unwrap().source(),
            "CountyPolicy sx-511700/policy-511722"
        );
        assert_eq!(
            policy_layers("510104", &js, &os).len(),
            3,
            "no object of its own city"
        );
        assert!(refusal(&city, &js).is_none());
        let (why, message) = refusal(&misplaced, &js).unwrap();
        assert_eq!(why, reason::JURISDICTION_MISMATCH);
        assert!(
            message.starts_with("spec.jurisdiction: 510104 belongs to city 510100"),
            "{message}"
        );
        assert_eq!(refusal(&misnamed, &js).unwrap().0, reason::INVALID_SPEC);
        let province = object("sx-511700", "policy-510000", "510000", json!({}));
        assert!(
            refusal(&province, &js)
                .unwrap()
                .1
                .starts_with("spec.jurisdiction: 510000 is a province")
        );
    }

    #[test]
    fn a_looser_value_is_reported_on_the_object_and_the_bound_stays() {
        use serde_json::json;
        let w = world();
        let js: Vec<&Jurisdiction> = w.iter().collect();
        let city = object(
            "sx-511700",
            "policy-511700",
            "511700",
            json!({"withdrawalDeadlineDays": 3, "legalReviewerRatioPermille": 55}),
        );
        let os = [&city];
        let mut status = JurisdictionPolicyStatus::default();
        let now = Time(Utc::now());
        let loosened = policy_status(&mut status, &city, &js, &os, now).unwrap();
        assert!(loosened.starts_with(
            "spec.policies.withdrawalDeadlineDays: CityPolicy sx-511700/policy-511700 sets 3 working days, \
             looser than the bound 2 (City 511700) above it"
        ), "{loosened}");
        assert!(
            loosened.contains("at least 60 (Province 510000)"),
            "{loosened}"
        );
        let valid = find_condition(&status.conditions, condition_type::POLICIES_VALID).unwrap();
        assert_eq!(
            (valid.status.as_str(), valid.reason.as_str()),
            ("False", reason::POLICY_LOOSENED)
        );
        assert_eq!(
            find_condition(&status.conditions, condition_type::READY)
                .unwrap()
                .status,
            "True"
        );
        assert_eq!(status.observed_generation, Some(2));
        let (e, _) = inherit(&policy_layers("511700", &js, &os));
        assert_eq!(
            (
                e.withdrawal_deadline_days.value,
                e.legal_reviewer_ratio_permille.value
            ),
            (2, 60)
        );
        // The Jurisdiction's own values are not the object's fault.
        let by_city = PolicySource::jurisdiction(PolicyLevel::City, "511700");
        assert!(loosenings_of(&by_city, "511700", &js, &os).is_empty());
    }
}
