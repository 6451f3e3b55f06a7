//! The lists published before enforcement (事前公开): one versioned, reviewed mechanism for
//! every [`ListKind`] (item schemas in `sanxiang_domain::prepublication` and `::matter`).
//!
//! A version moves draft → submitted → approved or returned (with the reviewer's opinion)
//! → published with an effective date. The agency admin writes drafts, revises returned
//! versions, submits and publishes; the same-level justice bureau reviews (a county
//! agency's county bureau, a city-level agency's city bureau; the random-inspection list
//! the market regulator where configured: [`super::list_reviewers`]). Every change is a
//! new version; published versions stay,
//! and the version effective at a date is the published one with the latest effective date
//! on or before it. Every step is a row of `list_steps` (append-only); the items as
//! submitted are kept with the submit step. Publishing enqueues a `list_publication` event
//! in the same transaction, so the province's platform shows the list with its version.
//!
//! Subjects and personnel are derived: their items come from the Agency object and from
//! the valid, active officers of the personnel list (six public fields only) when the
//! draft is made; the agency cannot write them. Officers are checked again when the
//! version is published ([`super::personnel::check_public_entries`]): one who has left or
//! whose certificate is not valid on the effective date refuses the publication, naming
//! the item, so the published version is exactly the reviewed one and shows only
//! officers valid on its effective date (dropping them silently would publish a list the
//! reviewer never saw). The agency then revises the version (`PUT`, which retakes the
//! records, even of an approved version) and submits it for review again.

mod model;
pub use model::{
    DraftInput, EffectiveQuery, ListHistory, ListStep, ListVersion, ListVersionSummary,
    ListVersionWithSteps, PublishInput, ReviewInput,
};

use super::list_reviewers::Reviewer;
use super::tenant::{Lists, Tenant, Write};
use super::{JsonBody, QueryParams, date_in_range, optional_text};
use crate::auth::{Role, require_role};
use crate::error::{ApiError, ApiResult};
use crate::outbox::{self, Event};
use crate::state::{AppState, TenantCtx};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_domain::{EnforcementCategory, ListKind, Matter, SubjectEntry};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;

/// Most items a list version may hold.
pub const MAX_ITEMS: usize = 5_000;

fn kind(s: &str) -> ApiResult<ListKind> {
    ListKind::parse(s).ok_or_else(|| {
        ApiError::bad_request(
            "kind",
            format!("kind must be one of {}", ListKind::code_list()),
        )
    })
}

fn version_number(s: &str) -> ApiResult<i32> {
    s.parse::<i32>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ApiError::bad_request("version", "version must be a positive integer"))
}

/// The published version of `kind` effective on `on`, if any.
pub async fn effective(
    exec: &mut PgConnection,
    kind: ListKind,
    on: NaiveDate,
) -> ApiResult<Option<ListVersion>> {
    Ok(sqlx::query_as!(
        ListVersion,
        "SELECT kind, version, status, items, created_by, created_at, effective_from, published_at \
         FROM list_versions WHERE kind = $1 AND status = 'published' \
         AND effective_from <= $2 ORDER BY effective_from DESC, version DESC LIMIT 1",
        kind.as_str(),
        on,
    )
    .fetch_optional(exec)
    .await?)
}

/// The matters of one version of the matter list.
pub fn matters_of(v: &ListVersion) -> ApiResult<Vec<Matter>> {
    serde_json::from_value(v.items.clone())
        .map_err(|e| ApiError::internal(format!("stored matter list is unreadable: {e}")))
}

async fn load(exec: &mut PgConnection, kind: ListKind, version: i32) -> ApiResult<ListVersion> {
    sqlx::query_as!(
        ListVersion,
        "SELECT kind, version, status, items, created_by, created_at, effective_from, published_at \
         FROM list_versions WHERE kind = $1 AND version = $2 FOR UPDATE",
        kind.as_str(),
        version,
    )
    .fetch_optional(exec)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("{} has no version {version}", kind.as_str())))
}

async fn step(
    exec: &mut PgConnection,
    ctx: &TenantCtx,
    v: &ListVersion,
    step: &str,
    opinion: &str,
    items: Option<&Value>,
) -> ApiResult<()> {
    sqlx::query!(
        "INSERT INTO list_steps (kind, version, step, actor, role, opinion, items) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &v.kind,
        v.version,
        step,
        &ctx.claims.sub,
        ctx.claims.role.as_str(),
        opinion,
        items,
    )
    .execute(exec)
    .await?;
    Ok(())
}

