//! Legal review of major decisions (重大执法决定法制审核): the HTTP side of the state machine
//! in [`super::review_state`].
//!
//! Every step is a row in `review_steps` (append-only) with who, role, when, the round, the
//! opinion and, for the legal office's steps, the reviewer's personnel id (which must be
//! the token's own person) and the review checklist (审核内容). Every submitted round's
//! draft is kept in `decision_versions`. The opinion is due within the review time limit
//! (working days, `--review-time-limit-days`); `sanxiang_reviews_overdue` counts the late.

use super::review_state::{ReviewAction, ReviewState};
use super::{JsonBody, parse_id, text};
use crate::auth::{Access, Role, require_role};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, TenantCtx};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};
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

async fn load(ctx: &TenantCtx, id: Uuid, today: NaiveDate) -> ApiResult<ReviewView> {
    let r: Option<(String, i32, Option<NaiveDate>)> =
        sqlx::query_as("SELECT status, round, opinion_due FROM reviews WHERE decision_id = $1")
            .bind(id)
            .fetch_optional(&ctx.pool)
            .await?;
    let (status, round, opinion_due) =
        r.ok_or_else(|| ApiError::not_found(format!("decision {id} has no legal review")))?;
    let steps: Vec<Step> = sqlx::query_as(
        "SELECT id, step, actor, role, opinion, at, reviewer_id, checklist, round FROM review_steps \
         WHERE decision_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&ctx.pool)
    .await?;
    let versions: Vec<Version> = sqlx::query_as(
        "SELECT version, round, content, recorded_by, recorded_at FROM decision_versions \
         WHERE decision_id = $1 ORDER BY version",
    )
    .bind(id)
    .fetch_all(&ctx.pool)
    .await?;
    let mut conn = ctx.pool.acquire().await?;
    let matter = super::matters::review_context(&mut conn, id, today).await?;
    Ok(ReviewView {
        decision_id: id,
        status,
        round,
        opinion_due,
        steps,
        versions,
        matter,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/decisions/{id}/review",
    tag = "review",
    summary = "The legal review and its steps",
    params(super::openapi::AgencyIdPath),
    responses((status = 200, description = "OK", body = ReviewView), super::openapi::ReadErrors)
)]
pub async fn get_review(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<ReviewView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Read).await?;
    Ok(Json(load(&ctx, id, st.clock.today()).await?))
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
    fn issues(&self) -> usize {
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

/// A recorded step: who, and for the legal office, which reviewer with which checklist.
struct StepRecord<'a> {
    action: ReviewAction,
    opinion: &'a str,
    reviewer_id: Option<Uuid>,
    checklist: Option<&'a Checklist>,
}

/// Moves the review by `s.action`, recording the step, in `tx`. Returns the new state and
/// round.
async fn transition(
    st: &AppState,
    ctx: &TenantCtx,
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    s: StepRecord<'_>,
) -> ApiResult<(ReviewState, i32)> {
    let row: Option<(String, i32)> =
        sqlx::query_as("SELECT status, round FROM reviews WHERE decision_id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let (status, round) = row.ok_or_else(|| {
        ApiError::not_found(format!(
            "decision {id} has no legal review; submit it first"
        ))
    })?;
    let state = ReviewState::parse(&status)
        .ok_or_else(|| ApiError::internal(format!("unknown review status {status}")))?;
    let Some(to) = state.next(s.action) else {
        return Err(ApiError::conflict(
            "status",
            format!(
                "review is {status}; '{}' is allowed only when it is {}",
                s.action.step(),
                ReviewState::allowed_from(s.action).join(" or ")
            ),
        ));
    };
    let round = if s.action == ReviewAction::Resubmit {
        round + 1
    } else {
        round
    };
    let due = if to.awaits_opinion() {
        opinion_due(st, ctx)
    } else {
        None
    };
    sqlx::query(
        "UPDATE reviews SET status = $2, round = $3, opinion_due = COALESCE($4, opinion_due), \
         updated_at = now() WHERE decision_id = $1",
    )
    .bind(id)
    .bind(to.as_str())
    .bind(round)
    .bind(due)
    .execute(&mut **tx)
    .await?;
    insert_step(ctx, tx, id, s.action.step(), &s, round).await?;
    Ok((to, round))
}

async fn insert_step(
    ctx: &TenantCtx,
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    step: &str,
    s: &StepRecord<'_>,
    round: i32,
) -> ApiResult<()> {
    let checklist = s
        .checklist
        .map(serde_json::to_value)
        .transpose()
        .map_err(ApiError::internal)?;
    sqlx::query(
        "INSERT INTO review_steps (decision_id, step, actor, role, opinion, reviewer_id, checklist, round) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
    )
    .bind(id)
    .bind(step)
    .bind(&ctx.claims.sub)
    .bind(ctx.claims.role.as_str())
    .bind(s.opinion.trim())
    .bind(s.reviewer_id)
    .bind(checklist)
    .bind(round)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The opinion's due date: the review time limit in working days from today (none when
/// the calendar lacks the year; the calendar-missing alarm is raised then).
fn opinion_due(st: &AppState, ctx: &TenantCtx) -> Option<NaiveDate> {
    let cal = st.calendars.get();
    match cal.add_working_days(st.clock.today(), st.policy.review_time_limit_days) {
        Ok(d) => Some(d),
        Err(crds_err) => {
            if let crate::calendar::CalendarError::MissingYear(y) = crds_err {
                st.note_calendar_missing(&ctx.tenant.agency, y);
            }
            None
        }
    }
}

/// Keeps the draft as submitted in this round.
async fn keep_version(
    ctx: &TenantCtx,
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    round: i32,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO decision_versions (decision_id, version, round, content, recorded_by) \
         SELECT d.id, COALESCE((SELECT max(version) FROM decision_versions WHERE decision_id = d.id), 0) + 1, \
           $2, to_jsonb(d) - 'publication', $3 FROM decisions d WHERE d.id = $1",
    )
    .bind(id)
    .bind(round)
    .bind(&ctx.claims.sub)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The handling unit submits a draft decision for legal review.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/review/submit",
    tag = "review",
    summary = "Submit a draft for legal review",
    params(super::openapi::AgencyIdPath),
    request_body = StepInput,
    responses((status = 200, description = "OK", body = ReviewView), super::openapi::ConflictErrors)
)]
pub async fn submit(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<StepInput>,
) -> ApiResult<Json<ReviewView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "submitting for legal review",
    )?;
    text(&input.opinion, "opinion", 10_000)?;
    let mut tx = ctx.pool.begin().await?;
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM decisions WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    match status.as_deref() {
        None => return Err(ApiError::not_found(format!("decision {id} not found"))),
        Some("draft") => {}
        Some(s) => {
            return Err(ApiError::conflict(
                "status",
                format!("decision is {s}; only a draft is reviewed"),
            ));
        }
    }
    let inserted = sqlx::query(
        "INSERT INTO reviews (decision_id, status, opinion_due) VALUES ($1, 'submitted', $2) \
         ON CONFLICT (decision_id) DO NOTHING",
    )
    .bind(id)
    .bind(opinion_due(&st, &ctx))
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "review",
            "decision was already submitted for legal review",
        ));
    }
    let s = StepRecord {
        action: ReviewAction::Resubmit, // unused: the step is named 'submit'
        opinion: &input.opinion,
        reviewer_id: None,
        checklist: None,
    };
    insert_step(&ctx, &mut tx, id, "submit", &s, 1).await?;
    keep_version(&ctx, &mut tx, id, 1).await?;
    tx.commit().await?;
    Ok(Json(load(&ctx, id, st.clock.today()).await?))
}

