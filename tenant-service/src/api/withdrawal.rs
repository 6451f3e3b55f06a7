//! Revocation of issued decisions and withdrawal of their publication (撤下).
//!
//! 《行政处罚法》(2021) Art. 48 withdraws a revoked published decision "within three days"
//! (三日内), and Art. 85 says the law's 三日 are **working days** (不含法定节假日): the limit
//! (`withdrawalDeadlineDays`, national ceiling 3, Dazhou 1) counts working days from the
//! day the revoking document takes effect, on the WorkCalendar. A revocation takes effect
//! now or in the past, never in the future; a published decision is withdrawn in the same
//! transaction as its revocation, with the reason stored and published.

use super::decisions::{
    Decision, DecisionStatus, DecisionStep, DecisionView, due_date, load_tx, query_decision, view,
};
use super::tenant::{PathId, Tenant, Write};
use super::{JsonBody, instant_in_range, text};
use crate::auth::{Role, require_role};
use crate::error::{ApiError, ApiResult};
use crate::outbox::{self, Event};
use crate::state::{AppState, TenantCtx};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use sanxiang_domain::china_offset;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeInput {
    pub reason: String,
    /// When the revoking document takes effect (default: now); never in the future.
    pub effective_at: Option<DateTime<Utc>>,
}

/// The withdrawal notice pushed upward (event `withdrawal`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Withdrawal<'a> {
    id: Uuid,
    document_number: &'a str,
    reason: &'a str,
    revoked_at: Option<DateTime<Utc>>,
    withdrawn_at: DateTime<Utc>,
    within_deadline: bool,
}

/// End (23:59:59 China Standard Time) of the last working day of the withdrawal limit.
fn withdrawal_due(
    st: &AppState,
    ctx: &TenantCtx,
    effective: DateTime<Utc>,
) -> ApiResult<DateTime<Utc>> {
    let day = effective.with_timezone(&china_offset()).date_naive();
    let last = due_date(
        st,
        &ctx.tenant,
        day,
        ctx.tenant.withdrawal_deadline_days,
        "effectiveAt",
        true,
    )?;
    // Without next year's calendar the limit is counted in calendar days, which are never
    // more than working days: the stricter reading, until the year is loaded.
    let last = last
        .date()
        .unwrap_or_else(|| day + chrono::Days::new(u64::from(ctx.tenant.withdrawal_deadline_days)));
    let end = last.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default());
    china_offset()
        .from_local_datetime(&end)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::unprocessable("effectiveAt", "effectiveAt is out of range"))
}

/// Takes a published decision offline: stores the withdrawal and enqueues its notice.
async fn withdraw_in(
    st: &AppState,
    ctx: &TenantCtx,
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    d: &Decision,
    reason: &str,
) -> ApiResult<Decision> {
    let now = st.clock.now();
    let updated: Decision = query_decision!(
        "UPDATE decisions SET withdrawn_at = $2, withdrawal_reason = $3 WHERE id = $1 RETURNING ",
        "",
        d.id,
        now,
        reason,
    )
    .fetch_one(&mut **tx)
    .await?;
    let w = Withdrawal {
        id: d.id,
        document_number: &d.document_number,
        reason,
        revoked_at: d.revoked_at,
        withdrawn_at: now,
        within_deadline: d.withdrawal_due.is_none_or(|due| now <= due),
    };
    outbox::enqueue(tx, &ctx.tenant, Event::Withdrawal, &w).await?;
    crate::upward::decision_changed(tx, &ctx.tenant, d.id).await?;
    Ok(updated)
}

/// Revokes an issued decision; a published one is withdrawn at once.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/revoke",
    tag = "decisions",
    summary = "Revoke an issued decision (effect now or past); a published one is withdrawn at once",
    params(super::openapi::AgencyIdPath),
    request_body = RevokeInput,
    responses((status = 200, description = "OK", body = super::decisions::DecisionView), super::openapi::WriteErrors)
)]
pub async fn revoke(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<RevokeInput>,
) -> ApiResult<Json<DecisionView>> {
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "revoking decisions",
    )?;
    text(&input.reason, "reason", 2_000)?;
    let now = st.clock.now();
    let effective = input.effective_at.unwrap_or(now);
    instant_in_range(effective, "effectiveAt")?;
    if effective > now {
        return Err(ApiError::unprocessable(
            "effectiveAt",
            "effectiveAt must not be in the future: revoke once the revoking document takes effect",
        ));
    }
    let mut tx = ctx.pool.begin().await?;
    let d = load_tx(&mut tx, id).await?;
    DecisionStatus::require(&d.status, DecisionStep::Revoke)?;
    let due = match d.published_at {
        Some(_) => Some(withdrawal_due(&st, &ctx, effective)?),
        None => None,
    };
    let reason = input.reason.trim();
    let revoked: Decision = query_decision!(
        "UPDATE decisions SET status = 'revoked', revoked_at = $2, revocation_reason = $3, withdrawal_due = $4 \
         WHERE id = $1 RETURNING ",
        "",
        id,
        effective,
        reason,
        due,
    )
    .fetch_one(&mut *tx)
    .await?;
    crate::upward::decision_changed(&mut tx, &ctx.tenant, id).await?;
    let d = if revoked.published_at.is_some() {
        withdraw_in(&st, &ctx, &mut tx, &revoked, reason).await?
    } else {
        revoked
    };
    tx.commit().await?;
    st.kick_relay(&ctx.tenant.agency);
    Ok(Json(view(&ctx.pool, d).await?))
}

#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WithdrawInput {
    /// Reason published with the withdrawal (default: the revocation reason).
    pub reason: Option<String>,
}

/// Withdraws a revoked decision still online (revoked before withdrawal followed
/// revocation automatically).
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/withdraw",
    tag = "decisions",
    summary = "Withdraw a revoked publication and push the withdrawal upward",
    params(super::openapi::AgencyIdPath),
    request_body = Option<WithdrawInput>,
    responses((status = 200, description = "OK", body = super::decisions::DecisionView), super::openapi::ConflictErrors)
)]
pub async fn withdraw(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
    body: axum::body::Bytes,
) -> ApiResult<Json<DecisionView>> {
    let input: WithdrawInput = super::parse_json_or_default(&body)?;
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "withdrawing decisions",
    )?;
    if let Some(r) = &input.reason {
        text(r, "reason", 2_000)?;
    }
    let mut tx = ctx.pool.begin().await?;
    let d = load_tx(&mut tx, id).await?;
    DecisionStatus::require(&d.status, DecisionStep::Withdraw)?;
    if d.published_at.is_none() {
        return Err(ApiError::conflict(
            "publishedAt",
            "decision was never published; nothing to withdraw",
        ));
    }
    if d.withdrawn_at.is_some() {
        return Err(ApiError::conflict(
            "withdrawnAt",
            "decision is already withdrawn",
        ));
    }
    let reason = input
        .reason
        .as_deref()
        .or(d.revocation_reason.as_deref())
        .unwrap_or("")
        .trim()
        .to_string();
    let updated = withdraw_in(&st, &ctx, &mut tx, &d, &reason).await?;
    tx.commit().await?;
    st.kick_relay(&ctx.tenant.agency);
    Ok(Json(view(&ctx.pool, updated).await?))
}
