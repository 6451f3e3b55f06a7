//! What the operator provisioned for an agency and reports in its status, including the
//! policies in force with the level each value came from.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::month_day::MonthDay;
use sanxiang_domain::policy::{EffectivePolicy, Sourced};

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