/// Checks that `reviewer_id` is the token's own person, a current legal reviewer, and
/// qualified for the decision's category.
async fn check_reviewer(
    st: &AppState,
    ctx: &TenantCtx,
    decision: Uuid,
    reviewer_id: Uuid,
) -> ApiResult<()> {
    type Row = (
        String,
        String,
        bool,
        bool,
        NaiveDate,
        NaiveDate,
        Option<String>,
    );
    let reviewer: Option<Row> = sqlx::query_as(
        "SELECT name, role, active, legal_qualification, valid_from, valid_until, subject FROM personnel WHERE id = $1",
    )
    .bind(reviewer_id)
    .fetch_optional(&ctx.pool)
    .await?;
    let category: Option<String> =
        sqlx::query_scalar("SELECT category FROM decisions WHERE id = $1")
            .bind(decision)
            .fetch_optional(&ctx.pool)
            .await?;
    let category =
        category.ok_or_else(|| ApiError::not_found(format!("decision {decision} not found")))?;
    let today = st.clock.today();
    let Some((name, role, active, qualified, from, until, subject)) = reviewer else {
        return Err(ApiError::unprocessable(
            "reviewerId",
            "reviewerId is not on the personnel list",
        ));
    };
    if role != "legal_reviewer" || !active {
        return Err(ApiError::unprocessable(
            "reviewerId",
            format!("{name} is not a current legal reviewer of this agency"),
        ));
    }
    if today < from || today > until {
        return Err(ApiError::unprocessable(
            "reviewerId",
            format!(
                "legal reviewer {name} has no valid certificate on {today} (valid {from} to {until})"
            ),
        ));
    }
    if category == "penalty" && !qualified {
        return Err(ApiError::unprocessable(
            "reviewerId",
            format!(
                "legal review of a penalty needs the national legal professional qualification, which {name} lacks"
            ),
        ));
    }
    if subject.as_deref() != Some(ctx.claims.sub.as_str()) {
        return Err(ApiError::forbidden(format!(
            "reviewerId names {name}, not the person of this token (subject {}); a reviewer gives opinions in their own name",
            ctx.claims.sub
        ))
        .with_field("reviewerId"));
    }
    Ok(())
}

