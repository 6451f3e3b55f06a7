//! Disclosure of issued decisions (事后公开): preview, publication approved by a second
//! person of the agency (公开信息审核), correction as a new version (纠错), and the exemption
//! of decisions that involve secrets or privacy, which needs a legal basis and the agency
//! admin's approval.
//!
//! ```text
//! issued ─publish (request)─► awaiting approval ─approve (another person, approver role)─► published v1
//! published vN ─correct─► published vN+1        (event `correction`, the full publication)
//! involvesSecrets + notOnlineBasis ─exemption (agency admin)─► exempt (not online, visible to supervisors)
//! ```

use super::decisions::{
    Decision, DecisionStatus, DecisionStep, DecisionView, load, load_tx, query_decision, view,
};
use super::tenant::{PathId, Tenant, Write};
use super::{JsonBody, text};
use crate::auth::{Role, require_role};
use crate::error::{ApiError, ApiResult};
use crate::outbox::{self, Event};
use crate::redaction::{self, DecisionText, PartyKind};
use crate::state::{AppState, TenantCtx};
use crate::tenants;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The publication: what the public sees (and what is pushed upward).
#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize)]
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
    /// 1 for the first publication, +1 for each correction.
    pub version: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction_reason: Option<String>,
}

/// Public text that replaces the decision's own in a correction.
#[derive(Debug, Default, Clone)]
pub struct PublicText {
    pub facts: Option<String>,
    pub legal_basis: Option<String>,
    pub conclusion: Option<String>,
}

/// The redacted publication of `d`, or why it is not published online.
fn build(
    d: &Decision,
    t: &tenants::Tenant,
    text: &PublicText,
    version: i32,
    at: DateTime<Utc>,
) -> ApiResult<Publication> {
    let kind = if d.party_kind == "organisation" {
        PartyKind::Organisation
    } else {
        PartyKind::NaturalPerson
    };
    if d.not_online_approved_by.is_some() {
        return Err(ApiError::conflict(
            "involvesSecrets",
            format!(
                "the decision is exempt from online publication (basis: {}; approved by {})",
                d.not_online_basis.as_deref().unwrap_or(""),
                d.not_online_approved_by.as_deref().unwrap_or("")
            ),
        ));
    }
    let redacted = redaction::redact_decision(&DecisionText {
        party_kind: kind,
        party_name: &d.party_name,
        party_id_number: d.party_id_number.as_deref(),
        party_phone: d.party_phone.as_deref(),
        party_address: d.party_address.as_deref(),
        party_is_minor: d.party_is_minor,
        involves_secrets: d.involves_secrets,
        publish_after_processing: d.publish_after_processing,
        decided_on: d.decided_on,
        other_persons: &d.other_persons,
        facts: text.facts.as_deref().unwrap_or(&d.facts),
        legal_basis: text.legal_basis.as_deref().unwrap_or(&d.legal_basis),
        conclusion: text.conclusion.as_deref().unwrap_or(&d.conclusion),
    })
    .map_err(|why| match why {
        redaction::NotPublishable::Secrets => ApiError::unprocessable(
            why.field(),
            "the decision involves secrets or privacy: the agency admin must approve its exemption \
             (POST …/exemption, with notOnlineBasis), or it is published redacted with publishAfterProcessing",
        ),
        _ => ApiError::unprocessable(why.field(), why.reason()),
    })?;
    Ok(Publication {
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
        published_at: at,
        version,
        correction_reason: None,
    })
}

fn require_issued(d: &Decision) -> ApiResult<()> {
    DecisionStatus::require(&d.status, DecisionStep::Publish).map(drop)
}

/// `POST …/preview`: the publication as it would be.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct PublicationPreview {
    pub preview: Publication,
}

/// What the publication would be, without writing anything.
#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/decisions/{id}/publication/preview",
    tag = "decisions",
    summary = "The publication as it would be (redacted); nothing written",
    params(super::openapi::AgencyIdPath),
    responses((status = 200, description = "OK", body = PublicationPreview), super::openapi::WriteErrors)
)]
pub async fn preview(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
) -> ApiResult<Json<PublicationPreview>> {
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "previewing publications",
    )?;
    let d = load(&ctx.pool, id, false).await?;
    require_issued(&d)?;
    let p = build(
        &d,
        &ctx.tenant,
        &PublicText::default(),
        d.publication_version.max(0) + 1,
        st.clock.now(),
    )?;
    Ok(Json(PublicationPreview { preview: p }))
}

