//! Random inspections (双随机、一公开, 003 task 13): targets drawn at random from a
//! registered pool, inspectors drawn at random from the published personnel list, at the
//! ratio of an item of the agency's effective random-inspection list; results published.
//!
//! A draw is reproducible: the seed, the candidate targets and the candidate inspectors
//! (each in a fixed order) are recorded with the draw, and [`draw()`] is a pure function of
//! them over ChaCha20 (a specified stream cipher, so the same seed gives the same numbers
//! on any machine and any version of this service). `GET …/verify` re-runs it from the
//! record and compares. Each drawn target becomes an enforcement action of the item's
//! inspection matter (checked against the matter list in force like any action's) with
//! its inspectors, so the inspection is recorded like any other.

use super::tenant::{PathId, Read, Tenant, Write};
use super::{JsonBody, optional_text, text};
use super::{lists, matters};
use crate::auth::{Role, require_role};
use crate::error::{ApiError, ApiResult};
use crate::outbox::{self, Event};
use crate::redaction::{self, PartyKind};
use crate::state::{AppState, TenantCtx};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sanxiang_domain::{EnforcementCategory, ListKind, Procedure, RandomInspection};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

mod draw;
pub use draw::{Drawn, draw, target_count};

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetInput {
    /// Code of the random-inspection item whose pool this is.
    pub item: String,
    pub name: String,
    pub credit_code: Option<String>,
    /// `natural_person` or `organisation` (the default): a natural person's name is masked
    /// when the results are published.
    #[serde(default = "organisation")]
    pub party_kind: PartyKind,
}

fn organisation() -> PartyKind {
    PartyKind::Organisation
}

/// A target just registered in an item's pool.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct RegisteredTarget {
    pub id: Uuid,
    pub item: String,
    pub name: String,
}

/// `POST …/inspection-targets`: registers a target in an item's pool.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/inspection-targets",
    tag = "inspections",
    summary = "Register a target in a random-inspection item's pool",
    params(super::openapi::AgencyPath),
    request_body = TargetInput,
    responses((status = 201, description = "Created: the target", body = RegisteredTarget), super::openapi::WriteErrors)
)]
pub async fn register_target(
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<TargetInput>,
) -> ApiResult<(StatusCode, Json<RegisteredTarget>)> {
    require_role(
        &ctx.claims,
        &[Role::AgencyAdmin],
        "registering inspection targets",
    )?;
    text(&input.item, "item", 64)?;
    text(&input.name, "name", 256)?;
    if let Some(c) = &input.credit_code {
        optional_text(c, "creditCode", 18)?;
        sanxiang_domain::validate_credit_code(c.trim())
            .map_err(|e| ApiError::unprocessable("creditCode", e.to_string()))?;
    }
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO inspection_targets (id, item, name, credit_code, party_kind, registered_by) \
         VALUES ($1,$2,$3,$4,$5,$6)",
        id,
        input.item.trim(),
        input.name.trim(),
        input.credit_code.as_deref().map(str::trim),
        input.party_kind.code(),
        &ctx.claims.sub,
    )
    .execute(&ctx.pool)
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisteredTarget {
            id,
            item: input.item.trim().to_string(),
            name: input.name.trim().to_string(),
        }),
    ))
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrawInput {
    pub item: String,
    /// The seed (default: a fresh random one); recorded either way.
    pub seed: Option<u64>,
}

#[derive(Debug, sqlx::FromRow)]
struct DrawRow {
    id: Uuid,
    item: String,
    list_version: i32,
    seed: String,
    target_pool: Vec<Uuid>,
    inspector_pool: Vec<Uuid>,
    draw: Value,
    results: Option<Value>,
}

