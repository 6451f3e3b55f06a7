//! The workspace's JSON API under `/api/v1/supervision`. Every parameter is validated and a
//! refusal names it (`{ "error", "field" }`, the tenant service's [`ApiError`]); no input
//! produces a 500.
//!
//! The reference for every route's parameters, bodies, responses and errors is the OpenAPI
//! document ([`openapi`]), built from the handlers' `#[utoipa::path]` attributes and the
//! typed request and response bodies (`Serialize` + `utoipa::ToSchema`, never ad-hoc JSON):
//! served at `GET /api/v1/supervision/openapi.json` (without a token) and committed as
//! `tenant-service/supervision/openapi.json` (`cargo xtask generate`). A unit test checks
//! that it lists every route of [`routes`], and nothing else.
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /agencies`, `GET /agencies/{agency}` | supervisors, staff (own) | agencies in scope with their compliance |
//! | `GET /decisions` | supervisors, staff (own) | decision metadata across agencies, filtered, keyset-paginated |
//! | `POST/GET /notices`, `GET /notices/{id}`, `POST /notices/{id}/{answer,accept,return,escalate}` | [`notices`] | notices (通报), rectification, accountability |
//! | `POST /inspections` | supervisors | record an inspection (scope, agencies, findings) |
//! | `GET /inspections` | supervisors, staff (own) | inspections that looked at an agency in scope |
//! | `GET /milestones`, `POST /milestones/{confirm,return}` | [`milestones`] | reported milestones and their confirmation |
//! | `POST/GET /reviews`, `GET /reviews/{id}`, `POST /reviews/{id}/cases/{decision}` | [`reviews`] | case-file review campaigns |
//!
//! Every list is keyset-paginated the same way: `limit` (1 to 500, default 100) rows in a
//! stable total order; a full page carries `next`, which the client passes back unchanged
//! as `after` for the following page; `next` is null on the last page; an `after` that is
//! not such a value is a 400 naming `after`. `/agencies` and `/decisions` have their own
//! cursors; notices, inspections, milestones and reviews share [`cursor`].

pub mod agencies;
pub mod cursor;
pub mod milestones;
pub mod notices;
pub mod openapi;
pub mod reviews;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use sanxiang_tenant_service::api::Routes;
use sanxiang_tenant_service::error::ApiError;

use crate::AppState;
use crate::scope::Scope;

pub use sanxiang_tenant_service::api::{
    JsonBody, QueryParams, bounded, date_in_range, optional_text, parse_id, text,
};
pub type ApiResult<T> = Result<T, ApiError>;

/// Every route, with its full path (as the OpenAPI document names it).
pub fn routes() -> Routes<AppState> {
    Routes::default()
        .get("/api/v1/supervision/openapi.json", openapi::serve)
        .get("/api/v1/supervision/agencies", agencies::list)
        .get("/api/v1/supervision/agencies/{agency}", agencies::one)
        .get("/api/v1/supervision/decisions", agencies::decisions)
        .post("/api/v1/supervision/notices", notices::issue)
        .get("/api/v1/supervision/notices", notices::list)
        .get("/api/v1/supervision/notices/{id}", notices::one)
        .post("/api/v1/supervision/notices/{id}/answer", notices::answer)
        .post("/api/v1/supervision/notices/{id}/accept", notices::accept)
        .post(
            "/api/v1/supervision/notices/{id}/return",
            notices::return_answer,
        )
        .post(
            "/api/v1/supervision/notices/{id}/escalate",
            notices::escalate,
        )
        .post("/api/v1/supervision/inspections", notices::inspect)
        .get("/api/v1/supervision/inspections", notices::inspections)
        .get("/api/v1/supervision/milestones", milestones::list)
        .post(
            "/api/v1/supervision/milestones/confirm",
            milestones::confirm,
        )
        .post(
            "/api/v1/supervision/milestones/return",
            milestones::return_report,
        )
        .post("/api/v1/supervision/reviews", reviews::create)
        .get("/api/v1/supervision/reviews", reviews::list)
        .get("/api/v1/supervision/reviews/{id}", reviews::one)
        .post(
            "/api/v1/supervision/reviews/{id}/cases/{decision}",
            reviews::score,
        )
}

pub fn router(state: AppState) -> Router {
    routes()
        .router
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .with_state(state)
}

/// The verified scope of a request.
pub async fn scope(st: &AppState, headers: &HeaderMap) -> ApiResult<Scope> {
    let claims = st.verifier.from_headers(headers).await?;
    Scope::of(&claims)
}

/// A GB/T 2260 code parameter (six digits).
pub fn place_code(value: &Option<String>, field: &str) -> ApiResult<()> {
    if let Some(v) = value
        && !(v.len() == 6 && v.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must be a six-digit GB/T 2260 code"),
        ));
    }
    Ok(())
}

/// An agency name parameter (the Agency object's name).
pub fn agency_name(value: &str, field: &str) -> ApiResult<()> {
    if value.is_empty()
        || value.len() > 253
        || !value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must be an agency name (lower-case letters, digits, '-', '.')"),
        ));
    }
    Ok(())
}

/// A page size: 1..=500, default 100.
pub fn limit(value: Option<i64>) -> ApiResult<i64> {
    match value {
        None => Ok(100),
        Some(n) if (1..=500).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(
            "limit",
            "limit must be between 1 and 500",
        )),
    }
}

/// 403 for an agency out of scope (or unknown: a refusal does not reveal which exist).
pub fn out_of_scope(agency: &str) -> ApiError {
    ApiError::forbidden(format!("this token may not access agency '{agency}'")).with_field("agency")
}

/// The place of `agency` if it is known and in `scope`, else 403.
pub async fn agency_in_scope(
    st: &AppState,
    scope: &Scope,
    agency: &str,
) -> ApiResult<(String, String, String)> {
    agency_name(agency, "agency")?;
    let place: Option<(String, String, String)> = sqlx::query!(
        "SELECT province, city, county FROM agencies WHERE agency = $1",
        agency
    )
    .map(|r| (r.province, r.city, r.county))
    .fetch_optional(&st.pool)
    .await?;
    match place {
        Some((p, c, k)) if scope.contains(&p, &c, &k, agency) => Ok((p, c, k)),
        _ => Err(out_of_scope(agency)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_openapi_document() {
        let routes = routes();
        assert!(routes.list.len() >= 20);
        assert_eq!(
            routes.disagreements(&openapi::document()),
            Vec::<String>::new()
        );
    }
}
