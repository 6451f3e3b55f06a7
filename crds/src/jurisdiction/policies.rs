//! Rules that differ by place (withdrawal deadline, legal reviewer ratio, annual
//! statistics day, online retention): the `policies` a Jurisdiction, a JurisdictionPolicy
//! and an Agency set, with their national bounds. Each level may only tighten what is in
//! force above it; the inheritance itself is [`sanxiang_domain::policy::inherit`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::field_error::FieldError;
use crate::month_day::MonthDay;
use sanxiang_domain::contract::{
    DEFAULT_LEGAL_REVIEWER_RATIO_PERMILLE, DEFAULT_WITHDRAWAL_DEADLINE_DAYS,
};
use sanxiang_domain::policy::PolicyValues;

/// Longest online retention a policy may set, in days (100 years: "keep" in practice).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// The national `policies.annualStatisticsDue`: January 31 (Liaoning, Tieling).
pub const DEFAULT_ANNUAL_STATISTICS_DUE: MonthDay = MonthDay::new(1, 31);
/// The national floor of `policies.legalReviewerRatioPermille` (5%).
pub const MIN_LEGAL_REVIEWER_RATIO_PERMILLE: u32 = DEFAULT_LEGAL_REVIEWER_RATIO_PERMILLE;

/// Rules that differ by place, inherited national → Province → City → County: each level
/// may only tighten the rules in force above it, and an omitted field inherits them.
///
/// The bounds: `withdrawalDeadlineDays` at most the value above (nationally 3),
/// `legalReviewerRatioPermille` at least the value above (nationally 50),
/// `annualStatisticsDue` no later than the day above (nationally January 31), and the two
/// retention periods no longer than above (nationally: none, kept online). Bounds that
/// are national are checked when the object is applied; a value looser than a province's
/// or city's is not obeyed (the bound applies) and the Jurisdiction reads
/// `PoliciesValid=False` naming the field. A city's administrators may tighten further, for
/// the city and its counties, with a JurisdictionPolicy in the city namespace: it comes
/// right after the Jurisdiction it names, so these values stay its bound. Each Agency's
/// status shows the policy in force (`effectivePolicies`) with the source of each value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.naturalPersonRetentionDays) || !has(self.publicationRetentionDays) || self.naturalPersonRetentionDays <= self.publicationRetentionDays",
        "message": "naturalPersonRetentionDays must not exceed publicationRetentionDays",
        "fieldPath": ".naturalPersonRetentionDays"
    }
]))]
pub struct JurisdictionPolicies {
    /// Minimum number of legal reviewers per 1000 enforcement officers of each agency,
    /// in per mille to avoid fractions: the three-systems plans require "in principle
    /// at least 5%", i.e. 50, the national floor. A level may raise it above the value
    /// in force above it, never lower it. The reviewer-shortfall alert fires below it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 50, max = 1000))]
    pub legal_reviewer_ratio_permille: Option<u32>,

    /// Day by which agencies publish (or report) last year's enforcement statistics,
    /// moved to the next working day when it is not one. 国办发〔2018〕118号 sets January
    /// 31 (Liaoning, Tieling), so it is a day in January; a level may set an earlier day
    /// than the one in force above it, e.g. Dazhou January 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // `extend` replaces MonthDay's own rule list, so its day rule is repeated here.
    #[schemars(extend("x-kubernetes-validations" = [
        {
            "rule": "self.month < 1 || self.month > 12 || self.day <= [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][self.month - 1]",
            "message": "day does not exist in that month",
            "fieldPath": ".day"
        },
        {
            "rule": "self.month == 1",
            "message": "must be a day in January: 国办发〔2018〕118号 sets January 31 as the latest",
            "fieldPath": ".month"
        }
    ]))]
    pub annual_statistics_due: Option<MonthDay>,

    /// Working days within which a published decision that was revoked, found illegal
    /// or ordered remade must be withdrawn from public disclosure. 行政处罚法 (2021)
    /// Art. 48 sets 3 (its Art. 85 counts such days as working days), the national
    /// ceiling; a level may set fewer than the value in force above it, e.g. Dazhou 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3))]
    pub withdrawal_deadline_days: Option<u32>,

    /// Days a disclosed decision stays online, counted from its publication; omit to
    /// inherit (nationally: kept online). Retention of online publication is a local
    /// rule, e.g. 1825 (5 years); a level may shorten it, never lengthen it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 36500))]
    pub publication_retention_days: Option<u32>,

    /// Shorter online retention for decisions whose party is a natural person, in days,
    /// e.g. 730 (2 years); omit to inherit. Must not exceed `publicationRetentionDays`;
    /// a level may shorten it, never lengthen it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 36500))]
    pub natural_person_retention_days: Option<u32>,
}

impl JurisdictionPolicies {
    /// This level's values, for [`sanxiang_domain::policy::inherit`].
    pub fn values(&self) -> PolicyValues {
        PolicyValues {
            withdrawal_deadline_days: self.withdrawal_deadline_days,
            legal_reviewer_ratio_permille: self.legal_reviewer_ratio_permille,
            annual_statistics_due: self.annual_statistics_due.map(|d| (d.month, d.day)),
            publication_retention_days: self.publication_retention_days,
            natural_person_retention_days: self.natural_person_retention_days,
        }
    }
}

/// Checks `spec.policies` (of a Jurisdiction or a JurisdictionPolicy) against the national
/// bounds, the way the schema does; bounds set by other objects are the operator's.
pub fn validate_policies(p: &JurisdictionPolicies) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(r) = p
        .legal_reviewer_ratio_permille
        .filter(|r| !(MIN_LEGAL_REVIEWER_RATIO_PERMILLE..=1000).contains(r))
    {
        errors.push(FieldError::new(
            "spec.policies.legalReviewerRatioPermille",
            format!(
                "{r} is outside {MIN_LEGAL_REVIEWER_RATIO_PERMILLE}..=1000 (per mille; the national floor is 50 = 5%)"
            ),
        ));
    }
    if let Some(due) = &p.annual_statistics_due {
        errors.extend(due.validate("spec.policies.annualStatisticsDue"));
        if due.month != 1 {
            errors.push(FieldError::new(
                "spec.policies.annualStatisticsDue.month",
                "must be a day in January: 国办发〔2018〕118号 sets January 31 as the latest",
            ));
        }
    }
    if let Some(d) = p
        .withdrawal_deadline_days
        .filter(|d| !(1..=DEFAULT_WITHDRAWAL_DEADLINE_DAYS).contains(d))
    {
        errors.push(FieldError::new(
            "spec.policies.withdrawalDeadlineDays",
            format!("{d} is outside 1..=3 (行政处罚法 Art. 48 allows at most 3 days)"),
        ));
    }
    for (field, days) in [
        (
            "spec.policies.publicationRetentionDays",
            p.publication_retention_days,
        ),
        (
            "spec.policies.naturalPersonRetentionDays",
            p.natural_person_retention_days,
        ),
    ] {
        if let Some(d) = days.filter(|d| !(1..=MAX_RETENTION_DAYS).contains(d)) {
            errors.push(FieldError::new(
                field,
                format!("{d} is outside 1..={MAX_RETENTION_DAYS} days"),
            ));
        }
    }
    if let (Some(all), Some(persons)) = (
        p.publication_retention_days,
        p.natural_person_retention_days,
    ) && persons > all
    {
        errors.push(FieldError::new(
            "spec.policies.naturalPersonRetentionDays",
            format!("{persons} is longer than publicationRetentionDays {all}; natural persons are kept online for a shorter time, not a longer one"),
        ));
    }
    errors
}
