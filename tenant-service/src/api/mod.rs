//! HTTP API.

pub mod actions;
pub mod decisions;
pub mod inspections;
pub mod list_reviewers;
pub mod lists;
pub mod matters;
pub mod milestones;
pub mod openapi;
pub mod personnel;
pub mod publication;
pub mod review_state;
pub mod reviews;
pub mod statistics;
pub mod withdrawal;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde::de::DeserializeOwned;
use std::time::Instant;
use uuid::Uuid;

/// A router that remembers every (method, path) it serves, so a test can check that the
/// OpenAPI document lists each one.
pub struct Routes {
    pub router: Router<AppState>,
    pub list: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            list: Vec::new(),
        }
    }
    fn add(mut self, method: &'static str, path: &'static str, mr: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, mr);
        self.list.push((method, path));
        self
    }
    fn get<H, T>(self, path: &'static str, h: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("get", path, axum::routing::get(h))
    }
    fn post<H, T>(self, path: &'static str, h: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("post", path, axum::routing::post(h))
    }
    fn put<H, T>(self, path: &'static str, h: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("put", path, axum::routing::put(h))
    }
    fn delete<H, T>(self, path: &'static str, h: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("delete", path, axum::routing::delete(h))
    }
}

/// Every route of the public API port.
pub fn routes() -> Routes {
    Routes::new()
        .get("/openapi.json", openapi)
        .get("/api/v1/agencies/{agency}/personnel", personnel::list)
        .post("/api/v1/agencies/{agency}/personnel", personnel::create)
        .get(
            "/api/v1/agencies/{agency}/personnel/{id}",
            personnel::get_one,
        )
        .put(
            "/api/v1/agencies/{agency}/personnel/{id}",
            personnel::update,
        )
        .delete(
            "/api/v1/agencies/{agency}/personnel/{id}",
            personnel::deactivate,
        )
        .get("/api/v1/agencies/{agency}/actions", actions::list)
        .post("/api/v1/agencies/{agency}/actions", actions::create)
        .get("/api/v1/agencies/{agency}/actions/{id}", actions::get_one)
        .get(
            "/api/v1/agencies/{agency}/actions/{id}/record",
            actions::record::read_record,
        )
        .post(
            "/api/v1/agencies/{agency}/actions/{id}/record",
            actions::record::append_record,
        )
        .get(
            "/api/v1/agencies/{agency}/actions/{id}/record/verify",
            actions::record::verify_record,
        )
        .get(
            "/api/v1/agencies/{agency}/actions/{id}/access-log",
            actions::record::access_log,
        )
        .get("/api/v1/agencies/{agency}/decisions", decisions::list)
        .post("/api/v1/agencies/{agency}/decisions", decisions::create)
        .get(
            "/api/v1/agencies/{agency}/decisions/{id}",
            decisions::get_one,
        )
        .put(
            "/api/v1/agencies/{agency}/decisions/{id}",
            decisions::update,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/issue",
            decisions::issue,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/publish",
            publication::publish,
        )
        .get(
            "/api/v1/agencies/{agency}/decisions/{id}/publication/preview",
            publication::preview,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/publication/approve",
            publication::approve,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/publication/correct",
            publication::correct,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/exemption",
            publication::approve_exemption,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/revoke",
            withdrawal::revoke,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/withdraw",
            withdrawal::withdraw,
        )
        .get(
            "/api/v1/agencies/{agency}/decisions/{id}/review",
            reviews::get_review,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/review/submit",
            reviews::submit,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/review/opinion",
            reviews::opinion,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/review/resubmit",
            reviews::resubmit,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/review/disagree",
            reviews::disagree,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/review/negotiation",
            reviews::negotiation,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/review/collective-decision",
            reviews::collective_decision,
        )
        .post(
            "/api/v1/agencies/{agency}/decisions/{id}/review/close",
            reviews::close,
        )
        .get("/api/v1/agencies/{agency}/deadlines", decisions::deadline)
        .get("/api/v1/agencies/{agency}/lists/{kind}", lists::get_list)
        .post("/api/v1/agencies/{agency}/lists/{kind}", lists::create)
        .get(
            "/api/v1/agencies/{agency}/lists/{kind}/versions/{version}",
            lists::get_version,
        )
        .put(
            "/api/v1/agencies/{agency}/lists/{kind}/versions/{version}",
            lists::revise,
        )
        .post(
            "/api/v1/agencies/{agency}/lists/{kind}/versions/{version}/submit",
            lists::submit,
        )
        .post(
            "/api/v1/agencies/{agency}/lists/{kind}/versions/{version}/review",
            lists::review,
        )
        .post(
            "/api/v1/agencies/{agency}/lists/{kind}/versions/{version}/publish",
            lists::publish,
        )
        .post(
            "/api/v1/agencies/{agency}/inspection-targets",
            inspections::register_target,
        )
        .post(
            "/api/v1/agencies/{agency}/inspection-draws",
            inspections::create_draw,
        )
        .get(
            "/api/v1/agencies/{agency}/inspection-draws/{id}/verify",
            inspections::verify,
        )
        .post(
            "/api/v1/agencies/{agency}/inspection-draws/{id}/results",
            inspections::publish_results,
        )
        .get("/api/v1/agencies/{agency}/milestones", milestones::list)
        .post("/api/v1/agencies/{agency}/milestones", milestones::report)
        .get(
            "/api/v1/agencies/{agency}/statistics/{year}",
            statistics::get_statistics,
        )
        .post(
            "/api/v1/agencies/{agency}/statistics/{year}",
            statistics::report_statistics,
        )
}

