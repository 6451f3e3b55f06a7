//! `Agency`: one enforcement agency (执法机关) = one tenant, and what the operator
//! provisioned for it.
//!
//! City administrators create Agency objects in their city's namespace; the operator
//! gives each a database, NATS subjects and alert rules, and reports each part as a
//! condition. Everything an administrator may get wrong is checked twice: by the
//! schema when the object is applied, and by [`validate_agency`] before the operator
//! acts (the credit-code check digit only there).
//!
//! Disclosure deadlines default to the national rule — licensing and penalty decisions
//! within 7 working days, all others within 20 — and an agency may override a category
//! only by citing the law that says otherwise ([`disclosure_working_days`]).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::codes::{is_division_code, is_dns_label};
use crate::credit_code::validate_credit_code;
use crate::field_error::FieldError;
use crate::jurisdiction::{JurisdictionPolicies, validate_policies};
use crate::month_day::MonthDay;
use sanxiang_domain::policy::{EffectivePolicy, Sourced};

pub use sanxiang_domain::category::EnforcementCategory;
pub use sanxiang_domain::disclosure::{
    DisclosureOverride, MAX_DISCLOSURE_WORKING_DAYS, disclosure_working_days,
};

/// Most matter codes in the deprecated `spec.reviewCatalog`.
pub const MAX_REVIEW_CATALOG: usize = 200;
/// Most alert labels an agency may add.
pub const MAX_ALERT_LABELS: usize = 16;
/// Labels that identify an agency alert, set by the operator (and Prometheus); an
/// Agency's `spec.alerting.labels` may not override them. The CEL rule on the field
/// repeats this list (a unit test keeps the two equal).
pub const RESERVED_ALERT_LABELS: [&str; 11] = [
    "alertname",
    "severity",
    "namespace",
    "province",
    "city",
    "county",
    "agency",
    "agency_name",
    "plan",
    "milestone",
    "due",
];

