//! The full-process record of an action (全过程记录): append-only entries, each hashed onto
//! the previous one and signed with the agency's key held outside the database, so that a
//! changed or removed entry shows as the first broken link; every read is logged
//! (记录信息调阅监督).

use super::super::{JsonBody, QueryParams, instant_in_range, optional_text, text};
use crate::api::tenant::{PathId, Read, Tenant, Write};
use crate::auth::{Role, require_role};
use crate::error::{ApiError, ApiResult};
use crate::hashchain::{self, EntryFields, StoredEntry};
use crate::outbox::{self, Event};
use crate::state::{AppState, TenantCtx};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntryInput {
    /// `text` (document), `av` (audio/video evidence), `event`.
    #[schema(pattern = "^(text|av|event)$")]
    pub kind: String,
    pub title: String,
    #[serde(default)]
    pub content: String,
    /// SHA-256 of the media file, hex; required for `av`.
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub media_sha256: Option<String>,
    /// When the recorded event happened (default: when it is entered).
    pub occurred_at: Option<DateTime<Utc>>,
    /// The content involves secrets or privacy: refused as A/V.
    #[serde(default)]
    pub involves_secrets_or_privacy: bool,
}

#[derive(utoipa::ToSchema, Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub action_id: Uuid,
    pub seq: i32,
    pub kind: String,
    pub title: String,
    pub content: String,
    pub media_sha256: Option<String>,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub prev_hash: String,
    pub hash: String,
    pub signature: Option<String>,
    pub key_id: Option<String>,
}

/// The agency's record-signing key, read from the key directory (outside the database).
fn signing_key(st: &AppState, agency: &str) -> ApiResult<Option<hashchain::SigningKey>> {
    let Some(dir) = &st.policy.signing_key_dir else {
        return Ok(None);
    };
    let path = dir.join(format!("{agency}.key"));
    let text = std::fs::read_to_string(&path).map_err(|e| {
        tracing::error!(path = %path.display(), error = %e, "record-signing key unreadable");
        ApiError::unavailable(format!(
            "the record-signing key of agency '{agency}' is not available"
        ))
    })?;
    hashchain::SigningKey::from_hex(&text)
        .map(Some)
        .map_err(|e| ApiError::internal(format!("record-signing key {}: {e}", path.display())))
}

#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/actions/{id}/record",
    tag = "record",
    summary = "Append a record entry (hash-chained, immutable)",
    params(crate::api::openapi::AgencyIdPath),
    request_body = EntryInput,
    responses((status = 201, description = "Created", body = Entry), crate::api::openapi::ReadErrors)
)]
pub async fn append_record(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<EntryInput>,
) -> ApiResult<(StatusCode, Json<Entry>)> {
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "recording enforcement actions",
    )?;
    if !matches!(input.kind.as_str(), "text" | "av" | "event") {
        return Err(ApiError::bad_request(
            "kind",
            "kind must be one of text, av, event",
        ));
    }
    text(&input.title, "title", 256)?;
    optional_text(&input.content, "content", 100_000)?;
    let now = st.clock.now();
    if let Some(t) = input.occurred_at {
        instant_in_range(t, "occurredAt")?;
        if t > now {
            return Err(ApiError::unprocessable(
                "occurredAt",
                "occurredAt must not be in the future",
            ));
        }
    }
    if input.kind == "av" && input.involves_secrets_or_privacy {
        return Err(ApiError::unprocessable(
            "kind",
            "content involving secrets or privacy is not recorded as audio/video",
        ));
    }
    let media = match (input.kind.as_str(), input.media_sha256.as_deref()) {
        ("av", None) => {
            return Err(ApiError::bad_request(
                "mediaSha256",
                "A/V evidence needs mediaSha256, the SHA-256 of the media",
            ));
        }
        (_, Some(h)) if !hashchain::is_sha256_hex(h) => {
            return Err(ApiError::bad_request(
                "mediaSha256",
                "mediaSha256 must be 64 hex characters",
            ));
        }
        (_, h) => h.map(str::to_ascii_lowercase),
    };
    if input.kind == "text" && input.content.trim().is_empty() {
        return Err(ApiError::bad_request(
            "content",
            "a text record needs content",
        ));
    }
    let mut tx = ctx.pool.begin().await?;
    let no_av = sqlx::query_scalar!("SELECT no_av FROM actions WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(no_av) = no_av else {
        return Err(ApiError::not_found(format!("action {id} not found")));
    };
    if no_av && input.kind == "av" {
        return Err(ApiError::unprocessable(
            "kind",
            "the action's matter involves secrets or privacy: no audio/video recording is attached",
        ));
    }
    let key = signing_key(&st, &ctx.tenant.agency)?;
    let last: Option<(i32, String)> = sqlx::query!(
        "SELECT seq, hash FROM record_entries WHERE action_id = $1 ORDER BY seq DESC LIMIT 1",
        id
    )
    .map(|r| (r.seq, r.hash))
    .fetch_optional(&mut *tx)
    .await?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, hashchain::GENESIS.to_string()),
    };
    let recorded_at = hashchain::db_precision(Utc::now());
    let occurred_at = input.occurred_at.map(hashchain::db_precision);
    let hash = hashchain::entry_hash(&EntryFields {
        action_id: id,
        seq,
        kind: &input.kind,
        title: input.title.trim(),
        content: &input.content,
        media_sha256: media.as_deref(),
        recorded_by: &ctx.claims.sub,
        recorded_at,
        occurred_at,
        prev_hash: &prev,
    });
    let signature = key.as_ref().map(|k| k.sign(&hash));
    let key_id = key.as_ref().map(hashchain::SigningKey::key_id);
    let e = sqlx::query_as!(
        Entry,
        "INSERT INTO record_entries (action_id, seq, kind, title, content, media_sha256, recorded_by, recorded_at, \
         occurred_at, prev_hash, hash, signature, key_id) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) \
         RETURNING action_id, seq, kind, title, content, media_sha256, recorded_by, recorded_at, \
         occurred_at, prev_hash, hash, signature, key_id",
        id,
        seq,
        &input.kind,
        input.title.trim(),
        &input.content,
        media.as_deref(),
        &ctx.claims.sub,
        recorded_at,
        occurred_at,
        &prev,
        &hash,
        signature.as_deref(),
        key_id.as_deref(),
    )
    .fetch_one(&mut *tx)
    .await?;
    // The new head goes upward (kept by the province): a rewrite of this database with a
    // recomputed chain no longer matches it.
    let anchor = serde_json::json!({
        "agency": ctx.tenant.agency, "actionId": id, "headHash": hash, "sequence": seq,
        "at": recorded_at, "signature": signature, "keyId": key_id,
    });
    outbox::enqueue(&mut tx, &ctx.tenant, Event::Anchor, &anchor).await?;
    tx.commit().await?;
    st.kick_relay(&ctx.tenant.agency);
    Ok((StatusCode::CREATED, Json(e)))
}

