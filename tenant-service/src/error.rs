//! API errors: every failure is a JSON body `{ "error": "...", "field": "..." }`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error returned by the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub field: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
            field: None,
        }
    }
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    /// 400: malformed input for `field`.
    pub fn bad_request(field: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error).with_field(field)
    }
    /// 422: well-formed input that a rule rejects.
    pub fn unprocessable(field: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, error).with_field(field)
    }
    pub fn conflict(field: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, error).with_field(field)
    }
    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error)
    }
    pub fn unauthorized(error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, error)
    }
    pub fn forbidden(error: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, error)
    }
    pub fn unavailable(error: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, error)
    }
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({}): {}", self.status, field, self.error),
            None => write!(f, "{}: {}", self.status, self.error),
        }
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: &self.error,
            field: self.field.as_deref(),
        };
        (self.status, Json(body)).into_response()
    }
}

/// The constraints whose violation is the client's doing, with the field it names and what
/// the client reads: unique constraints are 409 (the thing exists already), CHECK
/// constraints 422 (a rule of the data). One table, so that no handler maps a constraint
/// by itself and a new constraint is named here once.
const CONSTRAINTS: &[(&str, StatusCode, &str, &str)] = &[
    (
        "personnel_certificate_number_key",
        StatusCode::CONFLICT,
        "certificateNumber",
        "certificateNumber is already on the personnel list",
    ),
    (
        "personnel_subject_key",
        StatusCode::CONFLICT,
        "subject",
        "subject is already another person's",
    ),
    (
        "decisions_document_number_key",
        StatusCode::CONFLICT,
        "documentNumber",
        "documentNumber is already used by another decision",
    ),
    (
        "milestone_reports_pkey",
        StatusCode::CONFLICT,
        "due",
        "this milestone occurrence was already reported done",
    ),
    (
        "inspection_targets_item_name_key",
        StatusCode::CONFLICT,
        "name",
        "this target is already in the item's pool",
    ),
    (
        "decisions_category_known",
        StatusCode::UNPROCESSABLE_ENTITY,
        "category",
        "category is not an enforcement category",
    ),
    (
        "actions_category_known",
        StatusCode::UNPROCESSABLE_ENTITY,
        "category",
        "category is not an enforcement category",
    ),
    (
        "personnel_categories_known",
        StatusCode::UNPROCESSABLE_ENTITY,
        "categories",
        "categories must all be enforcement categories",
    ),
    (
        "actions_kind_known",
        StatusCode::UNPROCESSABLE_ENTITY,
        "kind",
        "kind is not a known kind of action",
    ),
];

/// A constraint violation as the API answers it: a known constraint names its field; an
/// unknown unique or foreign-key violation is still a 409 or 422 (never a 500), naming the
/// constraint.
fn constraint_violation(db: &dyn sqlx::error::DatabaseError) -> Option<ApiError> {
    let name = db.constraint().unwrap_or_default();
    if let Some((_, status, field, message)) = CONSTRAINTS.iter().find(|c| c.0 == name) {
        return Some(ApiError::new(*status, *message).with_field(*field));
    }
    let status = match db.kind() {
        sqlx::error::ErrorKind::UniqueViolation => StatusCode::CONFLICT,
        sqlx::error::ErrorKind::ForeignKeyViolation | sqlx::error::ErrorKind::CheckViolation => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        _ => return None,
    };
    tracing::warn!(
        constraint = name,
        "constraint without a field in error::CONSTRAINTS"
    );
    Some(ApiError::new(status, format!("refused by the rule {name}")).with_field("body"))
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::PoolTimedOut = e {
            return Self::unavailable("tenant database busy, retry later");
        }
        if let sqlx::Error::Database(db) = &e
            && let Some(refused) = constraint_violation(db.as_ref())
        {
            return refused;
        }
        if let sqlx::Error::Database(db) = &e
            && let Some(code) = db.code()
        {
            match code.as_ref() {
                // query_canceled (statement_timeout), lock_not_available (lock_timeout):
                // another session holds what this request needs; it never waits forever.
                "57014" | "55P03" => {
                    tracing::warn!(error = %e, "tenant query timed out");
                    return Self::unavailable(
                        "tenant database busy (query timed out), retry later",
                    );
                }
                // Data exceptions the validation should have caught: still the client's
                // input, never a 500.
                "22021" | "22P05" | "22001" | "22003" | "22008" | "22007" => {
                    tracing::warn!(error = %e, "input refused by the database");
                    return Self::bad_request("body", format!("input refused: {}", db.message()));
                }
                _ => {}
            }
        }
        Self::internal(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
