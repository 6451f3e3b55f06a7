//! Enforcement actions: starting one (officers with valid certificates covering its
//! category, the matter's procedure and A/V rule) and reading them. Their hash-chained
//! record is [`record`].

pub mod record;

use super::tenant::{PathId, Read, Tenant, Write};
use super::{JsonBody, QueryParams, bounded, date_in_range, optional_text, text};
use crate::auth::{Role, require_role};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_domain::{ACTION_KINDS, EnforcementCategory as Category, Procedure, requires_full_av};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionInput {
    pub title: String,
    /// Comes from the matter (a given category must agree with it).
    #[schema(value_type = Option<super::openapi::CategoryCode>, nullable = false)]
    pub category: Option<Category>,
    #[schema(value_type = super::openapi::ProcedureCode)]
    pub procedure: Procedure,
    /// Code of the matter on the agency's effective matter list; required (422 naming
    /// `matter` without one, or before a matter list is in force).
    pub matter: Option<String>,
    /// One of ACTION_KINDS, e.g. `seizure_detention`.
    #[schema(value_type = String, example = "seizure_detention")]
    pub kind: String,
    /// Who the action is against (name or credit code).
    pub target: String,
    pub started_on: Option<NaiveDate>,
    #[schema(min_items = 1, max_items = 20)]
    pub officer_ids: Vec<Uuid>,
    /// The matter involves state secrets, trade secrets or personal privacy: no A/V
    /// recording may be attached (002: 涉及国家秘密、商业秘密、个人隐私的不得音像记录).
    #[serde(default)]
    pub involves_secrets_or_privacy: bool,
}

#[derive(utoipa::ToSchema, Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub id: Uuid,
    pub title: String,
    pub category: String,
    pub procedure: String,
    pub kind: String,
    pub requires_full_av: bool,
    pub target: String,
    pub started_on: NaiveDate,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub no_av: bool,
}

#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionView {
    #[serde(flatten)]
    pub action: Action,
    pub officer_ids: Vec<Uuid>,
    pub record_entries: i64,
    /// True when the action requires full-process A/V recording and none is recorded.
    pub av_missing: bool,
}

#[derive(sqlx::FromRow)]
struct OfficerRow {
    id: Uuid,
    name: String,
    role: String,
    certificate_number: String,
    categories: Vec<String>,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    active: bool,
}