async fn set_status(exec: &mut PgConnection, v: &ListVersion, status: &str) -> ApiResult<()> {
    sqlx::query!(
        "UPDATE list_versions SET status = $3 WHERE kind = $1 AND version = $2",
        &v.kind,
        v.version,
        status,
    )
    .execute(exec)
    .await?;
    Ok(())
}

fn require_status(v: &ListVersion, allowed: &[&str], what: &str) -> ApiResult<()> {
    if allowed.contains(&v.status.as_str()) {
        return Ok(());
    }
    Err(ApiError::conflict(
        "status",
        format!(
            "{} version {} is {}; {what} needs it {}",
            v.kind,
            v.version,
            v.status,
            allowed.join(" or ")
        ),
    ))
}

/// Checks written items: the kind's schema, and that matters and supervision matters lie
/// within the Agency's categories.
fn check_items(ctx: &TenantCtx, kind: ListKind, items: &Value) -> ApiResult<()> {
    if let Err(errors) = kind.validate_items(items) {
        let first = &errors[0];
        let all = sanxiang_domain::join_field_errors(&errors);
        return Err(ApiError::unprocessable(&first.field, all));
    }
    if items.as_array().is_some_and(|a| a.len() > MAX_ITEMS) {
        return Err(ApiError::bad_request(
            "items",
            format!("a list holds at most {MAX_ITEMS} items"),
        ));
    }
    let held = &ctx.tenant.categories;
    if !held.is_empty() && matches!(kind, ListKind::Matters | ListKind::SupervisionMatters) {
        for (i, item) in items.as_array().into_iter().flatten().enumerate() {
            let c: Option<EnforcementCategory> = item
                .get("category")
                .and_then(|c| serde_json::from_value(c.clone()).ok());
            if let Some(c) = c
                && !held.contains(&c)
            {
                return Err(ApiError::unprocessable(
                    &format!("items[{i}].category"),
                    format!(
                        "category {} is not one the agency holds ({})",
                        c.code(),
                        held.iter().map(|c| c.code()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The subject list: the agency itself, as its Agency object describes it.
fn subject_entries(ctx: &TenantCtx) -> Value {
    let t = &ctx.tenant;
    json!([SubjectEntry {
        name: if t.display_name.is_empty() {
            t.agency.clone()
        } else {
            t.display_name.clone()
        },
        credit_code: t.credit_code.clone(),
        categories: t.categories.clone(),
        province: t.province.clone(),
        city: t.city.clone(),
        county: t.county.clone(),
    }])
}

/// `POST …/lists/{kind}`: a new draft version (the next number).
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/lists/{kind}",
    operation_id = "create_list_version",
    tag = "lists",
    summary = "Draft a new version (items for written kinds; subjects and personnel are taken from the Agency and the valid active officers)",
    params(super::openapi::AgencyListPath),
    request_body = Option<DraftInput>,
    responses((status = 201, description = "Created", body = ListVersion), super::openapi::WriteErrors)
)]
pub async fn create(
    State(st): State<AppState>,
    Path((_agency, kind_s)): Path<(String, String)>,
    ctx: Tenant<Write>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<ListVersion>)> {
    let kind = kind(&kind_s)?;
    let input: DraftInput = super::parse_json_or_default(&body)?;
    require_role(&ctx.claims, &[Role::AgencyAdmin], "drafting lists")?;
    let today = st.clock.today();
    let mut tx = ctx.pool.begin().await?;
    let items = match (kind, input.items) {
        (ListKind::Personnel, None) => super::personnel::public_entries(&mut tx, today).await?,
        (ListKind::Subjects, None) => subject_entries(&ctx),
        (k, Some(_)) if k.is_derived() => {
            return Err(ApiError::bad_request(
                "items",
                format!(
                    "the {} is taken from the service's records; send no items",
                    k.chinese_name()
                ),
            ));
        }
        (_, None) => return Err(ApiError::bad_request("items", "items is required")),
        (k, Some(items)) => {
            check_items(&ctx, k, &items)?;
            items
        }
    };
    // One version in the works at a time, so reviews never race each other.
    // (A void result has no Rust type: the lock is taken selecting no column.)
    sqlx::query!(
        "SELECT FROM pg_advisory_xact_lock(hashtext('sx-list-' || $1))",
        kind.as_str()
    )
    .execute(&mut *tx)
    .await?;
    let open: Option<(i32, String)> = sqlx::query!(
        "SELECT version, status FROM list_versions WHERE kind = $1 AND status <> 'published' LIMIT 1",
        kind.as_str()
    )
    .map(|r| (r.version, r.status))
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((v, s)) = open {
        return Err(ApiError::conflict(
            "status",
            format!(
                "{} version {v} is {s}; publish it or revise it before drafting another",
                kind.as_str()
            ),
        ));
    }
    let v = sqlx::query_as!(
        ListVersion,
        "INSERT INTO list_versions (kind, version, status, items, created_by) \
         SELECT $1, COALESCE(max(version), 0) + 1, 'draft', $2, $3 FROM list_versions WHERE kind = $1 \
         RETURNING kind, version, status, items, created_by, created_at, effective_from, published_at",
        kind.as_str(),
        &items,
        &ctx.claims.sub,
    )
    .fetch_one(&mut *tx)
    .await?;
    step(&mut tx, &ctx, &v, "draft", "", None).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// `PUT …/versions/{version}`: revise the items of a draft or returned version. A derived
/// list (subjects, personnel) is not written: revising retakes the current records, and
/// is also how an approved version that can no longer be published (an officer left) is
/// brought up to date — its approval lapses and it goes back to draft for a new review.
#[utoipa::path(
    put,
    path = "/api/v1/agencies/{agency}/lists/{kind}/versions/{version}",
    tag = "lists",
    summary = "Revise the items of a draft or returned version",
    params(super::openapi::AgencyListVersionPath),
    request_body = DraftInput,
    responses((status = 200, description = "OK", body = ListVersion), super::openapi::WriteErrors)
)]
pub async fn revise(
    State(st): State<AppState>,
    Path((_agency, kind_s, version)): Path<(String, String, String)>,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<DraftInput>,
) -> ApiResult<Json<ListVersion>> {
    let kind = kind(&kind_s)?;
    let version = version_number(&version)?;
    require_role(&ctx.claims, &[Role::AgencyAdmin], "revising lists")?;
    let written = match (kind.is_derived(), input.items) {
        (true, Some(_)) => {
            return Err(ApiError::bad_request(
                "items",
                "a derived list is not written: send no items, revising retakes the current records",
            ));
        }
        (true, None) => None,
        (false, None) => return Err(ApiError::bad_request("items", "items is required")),
        (false, Some(items)) => {
            check_items(&ctx, kind, &items)?;
            Some(items)
        }
    };
    let mut tx = ctx.pool.begin().await?;
    let v = load(&mut tx, kind, version).await?;
    let revisable: &[&str] = if kind.is_derived() {
        &["draft", "returned", "approved"]
    } else {
        &["draft", "returned"]
    };
    require_status(&v, revisable, "revising")?;
    let items = match written {
        Some(items) => items,
        None if kind == ListKind::Personnel => {
            super::personnel::public_entries(&mut tx, st.clock.today()).await?
        }
        None => subject_entries(&ctx),
    };
    if v.status == "approved" {
        // The approval lapses first (items of an approved version are frozen).
        set_status(&mut tx, &v, "returned").await?;
    }
    let v = sqlx::query_as!(
        ListVersion,
        "UPDATE list_versions SET items = $3, status = 'draft' WHERE kind = $1 AND version = $2 \
         RETURNING kind, version, status, items, created_by, created_at, effective_from, published_at",
        kind.as_str(),
        version,
        &items,
    )
    .fetch_one(&mut *tx)
    .await?;
    step(&mut tx, &ctx, &v, "revise", "", None).await?;
    tx.commit().await?;
    Ok(Json(v))
}

/// `POST …/versions/{version}/submit`: to the justice bureau for review.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/lists/{kind}/versions/{version}/submit",
    operation_id = "submit_list_version",
    tag = "lists",
    summary = "Submit the version to the same-level justice bureau (agency_admin)",
    params(super::openapi::AgencyListVersionPath),
    responses((status = 200, description = "OK", body = ListVersion), super::openapi::WriteErrors)
)]
pub async fn submit(
    Path((_agency, kind_s, version)): Path<(String, String, String)>,
    ctx: Tenant<Write>,
) -> ApiResult<Json<ListVersion>> {
    let kind = kind(&kind_s)?;
    let version = version_number(&version)?;
    require_role(&ctx.claims, &[Role::AgencyAdmin], "submitting lists")?;
    let mut tx = ctx.pool.begin().await?;
    let mut v = load(&mut tx, kind, version).await?;
    require_status(&v, &["draft", "returned"], "submitting")?;
    set_status(&mut tx, &v, "submitted").await?;
    step(&mut tx, &ctx, &v, "submit", "", Some(&v.items)).await?;
    tx.commit().await?;
    v.status = "submitted".into();
    Ok(Json(v))
}

/// `POST …/versions/{version}/review`: the same-level justice bureau approves or returns.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/lists/{kind}/versions/{version}/review",
    tag = "lists",
    summary = "Approve or return with an opinion: only the list's reviewer, county_supervisor of a county agency's county or city_supervisor of a city-level agency's city (market_regulator of that place for random_inspections where configured)",
    params(super::openapi::AgencyListVersionPath),
    request_body = ReviewInput,
    responses((status = 200, description = "OK", body = ListVersion), super::openapi::WriteErrors)
)]
pub async fn review(
    State(st): State<AppState>,
    Path((_agency, kind_s, version)): Path<(String, String, String)>,
    ctx: Tenant<Lists>,
    JsonBody(input): JsonBody<ReviewInput>,
) -> ApiResult<Json<ListVersion>> {
    let kind = kind(&kind_s)?;
    let version = version_number(&version)?;
    // Supervisors are read-only on the agency's records; this review is their own step,
    // recorded in their name (authorize has checked the place is theirs), and only the
    // list's one reviewer takes it.
    Reviewer::of(
        &ctx.tenant,
        kind,
        st.policy.market_regulator_reviews_random_inspections,
    )
    .check(&ctx.claims, kind)?;
    optional_text(&input.opinion, "opinion", 4_000)?;
    if !input.approve && input.opinion.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "opinion",
            "a returned list needs the reviewer's opinion",
        ));
    }
    let mut tx = ctx.pool.begin().await?;
    let mut v = load(&mut tx, kind, version).await?;
    require_status(&v, &["submitted"], "reviewing")?;
    let (status, name) = if input.approve {
        ("approved", "approve")
    } else {
        ("returned", "return")
    };
    set_status(&mut tx, &v, status).await?;
    step(&mut tx, &ctx, &v, name, input.opinion.trim(), None).await?;
    tx.commit().await?;
    v.status = status.into();
    Ok(Json(v))
}

