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
use sanxiang_tenant_service::api::openapi::{ConflictErrors, ReadErrors};
use sanxiang_tenant_service::auth::Role;
use sanxiang_tenant_service::error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::openapi::{IdPath, InputErrors, InputRuleErrors};
use super::{
    ApiResult, JsonBody, QueryParams, agency_in_scope, agency_name, bounded, cursor, limit,
    parse_id, scope, text,
};
use crate::AppState;
use crate::scope::Scope;

/// Longest rectification period, in working days.
pub const MAX_WORKING_DAYS: u32 = 120;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoticeInput {
    /// The Agency object's name.
    pub agency: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// 1 to 50 findings, each up to 2000 characters.
    #[schema(min_items = 1, max_items = 50)]
    pub findings: Vec<String>,
    /// Rectification deadline: this many working days after today.
    #[schema(minimum = 1, maximum = 120)]
    pub working_days: u32,
    /// The inspection the findings come from.
    pub inspection: Option<Uuid>,
}

/// A notice (通报) as stored.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub id: Uuid,
    pub agency: String,
    pub display_name: String,
    pub title: String,
    pub findings: Vec<String>,
    /// The supervisor (token subject) who issued it.
    pub issued_by: String,
    pub issuer_role: String,
    pub issued_on: NaiveDate,
    pub working_days: i32,
    /// The last day to rectify: `workingDays` working days after `issuedOn`.
    pub deadline: NaiveDate,
    /// `open`, `answered`, `returned` or `accepted`.
    pub status: String,
    pub escalated_at: Option<DateTime<Utc>>,
    pub escalated_by: Option<String>,
    /// The accountability measure (问责) recorded.
    pub escalation: Option<String>,
    /// The inspection the findings come from.
    pub inspection_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A step in a notice's life.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[schema(as = NoticeStep)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// `issued`, `answered`, `accepted`, `returned` or `escalated`.
    pub step: String,
    /// Token subject.
    pub actor: String,
    pub role: String,
    /// The title, answer, reason or accountability measure.
    pub text: String,
    pub at: DateTime<Utc>,
}

/// A notice as listed: whether it is overdue today goes with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeItem {
    #[serde(flatten)]
    pub notice: Notice,
    /// Not accepted by the end of its deadline day.
    pub overdue: bool,
}

impl NoticeItem {
    fn new(notice: Notice, today: NaiveDate) -> Self {
        let overdue = overdue(&notice, today);
        Self { notice, overdue }
    }
}

/// A notice as read, issued or moved on: with every step, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    #[serde(flatten)]
    pub item: NoticeItem,
    pub steps: Vec<Step>,
}

const SELECT: &str = "SELECT n.id, n.agency, a.display_name, n.title, n.findings, n.issued_by, \
    n.issuer_role, n.issued_on, n.working_days, n.deadline, n.status, n.escalated_at, \
    n.escalated_by, n.escalation, n.inspection_id, n.created_at \
    FROM notices n JOIN agencies a ON a.agency = n.agency";

fn overdue(n: &Notice, today: NaiveDate) -> bool {
    n.status != "accepted" && n.deadline < today
}

