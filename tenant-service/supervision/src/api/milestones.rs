//! Supervision milestones the agencies reported done (`milestone_report` events): listed
//! for supervisors, who confirm them or return them with a reason. Until then a report
//! awaits confirmation (`sanxiang_supervision_milestones_unconfirmed`).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_tenant_service::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiResult, JsonBody, QueryParams, agency_in_scope, agency_name, limit, scope, text};
use crate::AppState;
use crate::scope::Scope;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MilestoneQuery {
    pub agency: Option<String>,
    /// reported (awaiting confirmation), confirmed or returned.
    pub status: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
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
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

const STATUSES: [&str; 3] = ["reported", "confirmed", "returned"];

pub async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<MilestoneQuery>,
) -> ApiResult<Json<Value>> {
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
    let limit = limit(q.limit)?;
    let sql = format!(
        "SELECT m.agency, a.display_name, a.city, a.county, m.plan, m.milestone, m.due, m.reported_at, m.revision, \
         m.status, m.decided_by, m.decided_at, m.reason FROM milestones m JOIN agencies a ON a.agency = m.agency \
         WHERE {} AND ($5::text IS NULL OR m.agency = $5) AND ($6::text IS NULL OR m.status = $6) \
         ORDER BY m.due DESC, m.agency, m.plan, m.milestone LIMIT $7",
        Scope::condition("a", 1)
    );
    let rows: Vec<Milestone> = s
        .bind(sqlx::query_as(&sql))
        .bind(&q.agency)
        .bind(&q.status)
        .bind(limit)
        .fetch_all(&st.pool)
        .await?;
    Ok(Json(json!({ "items": rows })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decision {
    pub agency: String,
    pub plan: String,
    pub milestone: String,
    pub due: NaiveDate,
    /// Required to return a report; optional remark on confirmation.
    #[serde(default)]
    pub reason: String,
}

async fn decide(
    st: &AppState,
    headers: &HeaderMap,
    d: Decision,
    to: &str,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({
        "agency": d.agency, "plan": d.plan, "milestone": d.milestone, "due": d.due,
        "status": to, "decidedBy": s.subject,
    })))
}

pub async fn confirm(
    State(st): State<AppState>,
    headers: HeaderMap,
    JsonBody(d): JsonBody<Decision>,
) -> ApiResult<Json<Value>> {
    decide(&st, &headers, d, "confirmed").await
}

pub async fn return_report(
    State(st): State<AppState>,
    headers: HeaderMap,
    JsonBody(d): JsonBody<Decision>,
) -> ApiResult<Json<Value>> {
    decide(&st, &headers, d, "returned").await
}
