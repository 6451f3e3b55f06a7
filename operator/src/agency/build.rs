//! Stage 3, build (pure): the names, the [`TenantContract`], the metadata and the objects
//! an agency gets — its two credential Secrets and its PrometheusRule. No I/O here, so
//! what the operator would write is unit-tested.

use std::collections::BTreeMap;

use chrono::Datelike;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ObjectMeta};
use kube::{Resource, ResourceExt};

use sanxiang_crds::agency::{Agency, AgencySpec, EffectivePolicies};
use sanxiang_crds::conditions::reason;
use sanxiang_crds::month_day::MonthDay;
use sanxiang_domain::policy::{EffectivePolicy, PolicyLevel};
use sanxiang_domain::{
    AGENCY_LABEL, CREDENTIALS_LABEL, DATABASE_CREDENTIALS, DatabaseCredentials as Keys,
    TenantContract,
};

use super::dereference::Inputs;
use super::milestones;
use super::placement::Resolved;
use crate::alerts::{AgencyAlertInput, agency_rule_spec};
use crate::context::MANAGED_BY;
use crate::naming::{self, AgencyNames, Placement};
use crate::nats::{NATS_SECRET_LABEL, NATS_SECRET_LABEL_VALUE};

/// Everything the apply stage writes for an agency.
pub struct Desired {
    pub placement: Placement,
    pub names: AgencyNames,
    pub contract: TenantContract,
    /// Labels, annotations (the contract) and owner of every provisioned object.
    pub meta: ObjectMeta,
    /// The PrometheusRule, or why it cannot be built (condition reason and message).
    pub alerts: Result<AlertRule, (&'static str, String)>,
    /// The policies in force, for the status.
    pub policies: EffectivePolicies,
    /// The agency's own `spec.policies` values that loosen a bound above them (not
    /// obeyed), as messages naming the field and the bound; for `PoliciesValid`. Other
    /// layers' loosenings are reported on their Jurisdiction or JurisdictionPolicy.
    pub loosened: Vec<String>,
}

/// The agency's PrometheusRule and what went into it.
#[derive(Clone, Debug)]
pub struct AlertRule {
    pub rule: DynamicObject,
    /// Milestone occurrences with alerts.
    pub occurrences: usize,
    /// Milestones waiting for a WorkCalendar, e.g. `plan/milestone (no calendar for 2027)`.
    pub pending: Vec<String>,
}

/// Builds what a valid agency gets.
pub fn desired(
    agency: &Agency,
    inputs: &Inputs,
    resolved: &Resolved,
    runbook_base_url: &str,
    portal_base_url: Option<&str>,
) -> Desired {
    let placement = resolved.placement.clone();
    let names = naming::agency_names(&inputs.namespace, &inputs.name, &placement);
    let owner = agency.controller_owner_ref(&()).expect("agency has a uid");
    let contract = tenant_contract(
        &inputs.name,
        &placement,
        &names,
        &agency.spec,
        &resolved.policies,
    );
    let meta = tenant_metadata(&contract, &owner, &inputs.namespace);
    let alerts = alert_rule(
        agency,
        inputs,
        resolved,
        &names,
        &meta,
        runbook_base_url,
        portal_base_url,
    );
    Desired {
        placement,
        names,
        contract,
        meta,
        alerts,
        policies: EffectivePolicies::from_effective(&resolved.policies),
        loosened: resolved
            .loosenings
            .iter()
            .filter(|l| l.by.level == PolicyLevel::Agency)
            .map(ToString::to_string)
            .collect(),
    }
}

/// The PrometheusRule: deadlines, reviewer ratio, annual statistics and the milestones
/// the agency answers for; milestones waiting for a calendar are left out and named.
fn alert_rule(
    agency: &Agency,
    inputs: &Inputs,
    resolved: &Resolved,
    names: &AgencyNames,
    meta: &ObjectMeta,
    runbook_base_url: &str,
    portal_base_url: Option<&str>,
) -> Result<AlertRule, (&'static str, String)> {
    let calendar = inputs
        .calendar
        .as_ref()
        .map_err(|e| (reason::CALENDAR_MISSING, e.to_string()))?;
    let plans: Vec<_> = inputs.plans.iter().map(|p| p.as_ref()).collect();
    let found = milestones::for_agency(
        &plans,
        &inputs.namespace,
        agency.labels(),
        &agency.spec.jurisdiction,
        &resolved.placement,
        calendar,
        inputs.today,
    )
    .map_err(|e| (reason::CALENDAR_MISSING, e.to_string()))?;
    let (month, day) = resolved.policies.annual_statistics_due.value;
    let stats_due = MonthDay::new(month, day)
        .in_year(inputs.today.year())
        .ok_or((
            reason::INVALID_SPEC,
            "policies.annualStatisticsDue is not a date".to_string(),
        ))?;
    let agency_url = portal_base_url
        .map(|base| format!("{}/agencies/{}", base.trim_end_matches('/'), inputs.name));
    let spec = agency_rule_spec(&AgencyAlertInput {
        agency: &inputs.name,
        display_name: &agency.spec.display_name,
        agency_url: agency_url.as_deref(),
        existed_since: agency
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| sanxiang_domain::china_date(t.0)),
        namespace: &inputs.namespace,
        province: &resolved.placement.province,
        city: resolved.placement.city_token(),
        county: resolved.placement.county_token(),
        reviewer_ratio_permille: resolved.policies.legal_reviewer_ratio_permille.value,
        routing_labels: &agency.spec.alerting.labels,
        milestones: &found.occurrences,
        annual_statistics_year: inputs.today.year() - 1,
        annual_statistics_due: stats_due,
        runbook_base_url,
    });
    Ok(AlertRule {
        rule: prometheus_rule(meta.clone(), names, spec),
        occurrences: found.occurrences.len(),
        pending: found
            .pending
            .iter()
            .map(|p| format!("{}/{} (no calendar for {})", p.plan, p.milestone, p.year))
            .collect(),
    })
}