/// The event payload of a published list version.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPublication<'a> {
    pub kind: ListKind,
    pub version: i32,
    pub effective_from: NaiveDate,
    pub published_at: DateTime<Utc>,
    pub items: &'a Value,
}

/// `POST …/versions/{version}/publish`: an approved version becomes effective on its date.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/lists/{kind}/versions/{version}/publish",
    operation_id = "publish_list_version",
    tag = "lists",
    summary = "Publish an approved version from its effective date (enqueues a list_publication event)",
    params(super::openapi::AgencyListVersionPath),
    request_body = Option<PublishInput>,
    responses((status = 200, description = "OK", body = ListVersion), super::openapi::WriteErrors)
)]
pub async fn publish(
    State(st): State<AppState>,
    Path((_agency, kind_s, version)): Path<(String, String, String)>,
    ctx: Tenant<Write>,
    body: axum::body::Bytes,
) -> ApiResult<Json<ListVersion>> {
    let kind = kind(&kind_s)?;
    let version = version_number(&version)?;
    let input: PublishInput = super::parse_json_or_default(&body)?;
    require_role(&ctx.claims, &[Role::AgencyAdmin], "publishing lists")?;
    let today = st.clock.today();
    let from = input.effective_from.unwrap_or(today);
    date_in_range(from, "effectiveFrom")?;
    if from < today {
        return Err(ApiError::unprocessable(
            "effectiveFrom",
            "effectiveFrom must not be in the past: a list applies from its publication on",
        ));
    }
    let mut tx = ctx.pool.begin().await?;
    let v = load(&mut tx, kind, version).await?;
    require_status(&v, &["approved"], "publishing")?;
    if kind == ListKind::Personnel {
        super::personnel::check_public_entries(&mut tx, &v.items, today, from).await?;
    }
    let latest: Option<NaiveDate> = sqlx::query_scalar!(
        "SELECT max(effective_from) FROM list_versions WHERE kind = $1 AND status = 'published'",
        kind.as_str()
    )
    .fetch_one(&mut *tx)
    .await?;
    if let Some(l) = latest
        && from <= l
    {
        return Err(ApiError::unprocessable(
            "effectiveFrom",
            format!("effectiveFrom must be after {l}, the effective date of the version in force"),
        ));
    }
    let now = st.clock.now();
    let v = sqlx::query_as!(
        ListVersion,
        "UPDATE list_versions SET status = 'published', effective_from = $3, published_at = $4 \
         WHERE kind = $1 AND version = $2 RETURNING kind, version, status, items, created_by, created_at, effective_from, published_at",
        kind.as_str(),
        version,
        from,
        now,
    )
    .fetch_one(&mut *tx)
    .await?;
    step(&mut tx, &ctx, &v, "publish", "", None).await?;
    outbox::enqueue(
        &mut tx,
        &ctx.tenant,
        Event::ListPublication,
        ListPublication {
            kind,
            version,
            effective_from: from,
            published_at: now,
            items: &v.items,
        },
    )
    .await?;
    tx.commit().await?;
    st.kick_relay(&ctx.tenant.agency);
    Ok(Json(v))
}