/// `POST …/inspection-draws`: draws from an item of the effective random-inspection list.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/inspection-draws",
    tag = "inspections",
    summary = "Draw targets and inspectors (双随机) from an item of the effective random-inspection list; seed and draw recorded, one action per target",
    params(super::openapi::AgencyPath),
    request_body = DrawInput,
    responses((status = 201, description = "Created: the draw with its drawn targets and inspectors", body = Object), super::openapi::WriteErrors)
)]
pub async fn create_draw(
    State(st): State<AppState>,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<DrawInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_role(
        &ctx.claims,
        &[Role::AgencyAdmin],
        "drawing random inspections",
    )?;
    text(&input.item, "item", 64)?;
    let today = st.clock.today();
    let mut tx = ctx.pool.begin().await?;
    let list = lists::effective(&mut tx, ListKind::RandomInspections, today)
        .await?
        .ok_or_else(|| {
            ApiError::unprocessable(
                "item",
                "the agency has no random-inspection list in force: publish one first",
            )
        })?;
    let items: Vec<RandomInspection> = serde_json::from_value(list.items.clone())
        .map_err(|e| ApiError::internal(format!("stored list unreadable: {e}")))?;
    let item = items
        .into_iter()
        .find(|i| i.code.trim().eq_ignore_ascii_case(input.item.trim()))
        .ok_or_else(|| {
            ApiError::unprocessable(
                "item",
                format!(
                    "{} is not on the random-inspection list in force (version {})",
                    input.item.trim(),
                    list.version
                ),
            )
        })?;
    // The inspections exercise the item's matter: it must be an inspection matter of the
    // matter list in force, like any action's.
    let matter = item_matter(&mut tx, &ctx, &item, today).await?;
    let full_av = matter.matter().av_recording == sanxiang_domain::AvRecording::FullProcess;
    let targets: Vec<Uuid> = sqlx::query_scalar!(
        "SELECT id FROM inspection_targets WHERE item = $1 ORDER BY id",
        item.code.trim()
    )
    .fetch_all(&mut *tx)
    .await?;
    if targets.is_empty() {
        return Err(ApiError::unprocessable(
            "item",
            format!("no target is registered in the pool of {}", item.code),
        ));
    }
    // Inspectors: officers on the personnel list in force, still active and valid today
    // and certified for inspection.
    let people = lists::effective(&mut tx, ListKind::Personnel, today)
        .await?
        .ok_or_else(|| {
            ApiError::unprocessable(
                "item",
                "the agency has no personnel list in force: inspectors are drawn from it",
            )
        })?;
    let certs: Vec<String> = people
        .items
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["certificateNumber"].as_str().map(String::from))
        .collect();
    let inspectors: Vec<Uuid> = sqlx::query_scalar!(
        "SELECT id FROM personnel WHERE certificate_number = ANY($1) AND role = 'officer' AND active \
         AND valid_from <= $2 AND valid_until >= $2 AND 'inspection' = ANY (categories) ORDER BY id",
        &certs,
        today,
    )
    .fetch_all(&mut *tx)
    .await?;
    if inspectors.len() < item.inspectors_per_target as usize {
        return Err(ApiError::unprocessable(
            "item",
            format!(
                "{} needs {} inspectors per target; the personnel list has {} valid inspection officers",
                item.code,
                item.inspectors_per_target,
                inspectors.len()
            ),
        ));
    }
    let seed = input.seed.unwrap_or_else(|| Uuid::new_v4().as_u64_pair().0);
    let drawn = draw(seed, &targets, &inspectors, &item);
    let id = Uuid::new_v4();
    let mut actions = Vec::new();
    for d in &drawn {
        let name: String = sqlx::query_scalar!(
            "SELECT name FROM inspection_targets WHERE id = $1",
            d.target
        )
        .fetch_one(&mut *tx)
        .await?;
        let action = Uuid::new_v4();
        sqlx::query!(
            "INSERT INTO actions (id, title, category, procedure, kind, requires_full_av, target, started_on, created_by, \
             matter, matter_version) VALUES ($1, $2, 'inspection', 'general', 'other', $3, $4, $5, $6, $7, $8)",
            action,
            format!("双随机抽查：{}", item.name),
            full_av,
            &name,
            today,
            &ctx.claims.sub,
            &matter.matter().code,
            matter.version(),
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO action_officers (action_id, personnel_id) SELECT $1, unnest($2::uuid[])",
            action,
            &d.inspectors,
        )
        .execute(&mut *tx)
        .await?;
        actions.push(json!({"target": d.target, "targetName": name, "inspectors": d.inspectors, "actionId": action}));
    }
    sqlx::query!(
        "INSERT INTO inspection_draws (id, item, list_version, seed, target_pool, inspector_pool, draw, drawn_by) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        id,
        item.code.trim(),
        list.version,
        seed.to_string(),
        &targets,
        &inspectors,
        json!(actions),
        &ctx.claims.sub,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": id, "item": item.code, "listVersion": list.version,
            "seed": seed.to_string(), "targetPool": targets.len(), "inspectorPool": inspectors.len(),
            "draw": actions}),
        ),
    ))
}