/// Publishes `d` now (inside `tx`): stores the publication, enqueues the event.
async fn publish_now(
    st: &AppState,
    ctx: &TenantCtx,
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    d: &Decision,
    approved_by: Option<&str>,
) -> ApiResult<Decision> {
    let now = st.clock.now();
    let publication = build(d, &ctx.tenant, &PublicText::default(), 1, now)?;
    let json = serde_json::to_value(&publication).map_err(ApiError::internal)?;
    let updated: Decision = query_decision!(
        "UPDATE decisions SET published_at = $2, publication = $3, publication_approved_by = $4, \
         publication_version = 1 WHERE id = $1 RETURNING ",
        "",
        d.id,
        now,
        &json,
        approved_by,
    )
    .fetch_one(&mut **tx)
    .await?;
    outbox::enqueue(tx, &ctx.tenant, Event::Disclosure, &publication).await?;
    crate::upward::decision_changed(tx, &ctx.tenant, d.id).await?;
    Ok(updated)
}

/// Asks for publication. With an approver role configured (default: agency admin), the
/// decision waits for a second person's approval (202); without, it is published at once.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/publish",
    operation_id = "publish_decision",
    tag = "decisions",
    summary = "Request publication (202, awaiting a second person's approval), or publish when no approval is configured",
    description = "422 (field partyIsMinor or involvesSecrets) for cases not published online.",
    params(super::openapi::AgencyIdPath),
    responses((status = 202, description = "Awaiting approval", body = super::decisions::DecisionView), (status = 200, description = "OK", body = super::decisions::DecisionView), super::openapi::WriteErrors)
)]
pub async fn publish(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
) -> ApiResult<(StatusCode, Json<DecisionView>)> {
    require_role(
        &ctx.claims,
        &[Role::Officer, Role::AgencyAdmin],
        "publishing decisions",
    )?;
    let mut tx = ctx.pool.begin().await?;
    let d = load_tx(&mut tx, id).await?;
    require_issued(&d)?;
    if d.published_at.is_some() {
        return Err(ApiError::conflict(
            "publishedAt",
            "decision is already published",
        ));
    }
    // Fails early when the decision may not be published online at all.
    build(&d, &ctx.tenant, &PublicText::default(), 1, st.clock.now())?;
    let (status, d) = match st.policy.publication_approver {
        None => (
            StatusCode::OK,
            publish_now(&st, &ctx, &mut tx, &d, None).await?,
        ),
        Some(_) => {
            if let Some(by) = &d.publication_requested_by {
                return Err(ApiError::conflict(
                    "publicationRequestedBy",
                    format!("publication was already requested by {by} and awaits approval"),
                ));
            }
            let d: Decision = query_decision!(
                "UPDATE decisions SET publication_requested_by = $2, publication_requested_at = $3 \
                 WHERE id = $1 RETURNING ",
                "",
                id,
                &ctx.claims.sub,
                st.clock.now(),
            )
            .fetch_one(&mut *tx)
            .await?;
            (StatusCode::ACCEPTED, d)
        }
    };
    tx.commit().await?;
    if status == StatusCode::OK {
        st.metrics
            .disclosures_published_total
            .with_label_values(&ctx.tenant.labels())
            .inc();
        st.kick_relay(&ctx.tenant.agency);
    }
    Ok((status, Json(view(&ctx.pool, d).await?)))
}