/// An administrative enforcement agency (执法机关) using the platform: one tenant with
/// its own database, messaging subjects and alerts.
///
/// Create it in the namespace of its city (see `kubectl get jur` for the namespaces).
/// Watch `kubectl get ag` until READY is True; if it is False the REASON column and
/// `kubectl describe` say what to fix.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "sanxiang.io",
    version = "v1alpha1",
    kind = "Agency",
    doc = "One administrative enforcement agency (tenant) and what the operator provisioned for it; see spec and status.",
    plural = "agencies",
    namespaced,
    shortname = "ag",
    category = "sanxiang",
    status = "AgencyStatus",
    printcolumn = r#"{"name":"Jurisdiction","type":"string","jsonPath":".spec.jurisdiction"}"#,
    printcolumn = r#"{"name":"Credit Code","type":"string","jsonPath":".spec.creditCode"}"#,
    printcolumn = r#"{"name":"Display Name","type":"string","jsonPath":".spec.displayName","priority":1}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Database","type":"string","jsonPath":".status.database","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.disclosure) || !has(self.disclosure.overrides) || self.disclosure.overrides.all(o, o.category in self.categories)",
        "message": "every disclosure override must be for one of spec.categories",
        "fieldPath": ".disclosure.overrides"
    }
]))]
pub struct AgencySpec {
    /// GB/T 2260 code of the city (e.g. 210100) or county (e.g. 211221) the agency
    /// belongs to: the city of this namespace or one of its counties. A province-level
    /// agency (省级行政执法机关) names its province (e.g. 210000) and lives in the
    /// province's namespace (`sx-210000`), where only provincial IT may create it. Cannot
    /// be changed after creation, since messaging subjects and reports hang off it.
    #[schemars(
        length(max = 6),
        extend("x-kubernetes-validations" = [
            {
                "rule": "self.matches('^[1-9][0-9]{5}$')",
                "message": "must be the 6-digit GB/T 2260 code of a city (e.g. 210100), a county (e.g. 211221) or, for a province-level agency, the province (e.g. 210000)"
            },
            { "rule": "self == oldSelf", "message": "is immutable: create a new Agency to move an agency" }
        ])
    )]
    pub jurisdiction: String,

    /// Full official name, e.g. 沈阳市市场监督管理局.
    #[schemars(length(min = 1, max = 128))]
    pub display_name: String,

    /// Unified social credit code (统一社会信用代码, GB 32100-2015) of the agency: 18
    /// characters, digits and upper-case letters except I, O, S, V, Z, e.g.
    /// 11210100MB0123456X. The operator also verifies the check digit (the last
    /// character) and reports a typo as reason InvalidSpec.
    #[schemars(
        length(max = 18),
        extend("x-kubernetes-validations" = [
            {
                "rule": "self.matches('^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$')",
                "message": "must be an 18-character unified social credit code: digits and upper-case letters except I, O, S, V, Z, with digits in positions 3-8"
            }
        ])
    )]
    pub credit_code: String,

    /// Enforcement categories (执法类别) the agency holds, each at most once. They
    /// select its disclosure deadlines and the statistics it reports.
    #[schemars(length(min = 1, max = 9), extend("x-kubernetes-list-type" = "set"))]
    pub categories: Vec<EnforcementCategory>,

    /// Where the agency's records live and what happens to them when the Agency is
    /// deleted.
    #[serde(default)]
    pub database: DatabaseSpec,

    /// Deviations from the default disclosure deadlines.
    #[serde(default)]
    pub disclosure: DisclosureSpec,

    /// Routing of the agency's alerts.
    #[serde(default)]
    pub alerting: AlertingSpec,

    /// The agency's own policies, set by its city's administrators: the last layer of
    /// the inheritance national → province → city → county → agency, with the fields and
    /// national bounds of `Jurisdiction.spec.policies`. Each value may only tighten the
    /// one in force for the agency's city or county (a shorter publication or natural
    /// person retention, fewer withdrawal days, more legal reviewers); a looser one is not
    /// obeyed and `PoliciesValid` is False naming the field and the bound. Omitted fields
    /// inherit. `annualStatisticsDue` is not an agency's: statistics are compiled per
    /// city and county on one day.
    #[serde(default, skip_serializing_if = "is_default")]
    // `extend` replaces JurisdictionPolicies' own rule list, so its rule is repeated here.
    #[schemars(extend("x-kubernetes-validations" = [
        {
            "rule": "!has(self.naturalPersonRetentionDays) || !has(self.publicationRetentionDays) || self.naturalPersonRetentionDays <= self.publicationRetentionDays",
            "message": "naturalPersonRetentionDays must not exceed publicationRetentionDays",
            "fieldPath": ".naturalPersonRetentionDays"
        },
        {
            "rule": "!has(self.annualStatisticsDue)",
            "message": "annualStatisticsDue is set for a city or county (JurisdictionPolicy), not for one agency: statistics are compiled per jurisdiction on one day",
            "fieldPath": ".annualStatisticsDue"
        }
    ]))]
    pub policies: JurisdictionPolicies,

    /// Limits of the agency's NATS account (its connections, subscriptions and message
    /// size). The account has no JetStream storage of its own: what it publishes is stored
    /// in its county's (or city's) aggregate stream, whose limits the operator sets.
    #[serde(default)]
    pub messaging: MessagingSpec,

    /// Deprecated and ignored. The catalogue of major enforcement decisions that need
    /// legal review (重大执法决定法制审核目录清单) is the agency's matter list: each matter
    /// says `legalReviewRequired`, and the list is published through the tenant service
    /// after the same-level justice bureau's review. The field is still accepted (and
    /// checked: at most 200 codes of 1 to 64 characters without commas or spaces) so that
    /// existing manifests apply; it is removed in the next API version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 200),
        inner(length(min = 1, max = 64), regex(pattern = "^[^,\\s]+$")),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub review_catalog: Vec<String>,
}

/// Limits of an agency's NATS account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagingSpec {
    /// Most simultaneous connections with the agency's credentials (default 8).
    #[serde(default = "default_max_connections")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_connections: i64,

    /// Most subscriptions across those connections (default 1000).
    #[serde(default = "default_max_subscriptions")]
    #[schemars(range(min = 1, max = 100000))]
    pub max_subscriptions: i64,

    /// Largest message the agency may publish, in bytes (default 262144 = 256 KiB; the
    /// operator caps it at the cluster-wide maximum).
    #[serde(default = "default_max_message_bytes")]
    #[schemars(range(min = 1024, max = 8388608))]
    pub max_message_bytes: i64,
}