/// The legal office's written opinion, with its checklist. Reviewer role only.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/review/opinion",
    tag = "review",
    summary = "Reviewer's opinion with its checklist: approve, issues_found, transfer or not_major (reviewer role)",
    params(super::openapi::AgencyIdPath),
    request_body = OpinionInput,
    responses((status = 200, description = "OK", body = ReviewView), super::openapi::WriteErrors)
)]
pub async fn opinion(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<OpinionInput>,
) -> ApiResult<Json<ReviewView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
    require_role(
        &ctx.claims,
        &[Role::Reviewer],
        "giving a legal review opinion",
    )?;
    text(&input.opinion, "opinion", 10_000)?;
    let c = &input.checklist;
    let (action, consistent) = match input.outcome {
        OpinionOutcome::Approve => (
            ReviewAction::OpinionApprove,
            c.issues() == 0 && !c.transfer_to_judicial_organs,
        ),
        OpinionOutcome::NotMajor => (
            ReviewAction::OpinionApprove,
            c.issues() == 0 && !c.transfer_to_judicial_organs,
        ),
        OpinionOutcome::IssuesFound => (
            ReviewAction::OpinionIssuesFound,
            c.issues() > 0 && !c.transfer_to_judicial_organs,
        ),
        OpinionOutcome::Transfer => (ReviewAction::OpinionTransfer, c.transfer_to_judicial_organs),
    };
    if !consistent {
        return Err(ApiError::unprocessable(
            "checklist",
            "the checklist does not support the outcome: approve needs every item 'pass' and no transfer, \
             issues_found at least one 'issue', transfer transferToJudicialOrgans",
        ));
    }
    check_reviewer(&st, &ctx, id, input.reviewer_id).await?;
    let mut tx = ctx.pool.begin().await?;
    let s = StepRecord {
        action,
        opinion: &input.opinion,
        reviewer_id: Some(input.reviewer_id),
        checklist: Some(c),
    };
    let (_, round) = transition(&st, &ctx, &mut tx, id, s).await?;
    if let OpinionOutcome::NotMajor = input.outcome {
        // Cleared by the legal office, as a recorded step: the decision is no longer major.
        let s = StepRecord {
            action,
            opinion: &input.opinion,
            reviewer_id: Some(input.reviewer_id),
            checklist: None,
        };
        insert_step(&ctx, &mut tx, id, "clear_major", &s, round).await?;
        sqlx::query("UPDATE decisions SET major = FALSE, major_reasons = '{}' WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Json(load(&ctx, id, st.clock.today()).await?))
}

/// A step of the handling unit (officer or agency admin).
async fn handling_unit_step(
    st: AppState,
    agency: String,
    id: String,
    headers: HeaderMap,
    opinion: String,
    action: ReviewAction,
) -> ApiResult<Json<ReviewView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        action.step(),
    )?;
    text(&opinion, "opinion", 10_000)?;
    let mut tx = ctx.pool.begin().await?;
    let s = StepRecord {
        action,
        opinion: &opinion,
        reviewer_id: None,
        checklist: None,
    };
    let (to, round) = transition(&st, &ctx, &mut tx, id, s).await?;
    match to {
        ReviewState::Resubmitted => keep_version(&ctx, &mut tx, id, round).await?,
        ReviewState::Closed => {
            sqlx::query(
                "UPDATE decisions SET status = 'closed' WHERE id = $1 AND status = 'draft'",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        _ => {}
    }
    tx.commit().await?;
    Ok(Json(load(&ctx, id, st.clock.today()).await?))
}

/// The handling unit revised the decision and resubmits it (a new round and version).
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/review/resubmit",
    tag = "review",
    summary = "Resubmit after revision",
    params(super::openapi::AgencyIdPath),
    request_body = StepInput,
    responses((status = 200, description = "OK", body = ReviewView), super::openapi::ConflictErrors)
)]
pub async fn resubmit(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<StepInput>,
) -> ApiResult<Json<ReviewView>> {
    handling_unit_step(
        st,
        agency,
        id,
        headers,
        input.opinion,
        ReviewAction::Resubmit,
    )
    .await
}

