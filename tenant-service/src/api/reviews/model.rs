//! The review's wire types: the review as read (steps, kept versions) and what each step
//! sends (opinion, checklist, outcomes).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(utoipa::ToSchema, Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub id: i64,
    pub step: String,
    pub actor: String,
    pub role: String,
    pub opinion: String,
    pub at: DateTime<Utc>,
    pub reviewer_id: Option<Uuid>,
    #[schema(value_type = Option<Checklist>)]
    pub checklist: Option<serde_json::Value>,
    pub round: Option<i32>,
}

#[derive(utoipa::ToSchema, Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    pub version: i32,
    pub round: i32,
    pub content: serde_json::Value,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    pub decision_id: Uuid,
    #[schema(
        pattern = "^(submitted|approved|issues_found|resubmitted|negotiation|collective_discussion|decided_approve|decided_reject|transferred|closed)$"
    )]
    pub status: String,
    pub round: i32,
    pub opinion_due: Option<NaiveDate>,
    pub steps: Vec<Step>,
    pub versions: Vec<Version>,
    /// The decision's matter with its discretion benchmark, next to the decision's own
    /// discretion.
    pub matter: Option<serde_json::Value>,
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepInput {
    pub opinion: String,
}

/// One item of the review checklist.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Pass,
    Issue,
}

/// The review checklist (审核内容清单).
#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checklist {
    /// The enforcing subject is lawful.
    pub subject: Check,
    /// The officers are qualified (valid certificates).
    pub officer_qualification: Check,
    /// The procedure is lawful.
    pub procedure: Check,
    /// Facts clear, evidence sufficient.
    pub facts_and_evidence: Check,
    /// Law applied correctly, discretion benchmark used properly.
    pub law_and_discretion: Check,
    /// No excess of authority.
    pub authority: Check,
    /// Documents complete and in form.
    pub documents: Check,
    /// A suspected crime to transfer to judicial organs.
    pub transfer_to_judicial_organs: bool,
}

impl Checklist {
    pub(super) fn issues(&self) -> usize {
        [
            self.subject,
            self.officer_qualification,
            self.procedure,
            self.facts_and_evidence,
            self.law_and_discretion,
            self.authority,
            self.documents,
        ]
        .iter()
        .filter(|c| **c == Check::Issue)
        .count()
    }
}

#[derive(utoipa::ToSchema, Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpinionOutcome {
    Approve,
    IssuesFound,
    /// Transfer to judicial organs (suspected crime): the decision is not made here.
    Transfer,
    /// The legal office finds the decision is not major: cleared, with the opinion as the
    /// reason (it may then be issued).
    NotMajor,
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpinionInput {
    pub outcome: OpinionOutcome,
    pub opinion: String,
    /// The legal reviewer (personnel id) who gives the opinion: the token's own person, on
    /// the list as a legal reviewer with a valid certificate, and, for penalty decisions,
    /// holding the national legal professional qualification.
    pub reviewer_id: Uuid,
    pub checklist: Checklist,
}

#[derive(utoipa::ToSchema, Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NegotiationOutcome {
    /// The handling unit accepts the issues and revises the draft.
    Revise,
    /// The legal office withdraws its issues (reviewer token, with reviewerId).
    IssuesWithdrawn,
    /// No agreement: the agency decides by collective discussion.
    Failed,
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NegotiationInput {
    pub outcome: NegotiationOutcome,
    /// Minutes of the negotiation (协商沟通).
    pub opinion: String,
    pub reviewer_id: Option<Uuid>,
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectiveOutcome {
    Approve,
    Reject,
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectiveInput {
    pub outcome: CollectiveOutcome,
    /// Minutes of the collective discussion.
    pub opinion: String,
}