/// The matter an item's inspections exercise, resolved like an action's
/// ([`matters::resolve`]): on the matter list in force, of category inspection, general
/// procedure, within the Agency's categories. Refusals name the request's `item` and say
/// which of the item's matter is wrong.
async fn item_matter(
    tx: &mut sqlx::PgConnection,
    ctx: &TenantCtx,
    item: &RandomInspection,
    today: chrono::NaiveDate,
) -> ApiResult<matters::Resolved> {
    let code = item.matter.trim();
    if code.is_empty() {
        return Err(ApiError::unprocessable(
            "item",
            format!(
                "random-inspection item {} names no matter: publish a random-inspection list whose \
                 items name their inspection matter",
                item.code
            ),
        ));
    }
    let in_item = |e: ApiError| {
        if e.status != axum::http::StatusCode::UNPROCESSABLE_ENTITY {
            return e;
        }
        ApiError::unprocessable(
            "item",
            format!(
                "random-inspection item {} names matter {code}: {}",
                item.code, e.error
            ),
        )
    };
    matters::resolve(
        tx,
        ctx,
        Some(code),
        Some(EnforcementCategory::Inspection),
        Procedure::General,
        today,
    )
    .await
    .map_err(in_item)
}

async fn load(pool: &sqlx::PgPool, id: Uuid) -> ApiResult<DrawRow> {
    sqlx::query_as!(
        DrawRow,
        "SELECT id, item, list_version, seed, target_pool, inspector_pool, draw, results \
         FROM inspection_draws WHERE id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("draw {id} not found")))
}

/// What re-running a draw gave: `matches` is whether it equals the recorded draw.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct DrawCheck {
    pub id: Uuid,
    pub seed: String,
    pub matches: bool,
    pub rerun: Vec<Drawn>,
}

