//! The decision's wire types: what a client sends (validated in [`super::rules`]) and what
//! it reads back (the stored row, with the review's status beside it).

use crate::deadlines::DisclosureDue;
use crate::redaction::PartyKind;
use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_domain::{DecisionDiscretion, EnforcementCategory as Category, Procedure};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartyInput {
    pub kind: PartyKind,
    pub name: String,
    /// ID number (natural person) or unified social credit code (organisation).
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    #[serde(default)]
    pub is_minor: bool,
}

#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MajorCriteria {
    #[serde(default)]
    pub hearing_held: bool,
    #[serde(default)]
    pub major_public_interest: bool,
    #[serde(default)]
    pub major_social_impact: bool,
    #[serde(default)]
    pub major_rights: bool,
    #[serde(default)]
    pub complex: bool,
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionInput {
    pub document_number: String,
    /// Comes from the matter (a given category must agree with it).
    #[schema(value_type = Option<crate::api::openapi::CategoryCode>, nullable = false)]
    pub category: Option<Category>,
    #[schema(value_type = crate::api::openapi::ProcedureCode)]
    pub procedure: Procedure,
    pub action_id: Option<Uuid>,
    pub party: PartyInput,
    /// Names of natural persons other than the party that appear in the text.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub other_persons: Vec<String>,
    /// The facts involve state secrets, trade secrets or personal privacy: the decision is
    /// not published online unless `publishAfterProcessing`, and only with `notOnlineBasis`
    /// and the agency admin's approval (`POST …/exemption`).
    #[serde(default)]
    pub involves_secrets: bool,
    /// The legal basis for not publishing online (required with `involvesSecrets`).
    pub not_online_basis: Option<String>,
    /// 依法确需公开的，要做适当处理后公开: published after redaction although it involves
    /// secrets or privacy.
    #[serde(default)]
    pub publish_after_processing: bool,
    pub facts: String,
    pub legal_basis: String,
    pub conclusion: String,
    /// Code of the matter on the agency's effective matter list;
    /// required (422 naming `matter` without one, or before a matter list is in force).
    pub matter: Option<String>,
    #[serde(default)]
    pub major_criteria: MajorCriteria,
    /// For a matter with a discretion benchmark: circumstance level, penalty, 说明理由.
    #[schema(value_type = Option<crate::api::openapi::DiscretionSchema>)]
    pub discretion: Option<DecisionDiscretion>,
}

// Read through `repo::DecisionRow`, which holds the due date in its two columns.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub id: Uuid,
    pub action_id: Option<Uuid>,
    pub document_number: String,
    pub category: String,
    pub procedure: String,
    pub party_kind: String,
    pub party_name: String,
    pub party_id_number: Option<String>,
    pub party_phone: Option<String>,
    pub party_address: Option<String>,
    pub party_is_minor: bool,
    pub involves_secrets: bool,
    pub other_persons: Vec<String>,
    pub facts: String,
    pub legal_basis: String,
    pub conclusion: String,
    pub major: bool,
    pub major_reasons: Vec<String>,
    #[schema(pattern = "^(draft|issued|revoked|closed)$")]
    pub status: String,
    pub decided_on: Option<NaiveDate>,
    pub issued_at: Option<DateTime<Utc>>,
    pub disclosure_days: Option<i32>,
    /// A date, or "pending: no calendar for YEAR" (computed once that year's calendar is loaded).
    #[schema(value_type = Option<String>)]
    pub disclosure_due: DisclosureDue,
    pub publish_online: bool,
    pub published_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<crate::api::publication::Publication>)]
    pub publication: Option<serde_json::Value>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub withdrawal_due: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub matter: Option<String>,
    pub not_online_basis: Option<String>,
    pub not_online_requested_by: Option<String>,
    pub not_online_approved_by: Option<String>,
    pub not_online_approved_at: Option<DateTime<Utc>>,
    pub not_online_opinion: Option<String>,
    pub publish_after_processing: bool,
    pub withdrawal_reason: Option<String>,
    pub publication_requested_by: Option<String>,
    pub publication_requested_at: Option<DateTime<Utc>>,
    pub publication_approved_by: Option<String>,
    pub publication_version: i32,
    /// The matter list version the draft named its matter from.
    pub matter_version: Option<i32>,
    #[schema(value_type = Option<crate::api::openapi::DiscretionSchema>)]
    pub discretion: Option<serde_json::Value>,
}

#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionView {
    #[serde(flatten)]
    pub decision: Decision,
    pub review_status: Option<String>,
}

#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// `draft`, `issued`, `revoked` or `closed`.
    pub status: Option<String>,
    /// Only decisions past their disclosure due date (issued, unpublished).
    #[serde(default)]
    pub overdue: bool,
    /// Only decisions kept offline (minor party, or an approved exemption with its basis).
    #[serde(default)]
    pub exempted: bool,
    /// 1..1000.
    pub limit: Option<i64>,
    /// Why a supervisor reads (logged with the read).
    pub purpose: Option<String>,
}

#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ReadQuery {
    /// Why a supervisor reads (logged with the read).
    pub purpose: Option<String>,
}

#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueInput {
    /// Date of the decision (default: today, China Standard Time).
    pub decided_on: Option<NaiveDate>,
}

#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct DeadlineQuery {
    /// Category code (required).
    pub category: Option<String>,
    /// Decision date (default: today).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub decided_on: Option<String>,
}

/// `GET …/decisions`: the decisions that match the query (the stored rows, without the
/// review status a single decision is read with).
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct DecisionList {
    pub items: Vec<Decision>,
}

/// `GET …/decisions/deadline`: when a decision of `category` taken on `decidedOn` must be
/// disclosed, and the law behind a deadline that is not the national one.
#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureDeadline {
    #[schema(value_type = crate::api::openapi::CategoryCode)]
    pub category: String,
    pub decided_on: NaiveDate,
    pub working_days: u32,
    /// A date, or "pending: no calendar for YEAR" while that year's calendar is missing.
    pub disclosure_due: String,
    pub override_legal_basis: Option<String>,
}
