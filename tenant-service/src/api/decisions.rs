//! Decisions: creation, issue (behind the legal-review gate), disclosure with redaction,
//! revocation and withdrawal, annual statistics, and the working-day deadline calculator.

use super::matters::{self, Resolved};
use super::review_state::ReviewState;
use super::{JsonBody, QueryParams, bounded, date_in_range, optional_text, parse_id, text};
use crate::auth::{Access, Role, require_role};
use crate::deadlines::DisclosureDue;
use crate::error::{ApiError, ApiResult};
use crate::redaction::{self, PartyKind};
use crate::state::{AppState, Inner};
use crate::tenants::Tenant;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_domain::{DecisionDiscretion, DueDate, EnforcementCategory as Category, Procedure};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartyInput {
    pub kind: PartyKind,
    pub name: String,
    /// ID number (natural person) or unified social credit code (organisation).
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    #[serde(default)]
    pub is_minor: bool,
}

#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MajorCriteria {
    #[serde(default)]
    pub hearing_held: bool,
    #[serde(default)]
    pub major_public_interest: bool,
    #[serde(default)]
    pub major_social_impact: bool,
    #[serde(default)]
    pub major_rights: bool,
    #[serde(default)]
    pub complex: bool,
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionInput {
    pub document_number: String,
    /// Comes from the matter (a given category must agree with it).
    #[schema(value_type = Option<super::openapi::CategoryCode>, nullable = false)]
    pub category: Option<Category>,
    #[schema(value_type = super::openapi::ProcedureCode)]
    pub procedure: Procedure,
    pub action_id: Option<Uuid>,
    pub party: PartyInput,
    /// Names of natural persons other than the party that appear in the text.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub other_persons: Vec<String>,
    /// The facts involve state secrets, trade secrets or personal privacy: the decision is
    /// not published online unless `publishAfterProcessing`, and only with `notOnlineBasis`
    /// and the agency admin's approval (`POST …/exemption`).
    #[serde(default)]
    pub involves_secrets: bool,
    /// The legal basis for not publishing online (required with `involvesSecrets`).
    pub not_online_basis: Option<String>,
    /// 依法确需公开的，要做适当处理后公开: published after redaction although it involves
    /// secrets or privacy.
    #[serde(default)]
    pub publish_after_processing: bool,
    pub facts: String,
    pub legal_basis: String,
    pub conclusion: String,
    /// Code of the matter on the agency's effective matter list ([`super::matters`]);
    /// required (422 naming `matter` without one, or before a matter list is in force).
    pub matter: Option<String>,
    #[serde(default)]
    pub major_criteria: MajorCriteria,
    /// For a matter with a discretion benchmark: circumstance level, penalty, 说明理由.
    #[schema(value_type = Option<super::openapi::DiscretionSchema>)]
    pub discretion: Option<DecisionDiscretion>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub id: Uuid,
    pub action_id: Option<Uuid>,
    pub document_number: String,
    pub category: String,
    pub procedure: String,
    pub party_kind: String,
    pub party_name: String,
    pub party_id_number: Option<String>,
    pub party_phone: Option<String>,
    pub party_address: Option<String>,
    pub party_is_minor: bool,
    pub involves_secrets: bool,
    pub other_persons: Vec<String>,
    pub facts: String,
    pub legal_basis: String,
    pub conclusion: String,
    pub major: bool,
    pub major_reasons: Vec<String>,
    #[schema(pattern = "^(draft|issued|revoked|closed)$")]
    pub status: String,
    pub decided_on: Option<NaiveDate>,
    pub issued_at: Option<DateTime<Utc>>,
    pub disclosure_days: Option<i32>,
    /// A date, or "pending: no calendar for YEAR" ([`crate::deadlines`]).
    #[sqlx(flatten)]
    #[schema(value_type = Option<String>)]
    pub disclosure_due: DisclosureDue,
    pub publish_online: bool,
    pub published_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<super::publication::Publication>)]
    pub publication: Option<serde_json::Value>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub withdrawal_due: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub matter: Option<String>,
    pub not_online_basis: Option<String>,
    pub not_online_requested_by: Option<String>,
    pub not_online_approved_by: Option<String>,
    pub not_online_approved_at: Option<DateTime<Utc>>,
    pub not_online_opinion: Option<String>,
    pub publish_after_processing: bool,
    pub withdrawal_reason: Option<String>,
    pub publication_requested_by: Option<String>,
    pub publication_requested_at: Option<DateTime<Utc>>,
    pub publication_approved_by: Option<String>,
    pub publication_version: i32,
    /// The matter list version the draft named its matter from.
    pub matter_version: Option<i32>,
    #[schema(value_type = Option<super::openapi::DiscretionSchema>)]
    pub discretion: Option<serde_json::Value>,
}

