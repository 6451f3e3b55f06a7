//! Supervision milestones the agencies reported done (`milestone_report` events): listed
//! for supervisors, who confirm them or return them with a reason. Until then a report
//! awaits confirmation (`sanxiang_supervision_milestones_unconfirmed`).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_tenant_service::api::openapi::ConflictErrors;
use sanxiang_tenant_service::error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi::InputErrors;
use super::{
    ApiResult, JsonBody, QueryParams, agency_in_scope, agency_name, cursor, limit, scope, text,
};
use crate::AppState;
use crate::scope::Scope;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MilestoneQuery {
    /// The Agency object's name.
    pub agency: Option<String>,
    /// `reported` (awaiting confirmation), `confirmed` or `returned`.
    pub status: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A milestone occurrence an agency reported done, and what a supervisor made of it.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Milestone {
    pub agency: String,
    pub display_name: String,
    pub city: String,
    pub county: String,
    pub plan: String,
    pub milestone: String,
    pub due: NaiveDate,
    pub reported_at: DateTime<Utc>,
    /// The report's revision: above 1 when the agency reported it again after a return.
    pub revision: i32,
    /// `reported` (awaiting confirmation), `confirmed` or `returned`.
    pub status: String,
    /// The supervisor (token subject) who confirmed or returned it.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was returned (or a remark on confirmation).
    pub reason: Option<String>,
}

/// `GET /milestones`: a page of reports, the latest due date first (then by agency, plan
/// and milestone).
#[derive(Debug, Serialize, ToSchema)]
pub struct MilestoneList {
    pub items: Vec<Milestone>,
    /// When the page is full, where it ended: pass it as `after` for the next page; null
    /// on the last page.
    pub next: Option<String>,
}

const STATUSES: [&str; 3] = ["reported", "confirmed", "returned"];

#[utoipa::path(
    get,
    path = "/api/v1/supervision/milestones",
    operation_id = "list_milestones",
    tag = "milestones",
    summary = "Milestone reports of agencies in scope, latest due date first, keyset-paginated",
    params(MilestoneQuery),
    responses((status = 200, description = "OK", body = MilestoneList), InputErrors)
)]
pub async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<MilestoneQuery>,
) -> ApiResult<Json<MilestoneList>> {
    let s = scope(&st, &headers).await?;
    if let Some(a) = &q.agency {
        agency_name(a, "agency")?;
    }
    if let Some(v) = &q.status
        && !STATUSES.contains(&v.as_str())
    {
        return Err(ApiError::bad_request(
            "status",
            "status must be reported, confirmed or returned",
        ));
    }
    let after: Option<(NaiveDate, String, String, String)> =
        cursor::decode("milestones", q.after.as_deref())?;
    let limit = limit(q.limit)?;
    let sql = format!(
        "SELECT m.agency, a.display_name, a.city, a.county, m.plan, m.milestone, m.due, m.reported_at, m.revision, \
         m.status, m.decided_by, m.decided_at, m.reason FROM milestones m JOIN agencies a ON a.agency = m.agency \
         WHERE {} AND ($5::text IS NULL OR m.agency = $5) AND ($6::text IS NULL OR m.status = $6) \
         AND ($7::date IS NULL OR m.due < $7 \
              OR (m.due = $7 AND (m.agency, m.plan, m.milestone) > ($8::text, $9::text, $10::text))) \
         ORDER BY m.due DESC, m.agency, m.plan, m.milestone LIMIT $11",
        Scope::condition("a", 1)
    );
    let (due, agency, plan, milestone) = match after {
        Some((d, a, p, m)) => (Some(d), Some(a), Some(p), Some(m)),
        None => (None, None, None, None),
    };
    let rows: Vec<Milestone> = s
        .bind(sqlx::query_as(&sql))
        .bind(&q.agency)
        .bind(&q.status)
        .bind(due)
        .bind(agency)
        .bind(plan)
        .bind(milestone)
        .bind(limit)
        .fetch_all(&st.pool)
        .await?;
    let next = cursor::last_of_full_page(&rows, limit).map(|m| {
        let key = (m.due, m.agency.clone(), m.plan.clone(), m.milestone.clone());
        cursor::encode("milestones", &key)
    });
    Ok(Json(MilestoneList { items: rows, next }))
}

