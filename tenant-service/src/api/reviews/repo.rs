//! The review tables (`reviews`, `review_steps`, `decision_versions`): loading a review,
//! moving it by one step of [`ReviewState`] with the step recorded, and keeping a round's
//! draft. Every statement is checked at compile time (`sqlx::query!`, offline data in
//! `tenant-service/.sqlx`).

use super::model::{Checklist, ReviewView, Step, Version};
use crate::api::review_state::{ReviewAction, ReviewState};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, TenantCtx};
use chrono::NaiveDate;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

pub(super) async fn load(ctx: &TenantCtx, id: Uuid, today: NaiveDate) -> ApiResult<ReviewView> {
    let r = sqlx::query!(
        "SELECT status, round, opinion_due FROM reviews WHERE decision_id = $1",
        id
    )
    .fetch_optional(&ctx.pool)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("decision {id} has no legal review")))?;
    let (status, round, opinion_due) = (r.status, r.round, r.opinion_due);
    let steps = sqlx::query_as!(
        Step,
        "SELECT id, step, actor, role, opinion, at, reviewer_id, checklist, round FROM review_steps \
         WHERE decision_id = $1 ORDER BY id",
        id
    )
    .fetch_all(&ctx.pool)
    .await?;
    let versions = sqlx::query_as!(
        Version,
        "SELECT version, round, content, recorded_by, recorded_at FROM decision_versions \
         WHERE decision_id = $1 ORDER BY version",
        id
    )
    .fetch_all(&ctx.pool)
    .await?;
    let mut conn = ctx.pool.acquire().await?;
    let matter = crate::api::matters::review_context(&mut conn, id, today).await?;
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

/// A recorded step: who, and for the legal office, which reviewer with which checklist.
pub(super) struct StepRecord<'a> {
    pub(super) action: ReviewAction,
    pub(super) opinion: &'a str,
    pub(super) reviewer_id: Option<Uuid>,
    pub(super) checklist: Option<&'a Checklist>,
}

/// Moves the review by `s.action`, recording the step, in `tx`. Returns the new state and
/// round.
pub(super) async fn transition(
    st: &AppState,
    ctx: &TenantCtx,
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    s: StepRecord<'_>,
) -> ApiResult<(ReviewState, i32)> {
    let row = sqlx::query!(
        "SELECT status, round FROM reviews WHERE decision_id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| {
        ApiError::not_found(format!(
            "decision {id} has no legal review; submit it first"
        ))
    })?;
    let (status, round) = (row.status, row.round);
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
    sqlx::query!(
        "UPDATE reviews SET status = $2, round = $3, opinion_due = COALESCE($4, opinion_due), \
         updated_at = now() WHERE decision_id = $1",
        id,
        to.as_str(),
        round,
        due,
    )
    .execute(&mut **tx)
    .await?;
    insert_step(ctx, tx, id, s.action.step(), &s, round).await?;
    Ok((to, round))
}

pub(super) async fn insert_step(
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
    sqlx::query!(
        "INSERT INTO review_steps (decision_id, step, actor, role, opinion, reviewer_id, checklist, round) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        id,
        step,
        &ctx.claims.sub,
        ctx.claims.role.as_str(),
        s.opinion.trim(),
        s.reviewer_id,
        checklist,
        round,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The opinion's due date: the review time limit in working days from today (none when
/// the calendar lacks the year; the calendar-missing alarm is raised then).
pub(super) fn opinion_due(st: &AppState, ctx: &TenantCtx) -> Option<NaiveDate> {
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
pub(super) async fn keep_version(
    ctx: &TenantCtx,
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    round: i32,
) -> ApiResult<()> {
    sqlx::query!(
        "INSERT INTO decision_versions (decision_id, version, round, content, recorded_by) \
         SELECT d.id, COALESCE((SELECT max(version) FROM decision_versions WHERE decision_id = d.id), 0) + 1, \
           $2, to_jsonb(d) - 'publication', $3 FROM decisions d WHERE d.id = $1",
        id,
        round,
        &ctx.claims.sub,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