pub(crate) const COLUMNS: &str = "id, action_id, document_number, category, procedure, party_kind, party_name, \
    party_id_number, party_phone, party_address, party_is_minor, involves_secrets, other_persons, facts, \
    legal_basis, conclusion, major, major_reasons, status, decided_on, issued_at, disclosure_days, \
    disclosure_due, disclosure_due_pending_year, publish_online, published_at, publication, revoked_at, revocation_reason, \
    withdrawal_due, withdrawn_at, created_by, created_at, matter, not_online_basis, \
    not_online_requested_by, not_online_approved_by, not_online_approved_at, not_online_opinion, publish_after_processing, \
    withdrawal_reason, publication_requested_by, publication_requested_at, publication_approved_by, \
    publication_version, matter_version, discretion";

#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionView {
    #[serde(flatten)]
    pub decision: Decision,
    pub review_status: Option<String>,
}

pub(crate) async fn load(pool: &PgPool, id: Uuid, lock: bool) -> ApiResult<Decision> {
    let sql = format!(
        "SELECT {COLUMNS} FROM decisions WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("decision {id} not found")))
}

pub(crate) async fn load_tx(tx: &mut sqlx::PgConnection, id: Uuid) -> ApiResult<Decision> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM decisions WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(tx)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("decision {id} not found")))
}

pub(crate) async fn view(pool: &PgPool, d: Decision) -> ApiResult<DecisionView> {
    let review_status: Option<String> =
        sqlx::query_scalar("SELECT status FROM reviews WHERE decision_id = $1")
            .bind(d.id)
            .fetch_optional(pool)
            .await?;
    Ok(DecisionView {
        decision: d,
        review_status,
    })
}

/// The review requirement of a matter of the matter list (the 法制审核目录 itself).
pub fn matter_requires_review(m: Option<&sanxiang_domain::Matter>) -> Option<String> {
    m.filter(|m| m.legal_review_required)
        .map(|m| format!("matter:{}", m.code.trim()))
}

fn major_reasons(input: &DecisionInput, resolved: &Resolved) -> Vec<String> {
    let mut r = Vec::new();
    r.extend(matter_requires_review(Some(resolved.matter())));
    let c = &input.major_criteria;
    for (on, name) in [
        (c.hearing_held, "hearing_held"),
        (c.major_public_interest, "major_public_interest"),
        (c.major_social_impact, "major_social_impact"),
        (c.major_rights, "major_rights"),
        (c.complex, "complex"),
    ] {
        if on {
            r.push(name.to_string());
        }
    }
    r
}

/// Most natural persons a decision may name besides the party.
pub const MAX_OTHER_PERSONS: usize = 50;

fn validate(input: &DecisionInput) -> ApiResult<()> {
    text(&input.document_number, "documentNumber", 128)?;
    text(&input.party.name, "party.name", 256)?;
    text(&input.facts, "facts", 20_000)?;
    text(&input.legal_basis, "legalBasis", 4_000)?;
    text(&input.conclusion, "conclusion", 4_000)?;
    let p = &input.party;
    for (value, field, max) in [
        (&p.id_number, "party.idNumber", 32),
        (&p.phone, "party.phone", 32),
        (&p.address, "party.address", 256),
        (&input.matter, "matter", 64),
        (&input.not_online_basis, "notOnlineBasis", 1_000),
    ] {
        if let Some(v) = value {
            optional_text(v, field, max)?;
        }
    }
    bounded(&input.other_persons, "otherPersons", MAX_OTHER_PERSONS)?;
    if input.involves_secrets
        && !input.publish_after_processing
        && input
            .not_online_basis
            .as_deref()
            .is_none_or(|b| b.trim().is_empty())
    {
        return Err(ApiError::unprocessable(
            "notOnlineBasis",
            "a decision kept offline because it involves secrets or privacy needs notOnlineBasis, \
             the legal basis for not publishing (or publishAfterProcessing to publish it redacted)",
        ));
    }
    if let Some(id) = p.id_number.as_deref().filter(|s| !s.trim().is_empty()) {
        let normalized = redaction::normalize(id);
        let id = normalized.trim();
        match p.kind {
            PartyKind::NaturalPerson => {
                if redaction::classify(id) != Some(redaction::TokenKind::IdNumber) {
                    return Err(ApiError::unprocessable(
                        "party.idNumber",
                        "party.idNumber is not a valid resident ID number (18 characters with a valid birth date)",
                    ));
                }
            }
            PartyKind::Organisation => {
                if let Err(e) = sanxiang_domain::validate_credit_code(id) {
                    return Err(ApiError::unprocessable(
                        "party.idNumber",
                        format!(
                            "party.idNumber of an organisation must be its unified social credit code: {e}"
                        ),
                    ));
                }
            }
        }
    }
    if let Some(phone) = p.phone.as_deref().filter(|s| !s.trim().is_empty())
        && !matches!(
            redaction::classify(&redaction::normalize(phone.trim()).replace([' ', '-'], "")),
            Some(redaction::TokenKind::Mobile | redaction::TokenKind::Landline)
        )
    {
        return Err(ApiError::unprocessable(
            "party.phone",
            "party.phone is not a mobile or landline number",
        ));
    }
    if p.is_minor && p.kind == PartyKind::Organisation {
        return Err(ApiError::unprocessable(
            "party.isMinor",
            "only a natural person can be a minor",
        ));
    }
    for (i, n) in input.other_persons.iter().enumerate() {
        text(n, &format!("otherPersons[{i}]"), 64)?;
    }
    Ok(())
}