/// The public API router (with metrics middleware and JSON fallback).
pub fn router(state: AppState) -> Router {
    routes()
        .router
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi::DOCUMENT.as_str(),
    )
}

async fn fallback() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this route",
    )
}

/// Query-string extractor whose errors are `{ error, field }` 400s naming the parameter.
pub struct QueryParams<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for QueryParams<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        if let Some(q) = parts.uri.query()
            && q.to_ascii_lowercase().contains("%00")
        {
            let field = q
                .split('&')
                .find(|kv| kv.to_ascii_lowercase().contains("%00"))
                .and_then(|kv| kv.split('=').next())
                .filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or("query");
            return Err(ApiError::bad_request(
                field,
                format!("{field} must not contain NUL characters"),
            ));
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryParams(v)),
            Err(e) => {
                let text = e.body_text();
                // "Failed to deserialize query string: limit: invalid digit found in string"
                let detail = text
                    .split_once("query string: ")
                    .map(|x| x.1)
                    .unwrap_or(&text);
                let field = detail
                    .split_once(": ")
                    .map(|x| x.0)
                    .filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or("query");
                Err(ApiError::bad_request(
                    field,
                    format!("invalid query parameter: {detail}"),
                ))
            }
        }
    }
}

async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let start = Instant::now();
    let resp = next.run(req).await;
    let m = &state.metrics;
    m.http_request_duration_seconds
        .with_label_values(&[&route])
        .observe(start.elapsed().as_secs_f64());
    m.http_requests_total
        .with_label_values(&[&route, resp.status().as_str()])
        .inc();
    resp
}

/// JSON body extractor whose errors are `{ error, field }` 400s naming the field.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request("body", format!("cannot read body: {e}")))?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The first string of a JSON value that holds a NUL character, as a field path.
fn nul_path(v: &serde_json::Value, path: &mut Vec<String>) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
            path.push(format!("[{i}]"));
            let found = nul_path(item, path);
            if !found {
                path.pop();
            }
            found
        }),
        serde_json::Value::Object(map) => map.iter().any(|(k, item)| {
            path.push(k.clone());
            let found = k.contains('\0') || nul_path(item, path);
            if !found {
                path.pop();
            }
            found
        }),
        _ => false,
    }
}

/// Refuses NUL characters anywhere in a JSON body: PostgreSQL cannot store them in text,
/// and no field of this API has a use for them.
fn refuse_nul(bytes: &[u8]) -> Result<(), ApiError> {
    // In JSON a NUL can only be written as the escape \u0000; look for it before parsing.
    if !bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(()); // the typed parse reports the syntax error
    };
    let mut path = Vec::new();
    if !nul_path(&value, &mut path) {
        return Ok(());
    }
    let field = path.iter().fold(String::new(), |mut acc, p| {
        if !acc.is_empty() && !p.starts_with('[') {
            acc.push('.');
        }
        acc.push_str(p);
        acc
    });
    let field = if field.is_empty() {
        "body".to_string()
    } else {
        field
    };
    Err(ApiError::bad_request(
        &field,
        format!("{field} must not contain NUL characters"),
    ))
}

