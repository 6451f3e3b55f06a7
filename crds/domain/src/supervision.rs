//! What travels upward for supervision (the `decision_metadata`, `compliance` and
//! `milestone_report` events), shared by the producer (the tenant service's outbox) and the
//! consumer (the supervision workspace), so that the two cannot drift.
//!
//! Supervisors watch *how* agencies enforce, never *whom*: these payloads carry codes,
//! dates, flags and counts, and no personal data or free text (no party, no facts, no
//! names of persons, no notes). The types have no field that could hold them, and the
//! tests below pin the field list so that adding one is a conscious change.

use crate::{EnforcementCategory, Procedure};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Event names (the last subject token and the envelope's `event`).
pub const DECISION_METADATA_EVENT: &str = "decision_metadata";
pub const COMPLIANCE_EVENT: &str = "compliance";
pub const MILESTONE_REPORT_EVENT: &str = "milestone_report";

/// One decision's supervision-relevant state, pushed when it is issued and whenever that
/// state changes. The consumer keeps, per decision, the one with the highest `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionMetadata {
    /// The decision's id (a UUID, as the tenant service serves it).
    pub decision_id: String,
    /// 决定书文号: an official document number, public on the portal too.
    pub document_number: String,
    pub category: EnforcementCategory,
    pub procedure: Procedure,
    /// Code of the matter on the agency's matter list.
    pub matter: Option<String>,
    /// `issued`, `revoked` or `closed` (closed without a decision after review).
    pub status: String,
    /// A major decision (重大执法决定): legal review required.
    pub review_required: bool,
    /// The legal review ended approving (approved, or approved by collective discussion).
    pub reviewed: bool,
    pub decided_on: Option<NaiveDate>,
    pub issued_at: Option<DateTime<Utc>>,
    /// Published online at all (false: exempt, e.g. involves secrets or a minor).
    pub publish_online: bool,
    /// Disclosure due date; `None` with `disclosure_due_pending_year` while the year's
    /// calendar is missing, `None` alone when not published online.
    pub disclosure_due: Option<NaiveDate>,
    pub disclosure_due_pending_year: Option<i32>,
    pub disclosed_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub withdrawal_due: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// The action behind the decision requires full-process A/V recording (`None`: no
    /// action linked).
    pub av_required: Option<bool>,
    /// An A/V record entry exists on that action.
    pub av_present: Option<bool>,
    /// Grows with each change of this decision; the highest wins.
    pub version: i64,
}

/// The per-agency counts the tenant service's scan computes, pushed when they change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceReport {
    /// The agency's official name (Agency `spec.displayName`; empty if not told).
    #[serde(default)]
    pub display_name: String,
    pub disclosures_overdue: i64,
    pub oldest_overdue_disclosure_due: Option<NaiveDate>,
    pub disclosures_due_soon: i64,
    pub withdrawals_overdue: i64,
    pub reviews_pending: i64,
    pub reviews_overdue: i64,
    pub av_gaps: i64,
    pub officers: i64,
    pub legal_reviewers: i64,
    /// Minimum legal reviewers per 1000 officers in force for the agency.
    pub legal_reviewer_ratio_permille: u32,
    /// The previous year's annual statistics were reported.
    pub annual_reported: bool,
    /// The year `annual_reported` is about.
    pub statistics_year: i32,
    /// When the counts were taken (the consumer keeps the newest).
    pub measured_at: DateTime<Utc>,
}

impl ComplianceReport {
    /// Whether the agency has fewer legal reviewers than its ratio requires.
    pub fn reviewer_shortfall(&self) -> bool {
        let needed =
            (self.officers.max(0) * i64::from(self.legal_reviewer_ratio_permille) + 999) / 1000;
        self.legal_reviewers < needed
    }
}

/// A milestone occurrence the agency reports done (no note: the note is free text and
/// stays with the agency; the supervisor reads it there if needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MilestoneReported {
    /// SupervisionPlan name.
    pub plan: String,
    pub milestone: String,
    pub due: NaiveDate,
    pub reported_at: DateTime<Utc>,
    /// 1 for the first report, one more for each report made again after a return
    /// (missing in events of earlier versions: 1).
    #[serde(default = "first_revision")]
    pub revision: i32,
}

fn first_revision() -> i32 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &serde_json::Value) -> Vec<String> {
        let mut k: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    #[test]
    fn decision_metadata_has_no_field_for_personal_data_or_free_text() {
        let m = DecisionMetadata {
            decision_id: "7d0c3c0e-0000-4000-8000-000000000001".into(),
            document_number: "铁县市监罚〔2026〕1号".into(),
            category: EnforcementCategory::Penalty,
            procedure: Procedure::General,
            matter: Some("CF-0001".into()),
            status: "issued".into(),
            review_required: true,
            reviewed: true,
            decided_on: None,
            issued_at: None,
            publish_online: true,
            disclosure_due: None,
            disclosure_due_pending_year: None,
            disclosed_at: None,
            revoked_at: None,
            withdrawal_due: None,
            withdrawn_at: None,
            av_required: None,
            av_present: None,
            version: 1,
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            keys(&v),
            [
                "avPresent",
                "avRequired",
                "category",
                "decidedOn",
                "decisionId",
                "disclosedAt",
                "disclosureDue",
                "disclosureDuePendingYear",
                "documentNumber",
                "issuedAt",
                "matter",
                "procedure",
                "publishOnline",
                "reviewRequired",
                "reviewed",
                "revokedAt",
                "status",
                "version",
                "withdrawalDue",
                "withdrawnAt",
            ]
        );
        assert_eq!(v["category"], "Penalty");
        let back: DecisionMetadata = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn reviewer_shortfall_rounds_the_requirement_up() {
        let r = |officers, reviewers| ComplianceReport {
            officers,
            legal_reviewers: reviewers,
            legal_reviewer_ratio_permille: 50,
            ..Default::default()
        };
        assert!(!r(0, 0).reviewer_shortfall());
        assert!(r(1, 0).reviewer_shortfall());
        assert!(!r(20, 1).reviewer_shortfall());
        assert!(r(21, 1).reviewer_shortfall());
    }
}