async fn view(st: &AppState, n: Notice) -> ApiResult<NoticeView> {
    let steps = sqlx::query_as!(
        Step,
        "SELECT step, actor, role, text, at FROM notice_steps WHERE notice_id = $1 ORDER BY id",
        n.id
    )
    .fetch_all(&st.pool)
    .await?;
    Ok(NoticeView {
        item: NoticeItem::new(n, st.clock.today()),
        steps,
    })
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

#[utoipa::path(
    post,
    path = "/api/v1/supervision/notices",
    tag = "notices",
    summary = "Issue a notice with a rectification deadline in working days (supervisors of the agency's place)",
    request_body = NoticeInput,
    responses((status = 201, description = "Created", body = NoticeView), InputRuleErrors)
)]
pub async fn issue(
    State(st): State<AppState>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<NoticeInput>,
) -> ApiResult<(StatusCode, Json<NoticeView>)> {
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoticeQuery {
    /// The Agency object's name.
    pub agency: Option<String>,
    /// `open`, `answered`, `returned` or `accepted`.
    pub status: Option<String>,
    /// Only overdue notices (true) or only the others (false).
    pub overdue: Option<bool>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// `GET /notices`: a page of notices, the newest first (by `createdAt`, then id).
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeList {
    pub items: Vec<NoticeItem>,
    /// When the page is full, where it ended: pass it as `after` for the next page; null
    /// on the last page.
    pub next: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/supervision/notices",
    operation_id = "list_notices",
    tag = "notices",
    summary = "Notices to agencies in scope, newest first, keyset-paginated",
    params(NoticeQuery),
    responses((status = 200, description = "OK", body = NoticeList), InputErrors)
)]
pub async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<NoticeQuery>,
) -> ApiResult<Json<NoticeList>> {
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
    let after: Option<(DateTime<Utc>, Uuid)> = cursor::decode("notices", q.after.as_deref())?;
    let limit = limit(q.limit)?;
    let sql = format!(
        "{SELECT} WHERE {} AND ($5::text IS NULL OR n.agency = $5) AND ($6::text IS NULL OR n.status = $6) \
         AND ($7::bool IS NULL OR ((n.status <> 'accepted' AND n.deadline < $8) = $7)) \
         AND ($9::timestamptz IS NULL OR n.created_at < $9 OR (n.created_at = $9 AND n.id > $10)) \
         ORDER BY n.created_at DESC, n.id LIMIT $11",
        Scope::condition("a", 1)
    );
    let today = st.clock.today();
    let rows: Vec<Notice> = s
        .bind(sqlx::query_as(&sql))
        .bind(&q.agency)
        .bind(&q.status)
        .bind(q.overdue)
        .bind(today)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(limit)
        .fetch_all(&st.pool)
        .await?;
    let next = cursor::last_of_full_page(&rows, limit)
        .map(|n| cursor::encode("notices", &(n.created_at, n.id)));
    let items = rows
        .into_iter()
        .map(|n| NoticeItem::new(n, today))
        .collect();
    Ok(Json(NoticeList { items, next }))
}

#[utoipa::path(
    get,
    path = "/api/v1/supervision/notices/{id}",
    operation_id = "get_notice",
    tag = "notices",
    summary = "A notice with its steps (404 out of scope)",
    params(IdPath),
    responses((status = 200, description = "OK", body = NoticeView), ReadErrors)
)]
pub async fn one(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<NoticeView>> {
    let s = scope(&st, &headers).await?;
    let n = load(&st, &s, &id).await?;
    Ok(Json(view(&st, n).await?))
}

/// The answer, the acceptance's remark or the reason for a return.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TextInput {
    #[schema(min_length = 1, max_length = 4000)]
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
) -> ApiResult<Json<NoticeView>> {
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
#[utoipa::path(
    post,
    path = "/api/v1/supervision/notices/{id}/answer",
    tag = "notices",
    summary = "Answer an open or returned notice (the agency's agency_admin or officer)",
    params(IdPath),
    request_body = TextInput,
    responses((status = 200, description = "OK", body = NoticeView), ConflictErrors)
)]
pub async fn answer(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<TextInput>,
) -> ApiResult<Json<NoticeView>> {
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

#[utoipa::path(
    post,
    path = "/api/v1/supervision/notices/{id}/accept",
    tag = "notices",
    summary = "Accept an answered notice (supervisors): rectified",
    params(IdPath),
    request_body = TextInput,
    responses((status = 200, description = "OK", body = NoticeView), ConflictErrors)
)]
pub async fn accept(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<TextInput>,
) -> ApiResult<Json<NoticeView>> {
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

#[utoipa::path(
    post,
    path = "/api/v1/supervision/notices/{id}/return",
    tag = "notices",
    summary = "Return an answered notice with a reason (supervisors): to be answered again",
    params(IdPath),
    request_body = TextInput,
    responses((status = 200, description = "OK", body = NoticeView), ConflictErrors)
)]
pub async fn return_answer(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<TextInput>,
) -> ApiResult<Json<NoticeView>> {
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EscalationInput {
    /// The accountability measure (问责), e.g. 约谈 of the agency head, referral.
    #[schema(min_length = 1, max_length = 4000)]
    pub measure: String,
}

/// Records accountability on an overdue notice (once).
#[utoipa::path(
    post,
    path = "/api/v1/supervision/notices/{id}/escalate",
    tag = "notices",
    summary = "Record accountability (问责) on an overdue notice, once (supervisors)",
    params(IdPath),
    request_body = EscalationInput,
    responses((status = 200, description = "OK", body = NoticeView), ConflictErrors)
)]
pub async fn escalate(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<EscalationInput>,
) -> ApiResult<Json<NoticeView>> {
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InspectionInput {
    /// What was inspected (e.g. 2026年行政处罚案卷专项检查).
    #[schema(min_length = 1, max_length = 200)]
    pub subject: String,
    /// The Agency objects' names, each in the token's scope.
    #[schema(min_items = 1, max_items = 500)]
    pub agencies: Vec<String>,
    #[schema(min_length = 1, max_length = 20000)]
    pub findings: String,
    /// Not in the future.
    pub inspected_on: NaiveDate,
}

/// An inspection, with the place of the supervisor who recorded it.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    pub id: Uuid,
    pub province: String,
    /// The recording city supervisor's city; null for the others.
    pub city: Option<String>,
    /// The recording county supervisor's county; null for the others.
    pub county: Option<String>,
    pub subject: String,
    /// The agencies it looked at that are in the reader's scope, in the inspection's
    /// order (others it looked at are not named to this reader).
    pub agencies: Vec<String>,
    pub findings: String,
    pub inspected_on: NaiveDate,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[utoipa::path(
    post,
    path = "/api/v1/supervision/inspections",
    tag = "inspections",
    summary = "Record an inspection of agencies in scope (supervisors)",
    request_body = InspectionInput,
    responses((status = 201, description = "Created", body = Inspection), InputRuleErrors)
)]
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

/// `GET /inspections`: a page of inspections, the latest first (by `inspectedOn`, then id).
#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionList {
    pub items: Vec<Inspection>,
    /// When the page is full, where it ended: pass it as `after` for the next page; null
    /// on the last page.
    pub next: Option<String>,
}

