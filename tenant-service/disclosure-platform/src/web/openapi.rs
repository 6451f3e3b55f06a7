//! The OpenAPI document of the JSON API, generated as the tenant service's is: from the
//! handlers' `#[utoipa::path]` attributes ([`super::api`]) and the response types'
//! `ToSchema` derives, so that a route or a field cannot change without the document
//! changing with it. `cargo xtask generate` writes it to
//! `tenant-service/disclosure-platform/openapi.json` (and `--check` fails on drift); the
//! platform serves the same text at `/api/v1/openapi.json`. A router test checks that every
//! path here is routed and every routed API path is here.
//!
//! What lives here rather than beside a handler: the query parameters (documentation only:
//! the handlers parse the raw query with [`super::params::Params`], which refuses unknown
//! parameters) and the error response sets (every error is the one JSON shape
//! [`ProblemBody`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{IntoParams, IntoResponses, OpenApi, PartialSchema, ToSchema};

use super::api;
use super::problem::ProblemBody;

/// API paths (also checked against the router).
pub const PATHS: [&str; 6] = [
    "/api/v1/decisions",
    "/api/v1/decisions/{id}",
    "/api/v1/withdrawals",
    "/api/v1/agencies",
    "/api/v1/agencies/{name}",
    "/api/v1/openapi.json",
];

/// A string schema with these values.
fn string_enum<I: IntoIterator<Item = &'static str>>(values: I) -> RefOr<Schema> {
    RefOr::T(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values))
            .into(),
    )
}

macro_rules! string_enum_schema {
    ($(#[$doc:meta])* $name:ident => $values:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_enum($values)
            }
        }
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                stringify!($name).into()
            }
        }
    };
}

string_enum_schema!(
    /// Enforcement category codes ([`crate::labels::category_codes`]).
    Category => crate::labels::category_codes()
);
string_enum_schema!(
    /// Procedure codes ([`crate::labels::PROCEDURES`]).
    Procedure => crate::labels::PROCEDURES.map(|(code, _)| code)
);
string_enum_schema!(
    /// Orders of a decision search.
    SearchOrder => ["newest", "relevance"]
);

/// The parameters of a decision search (`/api/v1/decisions`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Chinese full text (words or any substring of 2+ Han characters); at most 100
    /// characters. Every space-separated word must occur.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// City code (GB/T 2260)
    #[param(pattern = "^[1-9][0-9]{5}$")]
    pub city: Option<String>,
    /// County code (GB/T 2260)
    #[param(pattern = "^[1-9][0-9]{5}$")]
    pub county: Option<String>,
    /// Agency: name, official name (or part of it) or unified social credit code
    pub agency: Option<String>,
    /// Enforcement category
    #[param(value_type = Option<Category>, inline)]
    pub category: Option<String>,
    /// Procedure
    #[param(value_type = Option<Procedure>, inline)]
    pub procedure: Option<String>,
    /// Decided on or after (YYYY-MM-DD)
    pub from: Option<chrono::NaiveDate>,
    /// Decided on or before (YYYY-MM-DD)
    pub to: Option<chrono::NaiveDate>,
    /// Unified social credit code of the party
    pub party: Option<String>,
    /// Exact document number (决定书文号)
    #[param(rename = "documentNumber")]
    pub document_number: Option<String>,
    /// newest (default) or relevance (with q)
    #[param(value_type = Option<SearchOrder>, inline)]
    pub sort: Option<String>,
    /// Keyset cursor: the `next` of the previous page
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 20)
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The parameters of `/api/v1/withdrawals`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WithdrawalParams {
    /// Agency name
    pub agency: Option<String>,
    /// Keyset cursor: the `next` of the previous page
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 20)
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The parameters of `/api/v1/agencies`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryParams {
    /// City code
    #[param(pattern = "^[1-9][0-9]{5}$")]
    pub city: Option<String>,
    /// County code
    #[param(pattern = "^[1-9][0-9]{5}$")]
    pub county: Option<String>,
}

/// The parameters of `/api/v1/agencies/{name}` besides the name.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgencyParams {
    /// Date YYYY-MM-DD (default today, China time): which version of each list is shown
    pub on: Option<chrono::NaiveDate>,
}

fn problem(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(RefOr::Ref(Ref::from_schema_name("Problem")))),
            )
            .build(),
    )
}

/// The responses other than 200 with these status codes.
fn error_responses(codes: &[u16]) -> BTreeMap<String, RefOr<Response>> {
    codes
        .iter()
        .map(|&c| {
            let response = match c {
                304 => RefOr::T(
                    ResponseBuilder::new()
                        .description("Not modified (If-None-Match matched the ETag)")
                        .build(),
                ),
                400 => problem("A parameter is invalid; `parameter` names it"),
                404 => problem("Not found"),
                429 => problem("Rate limit of this client exceeded (Retry-After given)"),
                503 => problem("The index cannot be read at the moment"),
                _ => unreachable!("no documented response {c}"),
            };
            (c.to_string(), response)
        })
        .collect()
}

macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident = [$($code:literal),*]) => {
        $(#[$doc])*
        pub struct $name;
        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                error_responses(&[$($code),*])
            }
        }
    };
}

error_set!(
    /// Searches and lists: unchanged (304), a bad or unknown parameter (400), too many
    /// requests (429), the index unreadable (503).
    ListErrors = [304, 400, 429, 503]
);
error_set!(
    /// One item: [`ListErrors`] and not found (404).
    ItemErrors = [304, 400, 404, 429, 503]
);
error_set!(
    /// This document: unchanged (304), too many requests (429).
    MetaErrors = [304, 429]
);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sanxiang disclosure platform (行政执法信息公示平台) public API",
        version = "1",
        description = "Redacted publications of administrative enforcement decisions of one province, withdrawal notices, the directory of agencies and their annual statistics. No authentication; rate limited per client (429 with Retry-After). Pagination is by keyset cursor. Successful responses carry an ETag and Cache-Control; a request whose If-None-Match matches the ETag gets 304. Errors are JSON `Problem`s {error, parameter, status}; unknown parameters are refused (400)."
    ),
    components(schemas(ProblemBody)),
    paths(
        api::decisions,
        api::decision,
        api::withdrawals,
        api::agencies,
        api::agency,
        api::openapi,
    )
)]
pub struct ApiDoc;

/// The document as committed in `tenant-service/disclosure-platform/openapi.json` and
/// served.
pub fn document() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .expect("an OpenAPI document serializes");
    text.push('\n');
    text
}

/// The served text, built once.
pub static DOCUMENT: LazyLock<String> = LazyLock::new(document);

#[cfg(test)]
mod tests {
    use serde_json::Value;

    #[test]
    fn total_names_the_count_limit() {
        let doc: Value = serde_json::from_str(&super::document()).unwrap();
        let total = &doc["components"]["schemas"]["DecisionPage"]["properties"]["total"];
        let description = total["description"].as_str().unwrap();
        assert!(
            description.contains(&format!(" {}:", crate::search::COUNT_LIMIT)),
            "{description}"
        );
    }
}
