//! HTTP API.

pub mod actions;
pub mod decisions;
mod extract;
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
pub mod tenant;
mod validate;
pub mod withdrawal;

pub use extract::{JsonBody, QueryParams, parse_json, parse_json_or_default};
pub use validate::{
    YEARS, bounded, date_in_range, instant_in_range, optional_text, parse_id, required, text,
};

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use std::time::Instant;

/// A router that remembers every (method, path) it serves, so a test can check that the
/// OpenAPI document lists each one. Generic over the state for the supervision workspace,
/// whose router is built and checked the same way.
pub struct Routes<S = AppState> {
    pub router: Router<S>,
    pub list: Vec<(&'static str, &'static str)>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self {
            router: Router::new(),
            list: Vec::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    fn add(mut self, method: &'static str, path: &'static str, mr: MethodRouter<S>) -> Self {
        self.router = self.router.route(path, mr);
        self.list.push((method, path));
        self
    }
    pub fn get<H, T>(self, path: &'static str, h: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.add("get", path, axum::routing::get(h))
    }
    pub fn post<H, T>(self, path: &'static str, h: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.add("post", path, axum::routing::post(h))
    }
    pub fn put<H, T>(self, path: &'static str, h: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.add("put", path, axum::routing::put(h))
    }
    pub fn delete<H, T>(self, path: &'static str, h: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.add("delete", path, axum::routing::delete(h))
    }

    /// Where these routes and an OpenAPI `document` (its JSON text) disagree: a route served
    /// but not documented, or documented but not served; and an operation id the document
    /// gives twice (OpenAPI requires them unique: client generators name their methods
    /// after them, and utoipa takes them from the handlers' names, which repeat across
    /// modules). Empty when all is well.
    pub fn disagreements(&self, document: &str) -> Vec<String> {
        let doc: serde_json::Value =
            serde_json::from_str(document).expect("an OpenAPI document is JSON");
        let empty = serde_json::Map::new();
        let paths = doc["paths"].as_object().unwrap_or(&empty);
        let mut out = Vec::new();
        for (method, path) in &self.list {
            if paths
                .get(*path)
                .and_then(|item| item.get(*method))
                .is_none()
            {
                out.push(format!("{method} {path} missing in the OpenAPI document"));
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap_or(&empty) {
                if let Some(id) = op["operationId"].as_str()
                    && !ids.insert(id)
                {
                    out.push(format!("operationId {id} twice (again at {method} {path})"));
                }
                // An item's shared parameters are not an operation.
                if method != "parameters"
                    && !self.list.iter().any(|(m, p)| m == method && p == path)
                {
                    out.push(format!("{method} {path} documented but not served"));
                }
            }
        }
        out
    }
}

/// Every route of the public API port.
pub fn routes() -> Routes {
    Routes::default()
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
    openapi::serve_text(openapi::DOCUMENT.as_str())
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
        let routes = routes();
        assert!(routes.list.len() >= 30);
        assert_eq!(
            routes.disagreements(&openapi::document()),
            Vec::<String>::new()
        );
    }
}