/// Which report a supervisor confirms or returns.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MilestoneDecision {
    /// The Agency object's name.
    pub agency: String,
    /// SupervisionPlan name.
    pub plan: String,
    pub milestone: String,
    /// The due date of the occurrence reported.
    pub due: NaiveDate,
    /// Required to return a report; optional remark on confirmation.
    #[serde(default)]
    pub reason: String,
}

/// A report decided.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MilestoneDecided {
    pub agency: String,
    pub plan: String,
    pub milestone: String,
    pub due: NaiveDate,
    /// `confirmed` or `returned`.
    pub status: &'static str,
    /// The supervisor (token subject).
    pub decided_by: String,
}

async fn decide(
    st: &AppState,
    headers: &HeaderMap,
    d: MilestoneDecision,
    to: &'static str,
) -> ApiResult<Json<MilestoneDecided>> {
    let s = scope(st, headers).await?;
    s.require_supervisor("deciding on a milestone report")?;
    text(&d.plan, "plan", 253)?;
    text(&d.milestone, "milestone", 253)?;
    super::date_in_range(d.due, "due")?;
    if to == "returned" {
        text(&d.reason, "reason", 2000)?;
    } else {
        super::optional_text(&d.reason, "reason", 2000)?;
    }
    agency_in_scope(st, &s, &d.agency).await?;
    let current: Option<String> = sqlx::query_scalar!(
"SELECT status FROM milestones WHERE agency = $1 AND plan = $2 AND milestone = $3 AND due = $4",
&d.agency,
&d.plan,
&d.milestone,
d.due,
)
    .fetch_optional(&st.pool)
    .await?;
    match current.as_deref() {
        None => {
            return Err(ApiError::not_found(format!(
                "agency '{}' reported no milestone {}/{} due {}",
                d.agency, d.plan, d.milestone, d.due
            )));
        }
        Some("reported") => {}
        Some(other) => {
            return Err(ApiError::conflict(
                "status",
                format!("the report is already {other}"),
            ));
        }
    }
    let reason = d.reason.trim();
    let updated = sqlx::query!(
        "UPDATE milestones SET status = $5, decided_by = $6, decided_at = $7, reason = $8 \
         WHERE agency = $1 AND plan = $2 AND milestone = $3 AND due = $4 AND status = 'reported'",
        &d.agency,
        &d.plan,
        &d.milestone,
        d.due,
        to,
        &s.subject,
        st.clock.now(),
        (!reason.is_empty()).then_some(reason),
    )
    .execute(&st.pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "status",
            "the report was decided meanwhile",
        ));
    }
    Ok(Json(MilestoneDecided {
        agency: d.agency,
        plan: d.plan,
        milestone: d.milestone,
        due: d.due,
        status: to,
        decided_by: s.subject,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/supervision/milestones/confirm",
    tag = "milestones",
    summary = "Confirm a reported milestone (supervisors)",
    request_body = MilestoneDecision,
    responses((status = 200, description = "OK", body = MilestoneDecided), ConflictErrors)
)]
pub async fn confirm(
    State(st): State<AppState>,
    headers: HeaderMap,
    JsonBody(d): JsonBody<MilestoneDecision>,
) -> ApiResult<Json<MilestoneDecided>> {
    decide(&st, &headers, d, "confirmed").await
}

#[utoipa::path(
    post,
    path = "/api/v1/supervision/milestones/return",
    tag = "milestones",
    summary = "Return a reported milestone with a reason (supervisors); the agency may report it again",
    request_body = MilestoneDecision,
    responses((status = 200, description = "OK", body = MilestoneDecided), ConflictErrors)
)]
pub async fn return_report(
    State(st): State<AppState>,
    headers: HeaderMap,
    JsonBody(d): JsonBody<MilestoneDecision>,
) -> ApiResult<Json<MilestoneDecided>> {
    decide(&st, &headers, d, "returned").await
}
