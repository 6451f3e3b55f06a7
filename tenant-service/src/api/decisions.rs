//! Decisions: drafting, revision, listing and issue (behind the legal-review gate), and
//! the working-day deadline calculator. Publication, revocation and withdrawal live in
//! [`super::publication`] and [`super::withdrawal`].
//!
//! The handlers read as the rule they enforce; the wire types are in [`model`], the rules a
//! draft meets without the database in [`rules`], the SQL in [`repo`] and the status steps
//! in [`lifecycle`].

pub mod lifecycle;
mod model;
mod repo;
mod rules;

pub use lifecycle::{DecisionStatus, DecisionStep};
pub use model::{
    DeadlineQuery, Decision, DecisionInput, DecisionList, DecisionView, DisclosureDeadline,
    IssueInput, ListQuery, MajorCriteria, PartyInput, ReadQuery,
};
pub(crate) use repo::{DecisionRow, load, load_tx, query_decision, view};
pub use rules::{MAX_OTHER_PERSONS, matter_requires_review};

use super::matters::{self, Resolved};
use super::review_state::ReviewState;
use super::tenant::{PathId, Read, Tenant, Write};
use super::{JsonBody, QueryParams, date_in_range, optional_text};
use crate::auth::{Role, require_role};
use crate::deadlines::DisclosureDue;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Inner};
use crate::tenants;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use sanxiang_domain::{DecisionDiscretion, DueDate, EnforcementCategory as Category};
use uuid::Uuid;

/// The draft's matter on the list effective `today`, and its discretion checked against
/// the matter's benchmark.
async fn resolve_matter(
    conn: &mut sqlx::PgConnection,
    ctx: &crate::state::TenantCtx,
    input: &DecisionInput,
    today: NaiveDate,
) -> ApiResult<Resolved> {
    let r = matters::resolve(
        conn,
        ctx,
        input.matter.as_deref(),
        input.category,
        input.procedure,
        today,
    )
    .await?;
    matters::check_discretion(Some(r.matter()), input.discretion.as_ref())?;
    Ok(r)
}

#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions",
    operation_id = "create_decision",
    tag = "decisions",
    summary = "Draft a decision",
    params(super::openapi::AgencyPath),
    request_body = DecisionInput,
    responses((status = 201, description = "Created", body = DecisionView), super::openapi::WriteErrors)
)]
pub async fn create(
    State(st): State<AppState>,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<DecisionInput>,
) -> ApiResult<(StatusCode, Json<DecisionView>)> {
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "drafting decisions",
    )?;
    rules::validate(&input)?;
    repo::ensure_action_exists(&ctx.pool, input.action_id).await?;
    let mut conn = ctx.pool.acquire().await?;
    let resolved = resolve_matter(&mut conn, &ctx, &input, st.clock.today()).await?;
    drop(conn);
    let reasons = rules::major_reasons(&input, &resolved);
    let minor = rules::party_is_minor(&input, st.clock.today());
    let d = repo::insert_draft(
        &ctx.pool,
        &input,
        &resolved,
        &reasons,
        minor,
        &ctx.claims.sub,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(&ctx.pool, d).await?)))
}