fn default_max_connections() -> i64 {
    8
}
fn default_max_subscriptions() -> i64 {
    1000
}
fn default_max_message_bytes() -> i64 {
    256 << 10
}

impl Default for MessagingSpec {
    fn default() -> Self {
        Self {
            max_connections: default_max_connections(),
            max_subscriptions: default_max_subscriptions(),
            max_message_bytes: default_max_message_bytes(),
        }
    }
}

/// Where the agency's records live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSpec {
    /// Name of the PostgreSQL server (as configured in the operator) that holds the
    /// agency's database. Default `default`. May be corrected until the database is
    /// provisioned (e.g. after naming an unknown server); from then on it is immutable
    /// (admission policy `sanxiang-agency-placement`): moving records between servers is
    /// a migration, not an edit.
    #[serde(default = "default_server")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub server: String,

    /// What deleting the Agency does to its database: `Retain` (default) keeps the
    /// database and its records and only revokes access; `Delete` drops them for good.
    /// Enforcement records must normally be kept, so use Delete only for test tenants.
    /// Only provincial IT may set Delete, together with the annotation
    /// `sanxiang.io/delete-allowed-by: <their user name>`; deleting an agency whose
    /// database holds records then waits (condition DeletionBlocked) until a second
    /// provincial IT member sets `sanxiang.io/delete-confirmed-by: <their user name>`.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

fn default_server() -> String {
    "default".to_owned()
}

impl Default for DatabaseSpec {
    fn default() -> Self {
        Self {
            server: default_server(),
            deletion_policy: DeletionPolicy::default(),
        }
    }
}

/// Annotation naming the provincial IT member who set `deletionPolicy: Delete` (admission
/// requires it to be the requester's own user name, in the same request).
pub const DELETE_ALLOWED_BY_ANNOTATION: &str = "sanxiang.io/delete-allowed-by";
/// Annotation naming the second provincial IT member who confirms that a deleted agency's
/// records may be destroyed (their own user name; never the one who allowed Delete).
pub const DELETE_CONFIRMED_BY_ANNOTATION: &str = "sanxiang.io/delete-confirmed-by";

/// What deleting an Agency does to its records: Retain (keep, default) or Delete (drop).
///
/// Records of enforcement are never destroyed by one person: only provincial IT may set
/// Delete (annotating `sanxiang.io/delete-allowed-by` with their user name in the same
/// request), and when the deleted agency's database holds records the deletion waits
/// (condition DeletionBlocked) until a second provincial IT member annotates
/// `sanxiang.io/delete-confirmed-by` with theirs. Setting Retain is open to everyone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Keep the database and records; revoke the agency's access.
    #[default]
    Retain,
    /// Drop the database, its role and all records (provincial IT only; records held
    /// need a second person's confirmation).
    Delete,
}

/// Deviations from the default disclosure deadlines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureSpec {
    /// Per-category deadlines that a law sets differently from the default (7 working
    /// days for Licensing and Penalty, 20 for the rest). At most one per category.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 9),
        extend(
            "x-kubernetes-list-type" = "map",
            "x-kubernetes-list-map-keys" = ["category"]
        )
    )]
    pub overrides: Vec<DisclosureOverride>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Routing of the agency's alerts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertingSpec {
    /// Extra Prometheus labels on every alert of the agency, for Alertmanager routing,
    /// e.g. `{team: market-supervision}`, so that the city's AlertmanagerConfig can route
    /// this agency's alerts to its own receiver. Names are Prometheus label names;
    /// alertname, severity, namespace, province, city, county, agency, agency_name, plan,
    /// milestone and due are set by the operator and may not be given here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend(
        "maxProperties" = 16,
        "x-kubernetes-validations" = [
            {
                "rule": "self.all(k, size(k) <= 63 && k.matches('^[a-zA-Z_][a-zA-Z0-9_]*$') && !k.startsWith('__'))",
                "message": "label names must be Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __, at most 63 characters)"
            },
            {
                "rule": "self.all(k, size(self[k]) <= 256)",
                "message": "label values must be at most 256 characters"
            },
            {
                "rule": "!self.exists(k, k in ['alertname', 'severity', 'namespace', 'province', 'city', 'county', 'agency', 'agency_name', 'plan', 'milestone', 'due'])",
                "messageExpression": "'label ' + self.filter(k, k in ['alertname', 'severity', 'namespace', 'province', 'city', 'county', 'agency', 'agency_name', 'plan', 'milestone', 'due'])[0] + ' is set by the operator (reserved: alertname, severity, namespace, province, city, county, agency, agency_name, plan, milestone, due)'"
            }
        ]
    ))]
    pub labels: BTreeMap<String, String>,
}

