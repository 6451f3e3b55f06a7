//! Decisions: creation, issue (behind the legal-review gate), disclosure with redaction,
//! revocation and withdrawal, annual statistics, and the working-day deadline calculator.

use super::{JsonBody, QueryParams, parse_id, text};
use crate::auth::{Access, Role, require_role};
use crate::deadlines::DisclosureDue;
use crate::error::{ApiError, ApiResult};
use crate::outbox::{self, Event};
use crate::redaction::{self, DecisionText, PartyKind};
use crate::state::{AppState, Inner};
use crate::tenants::Tenant;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sanxiang_domain::{DueDate, EnforcementCategory as Category, Procedure};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
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

#[derive(Debug, Default, Deserialize)]
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionInput {
    pub document_number: String,
    pub category: Category,
    pub procedure: Procedure,
    pub action_id: Option<Uuid>,
    pub party: PartyInput,
    /// Names of natural persons other than the party that appear in the text.
    #[serde(default)]
    pub other_persons: Vec<String>,
    #[serde(default)]
    pub involves_secrets: bool,
    pub facts: String,
    pub legal_basis: String,
    pub conclusion: String,
    /// Catalog code of the matter (重大执法决定法制审核目录).
    pub matter: Option<String>,
    #[serde(default)]
    pub major_criteria: MajorCriteria,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
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
    pub status: String,
    pub decided_on: Option<NaiveDate>,
    pub issued_at: Option<DateTime<Utc>>,
    pub disclosure_days: Option<i32>,
    /// A date, or "pending: no calendar for YEAR" ([`crate::deadlines`]).
    #[sqlx(flatten)]
    pub disclosure_due: DisclosureDue,
    pub publish_online: bool,
    pub published_at: Option<DateTime<Utc>>,
    pub publication: Option<serde_json::Value>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub withdrawal_due: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "id, action_id, document_number, category, procedure, party_kind, party_name, \
    party_id_number, party_phone, party_address, party_is_minor, involves_secrets, other_persons, facts, \
    legal_basis, conclusion, major, major_reasons, status, decided_on, issued_at, disclosure_days, \
    disclosure_due, disclosure_due_pending_year, publish_online, published_at, publication, revoked_at, revocation_reason, \
    withdrawal_due, withdrawn_at, created_by, created_at";

#[derive(Debug, Serialize)]
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

async fn load_tx(tx: &mut sqlx::PgConnection, id: Uuid) -> ApiResult<Decision> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM decisions WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(tx)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("decision {id} not found")))
}