type DecisionQuery<'q> =
    sqlx::query::QueryAs<'q, sqlx::Postgres, Decision, sqlx::postgres::PgArguments>;

/// Binds a draft's fields as `$2`..`$19`, the column order both the INSERT of `create` and
/// the UPDATE of `update` use, so the two can never drift apart.
fn bind_draft<'q>(
    q: DecisionQuery<'q>,
    input: &'q DecisionInput,
    category: Category,
    reasons: &'q Vec<String>,
    minor: bool,
) -> DecisionQuery<'q> {
    let p = &input.party;
    let none_if_blank = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    q.bind(input.action_id)
        .bind(input.document_number.trim())
        .bind(category.code())
        .bind(input.procedure.as_str())
        .bind(p.kind.code())
        .bind(p.name.trim())
        .bind(none_if_blank(&p.id_number))
        .bind(none_if_blank(&p.phone))
        .bind(none_if_blank(&p.address))
        .bind(minor)
        .bind(input.involves_secrets)
        .bind(&input.other_persons)
        .bind(&input.facts)
        .bind(&input.legal_basis)
        .bind(&input.conclusion)
        .bind(!reasons.is_empty())
        .bind(reasons)
        // publish_online: minors' cases are never published online; a case involving
        // secrets leaves the disclosure duty only once its exemption is approved.
        .bind(!minor)
        .bind(none_if_blank(&input.matter))
        .bind(none_if_blank(&input.not_online_basis))
        .bind(input.involves_secrets && input.publish_after_processing)
}

/// The party is a minor: as declared, or as its ID number says on `on`.
fn party_is_minor(input: &DecisionInput, on: NaiveDate) -> bool {
    input.party.is_minor
        || (input.party.kind == PartyKind::NaturalPerson
            && input
                .party
                .id_number
                .as_deref()
                .is_some_and(|id| redaction::minor_on(id, on)))
}

/// A decision may point at an enforcement action only if that action exists.
async fn ensure_action_exists<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    action_id: Option<Uuid>,
) -> ApiResult<()> {
    let Some(a) = action_id else {
        return Ok(());
    };
    let exists: Option<Uuid> = sqlx::query_scalar("SELECT id FROM actions WHERE id = $1")
        .bind(a)
        .fetch_optional(exec)
        .await?;
    if exists.is_none() {
        return Err(ApiError::unprocessable(
            "actionId",
            format!("action {a} does not exist"),
        ));
    }
    Ok(())
}

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

fn discretion_json(input: &DecisionInput) -> Option<serde_json::Value> {
    input
        .discretion
        .as_ref()
        .and_then(|d| serde_json::to_value(d).ok())
}