/// `GET …/record`: the entries, and whether their hash chain is intact.
#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    pub action_id: Uuid,
    pub intact: bool,
    pub entries: Vec<Entry>,
}

/// The last entry of an intact chain: what an anchor kept upward names.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct ChainHead {
    pub sequence: i32,
    pub hash: String,
}

/// `GET …/record/verify`: the outcome of checking the chain, the signatures and an anchor.
#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordCheck {
    pub action_id: Uuid,
    pub intact: bool,
    /// Entries checked.
    pub entries: usize,
    /// Entries that carry the agency's signature.
    pub signed: usize,
    /// Null when the record is intact.
    pub first_broken_link: Option<hashchain::BrokenLink>,
    /// Only when the record is intact: its last entry (null for an empty record).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ChainHead>)]
    pub head: Option<Option<ChainHead>>,
}

/// `GET …/access-log`: who read the action's record, oldest first.
#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLog {
    pub action_id: Uuid,
    pub items: Vec<AccessRow>,
}

#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    /// Why the record is read (logged with the read).
    pub purpose: Option<String>,
}

async fn log_access(ctx: &TenantCtx, action: Uuid, purpose: &str) -> ApiResult<()> {
    sqlx::query!(
        "INSERT INTO record_access_log (action_id, accessed_by, role, purpose) VALUES ($1,$2,$3,$4)",
        action,
        &ctx.claims.sub,
        ctx.claims.role.as_str(),
        purpose,
    )
    .execute(&ctx.pool)
    .await?;
    Ok(())
}

async fn load_entries(pool: &PgPool, id: Uuid) -> ApiResult<Option<Vec<Entry>>> {
    let exists = sqlx::query_scalar!("SELECT id FROM actions WHERE id = $1", id)
        .fetch_optional(pool)
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let entries = sqlx::query_as!(
        Entry,
        "SELECT action_id, seq, kind, title, content, media_sha256, recorded_by, recorded_at, \
         occurred_at, prev_hash, hash, signature, key_id \
         FROM record_entries WHERE action_id = $1 ORDER BY seq",
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(Some(entries))
}

fn verify_entries(entries: &[Entry]) -> Result<usize, hashchain::BrokenLink> {
    hashchain::verify(entries.iter().map(|e| StoredEntry {
        fields: EntryFields {
            action_id: e.action_id,
            seq: e.seq,
            kind: &e.kind,
            title: &e.title,
            content: &e.content,
            media_sha256: e.media_sha256.as_deref(),
            recorded_by: &e.recorded_by,
            recorded_at: e.recorded_at,
            occurred_at: e.occurred_at,
            prev_hash: &e.prev_hash,
        },
        hash: &e.hash,
    }))
}

/// Reads the record; the read itself is logged.
#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/actions/{id}/record",
    tag = "record",
    summary = "Read the record (the read is logged)",
    params(crate::api::openapi::AgencyIdPath, ReadQuery),
    responses((status = 200, description = "OK", body = RecordView), crate::api::openapi::ReadErrors)
)]
pub async fn read_record(
    PathId(id): PathId,
    QueryParams(q): QueryParams<ReadQuery>,
    ctx: Tenant<Read>,
) -> ApiResult<Json<RecordView>> {
    let entries = load_entries(&ctx.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("action {id} not found")))?;
    log_access(&ctx, id, q.purpose.as_deref().unwrap_or("read")).await?;
    let intact = verify_entries(&entries).is_ok();
    Ok(Json(RecordView {
        action_id: id,
        intact,
        entries,
    }))
}