/// A second person of the agency, holding the approver role, approves the publication.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/publication/approve",
    tag = "decisions",
    summary = "Approve a requested publication (approver role, another person); publishes and pushes upward",
    params(super::openapi::AgencyIdPath),
    responses((status = 200, description = "OK", body = super::decisions::DecisionView), super::openapi::WriteErrors)
)]
pub async fn approve(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
) -> ApiResult<Json<DecisionView>> {
    let Some(role) = st.policy.publication_approver else {
        return Err(ApiError::conflict(
            "publication",
            "publications need no approval here: POST …/publish publishes",
        ));
    };
    require_role(&ctx.claims, &[role], "approving publications")?;
    let mut tx = ctx.pool.begin().await?;
    let d = load_tx(&mut tx, id).await?;
    require_issued(&d)?;
    if d.published_at.is_some() {
        return Err(ApiError::conflict(
            "publishedAt",
            "decision is already published",
        ));
    }
    let Some(requested_by) = d.publication_requested_by.clone() else {
        return Err(ApiError::conflict(
            "publicationRequestedBy",
            "publication was not requested: POST …/publish first",
        ));
    };
    if requested_by == ctx.claims.sub {
        return Err(ApiError::forbidden(
            "the publication must be approved by a second person, not by the one who requested it",
        )
        .with_field("sub"));
    }
    let d = publish_now(&st, &ctx, &mut tx, &d, Some(&ctx.claims.sub)).await?;
    tx.commit().await?;
    st.metrics
        .disclosures_published_total
        .with_label_values(&ctx.tenant.labels())
        .inc();
    st.kick_relay(&ctx.tenant.agency);
    Ok(Json(view(&ctx.pool, d).await?))
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CorrectionInput {
    /// What was wrong (published with the correction).
    pub reason: String,
    pub facts: Option<String>,
    pub legal_basis: Option<String>,
    pub conclusion: Option<String>,
}

/// Corrects a publication: a new version, re-redacted, pushed as a `correction` event that
/// carries the full corrected publication. The approver role corrects.
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/publication/correct",
    tag = "decisions",
    summary = "Correct a publication: a new version, pushed as a correction event",
    params(super::openapi::AgencyIdPath),
    request_body = CorrectionInput,
    responses((status = 200, description = "OK", body = super::decisions::DecisionView), super::openapi::WriteErrors)
)]
pub async fn correct(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<CorrectionInput>,
) -> ApiResult<Json<DecisionView>> {
    let roles = match st.policy.publication_approver {
        Some(r) => vec![r],
        None => vec![Role::Officer, Role::AgencyAdmin],
    };
    require_role(&ctx.claims, &roles, "correcting publications")?;
    text(&input.reason, "reason", 2_000)?;
    let replacement = PublicText {
        facts: input.facts.clone(),
        legal_basis: input.legal_basis.clone(),
        conclusion: input.conclusion.clone(),
    };
    for (v, field, max) in [
        (&replacement.facts, "facts", 20_000),
        (&replacement.legal_basis, "legalBasis", 4_000),
        (&replacement.conclusion, "conclusion", 4_000),
    ] {
        if let Some(v) = v {
            text(v, field, max)?;
        }
    }
    let mut tx = ctx.pool.begin().await?;
    let d = load_tx(&mut tx, id).await?;
    if d.published_at.is_none() || d.withdrawn_at.is_some() {
        return Err(ApiError::conflict(
            "publishedAt",
            "only a decision that is online can have its publication corrected",
        ));
    }
    let version = d.publication_version.max(1) + 1;
    let mut p = build(&d, &ctx.tenant, &replacement, version, st.clock.now())?;
    p.correction_reason = Some(input.reason.trim().to_string());
    let json = serde_json::to_value(&p).map_err(ApiError::internal)?;
    let updated: Decision = query_decision!(
        "UPDATE decisions SET publication = $2, publication_version = $3 WHERE id = $1 RETURNING ",
        "",
        id,
        &json,
        version,
    )
    .fetch_one(&mut *tx)
    .await?;
    outbox::enqueue(&mut tx, &ctx.tenant, Event::Correction, &p).await?;
    tx.commit().await?;
    st.kick_relay(&ctx.tenant.agency);
    Ok(Json(view(&ctx.pool, updated).await?))
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExemptionInput {
    /// The admin's opinion on the legal basis.
    pub opinion: String,
}

/// The agency admin approves that a decision involving secrets or privacy is not published
/// online, on its recorded legal basis. The decision then leaves the disclosure duty and
/// stays visible to supervisors as exempted (`GET …/decisions?exempted=true`).
#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/decisions/{id}/exemption",
    tag = "decisions",
    summary = "Approve not publishing online a decision that involves secrets or privacy (agency_admin)",
    params(super::openapi::AgencyIdPath),
    request_body = ExemptionInput,
    responses((status = 200, description = "OK", body = super::decisions::DecisionView), super::openapi::WriteErrors)
)]
pub async fn approve_exemption(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<ExemptionInput>,
) -> ApiResult<Json<DecisionView>> {
    require_role(
        &ctx.claims,
        &[Role::AgencyAdmin],
        "approving an exemption from online publication",
    )?;
    text(&input.opinion, "opinion", 2_000)?;
    let mut tx = ctx.pool.begin().await?;
    let d = load_tx(&mut tx, id).await?;
    if !d.involves_secrets || d.publish_after_processing {
        return Err(ApiError::unprocessable(
            "involvesSecrets",
            "only a decision that involves secrets or privacy, and is not published after processing, \
             can be exempted from online publication",
        ));
    }
    let Some(basis) = d
        .not_online_basis
        .as_deref()
        .filter(|b| !b.trim().is_empty())
    else {
        return Err(ApiError::unprocessable(
            "notOnlineBasis",
            "the decision records no legal basis for not publishing",
        ));
    };
    if d.published_at.is_some() {
        return Err(ApiError::conflict(
            "publishedAt",
            "decision is already published",
        ));
    }
    if d.not_online_approved_by.is_some() {
        return Err(ApiError::conflict(
            "notOnlineApprovedBy",
            "exemption already approved",
        ));
    }
    tracing::info!(decision = %id, basis, by = %ctx.claims.sub, "exemption from online publication approved");
    let d: Decision = query_decision!(
        "UPDATE decisions SET not_online_approved_by = $2, not_online_approved_at = $3, \
         not_online_opinion = $4, not_online_requested_by = created_by, publish_online = FALSE \
         WHERE id = $1 RETURNING ",
        "",
        id,
        &ctx.claims.sub,
        st.clock.now(),
        input.opinion.trim(),
    )
    .fetch_one(&mut *tx)
    .await?;
    crate::upward::decision_changed(&mut tx, &ctx.tenant, id).await?;
    tx.commit().await?;
    Ok(Json(view(&ctx.pool, d).await?))
}
