//! Notices (通报) with a rectification deadline (督促改正), the agency's answer, the
//! supervisor's acceptance or return, accountability (问责) when ignored; and inspections.
//!
//! The life of a notice: a supervisor whose scope covers the agency issues it with
//! findings and a deadline of N working days after today (the WorkCalendar engine of
//! `sanxiang_domain`, the same calendars as the tenant service) → `open`; the agency's
//! staff answer → `answered`; the supervisor accepts (`accepted`, done) or returns it with
//! a reason (`returned`, to be answered again). A notice not accepted by the end of its
//! deadline day is **overdue** (`sanxiang_supervision_rectification_overdue`, alert
//! `SanxiangRectificationOverdue`) until accepted; an overdue notice may be escalated
//! once, recording the accountability measure. Every step is kept (`notice_steps`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_domain::CalendarError;
use sanxiang_tenant_service::auth::Role;
use sanxiang_tenant_service::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    ApiResult, JsonBody, QueryParams, agency_in_scope, agency_name, bounded, limit, parse_id,
    scope, text,
};
use crate::AppState;
use crate::scope::Scope;

/// Longest rectification period, in working days.
pub const MAX_WORKING_DAYS: u32 = 120;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoticeInput {
    pub agency: String,
    pub title: String,
    pub findings: Vec<String>,
    /// Rectification deadline: this many working days after today.
    pub working_days: u32,
    /// The inspection the findings come from.
    pub inspection: Option<Uuid>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub id: Uuid,
    pub agency: String,
    pub display_name: String,
    pub title: String,
    pub findings: Vec<String>,
    pub issued_by: String,
    pub issuer_role: String,
    pub issued_on: NaiveDate,
    pub working_days: i32,
    pub deadline: NaiveDate,
    pub status: String,
    pub escalated_at: Option<DateTime<Utc>>,
    pub escalated_by: Option<String>,
    pub escalation: Option<String>,
    pub inspection_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub step: String,
    pub actor: String,
    pub role: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

const SELECT: &str = "SELECT n.id, n.agency, a.display_name, n.title, n.findings, n.issued_by, \
    n.issuer_role, n.issued_on, n.working_days, n.deadline, n.status, n.escalated_at, \
    n.escalated_by, n.escalation, n.inspection_id, n.created_at \
    FROM notices n JOIN agencies a ON a.agency = n.agency";

fn overdue(n: &Notice, today: NaiveDate) -> bool {
    n.status != "accepted" && n.deadline < today
}

async fn view(st: &AppState, n: Notice) -> ApiResult<Value> {
    let steps = sqlx::query_as!(
        Step,
        "SELECT step, actor, role, text, at FROM notice_steps WHERE notice_id = $1 ORDER BY id",
        n.id
    )
    .fetch_all(&st.pool)
    .await?;
    let mut v = serde_json::to_value(&n).map_err(ApiError::internal)?;
    v["overdue"] = json!(overdue(&n, st.clock.today()));
    v["steps"] = serde_json::to_value(steps).map_err(ApiError::internal)?;
    Ok(v)
}

/// The notice if it exists and its agency is in scope (404 otherwise: an id out of scope
/// is not revealed).
async fn load(st: &AppState, s: &Scope, id: &str) -> ApiResult<Notice> {
    let id = parse_id(id, "id")?;
    let sql = format!("{SELECT} WHERE n.id = $1 AND {}", Scope::condition("a", 2));
    s.bind(sqlx::query_as(&sql).bind(id))
        .fetch_optional(&st.pool)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no notice {id} in this token's scope")))
}

pub async fn issue(
    State(st): State<AppState>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<NoticeInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let s = scope(&st, &headers).await?;
    s.require_supervisor("issuing a notice")?;
    text(&input.title, "title", 200)?;
    if input.findings.is_empty() {
        return Err(ApiError::bad_request(
            "findings",
            "findings must list at least one finding",
        ));
    }
    bounded(&input.findings, "findings", 50)?;
    for (i, f) in input.findings.iter().enumerate() {
        text(f, &format!("findings[{i}]"), 2000)?;
    }
    if !(1..=MAX_WORKING_DAYS).contains(&input.working_days) {
        return Err(ApiError::bad_request(
            "workingDays",
            format!("workingDays must be between 1 and {MAX_WORKING_DAYS}"),
        ));
    }
    agency_in_scope(&st, &s, &input.agency).await?;
    let today = st.clock.today();
    let deadline = st
        .calendars
        .get()
        .add_working_days(today, input.working_days)
        .map_err(|e| match e {
            CalendarError::MissingYear(y) => ApiError::unprocessable(
                "workingDays",
                format!("no working-day calendar (WorkCalendar) is loaded for {y}: the deadline cannot be computed"),
            ),
            other => ApiError::unprocessable("workingDays", other.to_string()),
        })?;
    let id = Uuid::new_v4();
    let mut tx = st.pool.begin().await?;
    if let Some(insp) = input.inspection {
        let known: Option<Uuid> = sqlx::query_scalar!(
            "SELECT id FROM inspections WHERE id = $1 AND $2 = ANY(agencies)",
            insp,
            &input.agency,
        )
        .fetch_optional(&mut *tx)
        .await?;
        if known.is_none() {
            return Err(ApiError::unprocessable(
                "inspection",
                "inspection must be an inspection of this agency",
            ));
        }
    }
    let findings: Vec<String> = input
        .findings
        .iter()
        .map(|f| f.trim().to_string())
        .collect();
    sqlx::query!(
        "INSERT INTO notices (id, agency, title, findings, issued_by, issuer_role, issued_on, \
         working_days, deadline, status, inspection_id, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'open',$10,$11)",
        id,
        &input.agency,
        input.title.trim(),
        &findings,
        &s.subject,
        s.role.as_str(),
        today,
        input.working_days as i32,
        deadline,
        input.inspection,
        st.clock.now(),
    )
    .execute(&mut *tx)
    .await?;
    step(&mut tx, &st, id, "issued", &s, input.title.trim()).await?;
    tx.commit().await?;
    let n = load(&st, &s, &id.to_string()).await?;
    Ok((StatusCode::CREATED, Json(view(&st, n).await?)))
}

async fn step(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    st: &AppState,
    id: Uuid,
    step: &str,
    s: &Scope,
    text: &str,
) -> ApiResult<()> {
    sqlx::query!(
"INSERT INTO notice_steps (notice_id, step, actor, role, text, at) VALUES ($1,$2,$3,$4,$5,$6)",
id,
step,
&s.subject,
s.role.as_str(),
text,
st.clock.now(),
)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoticeQuery {
    pub agency: Option<String>,
    pub status: Option<String>,
    pub overdue: Option<bool>,
    pub limit: Option<i64>,
}

pub async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<NoticeQuery>,
) -> ApiResult<Json<Value>> {
    let s = scope(&st, &headers).await?;
    if let Some(a) = &q.agency {
        agency_name(a, "agency")?;
    }
    if let Some(v) = &q.status
        && !["open", "answered", "returned", "accepted"].contains(&v.as_str())
    {
        return Err(ApiError::bad_request(
            "status",
            "status must be open, answered, returned or accepted",
        ));
    }
    let limit = limit(q.limit)?;
    let sql = format!(
        "{SELECT} WHERE {} AND ($5::text IS NULL OR n.agency = $5) AND ($6::text IS NULL OR n.status = $6) \
         AND ($7::bool IS NULL OR ((n.status <> 'accepted' AND n.deadline < $8) = $7)) \
         ORDER BY n.created_at DESC, n.id LIMIT $9",
        Scope::condition("a", 1)
    );
    let rows: Vec<Notice> = s
        .bind(sqlx::query_as(&sql))
        .bind(&q.agency)
        .bind(&q.status)
        .bind(q.overdue)
        .bind(st.clock.today())
        .bind(limit)
        .fetch_all(&st.pool)
        .await?;
    let today = st.clock.today();
    let items: Vec<Value> = rows
        .into_iter()
        .map(|n| {
            let o = overdue(&n, today);
            let mut v = serde_json::to_value(n).unwrap_or_default();
            v["overdue"] = json!(o);
            v
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

pub async fn one(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let s = scope(&st, &headers).await?;
    let n = load(&st, &s, &id).await?;
    Ok(Json(view(&st, n).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TextInput {
    pub text: String,
}

/// Moves notice `id` from one of `from` to `to`, recording the step; the caller has
/// checked the role.
async fn transition(
    st: &AppState,
    s: &Scope,
    id: &str,
    from: &[&str],
    to: &str,
    step_name: &str,
    text_value: &str,
) -> ApiResult<Json<Value>> {
    text(text_value, "text", 4000)?;
    let n = load(st, s, id).await?;
    let mut tx = st.pool.begin().await?;
    let status: String =
        sqlx::query_scalar!("SELECT status FROM notices WHERE id = $1 FOR UPDATE", n.id,)
            .fetch_one(&mut *tx)
            .await?;
    if !from.contains(&status.as_str()) {
        return Err(ApiError::conflict(
            "status",
            format!(
                "notice is {status}; '{step_name}' is allowed only when it is {}",
                from.join(" or ")
            ),
        ));
    }
    sqlx::query!("UPDATE notices SET status = $2 WHERE id = $1", n.id, to,)
        .execute(&mut *tx)
        .await?;
    step(&mut tx, st, n.id, step_name, s, text_value.trim()).await?;
    tx.commit().await?;
    let n = load(st, s, id).await?;
    Ok(Json(view(st, n).await?))
}

/// The agency's answer (staff of that agency: agency admin or officer).
pub async fn answer(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<TextInput>,
) -> ApiResult<Json<Value>> {
    let s = scope(&st, &headers).await?;
    if !matches!(s.role, Role::AgencyAdmin | Role::Officer) {
        return Err(ApiError::forbidden(format!(
            "answering a notice requires the agency's role agency_admin or officer; token has role {}",
            s.role.as_str()
        ))
        .with_field("role"));
    }
    transition(
        &st,
        &s,
        &id,
        &["open", "returned"],
        "answered",
        "answered",
        &input.text,
    )
    .await
}

pub async fn accept(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<TextInput>,
) -> ApiResult<Json<Value>> {
    let s = scope(&st, &headers).await?;
    s.require_supervisor("accepting an answer")?;
    transition(
        &st,
        &s,
        &id,
        &["answered"],
        "accepted",
        "accepted",
        &input.text,
    )
    .await
}

pub async fn return_answer(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<TextInput>,
) -> ApiResult<Json<Value>> {
    let s = scope(&st, &headers).await?;
    s.require_supervisor("returning an answer")?;
    transition(
        &st,
        &s,
        &id,
        &["answered"],
        "returned",
        "returned",
        &input.text,
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EscalationInput {
    /// The accountability measure (问责), e.g. 约谈 of the agency head, referral.
    pub measure: String,
}

/// Records accountability on an overdue notice (once).
pub async fn escalate(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<EscalationInput>,
) -> ApiResult<Json<Value>> {
    let s = scope(&st, &headers).await?;
    s.require_supervisor("escalating a notice")?;
    text(&input.measure, "measure", 4000)?;
    let n = load(&st, &s, &id).await?;
    if !overdue(&n, st.clock.today()) {
        return Err(ApiError::conflict(
            "deadline",
            format!(
                "notice is not overdue (status {}, deadline {}): accountability follows an ignored deadline",
                n.status, n.deadline
            ),
        ));
    }
    let mut tx = st.pool.begin().await?;
    let done = sqlx::query!(
        "UPDATE notices SET escalated_at = $2, escalated_by = $3, escalation = $4 \
         WHERE id = $1 AND escalated_at IS NULL",
        n.id,
        st.clock.now(),
        &s.subject,
        input.measure.trim(),
    )
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "escalatedAt",
            "notice was already escalated",
        ));
    }
    step(&mut tx, &st, n.id, "escalated", &s, input.measure.trim()).await?;
    tx.commit().await?;
    let n = load(&st, &s, &id).await?;
    Ok(Json(view(&st, n).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InspectionInput {
    /// What was inspected (e.g. 2026年行政处罚案卷专项检查).
    pub subject: String,
    pub agencies: Vec<String>,
    pub findings: String,
    pub inspected_on: NaiveDate,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    pub id: Uuid,
    pub province: String,
    pub city: Option<String>,
    pub county: Option<String>,
    pub subject: String,
    pub agencies: Vec<String>,
    pub findings: String,
    pub inspected_on: NaiveDate,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub async fn inspect(
    State(st): State<AppState>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<InspectionInput>,
) -> ApiResult<(StatusCode, Json<Inspection>)> {
    let s = scope(&st, &headers).await?;
    s.require_supervisor("recording an inspection")?;
    text(&input.subject, "subject", 200)?;
    text(&input.findings, "findings", 20_000)?;
    super::date_in_range(input.inspected_on, "inspectedOn")?;
    if input.inspected_on > st.clock.today() {
        return Err(ApiError::unprocessable(
            "inspectedOn",
            "inspectedOn must not be in the future",
        ));
    }
    if input.agencies.is_empty() {
        return Err(ApiError::bad_request(
            "agencies",
            "agencies must list at least one agency",
        ));
    }
    bounded(&input.agencies, "agencies", 500)?;
    let mut province = s.province.clone();
    for (i, a) in input.agencies.iter().enumerate() {
        agency_name(a, &format!("agencies[{i}]"))?;
        let (p, _, _) = agency_in_scope(&st, &s, a)
            .await
            .map_err(|e| e.with_field(format!("agencies[{i}]")))?;
        province.get_or_insert(p);
    }
    let row = sqlx::query_as!(
        Inspection,
        "INSERT INTO inspections (id, province, city, county, subject, agencies, findings, \
         inspected_on, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) \
         RETURNING id, province, city, county, subject, agencies, findings, inspected_on, \
         created_by, created_at",
        Uuid::new_v4(),
        province.unwrap_or_default(),
        s.city.as_deref(),
        s.county.as_deref(),
        input.subject.trim(),
        &input.agencies,
        input.findings.trim(),
        input.inspected_on,
        &s.subject,
        st.clock.now(),
    )
    .fetch_one(&st.pool)
    .await?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// Inspections that looked at an agency in scope.
pub async fn inspections(State(st): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let s = scope(&st, &headers).await?;
    let sql = format!(
        "SELECT i.id, i.province, i.city, i.county, i.subject, i.agencies, i.findings, i.inspected_on, \
         i.created_by, i.created_at FROM inspections i WHERE EXISTS (SELECT 1 FROM agencies a \
         WHERE a.agency = ANY(i.agencies) AND {}) ORDER BY i.inspected_on DESC, i.id LIMIT 500",
        Scope::condition("a", 1)
    );
    let rows: Vec<Inspection> = s.bind(sqlx::query_as(&sql)).fetch_all(&st.pool).await?;
    Ok(Json(json!({ "items": rows })))
}