/// `GET …/lists/{kind}`: every version (without items) and the one effective on `on`.
#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/lists/{kind}",
    tag = "lists",
    summary = "Versions of a list (事前公开) and the one effective on a date",
    params(super::openapi::AgencyListPath, EffectiveQuery),
    responses((status = 200, description = "OK", body = ListHistory), super::openapi::ReadErrors)
)]
pub async fn get_list(
    State(st): State<AppState>,
    Path((_agency, kind_s)): Path<(String, String)>,
    QueryParams(q): QueryParams<EffectiveQuery>,
    ctx: Tenant<Lists>,
) -> ApiResult<Json<ListHistory>> {
    let kind = kind(&kind_s)?;
    let on = q.on.unwrap_or(st.clock.today());
    date_in_range(on, "on")?;
    let mut conn = ctx.pool.acquire().await?;
    let current = effective(&mut conn, kind, on).await?;
    let versions: Vec<(i32, String, Option<NaiveDate>, DateTime<Utc>)> = sqlx::query!(
        "SELECT version, status, effective_from, created_at FROM list_versions WHERE kind = $1 \
         ORDER BY version",
        kind.as_str()
    )
    .map(|r| (r.version, r.status, r.effective_from, r.created_at))
    .fetch_all(&mut *conn)
    .await?;
    let versions = versions
        .into_iter()
        .map(
            |(version, status, effective_from, created_at)| ListVersionSummary {
                version,
                status,
                effective_from,
                created_at,
            },
        )
        .collect();
    Ok(Json(ListHistory {
        kind,
        name: kind.chinese_name().to_string(),
        on,
        effective: current,
        versions,
    }))
}