/// What the operator provisioned for the agency.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgencyStatus {
    /// DatabaseReady, MessagingReady, AlertsReady and their summary Ready, each with a
    /// reason such as Provisioned, InvalidSpec, JurisdictionMismatch or
    /// DatabaseUnavailable and a message naming what to fix; and PoliciesValid (False,
    /// reason PolicyLoosened: a value of `spec.policies` loosens the bound of the city or
    /// county, is not obeyed, and the message names the field and the bound).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Name of the agency's PostgreSQL database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Name of the PostgreSQL login role that owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_role: Option<String>,
    /// Secret (in this namespace) with the database credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,
    /// NATS subject prefix the agency publishes under, e.g. `sx.210000.210100.0.ag-x`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats_subject_prefix: Option<String>,
    /// Secret (in this namespace) with the NATS credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats_credentials_secret: Option<String>,
    /// JetStream streams that carry the agency's events upward.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<String>,
    /// PrometheusRule (in this namespace) holding the agency's alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_rule: Option<String>,
    /// The policies in force for the agency, inherited national → province → city →
    /// county → the agency's own `spec.policies`, each with the layer it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_policies: Option<EffectivePolicies>,
}

/// The policies in force for an agency (see the Jurisdiction's `spec.policies`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectivePolicies {
    /// Working days to withdraw a revoked decision from disclosure.
    pub withdrawal_deadline_days: PolicyValue<u32>,
    /// Legal reviewers per 1000 enforcement officers, at least.
    pub legal_reviewer_ratio_permille: PolicyValue<u32>,
    /// Day by which last year's statistics are due.
    pub annual_statistics_due: PolicyValue<MonthDay>,
    /// Days a publication stays online (absent: kept online).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication_retention_days: Option<PolicyValue<u32>>,
    /// Days a natural person's publication stays online (absent: as publications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub natural_person_retention_days: Option<PolicyValue<u32>>,
}

/// A policy value in force and where it comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyValue<T> {
    pub value: T,
    /// The level that set it: `National`, or e.g. `City 511700`.
    pub source: String,
}

impl EffectivePolicies {
    /// The status form of an inherited policy.
    pub fn from_effective(e: &EffectivePolicy) -> Self {
        fn v<T: Clone, U>(s: &Sourced<T>, f: impl Fn(T) -> U) -> PolicyValue<U> {
            PolicyValue {
                value: f(s.value.clone()),
                source: s.source(),
            }
        }
        Self {
            withdrawal_deadline_days: v(&e.withdrawal_deadline_days, |d| d),
            legal_reviewer_ratio_permille: v(&e.legal_reviewer_ratio_permille, |r| r),
            annual_statistics_due: v(&e.annual_statistics_due, |(m, d)| MonthDay::new(m, d)),
            publication_retention_days: e.publication_retention_days.as_ref().map(|s| v(s, |d| d)),
            natural_person_retention_days: e
                .natural_person_retention_days
                .as_ref()
                .map(|s| v(s, |d| d)),
        }
    }
}

fn is_prometheus_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