#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct VerifyQuery {
    /// A chain head kept upward (the `anchor` event's `headHash`) …
    pub anchor_hash: Option<String>,
    /// … and its `sequence`.
    pub anchor_sequence: Option<i32>,
}

/// Checks the signatures and a supplied anchor; the first broken link, if any.
fn check_signatures_and_anchor(
    entries: &[Entry],
    key: Option<&hashchain::SigningKey>,
    anchor: Option<(&str, i32)>,
) -> Result<(), hashchain::BrokenLink> {
    if let Some(k) = key {
        for e in entries {
            if let Some(sig) = &e.signature
                && !k.verifies(&e.hash, sig)
            {
                return Err(hashchain::BrokenLink {
                    seq: e.seq,
                    reason: "the agency's signature does not match the entry".to_string(),
                });
            }
        }
    }
    if let Some((hash, seq)) = anchor {
        match entries.iter().find(|e| e.seq == seq) {
            None => {
                return Err(hashchain::BrokenLink {
                    seq,
                    reason: format!("entry {seq} of the anchor is missing (entries deleted)"),
                });
            }
            Some(e) if !e.hash.eq_ignore_ascii_case(hash) => {
                return Err(hashchain::BrokenLink {
                    seq,
                    reason: "entry does not match the anchor kept upward (chain rewritten)"
                        .to_string(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Verifies the hash chain, the agency's signatures and, if given, an anchor kept upward,
/// and names the first broken link; the check is logged.
#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/actions/{id}/record/verify",
    tag = "record",
    summary = "Verify the hash chain, signatures and an anchor; names the first broken link (logged)",
    params(crate::api::openapi::AgencyIdPath, VerifyQuery),
    responses((status = 200, description = "OK", body = RecordCheck), crate::api::openapi::ReadErrors)
)]
pub async fn verify_record(
    State(st): State<AppState>,
    PathId(id): PathId,
    QueryParams(q): QueryParams<VerifyQuery>,
    ctx: Tenant<Read>,
) -> ApiResult<Json<RecordCheck>> {
    let anchor = match (&q.anchor_hash, q.anchor_sequence) {
        (None, None) => None,
        (Some(h), Some(seq)) if hashchain::is_sha256_hex(h) && seq >= 1 => Some((h.as_str(), seq)),
        (Some(h), Some(_)) if !hashchain::is_sha256_hex(h) => {
            return Err(ApiError::bad_request(
                "anchorHash",
                "anchorHash must be 64 hex characters",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "anchorSequence",
                "anchorSequence must be at least 1",
            ));
        }
        _ => {
            return Err(ApiError::bad_request(
                "anchorHash",
                "give anchorHash and anchorSequence together",
            ));
        }
    };
    let entries = load_entries(&ctx.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("action {id} not found")))?;
    log_access(&ctx, id, "verify").await?;
    let key = signing_key(&st, &ctx.tenant.agency)?;
    let result = verify_entries(&entries)
        .and_then(|n| check_signatures_and_anchor(&entries, key.as_ref(), anchor).map(|()| n));
    let signed = entries.iter().filter(|e| e.signature.is_some()).count();
    Ok(Json(match result {
        Ok(n) => RecordCheck {
            action_id: id,
            intact: true,
            entries: n,
            signed,
            first_broken_link: None,
            head: Some(entries.last().map(|e| ChainHead {
                sequence: e.seq,
                hash: e.hash.clone(),
            })),
        },
        Err(b) => RecordCheck {
            action_id: id,
            intact: false,
            entries: entries.len(),
            signed,
            first_broken_link: Some(b),
            head: None,
        },
    }))
}

#[derive(utoipa::ToSchema, Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct AccessRow {
    pub id: i64,
    pub accessed_by: String,
    pub role: String,
    pub purpose: String,
    pub accessed_at: DateTime<Utc>,
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/actions/{id}/access-log",
    tag = "record",
    summary = "Who read the record, when",
    params(crate::api::openapi::AgencyIdPath),
    responses((status = 200, description = "OK", body = AccessLog), crate::api::openapi::ReadErrors)
)]
pub async fn access_log(PathId(id): PathId, ctx: Tenant<Read>) -> ApiResult<Json<AccessLog>> {
    let rows = sqlx::query_as!(
        AccessRow,
        "SELECT id, accessed_by, role, purpose, accessed_at FROM record_access_log WHERE action_id = $1 ORDER BY id",
        id
    )
    .fetch_all(&ctx.pool)
    .await?;
    Ok(Json(AccessLog {
        action_id: id,
        items: rows,
    }))
}