/// `GET …/lists/{kind}/versions/{version}`: one version with its items and steps.
#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/lists/{kind}/versions/{version}",
    tag = "lists",
    summary = "One version with its items and review steps",
    params(super::openapi::AgencyListVersionPath),
    responses((status = 200, description = "OK", body = ListVersionWithSteps), super::openapi::ReadErrors)
)]
pub async fn get_version(
    Path((_agency, kind_s, version)): Path<(String, String, String)>,
    ctx: Tenant<Lists>,
) -> ApiResult<Json<ListVersionWithSteps>> {
    let kind = kind(&kind_s)?;
    let version = version_number(&version)?;
    let v = sqlx::query_as!(
        ListVersion,
        "SELECT kind, version, status, items, created_by, created_at, effective_from, published_at \
         FROM list_versions WHERE kind = $1 AND version = $2",
        kind.as_str(),
        version,
    )
    .fetch_optional(&ctx.pool)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("{} has no version {version}", kind.as_str())))?;
    let steps = sqlx::query_as!(
        ListStep,
        "SELECT step, actor, role, opinion, at FROM list_steps WHERE kind = $1 AND version = $2 \
         ORDER BY id",
        kind.as_str(),
        version,
    )
    .fetch_all(&ctx.pool)
    .await?;
    Ok(Json(ListVersionWithSteps { version: v, steps }))
}