async fn load_view(pool: &PgPool, id: Uuid) -> ApiResult<Option<ActionView>> {
    let action = sqlx::query_as!(
        Action,
        "SELECT id, title, category, procedure, kind, requires_full_av, target, started_on, \
         created_by, created_at, no_av FROM actions WHERE id = $1",
        id
    )
    .fetch_optional(pool)
    .await?;
    let Some(action) = action else {
        return Ok(None);
    };
    let officer_ids = sqlx::query_scalar!(
        "SELECT personnel_id FROM action_officers WHERE action_id = $1 ORDER BY personnel_id",
        id
    )
    .fetch_all(pool)
    .await?;
    let counts = sqlx::query!(
        r#"SELECT count(*) AS "entries!", count(*) FILTER (WHERE kind = 'av') AS "av!"
           FROM record_entries WHERE action_id = $1"#,
        id
    )
    .fetch_one(pool)
    .await?;
    let (entries, av) = (counts.entries, counts.av);
    let av_missing = action.requires_full_av && !action.no_av && av == 0;
    Ok(Some(ActionView {
        action,
        officer_ids,
        record_entries: entries,
        av_missing,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/actions",
    operation_id = "create_action",
    tag = "actions",
    summary = "Start an enforcement action",
    description = "422 names the officer (officerIds[i]) without a valid certificate covering the category.",
    params(super::openapi::AgencyPath),
    request_body = ActionInput,
    responses((status = 201, description = "Created", body = ActionView), super::openapi::RuleErrors)
)]
pub async fn create(
    State(st): State<AppState>,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<ActionInput>,
) -> ApiResult<(StatusCode, Json<ActionView>)> {
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "recording enforcement actions",
    )?;
    text(&input.title, "title", 256)?;
    text(&input.target, "target", 256)?;
    if !ACTION_KINDS.contains(&input.kind.as_str()) {
        return Err(ApiError::bad_request(
            "kind",
            format!("kind must be one of {}", ACTION_KINDS.join(", ")),
        ));
    }
    bounded(&input.officer_ids, "officerIds", 20)?;
    if let Some(d) = input.started_on {
        date_in_range(d, "startedOn")?;
    }
    if input.officer_ids.is_empty() {
        return Err(ApiError::bad_request(
            "officerIds",
            "at least one officer is required",
        ));
    }
    let mut ids = input.officer_ids.clone();
    ids.sort();
    ids.dedup();
    if ids.len() != input.officer_ids.len() {
        return Err(ApiError::bad_request(
            "officerIds",
            "officerIds lists an officer twice",
        ));
    }
    if input.procedure == Procedure::General && ids.len() < 2 {
        return Err(ApiError::unprocessable(
            "officerIds",
            "general-procedure enforcement needs at least two officers with valid certificates",
        ));
    }
    if let Some(m) = &input.matter {
        optional_text(m, "matter", 64)?;
    }
    let today = st.clock.today();
    let started_on = input.started_on.unwrap_or(today);
    let mut tx = ctx.pool.begin().await?;
    let resolved = super::matters::resolve(
        &mut tx,
        &ctx,
        input.matter.as_deref(),
        input.category,
        input.procedure,
        today,
    )
    .await?;
    let category = resolved.category;
    let full_av = requires_full_av(&input.kind)
        || resolved.matter().av_recording == sanxiang_domain::AvRecording::FullProcess;
    let officers = sqlx::query_as!(
        OfficerRow,
        "SELECT id, name, role, certificate_number, categories, valid_from, valid_until, active \
         FROM personnel WHERE id = ANY($1) FOR SHARE",
        &ids
    )
    .fetch_all(&mut *tx)
    .await?;
    for (i, oid) in input.officer_ids.iter().enumerate() {
        let field = format!("officerIds[{i}]");
        let Some(o) = officers.iter().find(|o| o.id == *oid) else {
            return Err(ApiError::unprocessable(
                &field,
                format!("officer {oid} is not on the personnel list"),
            ));
        };
        if o.role != "officer" {
            return Err(ApiError::unprocessable(
                &field,
                format!("{} is not an enforcement officer", o.name),
            ));
        }
        if !o.active {
            return Err(ApiError::unprocessable(
                &field,
                format!("officer {} is no longer on the personnel list", o.name),
            ));
        }
        if started_on < o.valid_from || started_on > o.valid_until {
            return Err(ApiError::unprocessable(
                &field,
                format!(
                    "officer {} has no valid enforcement certificate on {started_on} (certificate {} valid {} to {})",
                    o.name, o.certificate_number, o.valid_from, o.valid_until
                ),
            ));
        }
        if !o.categories.iter().any(|c| c == category.code()) {
            return Err(ApiError::unprocessable(
                &field,
                format!(
                    "certificate {} of officer {} does not cover category {}",
                    o.certificate_number,
                    o.name,
                    category.code()
                ),
            ));
        }
    }
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO actions (id, title, category, procedure, kind, requires_full_av, target, started_on, created_by, no_av, \
         matter, matter_version) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
        id,
        input.title.trim(),
        category.code(),
        input.procedure.as_str(),
        &input.kind,
        full_av,
        input.target.trim(),
        started_on,
        &ctx.claims.sub,
        input.involves_secrets_or_privacy,
        &resolved.matter().code,
        resolved.version(),
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO action_officers (action_id, personnel_id) SELECT $1, unnest($2::uuid[])",
        id,
        &ids,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let v = load_view(&ctx.pool, id)
        .await?
        .ok_or_else(|| ApiError::internal("action vanished"))?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// One action in `GET …/actions`: what it is, and whether its record is complete.
#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionSummary {
    pub id: Uuid,
    pub title: String,
    #[schema(value_type = super::openapi::CategoryCode)]
    pub category: String,
    #[schema(value_type = super::openapi::ProcedureCode)]
    pub procedure: String,
    pub kind: String,
    /// Full-process A/V recording is required and none is attached.
    pub av_missing: bool,
    /// Entries in the action's record.
    pub record_entries: i64,
}

/// `GET …/actions`: the newest actions first.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct ActionList {
    pub items: Vec<ActionSummary>,
}

#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Only actions missing required A/V.
    #[serde(default)]
    pub av_missing: bool,
    /// 1..1000.
    pub limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/actions",
    operation_id = "list_actions",
    tag = "actions",
    summary = "Enforcement actions",
    params(super::openapi::AgencyPath, ListQuery),
    responses((status = 200, description = "OK", body = ActionList), super::openapi::ReadErrors)
)]
pub async fn list(
    QueryParams(q): QueryParams<ListQuery>,
    ctx: Tenant<Read>,
) -> ApiResult<Json<ActionList>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "limit",
            "limit must be between 1 and 1000",
        ));
    }
    let rows: Vec<(Uuid, String, String, String, String, bool, i64)> = sqlx::query!(
        r#"SELECT a.id, a.title, a.category, a.procedure, a.kind,
           a.requires_full_av AND NOT a.no_av AND NOT EXISTS (SELECT 1 FROM record_entries e WHERE e.action_id = a.id AND e.kind = 'av') AS "av_missing!",
           (SELECT count(*) FROM record_entries e WHERE e.action_id = a.id) AS "entries!"
         FROM actions a ORDER BY a.created_at DESC LIMIT $1"#,
        limit
    )
    .map(|r| (r.id, r.title, r.category, r.procedure, r.kind, r.av_missing, r.entries))
    .fetch_all(&ctx.pool)
    .await?;
    let items: Vec<_> = rows
        .into_iter()
        .filter(|r| !q.av_missing || r.5)
        .map(
            |(id, title, category, procedure, kind, av_missing, record_entries)| ActionSummary {
                id,
                title,
                category,
                procedure,
                kind,
                av_missing,
                record_entries,
            },
        )
        .collect();
    Ok(Json(ActionList { items }))
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/actions/{id}",
    operation_id = "get_action",
    tag = "actions",
    summary = "One action, with avMissing flag",
    params(super::openapi::AgencyIdPath),
    responses((status = 200, description = "OK", body = ActionView), super::openapi::ReadErrors)
)]
pub async fn get_one(PathId(id): PathId, ctx: Tenant<Read>) -> ApiResult<Json<ActionView>> {
    load_view(&ctx.pool, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("action {id} not found")))
}