fn document_number_taken(e: sqlx::Error) -> ApiError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => ApiError::conflict(
            "documentNumber",
            "documentNumber is already used by another decision",
        ),
        _ => e.into(),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions",
    tag = "decisions",
    summary = "Draft a decision",
    params(super::openapi::AgencyPath),
    request_body = DecisionInput,
    responses((status = 201, description = "Created", body = DecisionView), super::openapi::WriteErrors)
)]
pub async fn create(
    State(st): State<AppState>,
    Path(agency): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<DecisionInput>,
) -> ApiResult<(StatusCode, Json<DecisionView>)> {
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "drafting decisions",
    )?;
    validate(&input)?;
    ensure_action_exists(&ctx.pool, input.action_id).await?;
    let mut conn = ctx.pool.acquire().await?;
    let resolved = resolve_matter(&mut conn, &ctx, &input, st.clock.today()).await?;
    drop(conn);
    let reasons = major_reasons(&input, &resolved);
    let insert = format!(
        "INSERT INTO decisions (id, action_id, document_number, category, procedure, party_kind, party_name, \
         party_id_number, party_phone, party_address, party_is_minor, involves_secrets, other_persons, facts, \
         legal_basis, conclusion, major, major_reasons, status, publish_online, matter, not_online_basis, \
         publish_after_processing, created_by, matter_version, discretion) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,'draft',$19,$20,$21,$22,$23,$24,$25) \
         RETURNING {COLUMNS}"
    );
    let minor = party_is_minor(&input, st.clock.today());
    let d: Decision = bind_draft(
        sqlx::query_as(&insert).bind(Uuid::new_v4()),
        &input,
        resolved.category,
        &reasons,
        minor,
    )
    .bind(&ctx.claims.sub)
    .bind(resolved.version())
    .bind(discretion_json(&input))
    .fetch_one(&ctx.pool)
    .await
    .map_err(document_number_taken)?;
    Ok((StatusCode::CREATED, Json(view(&ctx.pool, d).await?)))
}

/// Revises a draft: allowed before review, or while the review found issues (the handling
/// unit revises, then resubmits). Never after an approval, so an approval always covers
/// the text that is issued.
#[utoipa::path(
    put,
    path = "/api/v1/agencies/{agency}/decisions/{id}",
    tag = "decisions",
    summary = "Revise a draft (before review, when the review found issues, or after a rejecting collective decision); a major decision stays major",
    params(super::openapi::AgencyIdPath),
    request_body = DecisionInput,
    responses((status = 200, description = "OK", body = DecisionView), super::openapi::WriteErrors)
)]
pub async fn update(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<DecisionInput>,
) -> ApiResult<Json<DecisionView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "revising decisions",
    )?;
    validate(&input)?;
    let mut tx = ctx.pool.begin().await?;
    let d = load_tx(&mut tx, id).await?;
    if d.status != "draft" {
        return Err(ApiError::conflict(
            "status",
            format!("decision is {}, only a draft can be revised", d.status),
        ));
    }
    let review: Option<String> =
        sqlx::query_scalar("SELECT status FROM reviews WHERE decision_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
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
    ensure_action_exists(&mut *tx, input.action_id).await?;
    let resolved = resolve_matter(&mut tx, &ctx, &input, st.clock.today()).await?;
    // Once major, a decision stays major: the criteria cannot be dropped by revising the
    // draft, only cleared by the legal office as a recorded step.
    let mut reasons = major_reasons(&input, &resolved);
    if d.major {
        for r in &d.major_reasons {
            if !reasons.contains(r) {
                reasons.push(r.clone());
            }
        }
    }
    let update = format!(
        "UPDATE decisions SET action_id=$2, document_number=$3, category=$4, procedure=$5, party_kind=$6, \
         party_name=$7, party_id_number=$8, party_phone=$9, party_address=$10, party_is_minor=$11, \
         involves_secrets=$12, other_persons=$13, facts=$14, legal_basis=$15, conclusion=$16, major=$17, \
         major_reasons=$18, publish_online=$19, matter=$20, not_online_basis=$21, \
         publish_after_processing=$22, not_online_requested_by=NULL, not_online_approved_by=NULL, \
         not_online_approved_at=NULL, not_online_opinion=NULL, matter_version=$23, discretion=$24 \
         WHERE id=$1 RETURNING {COLUMNS}"
    );
    let minor = party_is_minor(&input, st.clock.today());
    let d: Decision = bind_draft(
        sqlx::query_as(&update).bind(id),
        &input,
        resolved.category,
        &reasons,
        minor,
    )
    .bind(resolved.version())
    .bind(discretion_json(&input))
    .fetch_one(&mut *tx)
    .await
    .map_err(document_number_taken)?;
    tx.commit().await?;
    Ok(Json(view(&ctx.pool, d).await?))
}

