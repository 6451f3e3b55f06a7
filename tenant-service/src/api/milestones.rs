//! Supervision milestones: the agency reports an occurrence done (monthly progress report,
//! annual reviewer training, …). Exported as `sanxiang_milestone_completed{plan,milestone,due}`,
//! which the operator's "due soon" / "missed" alerts test.

use super::tenant::{Read, Tenant, Write};
use super::{JsonBody, text};
use crate::auth::{Role, require_role};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MilestoneInput {
    /// SupervisionPlan name.
    pub plan: String,
    /// Milestone name within the plan.
    pub milestone: String,
    /// Due date of the occurrence being reported (as in the plan, after working-day shift).
    pub due: NaiveDate,
    #[serde(default)]
    pub note: String,
    /// Report the occurrence again, after the supervisor returned it (the workspace's
    /// `milestones/return`, with a reason): the report is kept as the next revision. Without
    /// it, a second report of the same occurrence is refused (409).
    #[serde(default)]
    pub resubmission: bool,
}

#[derive(utoipa::ToSchema, Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct MilestoneReport {
    pub plan: String,
    pub milestone: String,
    pub due: NaiveDate,
    pub note: String,
    pub reported_by: String,
    pub reported_at: DateTime<Utc>,
    /// 1 for the first report of the occurrence, then one more per resubmission.
    pub revision: i32,
}

fn token(value: &str, field: &str) -> ApiResult<()> {
    text(value, field, 253)?;
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
    {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must be the Kubernetes name (letters, digits, '-', '.', '_')"),
        ));
    }
    Ok(())
}

/// `GET …/milestones`: every report, newest due date first.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct MilestoneReports {
    pub items: Vec<MilestoneReport>,
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/milestones",
    operation_id = "list_milestones",
    tag = "milestones",
    summary = "Supervision milestone occurrences reported done",
    params(super::openapi::AgencyPath),
    responses((status = 200, description = "OK", body = MilestoneReports), super::openapi::ReadErrors)
)]
pub async fn list(ctx: Tenant<Read>) -> ApiResult<Json<MilestoneReports>> {
    let rows = sqlx::query_as!(
        MilestoneReport,
        "SELECT plan, milestone, due, note, reported_by, reported_at, revision FROM milestone_reports \
         ORDER BY due DESC, plan, milestone, revision",
    )
    .fetch_all(&ctx.pool)
    .await?;
    Ok(Json(MilestoneReports { items: rows }))
}

#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/milestones",
    tag = "milestones",
    summary = "Report a supervision milestone occurrence done (sanxiang_milestone_completed)",
    params(super::openapi::AgencyPath),
    request_body = MilestoneInput,
    responses((status = 201, description = "Created", body = MilestoneReport), super::openapi::ConflictErrors)
)]
pub async fn report(
    State(st): State<AppState>,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<MilestoneInput>,
) -> ApiResult<(StatusCode, Json<MilestoneReport>)> {
    require_role(
        &ctx.claims,
        &[Role::AgencyAdmin, Role::Officer],
        "reporting milestones",
    )?;
    token(&input.plan, "plan")?;
    token(&input.milestone, "milestone")?;
    // An occurrence is reported around its due date: a made-up far-away date would add a
    // series that never goes away.
    let today = st.clock.today();
    if input.due < today - chrono::Duration::days(400)
        || input.due > today + chrono::Duration::days(62)
    {
        return Err(ApiError::unprocessable(
            "due",
            "due must lie within the last 400 days or the next 62 days",
        ));
    }
    if input.note.contains('\0') {
        return Err(ApiError::bad_request(
            "note",
            "note must not contain NUL characters",
        ));
    }
    if input.note.chars().count() > 4000 {
        return Err(ApiError::bad_request(
            "note",
            "note must be at most 4000 characters",
        ));
    }
    let mut tx = ctx.pool.begin().await?;
    // The revision: 1 for a first report; a resubmission follows the latest one. Two
    // concurrent reports of one occurrence meet on the primary key (409).
    let latest: Option<i32> = sqlx::query_scalar!(
        "SELECT max(revision) FROM milestone_reports WHERE plan = $1 AND milestone = $2 AND due = $3",
        &input.plan,
        &input.milestone,
        input.due,
    )
    .fetch_one(&mut *tx)
    .await?;
    let revision = match (input.resubmission, latest) {
        (false, _) => 1,
        (true, Some(latest)) => latest + 1,
        (true, None) => {
            return Err(ApiError::unprocessable(
                "resubmission",
                "resubmission reports an occurrence again after it was returned; this one was never reported",
            ));
        }
    };
    let row = sqlx::query_as!(
        MilestoneReport,
        "INSERT INTO milestone_reports (plan, milestone, due, note, reported_by, reported_at, revision) \
         VALUES ($1,$2,$3,$4,$5,$6,$7) \
         RETURNING plan, milestone, due, note, reported_by, reported_at, revision",
        &input.plan,
        &input.milestone,
        input.due,
        input.note.trim(),
        &ctx.claims.sub,
        st.clock.now(),
        revision,
    )
    .fetch_one(&mut *tx)
    .await?;
    let (plan, milestone) = (&row.plan, &row.milestone);
    crate::upward::milestone_reported(
        &mut tx,
        &ctx.tenant,
        plan,
        milestone,
        row.due,
        row.reported_at,
        row.revision,
    )
    .await?;
    tx.commit().await?;
    st.kick_relay(&ctx.tenant.agency);
    let l = ctx.tenant.labels();
    let due = row.due.to_string();
    st.metrics
        .milestone_completed
        .with_label_values(&[l[0], l[1], l[2], l[3], &row.plan, &row.milestone, &due])
        .set(1);
    Ok((StatusCode::CREATED, Json(row)))
}