/// Inspections that looked at an agency in scope: supervisors' and agency staff's (their
/// own agency's) alike.
#[utoipa::path(
    get,
    path = "/api/v1/supervision/inspections",
    tag = "inspections",
    summary = "Inspections that looked at an agency in scope (supervisors; staff: their agency's), latest first, keyset-paginated",
    params(cursor::PageQuery),
    responses((status = 200, description = "OK", body = InspectionList), InputErrors)
)]
pub async fn inspections(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<cursor::PageQuery>,
) -> ApiResult<Json<InspectionList>> {
    let s = scope(&st, &headers).await?;
    let after: Option<(NaiveDate, Uuid)> = cursor::decode("inspections", q.after.as_deref())?;
    let limit = limit(q.limit)?;
    // An inspection that also looked at agencies outside the token's scope is shown with
    // the agencies in scope only (in the inspection's order): another city's or another
    // agency's name is not this reader's to see.
    let sql = format!(
        "SELECT i.id, i.province, i.city, i.county, i.subject, \
         ARRAY(SELECT u.agency FROM unnest(i.agencies) WITH ORDINALITY AS u(agency, n) \
               WHERE EXISTS (SELECT 1 FROM agencies a WHERE a.agency = u.agency AND {in_scope}) \
               ORDER BY u.n) AS agencies, \
         i.findings, i.inspected_on, i.created_by, i.created_at FROM inspections i \
         WHERE EXISTS (SELECT 1 FROM agencies a WHERE a.agency = ANY(i.agencies) AND {in_scope}) \
         AND ($5::date IS NULL OR i.inspected_on < $5 OR (i.inspected_on = $5 AND i.id > $6)) \
         ORDER BY i.inspected_on DESC, i.id LIMIT $7",
        in_scope = Scope::condition("a", 1)
    );
    let rows: Vec<Inspection> = s
        .bind(sqlx::query_as(&sql))
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(limit)
        .fetch_all(&st.pool)
        .await?;
    let next = cursor::last_of_full_page(&rows, limit)
        .map(|i| cursor::encode("inspections", &(i.inspected_on, i.id)));
    Ok(Json(InspectionList { items: rows, next }))
}
