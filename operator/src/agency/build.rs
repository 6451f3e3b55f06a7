//! Pure builders of the Kubernetes objects an agency gets: its two credential Secrets and
//! its PrometheusRule. No I/O here, so what the operator would write is unit-tested.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ObjectMeta};

use sanxiang_crds::agency::DisclosureOverride;
use sanxiang_crds::jurisdiction::JurisdictionPolicies;

use crate::context::MANAGED_BY;
use crate::naming::{AgencyNames, Placement};
use crate::nats::{NATS_SECRET_LABEL, NATS_SECRET_LABEL_VALUE};

/// The rules the tenant service enforces for this agency, carried as annotations so that
/// it needs nothing but the Secret: the agency's disclosure overrides (each with its legal
/// basis) and its city's withdrawal limit and reviewer ratio.
pub struct TenantRules<'a> {
    pub disclosure_overrides: &'a [DisclosureOverride],
    pub policies: &'a JurisdictionPolicies,
}

/// Labels and annotations every provisioned object carries, for routing and for the tenant
/// service's discovery of tenants.
pub fn tenant_metadata(
    name: &str,
    placement: &Placement,
    names: &AgencyNames,
    owner: &OwnerReference,
    namespace: &str,
    rules: &TenantRules,
) -> ObjectMeta {
    ObjectMeta {
        namespace: Some(namespace.into()),
        labels: Some(BTreeMap::from([
            (MANAGED_BY.0.into(), MANAGED_BY.1.into()),
            ("sanxiang.io/agency".into(), name.into()),
        ])),
        annotations: Some(BTreeMap::from([
            ("sanxiang.io/agency".into(), name.into()),
            ("sanxiang.io/province".into(), placement.province.clone()),
            ("sanxiang.io/city".into(), placement.city.clone()),
            ("sanxiang.io/county".into(), placement.county_token().into()),
            (
                "sanxiang.io/subject-prefix".into(),
                names.subject_prefix.clone(),
            ),
            (
                "sanxiang.io/disclosure-overrides".into(),
                serde_json::to_string(rules.disclosure_overrides).expect("serialisable"),
            ),
            (
                "sanxiang.io/withdrawal-deadline-days".into(),
                rules.policies.withdrawal_deadline_days.to_string(),
            ),
            (
                "sanxiang.io/legal-reviewer-ratio-permille".into(),
                rules.policies.legal_reviewer_ratio_permille.to_string(),
            ),
        ])),
        owner_references: Some(vec![owner.clone()]),
        ..Default::default()
    }
}

pub struct DatabaseSecretInput<'a> {
    pub host: &'a str,
    pub port: u16,
    pub password: &'a str,
}

pub fn database_secret(
    mut meta: ObjectMeta,
    names: &AgencyNames,
    db: &DatabaseSecretInput,
) -> Secret {
    meta.name = Some(names.database_secret.clone());
    meta.labels
        .get_or_insert_default()
        .insert("sanxiang.io/credentials".into(), "database".into());
    let url = format!(
        "postgres://{}:{}@{}:{}/{}",
        names.role, db.password, db.host, db.port, names.database
    );
    Secret {
        metadata: meta,
        type_: Some("Opaque".into()),
        data: Some(bytes(BTreeMap::from([
            ("host".into(), db.host.into()),
            ("port".into(), db.port.to_string()),
            ("dbname".into(), names.database.clone()),
            ("username".into(), names.role.clone()),
            ("password".into(), db.password.into()),
            ("url".into(), url),
        ]))),
        ..Default::default()
    }
}

pub fn nats_secret(
    mut meta: ObjectMeta,
    names: &AgencyNames,
    data: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> Secret {
    meta.name = Some(names.nats_secret.clone());
    meta.labels
        .get_or_insert_default()
        .insert(NATS_SECRET_LABEL.into(), NATS_SECRET_LABEL_VALUE.into());
    meta.annotations.get_or_insert_default().extend(annotations);
    Secret {
        metadata: meta,
        type_: Some("Opaque".into()),
        data: Some(bytes(data)),
        ..Default::default()
    }
}

/// The PrometheusRule type (monitoring.coreos.com/v1), used dynamically so the operator
/// carries no copy of the Prometheus operator's types.
pub fn prometheus_rule_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "PrometheusRule"),
        "prometheusrules",
    )
}

pub fn prometheus_rule(
    mut meta: ObjectMeta,
    names: &AgencyNames,
    spec: serde_json::Value,
) -> DynamicObject {
    meta.name = Some(names.prometheus_rule.clone());
    // Selected by a Prometheus with ruleSelector matchLabels {sanxiang.io/rules: "true"}.
    meta.labels
        .get_or_insert_default()
        .insert("sanxiang.io/rules".into(), "true".into());
    let mut rule = DynamicObject::new(&names.prometheus_rule, &prometheus_rule_resource())
        .within(meta.namespace.as_deref().unwrap_or_default());
    rule.metadata = meta;
    rule.data = serde_json::json!({ "spec": spec });
    rule
}

/// A Secret value as the API stores it.
pub fn secret_value(secret: &Secret, key: &str) -> Option<String> {
    secret
        .data
        .as_ref()?
        .get(key)
        .and_then(|v| String::from_utf8(v.0.clone()).ok())
}

fn bytes(map: BTreeMap<String, String>) -> BTreeMap<String, ByteString> {
    map.into_iter()
        .map(|(k, v)| (k, ByteString(v.into_bytes())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::agency_names;

    fn owner() -> OwnerReference {
        OwnerReference {
            api_version: "sanxiang.io/v1alpha1".into(),
            kind: "Agency".into(),
            name: "market".into(),
            uid: "u1".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    #[test]
    fn database_secret_carries_a_complete_url() {
        let placement = Placement {
            province: "210000".into(),
            city: "211200".into(),
            county: None,
        };
        let names = agency_names("sx-211200", "market", &placement);
        let overrides: Vec<DisclosureOverride> = serde_json::from_value(serde_json::json!([
            {"category": "Penalty", "workingDays": 5, "legalBasis": "《某某条例》第十二条"}
        ]))
        .unwrap();
        let policies: JurisdictionPolicies = serde_json::from_value(serde_json::json!({})).unwrap();
        let rules = TenantRules {
            disclosure_overrides: &overrides,
            policies: &policies,
        };
        let meta = tenant_metadata("market", &placement, &names, &owner(), "sx-211200", &rules);
        let annotations = meta.annotations.clone().unwrap();
        assert_eq!(
            annotations["sanxiang.io/disclosure-overrides"],
            r#"[{"category":"Penalty","workingDays":5,"legalBasis":"《某某条例》第十二条"}]"#
        );
        assert_eq!(annotations["sanxiang.io/withdrawal-deadline-days"], "3");
        assert_eq!(
            annotations["sanxiang.io/legal-reviewer-ratio-permille"],
            "50"
        );
        let s = database_secret(
            meta,
            &names,
            &DatabaseSecretInput {
                host: "pg",
                port: 5432,
                password: "p w",
            },
        );
        assert_eq!(s.metadata.name.as_deref(), Some("market-db"));
        let url = secret_value(&s, "url").unwrap();
        assert_eq!(
            url,
            format!("postgres://{0}:p w@pg:5432/{0}", names.database)
        );
        assert_eq!(
            s.metadata.labels.unwrap()["sanxiang.io/credentials"],
            "database"
        );
        assert_eq!(s.metadata.annotations.unwrap()["sanxiang.io/county"], "-");
    }
}
