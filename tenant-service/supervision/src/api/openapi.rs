//! The workspace's OpenAPI document, built as the tenant service's is
//! (`sanxiang_tenant_service::api::openapi`): from the handlers' `#[utoipa::path]` attributes
//! and the request/response types' `ToSchema` derives, so that a route or a field cannot
//! change without the document changing with it. `cargo xtask generate` writes it to
//! `tenant-service/supervision/openapi.json` (and `--check` fails on drift); the workspace
//! serves the same text at `/api/v1/supervision/openapi.json`.
//!
//! Taken from the tenant service (`sanxiang_tenant_service::api::openapi`) rather than
//! written again, because the workspace answers with the same errors and accepts the same
//! tokens: the error body ([`ErrorBody`], every error), the error sets that fit
//! (`ReadErrors`, `ConflictErrors`) and the macro that makes the others, the bearer-token
//! security scheme, the agency path parameter and the schemas of the domain codes
//! (categories, procedures). What is the workspace's own lives here: its other path
//! parameters and error sets.

use axum::response::IntoResponse;
use sanxiang_tenant_service::api::openapi::{
    BearerAuth, CategoryCode, ErrorBody, ProcedureCode, committed_text, serve_text,
};
use sanxiang_tenant_service::error_set;
use std::sync::LazyLock;
use utoipa::{IntoParams, OpenApi};

use super::{agencies, milestones, notices, reviews};

error_set!(
    /// No or a bad token (401), a role or place that has no access (403), and malformed
    /// input (400, naming the parameter or JSON path).
    InputErrors = [400, 401, 403]
);
error_set!(
    /// [`InputErrors`] and a rule that refuses well-formed input (422).
    InputRuleErrors = [400, 401, 403, 422]
);

/// `/notices/{id}`, `/reviews/{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdPath {
    /// The notice's or case-file review's id (a UUID).
    pub id: uuid::Uuid,
}

/// `/reviews/{id}/cases/{decision}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CasePath {
    /// The case-file review's id (a UUID).
    pub id: uuid::Uuid,
    /// The sampled decision's id (a UUID).
    pub decision: uuid::Uuid,
}

/// This document.
#[utoipa::path(get, path = "/api/v1/supervision/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn serve() -> impl IntoResponse {
    serve_text(DOCUMENT.as_str())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sanxiang supervision workspace",
        version = "0.1.0",
        description = "The supervision workspace (执法监督) of county, city and province justice bureaus: agencies in scope with their compliance, decisions across agencies, notices (通报) with a rectification deadline, inspections, milestone confirmation and case-file review (案卷评查). Tokens are the tenant service's: supervisors see and act on their place, agency staff read what concerns their agency and answer its notices. Errors are JSON {error, field}: 400 malformed (field names the parameter or JSON path), 401 no or a bad token, 403 out of scope or role (an agency out of scope is 403 whether or not it exists), 404 unknown in scope, 409 wrong state, 422 a rule refuses well-formed input."
    ),
    servers((url = "/")),
    security(("bearer" = [])),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody, CategoryCode, ProcedureCode)),
    paths(
        serve,
        agencies::list, agencies::one, agencies::decisions,
        notices::issue, notices::list, notices::one, notices::answer, notices::accept,
        notices::return_answer, notices::escalate, notices::inspect, notices::inspections,
        milestones::list, milestones::confirm, milestones::return_report,
        reviews::create, reviews::list, reviews::one, reviews::score,
    )
)]
pub struct ApiDoc;

/// The document as committed in `tenant-service/supervision/openapi.json` and served.
pub fn document() -> String {
    committed_text(&ApiDoc::openapi())
}

/// The served text, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(document);