/// Revises a draft: allowed before review, or while the review found issues (the handling
/// unit revises, then resubmits). Never after an approval, so an approval always covers
/// the text that is issued.
#[utoipa::path(
    put,
    path = "/api/v1/agencies/{agency}/decisions/{id}",
    operation_id = "update_decision",
    tag = "decisions",
    summary = "Revise a draft (before review, when the review found issues, or after a rejecting collective decision); a major decision stays major",
    params(super::openapi::AgencyIdPath),
    request_body = DecisionInput,
    responses((status = 200, description = "OK", body = DecisionView), super::openapi::WriteErrors)
)]
pub async fn update(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<DecisionInput>,
) -> ApiResult<Json<DecisionView>> {
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "revising decisions",
    )?;
    rules::validate(&input)?;
    let mut tx = ctx.pool.begin().await?;
    let d = load_tx(&mut tx, id).await?;
    DecisionStatus::require(&d.status, DecisionStep::Revise)?;
    let review = repo::review_status(&mut *tx, id).await?;
    if let Some(r) = review.as_deref()
        && !ReviewState::parse(r).is_some_and(ReviewState::draft_may_be_revised)
    {
        return Err(ApiError::conflict(
            "review",
            format!(
                "the legal review is {r}; a draft can be revised only before review, when issues were \
                 found or after a rejecting collective decision"
            ),
        ));
    }
    repo::ensure_action_exists(&mut *tx, input.action_id).await?;
    let resolved = resolve_matter(&mut tx, &ctx, &input, st.clock.today()).await?;
    // Once major, a decision stays major: the criteria cannot be dropped by revising the
    // draft, only cleared by the legal office as a recorded step.
    let mut reasons = rules::major_reasons(&input, &resolved);
    if d.major {
        for r in &d.major_reasons {
            if !reasons.contains(r) {
                reasons.push(r.clone());
            }
        }
    }
    let minor = rules::party_is_minor(&input, st.clock.today());
    let d = repo::update_draft(&mut tx, id, &input, &resolved, &reasons, minor).await?;
    tx.commit().await?;
    Ok(Json(view(&ctx.pool, d).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/decisions",
    operation_id = "list_decisions",
    tag = "decisions",
    summary = "Decisions (a supervisor's read is logged)",
    params(super::openapi::AgencyPath, ListQuery),
    responses((status = 200, description = "OK", body = DecisionList), super::openapi::ReadErrors)
)]
pub async fn list(
    State(st): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
    ctx: Tenant<Read>,
) -> ApiResult<Json<DecisionList>> {
    if let Some(s) = &q.status
        && DecisionStatus::parse(s).is_none()
    {
        return Err(ApiError::bad_request(
            "status",
            "status must be draft, issued, revoked or closed",
        ));
    }
    if let Some(p) = &q.purpose {
        optional_text(p, "purpose", 256)?;
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "limit",
            "limit must be between 1 and 1000",
        ));
    }
    let rows = repo::list(&ctx.pool, &q, st.clock.today(), limit).await?;
    let ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
    log_supervisor_reads(&st, &ctx, &ids, q.purpose.as_deref()).await?;
    Ok(Json(DecisionList { items: rows }))
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/decisions/{id}",
    operation_id = "get_decision",
    tag = "decisions",
    summary = "One decision (a supervisor's read is logged)",
    params(super::openapi::AgencyIdPath, ReadQuery),
    responses((status = 200, description = "OK", body = DecisionView), super::openapi::ReadErrors)
)]
pub async fn get_one(
    State(st): State<AppState>,
    PathId(id): PathId,
    QueryParams(q): QueryParams<ReadQuery>,
    ctx: Tenant<Read>,
) -> ApiResult<Json<DecisionView>> {
    let d = load(&ctx.pool, id, false).await?;
    log_supervisor_reads(&st, &ctx, &[id], q.purpose.as_deref()).await?;
    Ok(Json(view(&ctx.pool, d).await?))
}

/// Supervisors read full, unredacted decisions: each read is logged like a record read
/// (记录信息调阅监督) and counted for the unusual-volume alert.
async fn log_supervisor_reads(
    st: &Inner,
    ctx: &crate::state::TenantCtx,
    ids: &[Uuid],
    purpose: Option<&str>,
) -> ApiResult<()> {
    if !ctx.claims.role.is_supervisor() || ids.is_empty() {
        return Ok(());
    }
    repo::log_reads(&ctx.pool, ids, &ctx.claims, purpose.unwrap_or("read")).await?;
    st.metrics
        .supervisor_decision_reads_total
        .with_label_values(&ctx.tenant.labels())
        .inc_by(ids.len() as u64);
    Ok(())
}

/// Disclosure due date: `days` working days after `decided_on`, or pending on a year
/// without a WorkCalendar (never a refusal: see [`crate::deadlines`]).
pub fn due_date(
    st: &Inner,
    tenant: &tenants::Tenant,
    decided_on: NaiveDate,
    days: u32,
    field: &str,
    writes: bool,
) -> ApiResult<DueDate> {
    let cal = st.calendars.get();
    let due = cal.due_after(decided_on, days).map_err(|e| {
        ApiError::unprocessable(
            field,
            format!("cannot compute the disclosure due date: {e}"),
        )
    })?;
    // Only a write that records a pending due date raises the alarm; a read-only what-if
    // question (`/deadlines` for any year) must not fake it.
    if let DueDate::Pending { year } = due
        && writes
    {
        st.note_calendar_missing(&tenant.agency, year);
        st.metrics
            .calendar_missing_year
            .with_label_values(&tenant.labels())
            .set(1);
    }
    Ok(due)
}

