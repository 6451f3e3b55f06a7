//! The decisions table: every SQL statement the decision handlers run, so that the
//! handlers read as the rule they enforce and the column lists live in one place.

use super::model::{Decision, DecisionInput, DecisionView, ListQuery};
use super::rules::discretion_json;
use crate::api::matters::Resolved;
use crate::auth::Claims;
use crate::deadlines::DisclosureDue;
use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_domain::EnforcementCategory as Category;
use sqlx::PgPool;
use uuid::Uuid;

pub(crate) const COLUMNS: &str = "id, action_id, document_number, category, procedure, party_kind, party_name, \
    party_id_number, party_phone, party_address, party_is_minor, involves_secrets, other_persons, facts, \
    legal_basis, conclusion, major, major_reasons, status, decided_on, issued_at, disclosure_days, \
    disclosure_due, disclosure_due_pending_year, publish_online, published_at, publication, revoked_at, revocation_reason, \
    withdrawal_due, withdrawn_at, created_by, created_at, matter, not_online_basis, \
    not_online_requested_by, not_online_approved_by, not_online_approved_at, not_online_opinion, publish_after_processing, \
    withdrawal_reason, publication_requested_by, publication_requested_at, publication_approved_by, \
    publication_version, matter_version, discretion";

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

type DecisionQuery<'q> =
    sqlx::query::QueryAs<'q, sqlx::Postgres, Decision, sqlx::postgres::PgArguments>;

/// Binds a draft's fields as `$2`..`$19`, the column order both the INSERT of `create` and
/// the UPDATE of `update` use, so the two can never drift apart.
pub(super) fn bind_draft<'q>(
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

/// A decision may point at an enforcement action only if that action exists.
pub(super) async fn ensure_action_exists<'e>(
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

/// The review's stored status, if a review exists.
pub(super) async fn review_status<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    id: Uuid,
) -> ApiResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT status FROM reviews WHERE decision_id = $1")
            .bind(id)
            .fetch_optional(exec)
            .await?,
    )
}

/// Stores a new draft.
pub(super) async fn insert_draft(
    pool: &PgPool,
    input: &DecisionInput,
    resolved: &Resolved,
    reasons: &Vec<String>,
    minor: bool,
    created_by: &str,
) -> ApiResult<Decision> {
    let insert = format!(
        "INSERT INTO decisions (id, action_id, document_number, category, procedure, party_kind, party_name, \
         party_id_number, party_phone, party_address, party_is_minor, involves_secrets, other_persons, facts, \
         legal_basis, conclusion, major, major_reasons, status, publish_online, matter, not_online_basis, \
         publish_after_processing, created_by, matter_version, discretion) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,'draft',$19,$20,$21,$22,$23,$24,$25) \
         RETURNING {COLUMNS}"
    );
    bind_draft(
        sqlx::query_as(&insert).bind(Uuid::new_v4()),
        input,
        resolved.category,
        reasons,
        minor,
    )
    .bind(created_by)
    .bind(resolved.version())
    .bind(discretion_json(input))
    .fetch_one(pool)
    .await
    .map_err(ApiError::from)
}

/// Replaces a draft's fields (and clears an exemption request, which covered the old text).
pub(super) async fn update_draft(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    input: &DecisionInput,
    resolved: &Resolved,
    reasons: &Vec<String>,
    minor: bool,
) -> ApiResult<Decision> {
    let update = format!(
        "UPDATE decisions SET action_id=$2, document_number=$3, category=$4, procedure=$5, party_kind=$6, \
         party_name=$7, party_id_number=$8, party_phone=$9, party_address=$10, party_is_minor=$11, \
         involves_secrets=$12, other_persons=$13, facts=$14, legal_basis=$15, conclusion=$16, major=$17, \
         major_reasons=$18, publish_online=$19, matter=$20, not_online_basis=$21, \
         publish_after_processing=$22, not_online_requested_by=NULL, not_online_approved_by=NULL, \
         not_online_approved_at=NULL, not_online_opinion=NULL, matter_version=$23, discretion=$24 \
         WHERE id=$1 RETURNING {COLUMNS}"
    );
    bind_draft(
        sqlx::query_as(&update).bind(id),
        input,
        resolved.category,
        reasons,
        minor,
    )
    .bind(resolved.version())
    .bind(discretion_json(input))
    .fetch_one(tx)
    .await
    .map_err(ApiError::from)
}

/// Decisions matching a list query, newest first.
pub(super) async fn list(
    pool: &PgPool,
    q: &ListQuery,
    today: NaiveDate,
    limit: i64,
) -> ApiResult<Vec<Decision>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM decisions WHERE ($1::text IS NULL OR status = $1) \
         AND (NOT $2 OR (status = 'issued' AND publish_online AND published_at IS NULL AND disclosure_due < $3)) \
         AND (NOT $5 OR NOT publish_online) \
         ORDER BY created_at DESC LIMIT $4"
    ))
    .bind(&q.status)
    .bind(q.overdue)
    .bind(today)
    .bind(limit)
    .bind(q.exempted)
    .fetch_all(pool)
    .await?)
}

/// Records supervisors' reads of full decisions (记录信息调阅监督).
pub(super) async fn log_reads(
    pool: &PgPool,
    ids: &[Uuid],
    claims: &Claims,
    purpose: &str,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO decision_access_log (decision_id, accessed_by, role, purpose) \
         SELECT unnest($1::uuid[]), $2, $3, $4",
    )
    .bind(ids)
    .bind(&claims.sub)
    .bind(claims.role.as_str())
    .bind(purpose)
    .execute(pool)
    .await?;
    Ok(())
}

/// Moves a draft to issued with its date and disclosure due date.
pub(super) async fn mark_issued(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    decided_on: NaiveDate,
    issued_at: DateTime<Utc>,
    days: u32,
    due: DisclosureDue,
) -> ApiResult<Decision> {
    Ok(sqlx::query_as(&format!(
        "UPDATE decisions SET status = 'issued', decided_on = $2, issued_at = $3, disclosure_days = $4, \
         disclosure_due = $5, disclosure_due_pending_year = $6 WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(decided_on)
    .bind(issued_at)
    .bind(days as i32)
    .bind(due.disclosure_due)
    .bind(due.disclosure_due_pending_year)
    .fetch_one(tx)
    .await?)
}