async fn view(pool: &PgPool, d: Decision) -> ApiResult<DecisionView> {
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

fn major_reasons(tenant: &Tenant, input: &DecisionInput) -> Vec<String> {
    let mut r = Vec::new();
    if let Some(m) = &input.matter
        && tenant.review_catalog.iter().any(|c| c == m)
    {
        r.push(format!("catalog:{m}"));
    }
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

fn validate(input: &DecisionInput) -> ApiResult<()> {
    text(&input.document_number, "documentNumber", 128)?;
    text(&input.party.name, "party.name", 256)?;
    text(&input.facts, "facts", 20_000)?;
    text(&input.legal_basis, "legalBasis", 4_000)?;
    text(&input.conclusion, "conclusion", 4_000)?;
    let p = &input.party;
    if let Some(id) = p.id_number.as_deref().filter(|s| !s.trim().is_empty()) {
        let id = id.trim();
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
            redaction::classify(phone.trim()),
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
    reasons: &'q Vec<String>,
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
        .bind(input.category.code())
        .bind(input.procedure.as_str())
        .bind(match p.kind {
            PartyKind::NaturalPerson => "natural_person",
            PartyKind::Organisation => "organisation",
        })
        .bind(p.name.trim())
        .bind(none_if_blank(&p.id_number))
        .bind(none_if_blank(&p.phone))
        .bind(none_if_blank(&p.address))
        .bind(p.is_minor)
        .bind(input.involves_secrets)
        .bind(&input.other_persons)
        .bind(&input.facts)
        .bind(&input.legal_basis)
        .bind(&input.conclusion)
        .bind(!reasons.is_empty())
        .bind(reasons)
        // publish_online: minors' cases and secrets are never published online.
        .bind(!p.is_minor && !input.involves_secrets)
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

fn document_number_taken(e: sqlx::Error) -> ApiError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => ApiError::conflict(
            "documentNumber",
            "documentNumber is already used by another decision",
        ),
        _ => e.into(),
    }
}

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
    let reasons = major_reasons(&ctx.tenant, &input);
    let insert = format!(
        "INSERT INTO decisions (id, action_id, document_number, category, procedure, party_kind, party_name, \
         party_id_number, party_phone, party_address, party_is_minor, involves_secrets, other_persons, facts, \
         legal_basis, conclusion, major, major_reasons, status, publish_online, created_by) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,'draft',$19,$20) RETURNING {COLUMNS}"
    );
    let d: Decision = bind_draft(
        sqlx::query_as(&insert).bind(Uuid::new_v4()),
        &input,
        &reasons,
    )
    .bind(&ctx.claims.sub)
    .fetch_one(&ctx.pool)
    .await
    .map_err(document_number_taken)?;
    Ok((StatusCode::CREATED, Json(view(&ctx.pool, d).await?)))
}

/// Revises a draft: allowed before review, or while the review found issues (the handling
/// unit revises, then resubmits). Never after an approval, so an approval always covers
/// the text that is issued.
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
        && r != "issues_found"
    {
        return Err(ApiError::conflict(
            "review",
            format!(
                "the legal review is {r}; a draft can be revised only before review or when issues were found"
            ),
        ));
    }
    ensure_action_exists(&mut *tx, input.action_id).await?;
    let reasons = major_reasons(&ctx.tenant, &input);
    let update = format!(
        "UPDATE decisions SET action_id=$2, document_number=$3, category=$4, procedure=$5, party_kind=$6, \
         party_name=$7, party_id_number=$8, party_phone=$9, party_address=$10, party_is_minor=$11, \
         involves_secrets=$12, other_persons=$13, facts=$14, legal_basis=$15, conclusion=$16, major=$17, \
         major_reasons=$18, publish_online=$19 WHERE id=$1 RETURNING {COLUMNS}"
    );
    let d: Decision = bind_draft(sqlx::query_as(&update).bind(id), &input, &reasons)
        .fetch_one(&mut *tx)
        .await
        .map_err(document_number_taken)?;
    tx.commit().await?;
    Ok(Json(view(&ctx.pool, d).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    pub status: Option<String>,
    /// `overdue`: issued, unpublished, past due.
    #[serde(default)]
    pub overdue: bool,
    pub limit: Option<i64>,
}

pub async fn list(
    State(st): State<AppState>,
    Path(agency): Path<String>,
    QueryParams(q): QueryParams<ListQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<serde_json::Value>> {
    let ctx = st.tenant_ctx(&headers, &agency, Access::Read).await?;
    if let Some(s) = &q.status
        && !matches!(s.as_str(), "draft" | "issued" | "revoked")
    {
        return Err(ApiError::bad_request(
            "status",
            "status must be draft, issued or revoked",
        ));
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
         ORDER BY created_at DESC LIMIT $4"
    ))
    .bind(&q.status)
    .bind(q.overdue)
    .bind(st.clock.today())
    .bind(limit)
    .fetch_all(&ctx.pool)
    .await?;
    Ok(Json(serde_json::json!({ "items": rows })))
}

pub async fn get_one(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<DecisionView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Read).await?;
    let d = load(&ctx.pool, id, false).await?;
    Ok(Json(view(&ctx.pool, d).await?))
}

/// Disclosure due date: `days` working days after `decided_on`, or pending on a year
/// without a WorkCalendar (never a refusal: see [`crate::deadlines`]).
pub fn due_date(
    st: &Inner,
    tenant: &Tenant,
    decided_on: NaiveDate,
    days: u32,
    field: &str,
) -> ApiResult<DueDate> {
    let cal = st.calendars.get();
    let due = cal.due_after(decided_on, days).map_err(|e| {
        ApiError::unprocessable(
            field,
            format!("cannot compute the disclosure due date: {e}"),
        )
    })?;
    if let DueDate::Pending { year } = due {
        st.note_calendar_missing(&tenant.agency, year);
        st.metrics
            .calendar_missing_year
            .with_label_values(&tenant.labels())
            .set(1);
    }
    Ok(due)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueInput {
    /// Date of the decision (default: today, China Standard Time).
    pub decided_on: Option<NaiveDate>,
}

pub async fn issue(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<DecisionView>> {
    let id = parse_id(&id, "id")?;
    let input: IssueInput = if body.is_empty() {
        IssueInput::default()
    } else {
        super::parse_json(&body)?
    };
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "issuing decisions",
    )?;
    let today = st.clock.today();
    let decided_on = input.decided_on.unwrap_or(today);
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
    if d.major {
        let review: Option<String> =
            sqlx::query_scalar("SELECT status FROM reviews WHERE decision_id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        match review.as_deref() {
            Some("approved" | "decided_approve") => {}
            other => {
                return Err(ApiError::conflict(
                    "review",
                    format!(
                        "major decision ({}) cannot be issued before an approving legal review (review status: {})",
                        d.major_reasons.join(", "),
                        other.unwrap_or("not submitted")
                    ),
                ));
            }
        }
    }
    let category =
        Category::from_code(&d.category).ok_or_else(|| ApiError::internal("bad category in db"))?;
    let days = ctx.tenant.disclosure_days(category);
    let due = due_date(&st, &ctx.tenant, decided_on, days, "decidedOn")?;
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

/// The publication: what the public sees (and what is pushed upward).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Publication {
    pub id: Uuid,
    pub document_number: String,
    pub agency: String,
    pub province: String,
    pub city: String,
    pub county: String,
    pub category: String,
    pub procedure: String,
    pub target: String,
    pub target_code: Option<String>,
    pub facts: String,
    pub legal_basis: String,
    pub conclusion: String,
    pub decided_on: NaiveDate,
    pub published_at: DateTime<Utc>,
}

pub async fn publish(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<DecisionView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "publishing decisions",
    )?;
    let mut tx = ctx.pool.begin().await?;
    let d = load_tx(&mut tx, id).await?;
    if d.status != "issued" {
        return Err(ApiError::conflict(
            "status",
            format!(
                "decision is {}, only an issued decision can be published",
                d.status
            ),
        ));
    }
    if d.published_at.is_some() {
        return Err(ApiError::conflict(
            "publishedAt",
            "decision is already published",
        ));
    }
    let kind = if d.party_kind == "organisation" {
        PartyKind::Organisation
    } else {
        PartyKind::NaturalPerson
    };
    let redacted = redaction::redact_decision(&DecisionText {
        party_kind: kind,
        party_name: &d.party_name,
        party_id_number: d.party_id_number.as_deref(),
        party_phone: d.party_phone.as_deref(),
        party_address: d.party_address.as_deref(),
        party_is_minor: d.party_is_minor,
        involves_secrets: d.involves_secrets,
        other_persons: &d.other_persons,
        facts: &d.facts,
        legal_basis: &d.legal_basis,
        conclusion: &d.conclusion,
    })
    .map_err(|why| ApiError::unprocessable(why.field(), why.reason()))?;
    let now = st.clock.now();
    let t = &ctx.tenant;
    let publication = Publication {
        id: d.id,
        document_number: d.document_number.clone(),
        agency: t.agency.clone(),
        province: t.province.clone(),
        city: t.city.clone(),
        county: t.county.clone(),
        category: d.category.clone(),
        procedure: d.procedure.clone(),
        target: redacted.target,
        target_code: redacted.target_code,
        facts: redacted.facts,
        legal_basis: redacted.legal_basis,
        conclusion: redacted.conclusion,
        decided_on: d
            .decided_on
            .ok_or_else(|| ApiError::internal("issued without date"))?,
        published_at: now,
    };
    let json = serde_json::to_value(&publication).map_err(ApiError::internal)?;
    let d: Decision = sqlx::query_as(&format!(
        "UPDATE decisions SET published_at = $2, publication = $3 WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(now)
    .bind(&json)
    .fetch_one(&mut *tx)
    .await?;
    outbox::enqueue(&mut tx, t, Event::Disclosure, &publication).await?;
    tx.commit().await?;
    st.metrics
        .disclosures_published_total
        .with_label_values(&t.labels())
        .inc();
    st.kick_relay(&t.agency);
    Ok(Json(view(&ctx.pool, d).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeInput {
    pub reason: String,
    /// When the revoking document takes effect (default: now).
    pub effective_at: Option<DateTime<Utc>>,
}

pub async fn revoke(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<RevokeInput>,
) -> ApiResult<Json<DecisionView>> {
    let id = parse_id(&id, "id")?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "revoking decisions",
    )?;
    text(&input.reason, "reason", 2_000)?;
    let mut tx = ctx.pool.begin().await?;
    let d = load_tx(&mut tx, id).await?;
    if d.status != "issued" {
        return Err(ApiError::conflict(
            "status",
            format!(
                "decision is {}, only an issued decision can be revoked",
                d.status
            ),
        ));
    }
    let effective = input.effective_at.unwrap_or_else(|| st.clock.now());
    let due = d.published_at.map(|_| {
        effective + chrono::Duration::days(i64::from(ctx.tenant.withdrawal_deadline_days))
    });
    let d: Decision = sqlx::query_as(&format!(
        "UPDATE decisions SET status = 'revoked', revoked_at = $2, revocation_reason = $3, withdrawal_due = $4 \
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(effective)
    .bind(input.reason.trim())
    .bind(due)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(view(&ctx.pool, d).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WithdrawInput {
    /// Reason published with the withdrawal (default: the revocation reason).
    pub reason: Option<String>,
}

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

pub async fn withdraw(
    State(st): State<AppState>,
    Path((agency, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<DecisionView>> {
    let id = parse_id(&id, "id")?;
    let input: WithdrawInput = if body.is_empty() {
        WithdrawInput::default()
    } else {
        super::parse_json(&body)?
    };
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
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
    if d.status != "revoked" {
        return Err(ApiError::conflict(
            "status",
            "only a revoked decision is withdrawn; revoke it first",
        ));
    }
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
    let now = st.clock.now();
    let reason = input
        .reason
        .as_deref()
        .or(d.revocation_reason.as_deref())
        .unwrap_or("")
        .trim()
        .to_string();
    let updated: Decision = sqlx::query_as(&format!(
        "UPDATE decisions SET withdrawn_at = $2 WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let w = Withdrawal {
        id,
        document_number: &d.document_number,
        reason: &reason,
        revoked_at: d.revoked_at,
        withdrawn_at: now,
        within_deadline: d.withdrawal_due.is_none_or(|due| now <= due),
    };
    outbox::enqueue(&mut tx, &ctx.tenant, Event::Withdrawal, &w).await?;
    tx.commit().await?;
    st.kick_relay(&ctx.tenant.agency);
    Ok(Json(view(&ctx.pool, updated).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadlineQuery {
    pub category: Option<String>,
    pub decided_on: Option<String>,
}

/// Computes a disclosure due date without writing anything.
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
    let days = ctx.tenant.disclosure_days(category);
    let due = due_date(&st, &ctx.tenant, decided_on, days, "decidedOn")?;
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

fn parse_year(s: &str, st: &Inner) -> ApiResult<i32> {
    let year: i32 = s
        .parse()
        .map_err(|_| ApiError::bad_request("year", "year must be a number like 2025"))?;
    let this_year = st.clock.today().year();
    if !(2000..=this_year).contains(&year) {
        return Err(ApiError::bad_request(
            "year",
            format!("year must be between 2000 and {this_year}"),
        ));
    }
    Ok(year)
}

pub async fn get_statistics(
    State(st): State<AppState>,
    Path((agency, year)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<serde_json::Value>> {
    let year = parse_year(&year, &st)?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Read).await?;
    let row: Option<(serde_json::Value, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT figures, reported_by, reported_at FROM annual_reports WHERE year = $1",
    )
    .bind(year)
    .fetch_optional(&ctx.pool)
    .await?;
    match row {
        Some((figures, by, at)) => Ok(Json(serde_json::json!({
            "year": year, "reported": true, "reportedBy": by, "reportedAt": at, "figures": figures,
        }))),
        None => {
            let figures = compute_statistics(&ctx.pool, year).await?;
            Ok(Json(
                serde_json::json!({ "year": year, "reported": false, "figures": figures }),
            ))
        }
    }
}

/// Per-category figures of a year; every category present, 0 where there were no cases.
pub async fn compute_statistics(pool: &PgPool, year: i32) -> ApiResult<serde_json::Value> {
    let rows: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT category, count(*), count(*) FILTER (WHERE procedure = 'general'), \
           count(*) FILTER (WHERE procedure = 'simple'), count(*) FILTER (WHERE published_at IS NOT NULL), \
           count(*) FILTER (WHERE status = 'revoked') \
         FROM decisions WHERE status IN ('issued','revoked') AND extract(year FROM decided_on) = $1 \
         GROUP BY category",
    )
    .bind(year)
    .fetch_all(pool)
    .await?;
    let mut out = serde_json::Map::new();
    for c in Category::ALL {
        let r = rows.iter().find(|r| r.0 == c.code());
        let (total, general, simple, published, revoked) = r
            .map(|r| (r.1, r.2, r.3, r.4, r.5))
            .unwrap_or((0, 0, 0, 0, 0));
        out.insert(
            c.code().to_string(),
            serde_json::json!({"decisions": total, "general": general, "simple": simple,
                "published": published, "revoked": revoked}),
        );
    }
    Ok(serde_json::Value::Object(out))
}

pub async fn report_statistics(
    State(st): State<AppState>,
    Path((agency, year)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let year = parse_year(&year, &st)?;
    let ctx = st.tenant_ctx(&headers, &agency, Access::Write).await?;
    require_role(
        &ctx.claims,
        &[Role::AgencyAdmin],
        "reporting annual statistics",
    )?;
    let this_year = st.clock.today().year();
    if year >= this_year {
        return Err(ApiError::unprocessable(
            "year",
            "only a finished year can be reported",
        ));
    }
    let mut tx = ctx.pool.begin().await?;
    // Serialize concurrent reports of the same year.
    sqlx::query("SELECT pg_advisory_xact_lock(7301, $1)")
        .bind(year)
        .execute(&mut *tx)
        .await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT year FROM annual_reports WHERE year = $1")
        .bind(year)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(ApiError::conflict(
            "year",
            format!("statistics for {year} were already reported"),
        ));
    }
    let figures = compute_statistics(&ctx.pool, year).await?;
    let at = st.clock.now();
    sqlx::query("INSERT INTO annual_reports (year, figures, reported_by, reported_at) VALUES ($1, $2, $3, $4)")
        .bind(year)
        .bind(&figures)
        .bind(&ctx.claims.sub)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    let payload = serde_json::json!({ "year": year, "figures": figures, "reportedAt": at });
    outbox::enqueue(&mut tx, &ctx.tenant, Event::Statistics, &payload).await?;
    tx.commit().await?;
    st.kick_relay(&ctx.tenant.agency);
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "year": year, "reported": true, "figures": figures })),
    ))
}