/// Parses JSON, naming the offending field on error.
/// A JSON body whose every field is optional: an empty body means the defaults, anything
/// else is parsed (and refused) exactly as [`parse_json`] does.
pub fn parse_json_or_default<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        Ok(T::default())
    } else {
        parse_json(bytes)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request("body", "a JSON body is required"));
    }
    refuse_nul(bytes)?;
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        // "missing field `x`" is reported at the parent's path; name the field itself.
        let field = match msg.split('`').nth(1) {
            Some(name) if msg.starts_with("missing field") => {
                if path == "." || path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                }
            }
            _ if path == "." || path.is_empty() => "body".to_string(),
            _ => path,
        };
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        ApiError::bad_request(&field, format!("invalid request: {msg}"))
    })
}

/// Parses a UUID path segment.
pub fn parse_id(s: &str, field: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::bad_request(field, format!("'{s}' is not a UUID")))
}

/// Requires a non-blank string.
pub fn required(value: &str, field: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.contains('\0') {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must not contain NUL characters"),
        ));
    }
    Ok(())
}

/// An optional string of at most `max` characters (may be blank).
pub fn optional_text(value: &str, field: &str, max: usize) -> Result<(), ApiError> {
    if value.contains('\0') {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must not contain NUL characters"),
        ));
    }
    if value.chars().count() > max {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// The years any date of this API may fall in: enforcement records of this century.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Requires a date within [`YEARS`].
pub fn date_in_range(date: chrono::NaiveDate, field: &str) -> Result<(), ApiError> {
    use chrono::Datelike;
    if !YEARS.contains(&date.year()) {
        return Err(ApiError::bad_request(
            field,
            format!(
                "{field} must be a date in the years {} to {}",
                YEARS.start(),
                YEARS.end()
            ),
        ));
    }
    Ok(())
}

/// Requires an instant within [`YEARS`] (China Standard Time).
pub fn instant_in_range(at: chrono::DateTime<chrono::Utc>, field: &str) -> Result<(), ApiError> {
    date_in_range(
        at.with_timezone(&sanxiang_domain::china_offset())
            .date_naive(),
        field,
    )
}

/// Requires a list of at most `max` items.
pub fn bounded<T>(items: &[T], field: &str, max: usize) -> Result<(), ApiError> {
    if items.len() > max {
        return Err(ApiError::bad_request(
            field,
            format!("{field} may list at most {max} items, got {}", items.len()),
        ));
    }
    Ok(())
}

/// Requires a string of at most `max` characters, non-blank.
pub fn text(value: &str, field: &str, max: usize) -> Result<(), ApiError> {
    required(value, field)?;
    if value.chars().count() > max {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        working_days: u32,
    }
    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Req {
        name: String,
        category: sanxiang_domain::EnforcementCategory,
        inner: Option<Inner>,
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Req>(br#"{"category":"penalty"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("name"));
        let e = parse_json::<Req>(br#"{"name":"x","category":"nope"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("category"));
        assert!(e.error.contains("unknown category"), "{}", e.error);
        let e =
            parse_json::<Req>(br#"{"name":"x","category":"penalty","inner":{"workingDays":-1}}"#)
                .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("inner.workingDays"));
        let e = parse_json::<Req>(br#"{"name":"x","category":"penalty","inner":{}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("inner.workingDays"));
        let e = parse_json::<Req>(b"").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("body"));
        let e = parse_json::<Req>(br#"{"name":"x","category":"penalty","extra":1}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("extra"));
        assert!(e.error.contains("extra"));
    }

    #[test]
    fn every_route_is_in_the_openapi_document() {
        let doc: serde_json::Value = serde_json::from_str(&openapi::document()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let routes = routes();
        assert!(routes.list.len() >= 30);
        for (method, path) in &routes.list {
            let item = paths
                .get(*path)
                .unwrap_or_else(|| panic!("{path} missing in openapi.json"));
            assert!(
                item.get(*method).is_some(),
                "{method} {path} missing in openapi.json"
            );
        }
        // and nothing documented that is not served
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys() {
                if method == "parameters" {
                    continue;
                }
                assert!(
                    routes.list.iter().any(|(m, p)| m == method && p == path),
                    "{method} {path} documented but not served"
                );
            }
        }
    }
}