/// Checks an Agency spec the way its schema and CEL rules do, plus the credit-code
/// check digit.
pub fn validate_agency(spec: &AgencySpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let j = &spec.jurisdiction;
    if !is_division_code(j) {
        errors.push(FieldError::new(
            "spec.jurisdiction",
            format!(
                "{j:?} must be the 6-digit GB/T 2260 code of a city (e.g. 210100), a county (e.g. 211221) or, for a province-level agency, the province (e.g. 210000)"
            ),
        ));
    }
    if spec.display_name.trim().is_empty() {
        errors.push(FieldError::new("spec.displayName", "must not be empty"));
    } else if spec.display_name.chars().count() > 128 {
        errors.push(FieldError::new(
            "spec.displayName",
            "must be at most 128 characters",
        ));
    }
    if let Err(e) = validate_credit_code(&spec.credit_code) {
        errors.push(FieldError::new("spec.creditCode", e.to_string()));
    }
    if spec.categories.is_empty() {
        errors.push(FieldError::new(
            "spec.categories",
            "list at least one enforcement category",
        ));
    }
    for (i, c) in spec.categories.iter().enumerate() {
        if spec.categories[..i].contains(c) {
            errors.push(FieldError::new(
                format!("spec.categories[{i}]"),
                format!("{c} is listed twice"),
            ));
        }
    }
    if !is_dns_label(&spec.database.server) {
        errors.push(FieldError::new(
            "spec.database.server",
            format!(
                "{:?} must be a server name: lower-case letters, digits and '-'",
                spec.database.server
            ),
        ));
    }
    for (i, o) in spec.disclosure.overrides.iter().enumerate() {
        let field = format!("spec.disclosure.overrides[{i}]");
        if spec.disclosure.overrides[..i]
            .iter()
            .any(|p| p.category == o.category)
        {
            errors.push(FieldError::new(
                format!("{field}.category"),
                format!("{} already has an override", o.category),
            ));
        }
        if !spec.categories.contains(&o.category) {
            errors.push(FieldError::new(
                format!("{field}.category"),
                format!("{} is not one of spec.categories", o.category),
            ));
        }
        if !(1..=MAX_DISCLOSURE_WORKING_DAYS).contains(&o.working_days) {
            errors.push(FieldError::new(
                format!("{field}.workingDays"),
                format!(
                    "{} is outside 1..={MAX_DISCLOSURE_WORKING_DAYS}",
                    o.working_days
                ),
            ));
        }
        if o.legal_basis.trim().chars().count() < 4 {
            errors.push(FieldError::new(
                format!("{field}.legalBasis"),
                "cite the legal basis (law and article) that sets this deadline",
            ));
        }
    }
    if spec.review_catalog.len() > MAX_REVIEW_CATALOG {
        errors.push(FieldError::new(
            "spec.reviewCatalog",
            format!("at most {MAX_REVIEW_CATALOG} matters"),
        ));
    }
    for (i, m) in spec.review_catalog.iter().enumerate() {
        let field = format!("spec.reviewCatalog[{i}]");
        if m.is_empty()
            || m.chars().count() > 64
            || m.contains(',')
            || m.contains(char::is_whitespace)
        {
            errors.push(FieldError::new(
                field,
                format!(
                    "{m:?} must be a matter code of 1 to 64 characters without commas or spaces"
                ),
            ));
        } else if spec.review_catalog[..i].contains(m) {
            errors.push(FieldError::new(field, format!("{m} is listed twice")));
        }
    }
    if spec.policies.annual_statistics_due.is_some() {
        errors.push(FieldError::new(
            "spec.policies.annualStatisticsDue",
            "is set for a city or county (JurisdictionPolicy), not for one agency: statistics are compiled per jurisdiction on one day",
        ));
    }
    errors.extend(validate_policies(&spec.policies));
    let labels = &spec.alerting.labels;
    if labels.len() > MAX_ALERT_LABELS {
        errors.push(FieldError::new(
            "spec.alerting.labels",
            format!("at most {MAX_ALERT_LABELS} labels"),
        ));
    }
    for (k, v) in labels {
        let field = format!("spec.alerting.labels[{k}]");
        if RESERVED_ALERT_LABELS.contains(&k.as_str()) {
            errors.push(FieldError::new(
                field,
                "is set by the operator and may not be overridden",
            ));
        } else if !is_prometheus_label_name(k) || k.len() > 63 {
            errors.push(FieldError::new(
                field,
                "is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __, at most 63 characters)",
            ));
        } else if v.chars().count() > 256 {
            errors.push(FieldError::new(
                field,
                "value is longer than 256 characters",
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use EnforcementCategory::*;

    fn agency() -> AgencySpec {
        serde_yaml::from_str(
            "jurisdiction: '210100'\n\
             displayName: 沈阳市市场监督管理局\n\
             creditCode: 91350100M000100Y43\n\
             categories: [Licensing, Penalty, Inspection]\n",
        )
        .unwrap()
    }

    fn fields(spec: &AgencySpec) -> Vec<String> {
        validate_agency(spec).into_iter().map(|e| e.field).collect()
    }

    fn basis() -> String {
        "《某某条例》第十二条".into()
    }

    #[test]
    fn defaults_when_omitted() {
        let a = agency();
        assert_eq!(a.database.server, "default");
        assert_eq!(a.database.deletion_policy, DeletionPolicy::Retain);
        assert!(a.disclosure.overrides.is_empty());
        assert!(a.alerting.labels.is_empty());
        assert_eq!(a.messaging, MessagingSpec::default());
        assert_eq!(a.messaging.max_message_bytes, 262_144);
        assert_eq!(validate_agency(&a), vec![]);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["database"]["deletionPolicy"], "Retain");
        assert_eq!(json["categories"][1], "Penalty");
    }

    #[test]
    fn jurisdiction_is_a_division_code_a_province_included() {
        let mut a = agency();
        // A province's code: a province-level agency (placed by admission and the operator).
        for ok in ["210100", "211221", "210000"] {
            a.jurisdiction = ok.into();
            assert!(fields(&a).is_empty(), "{ok}");
        }
        for bad in ["2101", "abcdef", "", "021000"] {
            a.jurisdiction = bad.into();
            assert_eq!(fields(&a), ["spec.jurisdiction"], "{bad}");
        }
    }

    #[test]
    fn credit_code_errors_name_the_field_and_the_digit() {
        let mut a = agency();
        a.credit_code = "91350100M000100Y42".into();
        let e = validate_agency(&a);
        assert_eq!(
            e.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["spec.creditCode: check digit is '2' but should be '3' (GB 32100-2015)"]
        );
        a.credit_code = "91350100M000100Y4".into();
        assert_eq!(fields(&a), ["spec.creditCode"]);
    }

    #[test]
    fn display_name_and_categories() {
        let mut a = agency();
        a.display_name = "  ".into();
        a.categories = vec![];
        assert_eq!(fields(&a), ["spec.displayName", "spec.categories"]);
        a.display_name = "局".repeat(129);
        a.categories = vec![Penalty];
        assert_eq!(fields(&a), ["spec.displayName"]);
        a.display_name = "局".repeat(128);
        assert!(fields(&a).is_empty());
        a.categories = vec![Penalty, Fee, Penalty];
        assert_eq!(fields(&a), ["spec.categories[2]"]);
    }

    #[test]
    fn database_server_must_be_a_name() {
        let mut a = agency();
        a.database.server = "Main_DB".into();
        assert_eq!(fields(&a), ["spec.database.server"]);
        a.database.server = "pg-2".into();
        assert!(fields(&a).is_empty());
    }

    #[test]
    fn disclosure_overrides() {
        let mut a = agency();
        let o = |category, working_days, legal_basis: &str| DisclosureOverride {
            category,
            working_days,
            legal_basis: legal_basis.into(),
        };
        a.disclosure.overrides = vec![o(Penalty, 5, &basis())];
        assert!(fields(&a).is_empty());
        a.disclosure.overrides = vec![
            o(Penalty, 0, &basis()),
            o(Penalty, 61, "  依据 "),
            o(Fee, 10, &basis()),
        ];
        assert_eq!(
            fields(&a),
            [
                "spec.disclosure.overrides[0].workingDays",
                "spec.disclosure.overrides[1].category",
                "spec.disclosure.overrides[1].workingDays",
                "spec.disclosure.overrides[1].legalBasis",
                "spec.disclosure.overrides[2].category",
            ]
        );
    }

    #[test]
    fn disclosure_deadline_defaults_and_overrides() {
        assert_eq!(disclosure_working_days(Licensing, &[]), 7);
        assert_eq!(disclosure_working_days(Penalty, &[]), 7);
        for c in [
            Coercion,
            Expropriation,
            Requisition,
            Inspection,
            Fee,
            Adjudication,
            Confirmation,
        ] {
            assert_eq!(disclosure_working_days(c, &[]), 20, "{c}");
        }
        let overrides = [DisclosureOverride {
            category: Inspection,
            working_days: 5,
            legal_basis: basis(),
        }];
        assert_eq!(disclosure_working_days(Inspection, &overrides), 5);
        assert_eq!(disclosure_working_days(Penalty, &overrides), 7);
    }

    #[test]
    fn review_catalog_holds_matter_codes() {
        let mut a = agency();
        a.review_catalog = vec!["M-001".into(), "沈市监-许可-3".into()];
        assert!(fields(&a).is_empty());
        a.review_catalog = vec![
            "".into(),
            "M 1".into(),
            "M,2".into(),
            "M-001".into(),
            "M-001".into(),
        ];
        assert_eq!(
            fields(&a),
            [
                "spec.reviewCatalog[0]",
                "spec.reviewCatalog[1]",
                "spec.reviewCatalog[2]",
                "spec.reviewCatalog[4]",
            ]
        );
    }

    #[test]
    fn alert_labels() {
        let mut a = agency();
        a.alerting.labels = BTreeMap::from([("team".into(), "market".into())]);
        assert!(fields(&a).is_empty());
        a.alerting.labels = BTreeMap::from([
            ("agency".into(), "x".into()),
            ("1bad".into(), "x".into()),
            ("__meta".into(), "x".into()),
            ("ok".into(), "v".repeat(257)),
        ]);
        assert_eq!(
            fields(&a),
            [
                "spec.alerting.labels[1bad]",
                "spec.alerting.labels[__meta]",
                "spec.alerting.labels[agency]",
                "spec.alerting.labels[ok]",
            ]
        );
        a.alerting.labels = (0..17).map(|i| (format!("l{i}"), "v".into())).collect();
        assert_eq!(fields(&a), ["spec.alerting.labels"]);
    }

    #[test]
    fn the_cel_rule_reserves_the_same_alert_labels() {
        use kube::CustomResourceExt;
        let crd = serde_json::to_value(Agency::crd()).unwrap();
        let labels = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
            ["properties"]["alerting"]["properties"]["labels"];
        let rules = labels["x-kubernetes-validations"].as_array().unwrap();
        let quoted: String = RESERVED_ALERT_LABELS
            .iter()
            .map(|l| format!("'{l}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let reserved = rules
            .iter()
            .find(|r| r["rule"].as_str().unwrap().contains("exists"))
            .unwrap();
        assert!(
            reserved["rule"].as_str().unwrap().contains(&quoted),
            "{reserved}"
        );
        assert!(
            reserved["messageExpression"]
                .as_str()
                .unwrap()
                .contains(&quoted),
            "{reserved}"
        );
    }

    #[test]
    fn an_agency_sets_its_own_policies_but_not_the_statistics_day() {
        let mut a: AgencySpec = serde_yaml::from_str(
            "jurisdiction: '210100'\n\
             displayName: 沈阳市市场监督管理局\n\
             creditCode: 91350100M000100Y43\n\
             categories: [Penalty]\n\
             policies: {publicationRetentionDays: 365, naturalPersonRetentionDays: 180}\n",
        )
        .unwrap();
        assert!(fields(&a).is_empty());
        assert_eq!(a.policies.values().publication_retention_days, Some(365));
        a.policies.natural_person_retention_days = Some(400);
        a.policies.withdrawal_deadline_days = Some(4);
        a.policies.annual_statistics_due = Some(MonthDay::new(1, 10));
        assert_eq!(
            fields(&a),
            [
                "spec.policies.annualStatisticsDue",
                "spec.policies.withdrawalDeadlineDays",
                "spec.policies.naturalPersonRetentionDays",
            ]
        );
        // Omitted, the field is not serialized (existing manifests round-trip).
        let json = serde_json::to_value(agency()).unwrap();
        assert!(json.get("policies").is_none(), "{json}");
    }

    #[test]
    fn categories_round_trip_in_pascal_case() {
        for c in EnforcementCategory::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(
                serde_json::from_str::<EnforcementCategory>(&json).unwrap(),
                c
            );
            assert!(!c.chinese_name().is_empty());
        }
        // Rust reads the storage code too (the tenant service's spelling), but the
        // schema admits only the names in Kubernetes objects.
        assert_eq!(
            serde_json::from_str::<EnforcementCategory>("\"penalty\"").unwrap(),
            Penalty
        );
        assert!(serde_json::from_str::<EnforcementCategory>("\"fees\"").is_err());
        use kube::CustomResourceExt;
        let crd = serde_json::to_value(Agency::crd()).unwrap();
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
            ["properties"]["categories"]["items"];
        let names: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            EnforcementCategory::ALL.map(EnforcementCategory::as_str)
        );
    }
}
