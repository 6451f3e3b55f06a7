//! Legal review of major decisions (重大执法决定法制审核).
//!
//! ```text
//! submit ─► submitted ─opinion(approve)──────────► approved
//!                     └opinion(issues_found)──► issues_found ─resubmit─► resubmitted ─opinion…
//!                                                            └disagree─► collective_discussion
//!                                          collective-decision(approve|reject) ─► decided_approve|decided_reject
//! ```
//! Every step is a row in `review_steps` (append-only) with who, role, when and opinion.

use super::{JsonBody, parse_id, text};
use crate::auth::{Access, Role, require_role};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, TenantCtx};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub id: i64,
    pub step: String,
    pub actor: String,
    pub role: String,
    pub opinion: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    pub decision_id: Uuid,
    pub status: String,
    pub round: i32,
    pub steps: Vec<Step>,
}

async fn load(ctx: &TenantCtx, id: Uuid) -> ApiResult<ReviewView> {
    let r: Option<(String, i32)> =
        sqlx::query_as("SELECT status, round FROM reviews WHERE decision_id = $1")
            .bind(id)
            .fetch_optional(&ctx.pool)
            .await?;
    let (status, round) =
        r.ok_or_else(|| ApiError::not_found(format!("decision {id} has no legal review")))?;
    let steps: Vec<Step> = sqlx::query_as(
        "SELECT id, step, actor, role, opinion, at FROM review_steps WHERE decision_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&ctx.pool)
    .await?;
    Ok(ReviewView {
        decision_id: id,
        status,
        round,
        steps,
    })
}

pub async fn get_review(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<ReviewView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Read).await?;
    Ok(Json(load(&ctx, id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepInput {
    pub opinion: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpinionOutcome {
    Approve,
    IssuesFound,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpinionInput {
    pub outcome: OpinionOutcome,
    pub opinion: String,
    /// The legal reviewer (personnel id) who gives the opinion: must be on the list as a
    /// legal reviewer with a valid certificate, and, for penalty decisions, hold the
    /// national legal professional qualification.
    pub reviewer_id: Uuid,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectiveOutcome {
    Approve,
    Reject,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectiveInput {
    pub outcome: CollectiveOutcome,
    /// Minutes of the collective discussion.
    pub opinion: String,
}

/// Moves the review from one of `from` to `to`, recording `step`.
async fn transition(
    ctx: &TenantCtx,
    id: Uuid,
    from: &[&str],
    to: &str,
    step: &str,
    opinion: &str,
    new_round: bool,
) -> ApiResult<()> {
    let mut tx = ctx.pool.begin().await?;
    let status: String =
        sqlx::query_scalar("SELECT status FROM reviews WHERE decision_id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "decision {id} has no legal review; submit it first"
                ))
            })?;
    if !from.contains(&status.as_str()) {
        return Err(ApiError::conflict(
            "status",
            format!(
                "review is {status}; '{step}' is allowed only when it is {}",
                from.join(" or ")
            ),
        ));
    }
    sqlx::query(
        "UPDATE reviews SET status = $2, round = round + CASE WHEN $3 THEN 1 ELSE 0 END, updated_at = now() \
         WHERE decision_id = $1",
    )
    .bind(id)
    .bind(to)
    .bind(new_round)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO review_steps (decision_id, step, actor, role, opinion) VALUES ($1,$2,$3,$4,$5)")
        .bind(id)
        .bind(step)
        .bind(&ctx.claims.sub)
        .bind(ctx.claims.role.as_str())
        .bind(opinion.trim())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The handling unit submits a draft decision for legal review.
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
        "INSERT INTO reviews (decision_id, status) VALUES ($1, 'submitted') ON CONFLICT (decision_id) DO NOTHING",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "review",
            "decision was already submitted for legal review",
        ));
    }
    sqlx::query("INSERT INTO review_steps (decision_id, step, actor, role, opinion) VALUES ($1,'submit',$2,$3,$4)")
        .bind(id)
        .bind(&ctx.claims.sub)
        .bind(ctx.claims.role.as_str())
        .bind(input.opinion.trim())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(load(&ctx, id).await?))
}

/// The legal office's written opinion: approve or issues found. Reviewer role only.
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
    let reviewer: Option<(String, String, bool, bool, chrono::NaiveDate, chrono::NaiveDate)> = sqlx::query_as(
        "SELECT name, role, active, legal_qualification, valid_from, valid_until FROM personnel WHERE id = $1",
    )
    .bind(input.reviewer_id)
    .fetch_optional(&ctx.pool)
    .await?;
    let category: Option<String> =
        sqlx::query_scalar("SELECT category FROM decisions WHERE id = $1")
            .bind(id)
            .fetch_optional(&ctx.pool)
            .await?;
    let category =
        category.ok_or_else(|| ApiError::not_found(format!("decision {id} not found")))?;
    let today = st.clock.today();
    match reviewer {
        None => {
            return Err(ApiError::unprocessable(
                "reviewerId",
                "reviewerId is not on the personnel list",
            ));
        }
        Some((name, role, active, qualified, from, until)) => {
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
        }
    }
    let (to, step) = match input.outcome {
        OpinionOutcome::Approve => ("approved", "approve"),
        OpinionOutcome::IssuesFound => ("issues_found", "issues_found"),
    };
    transition(
        &ctx,
        id,
        &["submitted", "resubmitted"],
        to,
        step,
        &input.opinion,
        false,
    )
    .await?;
    Ok(Json(load(&ctx, id).await?))
}

/// The handling unit revised the decision and resubmits it.
pub async fn resubmit(
    st: State<AppState>,
    path: Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<StepInput>,
) -> ApiResult<Json<ReviewView>> {
    let step = HandlingUnitStep {
        purpose: "resubmitting for legal review",
        to: "resubmitted",
        step: "resubmit",
        resubmission: true,
    };
    handling_unit_step(st, path, headers, input, step).await
}

/// The handling unit disagrees with the issues found: the agency decides collectively.
pub async fn disagree(
    st: State<AppState>,
    path: Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<StepInput>,
) -> ApiResult<Json<ReviewView>> {
    let step = HandlingUnitStep {
        purpose: "disputing a review opinion",
        to: "collective_discussion",
        step: "disagree",
        resubmission: false,
    };
    handling_unit_step(st, path, headers, input, step).await
}

/// What the handling unit may do once the review found issues.
struct HandlingUnitStep {
    purpose: &'static str,
    to: &'static str,
    step: &'static str,
    resubmission: bool,
}

async fn handling_unit_step(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    input: StepInput,
    s: HandlingUnitStep,
) -> ApiResult<Json<ReviewView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
    require_role(&ctx.claims, &[Role::Officer, Role::AgencyAdmin], s.purpose)?;
    text(&input.opinion, "opinion", 10_000)?;
    transition(
        &ctx,
        id,
        &["issues_found"],
        s.to,
        s.step,
        &input.opinion,
        s.resubmission,
    )
    .await?;
    Ok(Json(load(&ctx, id).await?))
}

/// The agency's collective discussion (集体讨论) decides. Agency admin only.
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
    let (to, step) = match input.outcome {
        CollectiveOutcome::Approve => ("decided_approve", "collective_approve"),
        CollectiveOutcome::Reject => ("decided_reject", "collective_reject"),
    };
    transition(
        &ctx,
        id,
        &["collective_discussion"],
        to,
        step,
        &input.opinion,
        false,
    )
    .await?;
    Ok(Json(load(&ctx, id).await?))
}