#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/issue",
    tag = "decisions",
    summary = "Issue a decision; computes the disclosure due date in working days",
    description = "409 (field review) for a major decision without an approving review; a missing WorkCalendar year leaves the due date pending.",
    params(super::openapi::AgencyIdPath),
    request_body = Option<IssueInput>,
    responses((status = 200, description = "OK", body = DecisionView), super::openapi::WriteErrors)
)]
pub async fn issue(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
    body: axum::body::Bytes,
) -> ApiResult<Json<DecisionView>> {
    let input: IssueInput = super::parse_json_or_default(&body)?;
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "issuing decisions",
    )?;
    let today = st.clock.today();
    let decided_on = input.decided_on.unwrap_or(today);
    date_in_range(decided_on, "decidedOn")?;
    if decided_on > today {
        return Err(ApiError::unprocessable(
            "decidedOn",
            "decidedOn must not be in the future",
        ));
    }
    let mut tx = ctx.pool.begin().await?;
    let d = load_tx(&mut tx, id).await?;
    DecisionStatus::require(&d.status, DecisionStep::Issue)?;
    let review = repo::review_status(&mut *tx, id).await?;
    let review = review.as_deref().and_then(ReviewState::parse);
    // The matter is taken from the list in force today (or, if it was removed since, from
    // the version the draft named): its review requirement and benchmark apply now, so a
    // matter that became review-required after drafting still needs its review. A
    // review-required matter cannot be cleared as "not major".
    let matter = matters::matter_now(&mut tx, d.matter.as_deref(), d.matter_version, today).await?;
    let mut reasons = d.major_reasons.clone();
    if let Some(r) = matter_requires_review(matter.as_ref())
        && !reasons.contains(&r)
    {
        reasons.push(r);
    }
    let discretion: Option<DecisionDiscretion> = d
        .discretion
        .clone()
        .and_then(|v| serde_json::from_value(v).ok());
    matters::check_discretion(matter.as_ref(), discretion.as_ref())?;
    if let Some(state) = review
        && !state.permits_issue()
    {
        // Whether major or not: a review once started must end in an approval.
        return Err(ApiError::conflict(
            "review",
            format!(
                "the legal review is {}; the decision can be issued only after an approving review",
                state.as_str()
            ),
        ));
    }
    if !reasons.is_empty() && review.is_none() {
        return Err(ApiError::conflict(
            "review",
            format!(
                "major decision ({}) cannot be issued before an approving legal review (review status: not submitted)",
                reasons.join(", "),
            ),
        ));
    }
    let category =
        Category::from_code(&d.category).ok_or_else(|| ApiError::internal("bad category in db"))?;
    let days = matter
        .as_ref()
        .and_then(|m| m.disclosure_override.as_ref())
        .map_or_else(|| ctx.tenant.disclosure_days(category), |o| o.working_days);
    let due = due_date(&st, &ctx.tenant, decided_on, days, "decidedOn", true)?;
    let due = DisclosureDue::from_due(due);
    let d = repo::mark_issued(&mut tx, id, decided_on, st.clock.now(), days, due).await?;
    crate::upward::decision_changed(&mut tx, &ctx.tenant, id).await?;
    tx.commit().await?;
    st.kick_relay(&ctx.tenant.agency);
    let mut labels = ctx.tenant.labels().to_vec();
    labels.push(category.code());
    st.metrics
        .decisions_issued_total
        .with_label_values(&labels)
        .inc();
    Ok(Json(view(&ctx.pool, d).await?))
}

/// Computes a disclosure due date without writing anything.
#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/deadlines",
    tag = "decisions",
    summary = "Compute a disclosure due date (nothing written)",
    params(super::openapi::AgencyPath, DeadlineQuery),
    responses((status = 200, description = "OK", body = DisclosureDeadline), super::openapi::RuleErrors)
)]
pub async fn deadline(
    State(st): State<AppState>,
    QueryParams(q): QueryParams<DeadlineQuery>,
    ctx: Tenant<Read>,
) -> ApiResult<Json<DisclosureDeadline>> {
    let cat = q
        .category
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("category", "category is required"))?;
    let category = Category::from_code(cat).ok_or_else(|| {
        ApiError::bad_request(
            "category",
            format!("category must be one of {}", Category::code_list()),
        )
    })?;
    let decided_on = match q.decided_on.as_deref() {
        None => st.clock.today(),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            ApiError::bad_request("decidedOn", "decidedOn must be a date YYYY-MM-DD")
        })?,
    };
    date_in_range(decided_on, "decidedOn")?;
    let days = ctx.tenant.disclosure_days(category);
    let due = due_date(&st, &ctx.tenant, decided_on, days, "decidedOn", false)?;
    let basis = ctx
        .tenant
        .disclosure_overrides
        .iter()
        .find(|o| o.category == category)
        .map(|o| o.legal_basis.clone());
    Ok(Json(DisclosureDeadline {
        category: category.code().to_string(),
        decided_on,
        working_days: days,
        disclosure_due: due.to_string(),
        override_legal_basis: basis,
    }))
}
