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
//!
//! Split by idea: the kind and its spec are here; `database` holds where records live
//! and the two-person rule for destroying them, `alerting` the routing labels and the
//! labels reserved for the operator, `status` what the operator reports back, and
//! `validate` the checks the operator makes before it acts.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::jurisdiction::JurisdictionPolicies;

mod alerting;
mod database;
mod status;
#[cfg(test)]
mod tests;
mod validate;

pub use alerting::{AlertingSpec, MAX_ALERT_LABELS, RESERVED_ALERT_LABELS};
pub use database::{
    DELETE_ALLOWED_BY_ANNOTATION, DELETE_CONFIRMED_BY_ANNOTATION, DatabaseSpec, DeletionPolicy,
};
pub use status::{AgencyStatus, EffectivePolicies, PolicyValue};
pub use validate::validate_agency;

pub use sanxiang_domain::category::EnforcementCategory;
pub use sanxiang_domain::disclosure::{
    DisclosureOverride, MAX_DISCLOSURE_WORKING_DAYS, disclosure_working_days,
};

/// Most matter codes in the deprecated `spec.reviewCatalog`.
pub const MAX_REVIEW_CATALOG: usize = 200;

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