/// The handling unit disagrees with the issues found: the units negotiate first (协商).
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/review/disagree",
    tag = "review",
    summary = "Dispute the issues found: the units negotiate first",
    params(super::openapi::AgencyIdPath),
    request_body = StepInput,
    responses((status = 200, description = "OK", body = ReviewView), super::openapi::ConflictErrors)
)]
pub async fn disagree(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<StepInput>,
) -> ApiResult<Json<ReviewView>> {
    handling_unit_step(
        st,
        agency,
        id,
        headers,
        input.opinion,
        ReviewAction::Disagree,
    )
    .await
}

/// The draft is closed (after issues found, a transfer, or a rejecting collective decision).
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/review/close",
    tag = "review",
    summary = "Close the draft (after issues found, a transfer or a rejecting collective decision)",
    params(super::openapi::AgencyIdPath),
    request_body = StepInput,
    responses((status = 200, description = "OK", body = ReviewView), super::openapi::ConflictErrors)
)]
pub async fn close(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<StepInput>,
) -> ApiResult<Json<ReviewView>> {
    handling_unit_step(st, agency, id, headers, input.opinion, ReviewAction::Close).await
}

/// The outcome of the negotiation between the handling unit and the legal office.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/review/negotiation",
    tag = "review",
    summary = "Outcome of the negotiation: revise, issues_withdrawn (reviewer) or failed (to collective discussion)",
    params(super::openapi::AgencyIdPath),
    request_body = NegotiationInput,
    responses((status = 200, description = "OK", body = ReviewView), super::openapi::WriteErrors)
)]
pub async fn negotiation(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<NegotiationInput>,
) -> ApiResult<Json<ReviewView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
    let (action, roles): (ReviewAction, &[Role]) = match input.outcome {
        NegotiationOutcome::Revise => (
            ReviewAction::NegotiationRevise,
            &[Role::Officer, Role::AgencyAdmin],
        ),
        NegotiationOutcome::IssuesWithdrawn => {
            (ReviewAction::NegotiationIssuesWithdrawn, &[Role::Reviewer])
        }
        NegotiationOutcome::Failed => (
            ReviewAction::NegotiationFailed,
            &[Role::Officer, Role::AgencyAdmin, Role::Reviewer],
        ),
    };
    require_role(&ctx.claims, roles, action.step())?;
    text(&input.opinion, "opinion", 10_000)?;
    if ctx.claims.role == Role::Reviewer {
        let Some(r) = input.reviewer_id else {
            return Err(ApiError::bad_request(
                "reviewerId",
                "the legal office's step names its reviewer (reviewerId)",
            ));
        };
        check_reviewer(&st, &ctx, id, r).await?;
    }
    let mut tx = ctx.pool.begin().await?;
    let s = StepRecord {
        action,
        opinion: &input.opinion,
        reviewer_id: input
            .reviewer_id
            .filter(|_| ctx.claims.role == Role::Reviewer),
        checklist: None,
    };
    transition(&st, &ctx, &mut tx, id, s).await?;
    tx.commit().await?;
    Ok(Json(load(&ctx, id, st.clock.today()).await?))
}

/// The agency's collective discussion (集体讨论) decides. Agency admin only.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/review/collective-decision",
    tag = "review",
    summary = "Collective discussion outcome (agency_admin)",
    params(super::openapi::AgencyIdPath),
    request_body = CollectiveInput,
    responses((status = 200, description = "OK", body = ReviewView), super::openapi::ConflictErrors)
)]
pub async fn collective_decision(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<CollectiveInput>,
) -> ApiResult<Json<ReviewView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
    require_role(
        &ctx.claims,
        &[Role::AgencyAdmin],
        "recording a collective discussion decision",
    )?;
    text(&input.opinion, "opinion", 10_000)?;
    let action = match input.outcome {
        CollectiveOutcome::Approve => ReviewAction::CollectiveApprove,
        CollectiveOutcome::Reject => ReviewAction::CollectiveReject,
    };
    let mut tx = ctx.pool.begin().await?;
    let s = StepRecord {
        action,
        opinion: &input.opinion,
        reviewer_id: None,
        checklist: None,
    };
    transition(&st, &ctx, &mut tx, id, s).await?;
    tx.commit().await?;
    Ok(Json(load(&ctx, id, st.clock.today()).await?))
}