/// `GET …/inspection-draws/{id}/verify`: re-runs the draw from its recorded seed and
/// candidates, and says whether it gives the recorded targets and inspectors.
#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/inspection-draws/{id}/verify",
    tag = "inspections",
    summary = "Re-run a draw from its recorded seed and candidates",
    params(super::openapi::AgencyIdPath),
    responses((status = 200, description = "OK", body = DrawCheck), super::openapi::WriteErrors)
)]
pub async fn verify(PathId(id): PathId, ctx: Tenant<Read>) -> ApiResult<Json<DrawCheck>> {
    let row = load(&ctx.pool, id).await?;
    let v = sqlx::query_as!(
        lists::ListVersion,
        "SELECT kind, version, status, items, created_by, created_at, effective_from, published_at \
         FROM list_versions WHERE kind = 'random_inspections' AND version = $1",
        row.list_version
    )
    .fetch_one(&ctx.pool)
    .await?;
    let items: Vec<RandomInspection> = serde_json::from_value(v.items)
        .map_err(|e| ApiError::internal(format!("stored list unreadable: {e}")))?;
    let item = items
        .into_iter()
        .find(|i| i.code.trim() == row.item)
        .ok_or_else(|| ApiError::internal("the draw's item left its list version"))?;
    let seed: u64 = row
        .seed
        .parse()
        .map_err(|_| ApiError::internal("stored seed unreadable"))?;
    let rerun = draw(seed, &row.target_pool, &row.inspector_pool, &item);
    let recorded: Vec<Drawn> = row
        .draw
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| serde_json::from_value(d.clone()).ok())
        .collect();
    Ok(Json(DrawCheck {
        id: row.id,
        seed: row.seed,
        matches: rerun == recorded,
        rerun,
    }))
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultInput {
    pub target: Uuid,
    /// 抽查情况, e.g. 未发现问题 / 发现问题已责令整改.
    pub outcome: String,
    /// 查处结果 (may be empty when nothing was found).
    #[serde(default)]
    pub handling: String,
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultsInput {
    pub results: Vec<ResultInput>,
}

/// `POST …/inspection-draws/{id}/results`: records the results (抽查情况及查处结果) as
/// given and publishes them redacted — organisations by name, natural persons' names
/// masked, personal data in the texts masked, no inspector's personal data.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/inspection-draws/{id}/results",
    tag = "inspections",
    summary = "Publish the results of a draw (inspection_results event)",
    params(super::openapi::AgencyIdPath),
    request_body = ResultsInput,
    responses((status = 200, description = "OK: the published results", body = Object), super::openapi::WriteErrors)
)]
pub async fn publish_results(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<ResultsInput>,
) -> ApiResult<Json<Value>> {
    require_role(
        &ctx.claims,
        &[Role::AgencyAdmin],
        "publishing inspection results",
    )?;
    super::bounded(&input.results, "results", 10_000)?;
    let row = load(&ctx.pool, id).await?;
    if row.results.is_some() {
        return Err(ApiError::conflict(
            "results",
            "the results of this draw are already published",
        ));
    }
    let drawn: Vec<Value> = row.draw.as_array().cloned().unwrap_or_default();
    // Natural persons among the drawn targets: their names are masked in what is published.
    let persons: Vec<String> = sqlx::query_scalar!(
        r#"SELECT id::text AS "id!" FROM inspection_targets WHERE id = ANY($1) AND party_kind = 'natural_person'"#,
        &row.target_pool
    )
    .fetch_all(&ctx.pool)
    .await?;
    let mut recorded = Vec::new();
    let mut published = Vec::new();
    for (i, d) in drawn.iter().enumerate() {
        let target = d["target"].as_str().unwrap_or_default();
        let r = input
            .results
            .iter()
            .find(|r| r.target.to_string() == target)
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "results",
                    format!("no result for drawn target {target} (draw entry {i})"),
                )
            })?;
        text(&r.outcome, &format!("results[{i}].outcome"), 1_000)?;
        optional_text(&r.handling, &format!("results[{i}].handling"), 1_000)?;
        let name = d["targetName"].as_str().unwrap_or_default();
        recorded.push(
            json!({"target": name, "outcome": r.outcome.trim(), "handling": r.handling.trim()}),
        );
        let public_name = if persons.iter().any(|p| p == target) {
            redaction::mask_name(name)
        } else {
            redaction::redact_free_text(name)
        };
        published.push(json!({"target": public_name,
            "outcome": redaction::redact_free_text(r.outcome.trim()),
            "handling": redaction::redact_free_text(r.handling.trim())}));
    }
    if input.results.len() != drawn.len() {
        return Err(ApiError::unprocessable(
            "results",
            "give one result per drawn target, for drawn targets only",
        ));
    }
    let now = st.clock.now();
    let mut tx = ctx.pool.begin().await?;
    sqlx::query!(
        "UPDATE inspection_draws SET results = $2, results_published_at = $3 WHERE id = $1",
        id,
        json!(recorded),
        now,
    )
    .execute(&mut *tx)
    .await?;
    let payload = json!({"draw": id, "item": row.item, "listVersion": row.list_version,
        "seed": row.seed, "targetPool": row.target_pool.len(), "publishedAt": now, "results": published});
    outbox::enqueue(&mut tx, &ctx.tenant, Event::InspectionResults, &payload).await?;
    tx.commit().await?;
    st.kick_relay(&ctx.tenant.agency);
    Ok(Json(payload))
}
