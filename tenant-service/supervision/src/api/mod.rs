//! The workspace's JSON API under `/api/v1/supervision`. Every parameter is validated and a
//! refusal names it (`{ "error", "field" }`, the tenant service's [`ApiError`]); no input
//! produces a 500.
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /agencies`, `GET /agencies/{agency}` | supervisors, staff (own) | agencies in scope with their compliance |
//! | `GET /decisions` | supervisors, staff (own) | decision metadata across agencies, filtered, keyset-paginated |
//! | `POST/GET /notices`, `GET /notices/{id}`, `POST /notices/{id}/{answer,accept,return,escalate}` | [`notices`] | notices (通报), rectification, accountability |
//! | `POST/GET /inspections` | supervisors | inspections (scope, agencies, findings) |
//! | `GET /milestones`, `POST /milestones/{confirm,return}` | [`milestones`] | reported milestones and their confirmation |
//! | `POST/GET /reviews`, `GET /reviews/{id}`, `POST /reviews/{id}/cases/{decision}` | [`reviews`] | case-file review campaigns |

pub mod agencies;
pub mod milestones;
pub mod notices;
pub mod reviews;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use sanxiang_tenant_service::error::ApiError;

use crate::AppState;
use crate::scope::Scope;

pub use sanxiang_tenant_service::api::{
    JsonBody, QueryParams, bounded, date_in_range, optional_text, parse_id, text,
};
pub type ApiResult<T> = Result<T, ApiError>;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/agencies", get(agencies::list))
        .route("/agencies/{agency}", get(agencies::one))
        .route("/decisions", get(agencies::decisions))
        .route("/notices", post(notices::issue).get(notices::list))
        .route("/notices/{id}", get(notices::one))
        .route("/notices/{id}/answer", post(notices::answer))
        .route("/notices/{id}/accept", post(notices::accept))
        .route("/notices/{id}/return", post(notices::return_answer))
        .route("/notices/{id}/escalate", post(notices::escalate))
        .route(
            "/inspections",
            post(notices::inspect).get(notices::inspections),
        )
        .route("/milestones", get(milestones::list))
        .route("/milestones/confirm", post(milestones::confirm))
        .route("/milestones/return", post(milestones::return_report))
        .route("/reviews", post(reviews::create).get(reviews::list))
        .route("/reviews/{id}", get(reviews::one))
        .route("/reviews/{id}/cases/{decision}", post(reviews::score));
    Router::new()
        .nest("/api/v1/supervision", api)
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