/// What the tenant service needs to know about the agency besides its credentials: its
/// place, its disclosure overrides (each with its legal basis) from
/// the Agency, and its city's withdrawal limit, reviewer ratio and retention.
pub fn tenant_contract(
    name: &str,
    placement: &Placement,
    names: &AgencyNames,
    spec: &AgencySpec,
    policies: &EffectivePolicy,
) -> TenantContract {
    TenantContract {
        subject_prefix: names.subject_prefix.clone(),
        disclosure_overrides: spec.disclosure.overrides.clone(),
        withdrawal_deadline_days: policies.withdrawal_deadline_days.value,
        legal_reviewer_ratio_permille: policies.legal_reviewer_ratio_permille.value,
        display_name: spec.display_name.clone(),
        credit_code: spec.credit_code.clone(),
        categories: spec.categories.clone(),
        publication_retention_days: policies
            .publication_retention_days
            .as_ref()
            .map(|s| s.value),
        natural_person_retention_days: policies
            .natural_person_retention_days
            .as_ref()
            .map(|s| s.value),
        ..TenantContract::new(
            name,
            &placement.province,
            placement.city_token(),
            placement.county_token(),
        )
    }
}

/// Labels and annotations every provisioned object carries: the agency label for
/// routing, and the [`TenantContract`] for the tenant service's discovery of tenants.
pub fn tenant_metadata(
    contract: &TenantContract,
    owner: &OwnerReference,
    namespace: &str,
) -> ObjectMeta {
    ObjectMeta {
        namespace: Some(namespace.into()),
        labels: Some(BTreeMap::from([
            (MANAGED_BY.0.into(), MANAGED_BY.1.into()),
            (AGENCY_LABEL.into(), contract.agency.clone()),
        ])),
        annotations: Some(contract.to_annotations()),
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
        .insert(CREDENTIALS_LABEL.into(), DATABASE_CREDENTIALS.into());
    let url = format!(
        "postgres://{}:{}@{}:{}/{}",
        names.role, db.password, db.host, db.port, names.database
    );
    Secret {
        metadata: meta,
        type_: Some("Opaque".into()),
        data: Some(bytes(BTreeMap::from([
            (Keys::HOST.into(), db.host.into()),
            (Keys::PORT.into(), db.port.to_string()),
            (Keys::DBNAME.into(), names.database.clone()),
            (Keys::USERNAME.into(), names.role.clone()),
            (Keys::PASSWORD.into(), db.password.into()),
            (Keys::URL.into(), url),
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
            city: Some("211200".into()),
            county: None,
        };
        let names = agency_names("sx-211200", "market", &placement);
        let spec: AgencySpec = serde_json::from_value(serde_json::json!({
            "jurisdiction": "211200", "displayName": "铁岭市市场监督管理局",
            "creditCode": "91350100M000100Y43", "categories": ["Penalty"],
            "disclosure": {"overrides": [
                {"category": "Penalty", "workingDays": 5, "legalBasis": "《某某条例》第十二条"}
            ]},
            "reviewCatalog": ["M-001", "M-002"]
        }))
        .unwrap();
        let city = sanxiang_crds::jurisdiction::JurisdictionPolicies {
            natural_person_retention_days: Some(730),
            ..Default::default()
        };
        let (policies, _) =
            sanxiang_domain::policy::inherit(&[sanxiang_domain::policy::PolicyLayer {
                source: sanxiang_domain::policy::PolicySource::jurisdiction(
                    sanxiang_domain::policy::PolicyLevel::City,
                    "211200",
                ),
                values: city.values(),
            }]);
        let contract = tenant_contract("market", &placement, &names, &spec, &policies);
        let meta = tenant_metadata(&contract, &owner(), "sx-211200");
        let annotations = meta.annotations.clone().unwrap();
        // Deprecated and ignored: the matter list is the review catalogue.
        assert!(!annotations.contains_key("sanxiang.io/review-catalog"));
        assert_eq!(
            annotations["sanxiang.io/natural-person-retention-days"],
            "730"
        );
        assert!(!annotations.contains_key("sanxiang.io/publication-retention-days"));
        assert_eq!(
            TenantContract::from_annotations(&annotations).as_ref(),
            Ok(&contract)
        );
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
