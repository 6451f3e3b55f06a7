//! What a city (or a province) gets: a namespace for its agencies, labelled with its codes
//! ([`namespace_labels`]) and deliberately not owned by the Jurisdiction, and a Role and
//! RoleBinding ([`build_rbac`]) that let its administrator groups manage Agency objects,
//! their plans and their own policies there — and nothing else. Each is applied only
//! when the server's copy lacks what the operator sets ([`apply_if_changed`]).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::ObjectMeta;
use kube::{Api, Resource};
use sanxiang_crds::jurisdiction::JurisdictionLevel as Level;

use super::{AGENCY_ADMIN_ROLE, CITY_CODE_LABEL, Error, PROVINCE_CODE_LABEL};
use crate::apply::{apply, is_subset};
use crate::context::MANAGED_BY;

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
pub(super) fn namespace_object(namespace: &str, labels: BTreeMap<String, String>) -> Namespace {
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
    // The alert routing of the namespace's agencies (prometheus-operator's
    // AlertmanagerConfig); its renderer confines it to them (`crate::alertmanager::Fence`).
    let [routing, routing_status] = [
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
    ];
    let rules = if level == Level::Province {
        // The province-level agencies, what the operator reports on them, and where their
        // alerts go. The province's plans and policies are not namespaced objects here.
        vec![
            rule(&["agencies"], &all),
            rule(&["agencies/status"], &["get"]),
            routing,
            routing_status,
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
            routing,
            routing_status,
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

/// Applies `desired` unless every field it sets already has that value on the server.
pub(super) async fn apply_if_changed<K>(api: &Api<K>, desired: &K) -> Result<(), Error>
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

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    #[test]
    fn a_provinces_namespace_is_no_citys_and_its_role_covers_agencies_and_their_alerts() {
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
            [
                "agencies",
                "agencies/status",
                "alertmanagerconfigs",
                "alertmanagerconfigs/status",
                "events"
            ]
        );
        let for_city = resources(Level::City);
        assert!(
            for_city.contains(&"jurisdictionpolicies".to_string())
                && for_city.contains(&"alertmanagerconfigs".to_string()),
            "{for_city:?}"
        );
    }
}
