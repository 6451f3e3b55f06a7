//! Legal review of major decisions (重大执法决定法制审核): the HTTP side of the state machine
//! in [`super::review_state`].
//!
//! Every step is a row in `review_steps` (append-only) with who, role, when, the round, the
//! opinion and, for the legal office's steps, the reviewer's personnel id (which must be
//! the token's own person) and the review checklist (审核内容). Every submitted round's
//! draft is kept in `decision_versions`. The opinion is due within the review time limit
//! (working days, `--review-time-limit-days`); `sanxiang_reviews_overdue` counts the late.

mod model;
mod repo;

pub use model::{
    Check, Checklist, CollectiveInput, CollectiveOutcome, NegotiationInput, NegotiationOutcome,
    OpinionInput, OpinionOutcome, ReviewView, Step, StepInput, Version,
};
use repo::{StepRecord, insert_step, keep_version, load, opinion_due, transition};

use super::review_state::{ReviewAction, ReviewState};
use super::tenant::{PathId, Read, Tenant, Write};
use super::{JsonBody, text};
use crate::auth::{Role, require_role};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, TenantCtx};
use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use uuid::Uuid;

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
    PathId(id): PathId,
    ctx: Tenant<Read>,
) -> ApiResult<Json<ReviewView>> {
    Ok(Json(load(&ctx, id, st.clock.today()).await?))
}

/// The handling unit submits a draft decision for legal review.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/review/submit",
    operation_id = "submit_for_review",
    tag = "review",
    summary = "Submit a draft for legal review",
    params(super::openapi::AgencyIdPath),
    request_body = StepInput,
    responses((status = 200, description = "OK", body = ReviewView), super::openapi::ConflictErrors)
)]
pub async fn submit(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<StepInput>,
) -> ApiResult<Json<ReviewView>> {
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "submitting for legal review",
    )?;
    text(&input.opinion, "opinion", 10_000)?;
    let mut tx = ctx.pool.begin().await?;
    let status: Option<String> =
        sqlx::query_scalar!("SELECT status FROM decisions WHERE id = $1 FOR UPDATE", id)
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
    let inserted = sqlx::query!(
        "INSERT INTO reviews (decision_id, status, opinion_due) VALUES ($1, 'submitted', $2) \
         ON CONFLICT (decision_id) DO NOTHING",
        id,
        opinion_due(&st, &ctx),
    )
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
    let reviewer: Option<Row> = sqlx::query!(
        "SELECT name, role, active, legal_qualification, valid_from, valid_until, subject FROM personnel WHERE id = $1",
        reviewer_id
    )
    .map(|r| (r.name, r.role, r.active, r.legal_qualification, r.valid_from, r.valid_until, r.subject))
    .fetch_optional(&ctx.pool)
    .await?;
    let category: Option<String> =
        sqlx::query_scalar!("SELECT category FROM decisions WHERE id = $1", decision)
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
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<OpinionInput>,
) -> ApiResult<Json<ReviewView>> {
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
        sqlx::query!(
            "UPDATE decisions SET major = FALSE, major_reasons = '{}' WHERE id = $1",
            id
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Json(load(&ctx, id, st.clock.today()).await?))
}

/// A step of the handling unit (officer or agency admin).
async fn handling_unit_step(
    st: AppState,
    id: Uuid,
    ctx: Tenant<Write>,
    opinion: String,
    action: ReviewAction,
) -> ApiResult<Json<ReviewView>> {
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
            sqlx::query!(
                "UPDATE decisions SET status = 'closed' WHERE id = $1 AND status = 'draft'",
                id
            )
            .execute(&mut *tx)
            .await?;
            crate::upward::decision_changed(&mut tx, &ctx.tenant, id).await?;
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
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<StepInput>,
) -> ApiResult<Json<ReviewView>> {
    handling_unit_step(st, id, ctx, input.opinion, ReviewAction::Resubmit).await
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
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<StepInput>,
) -> ApiResult<Json<ReviewView>> {
    handling_unit_step(st, id, ctx, input.opinion, ReviewAction::Disagree).await
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
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<StepInput>,
) -> ApiResult<Json<ReviewView>> {
    handling_unit_step(st, id, ctx, input.opinion, ReviewAction::Close).await
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
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<NegotiationInput>,
) -> ApiResult<Json<ReviewView>> {
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
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<CollectiveInput>,
) -> ApiResult<Json<ReviewView>> {
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