#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// `draft`, `issued`, `revoked` or `closed`.
    pub status: Option<String>,
    /// Only decisions past their disclosure due date (issued, unpublished).
    #[serde(default)]
    pub overdue: bool,
    /// Only decisions kept offline (minor party, or an approved exemption with its basis).
    #[serde(default)]
    pub exempted: bool,
    /// 1..1000.
    pub limit: Option<i64>,
    /// Why a supervisor reads (logged with the read).
    pub purpose: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/decisions",
    tag = "decisions",
    summary = "Decisions (a supervisor's read is logged)",
    params(super::openapi::AgencyPath, ListQuery),
    responses((status = 200, description = "OK: {items: [DecisionView]}", body = Object), super::openapi::ReadErrors)
)]
pub async fn list(
    State(st): State<AppState>,
    Path(agency): Path<String>,
    QueryParams(q): QueryParams<ListQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<serde_json::Value>> {
    let ctx = st.tenant_ctx(&headers, &agency, Access::Read).await?;
    if let Some(s) = &q.status
        && !matches!(s.as_str(), "draft" | "issued" | "revoked" | "closed")
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
    let rows: Vec<Decision> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM decisions WHERE ($1::text IS NULL OR status = $1) \
         AND (NOT $2 OR (status = 'issued' AND publish_online AND published_at IS NULL AND disclosure_due < $3)) \
         AND (NOT $5 OR NOT publish_online) \
         ORDER BY created_at DESC LIMIT $4"
    ))
    .bind(&q.status)
    .bind(q.overdue)
    .bind(st.clock.today())
    .bind(limit)
    .bind(q.exempted)
    .fetch_all(&ctx.pool)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
    log_supervisor_reads(&st, &ctx, &ids, q.purpose.as_deref()).await?;
    Ok(Json(serde_json::json!({ "items": rows })))
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/decisions/{id}",
    tag = "decisions",
    summary = "One decision (a supervisor's read is logged)",
    params(super::openapi::AgencyIdPath, ReadQuery),
    responses((status = 200, description = "OK", body = DecisionView), super::openapi::ReadErrors)
)]
pub async fn get_one(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    QueryParams(q): QueryParams<ReadQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<DecisionView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Read).await?;
    let d = load(&ctx.pool, id, false).await?;
    log_supervisor_reads(&st, &ctx, &[id], q.purpose.as_deref()).await?;
    Ok(Json(view(&ctx.pool, d).await?))
}

#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ReadQuery {
    /// Why a supervisor reads (logged with the read).
    pub purpose: Option<String>,
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
    sqlx::query(
        "INSERT INTO decision_access_log (decision_id, accessed_by, role, purpose) \
         SELECT unnest($1::uuid[]), $2, $3, $4",
    )
    .bind(ids)
    .bind(&ctx.claims.sub)
    .bind(ctx.claims.role.as_str())
    .bind(purpose.unwrap_or("read"))
    .execute(&ctx.pool)
    .await?;
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
    tenant: &Tenant,
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

#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueInput {
    /// Date of the decision (default: today, China Standard Time).
    pub decided_on: Option<NaiveDate>,
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
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<DecisionView>> {
    let id = parse_id(&id, "id")?;
    let input: IssueInput = super::parse_json_or_default(&body)?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
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
    if d.status != "draft" {
        return Err(ApiError::conflict(
            "status",
            format!("decision is {}, only a draft can be issued", d.status),
        ));
    }
    let review: Option<String> =
        sqlx::query_scalar("SELECT status FROM reviews WHERE decision_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
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
    let d: Decision = sqlx::query_as(&format!(
        "UPDATE decisions SET status = 'issued', decided_on = $2, issued_at = $3, disclosure_days = $4, \
         disclosure_due = $5, disclosure_due_pending_year = $6 WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(decided_on)
    .bind(st.clock.now())
    .bind(days as i32)
    .bind(due.disclosure_due)
    .bind(due.disclosure_due_pending_year)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut labels = ctx.tenant.labels().to_vec();
    labels.push(category.code());
    st.metrics
        .decisions_issued_total
        .with_label_values(&labels)
        .inc();
    Ok(Json(view(&ctx.pool, d).await?))
}

#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct DeadlineQuery {
    /// Category code (required).
    pub category: Option<String>,
    /// Decision date (default: today).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub decided_on: Option<String>,
}

/// Computes a disclosure due date without writing anything.
#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/deadlines",
    tag = "decisions",
    summary = "Compute a disclosure due date (nothing written)",
    params(super::openapi::AgencyPath, DeadlineQuery),
    responses((status = 200, description = "OK: {category, decidedOn, workingDays, disclosureDue, overrideLegalBasis}", body = Object), super::openapi::RuleErrors)
)]
pub async fn deadline(
    State(st): State<AppState>,
    Path(agency): Path<String>,
    QueryParams(q): QueryParams<DeadlineQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<serde_json::Value>> {
    let ctx = st.tenant_ctx(&headers, &agency, Access::Read).await?;
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
    Ok(Json(serde_json::json!({
        "category": category.code(), "decidedOn": decided_on, "workingDays": days,
        "disclosureDue": due.to_string(), "overrideLegalBasis": basis,
    })))
}
