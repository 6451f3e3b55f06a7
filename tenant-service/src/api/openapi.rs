//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and the
//! request/response types' `ToSchema` derives, so that a route or a field cannot change
//! without the document changing with it. `cargo xtask generate` writes it to
//! `tenant-service/openapi.json` (and `--check` fails on drift); the service serves the
//! same text at `/openapi.json`.
//!
//! What lives here rather than beside a type: the path parameter sets shared by many routes,
//! the error response sets (every error is the one JSON shape [`ErrorBody`]), and the
//! schemas of the domain types of `sanxiang-domain` (categories, procedures, list kinds,
//! matters, discretion), which cannot derive `ToSchema` there (the domain crate stays free of
//! HTTP concerns) and are built here from the domain's own constants.

use super::{
    actions, decisions, inspections, lists, milestones, personnel, publication, reviews,
    statistics, withdrawal,
};
use sanxiang_domain::{EnforcementCategory, ListKind, Procedure};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, RefOr};
use utoipa::{IntoParams, Modify, OpenApi, PartialSchema, ToSchema};

/// The JSON body of every error.
#[derive(ToSchema)]
#[schema(as = Error)]
#[allow(dead_code)] // the schema of crate::error::ApiError's body
pub struct ErrorBody {
    /// What is wrong and which rule.
    error: String,
    /// The offending field (JSON path), header or parameter.
    field: Option<String>,
}

/// `/{agency}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgencyPath {
    /// Agency (tenant) id.
    pub agency: String,
}

/// `/{agency}/…/{id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgencyIdPath {
    /// Agency (tenant) id.
    pub agency: String,
    /// The resource id (a UUID).
    pub id: uuid::Uuid,
}

/// `/{agency}/statistics/{year}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgencyYearPath {
    /// Agency (tenant) id.
    pub agency: String,
    pub year: i32,
}

/// `/{agency}/lists/{kind}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgencyListPath {
    /// Agency (tenant) id.
    pub agency: String,
    /// List kind.
    #[param(value_type = ListKindCode)]
    pub kind: String,
}

/// `/{agency}/lists/{kind}/versions/{version}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgencyListVersionPath {
    /// Agency (tenant) id.
    pub agency: String,
    /// List kind.
    #[param(value_type = ListKindCode)]
    pub kind: String,
    /// Version number (1, 2, …).
    #[param(minimum = 1)]
    pub version: i32,
}

/// One `Error` response per status code in `codes` (the body of [`error_set!`]'s sets).
pub fn error_responses(codes: &[u16]) -> BTreeMap<String, RefOr<Response>> {
    codes
        .iter()
        .map(|c| {
            let response = ResponseBuilder::new()
                .description("Error")
                .content(
                    "application/json",
                    Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        "Error",
                    )))),
                )
                .build();
            (c.to_string(), RefOr::T(response))
        })
        .collect()
}

/// A set of error responses, for `responses(...)` of `#[utoipa::path]`. Exported for the
/// other services of the workspace that answer with the same [`ErrorBody`] (the supervision
/// workspace), so that an error is documented one way; the caller registers [`ErrorBody`].
#[macro_export]
macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident = [$($code:literal),*]) => {
        $(#[$doc])*
        pub struct $name;
        impl ::utoipa::IntoResponses for $name {
            fn responses() -> ::std::collections::BTreeMap<
                String,
                ::utoipa::openapi::RefOr<::utoipa::openapi::response::Response>,
            > {
                $crate::api::openapi::error_responses(&[$($code),*])
            }
        }
    };
}

error_set!(
    /// Malformed input, no or a bad token, no access to the agency, nothing there.
    ReadErrors = [400, 401, 403, 404]
);
error_set!(
    /// [`ReadErrors`] and a state that forbids the step (409).
    ConflictErrors = [400, 401, 403, 404, 409]
);
error_set!(
    /// [`ReadErrors`] and a rule that refuses well-formed input (422).
    RuleErrors = [400, 401, 403, 404, 422]
);
error_set!(
    /// [`ReadErrors`], 409 and 422.
    WriteErrors = [400, 401, 403, 404, 409, 422]
);

fn string_enum<I: IntoIterator<Item = &'static str>>(values: I) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn integer() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer)
}

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

macro_rules! domain_schema {
    ($(#[$doc:meta])* $name:ident as $as:literal => $body:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                RefOr::T($body)
            }
        }
        impl ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                $as.into()
            }
        }
    };
}

const LEVELS: [&str; 4] = ["minor", "general", "serious", "especially_serious"];

domain_schema!(
    /// [`EnforcementCategory`] as the API writes it (its code).
    CategoryCode as "Category" =>
        string_enum(EnforcementCategory::ALL.map(EnforcementCategory::code)).into()
);
domain_schema!(
    /// [`Procedure`].
    ProcedureCode as "Procedure" => string_enum(Procedure::ALL.map(Procedure::as_str)).into()
);
domain_schema!(
    /// [`ListKind`].
    ListKindCode as "ListKind" => string_enum(ListKind::ALL.map(ListKind::as_str)).into()
);
domain_schema!(
    /// [`sanxiang_domain::DecisionDiscretion`].
    DiscretionSchema as "DecisionDiscretion" => ObjectBuilder::new()
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
        .property("circumstanceLevel", string_enum(LEVELS).description(Some("轻微/一般/严重/特别严重")))
        .required("circumstanceLevel")
        .property("penaltyKind", string())
        .required("penaltyKind")
        .property("amountYuan", integer())
        .property("applied", string_enum(["standard", "lighter", "mitigated", "not_punished"]))
        .property("statementOfReasons", string().description(Some(
            "说明理由: required outside the level's range or when 从轻/减轻/不予处罚 is applied",
        )))
        .into()
);
domain_schema!(
    /// [`sanxiang_domain::Matter`]: an item of the matter list.
    MatterSchema as "Matter" => {
        let level = ObjectBuilder::new()
            .required("level")
            .required("penaltyKind")
            .property("level", string_enum(LEVELS).description(Some("轻微/一般/严重/特别严重")))
            .property("penaltyKind", string())
            .property("minYuan", integer())
            .property("maxYuan", integer());
        ObjectBuilder::new()
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
            .property("code", string())
            .property("name", string())
            .property("category", reference("Category"))
            .property("procedures", ArrayBuilder::new().items(reference("Procedure")))
            .property("legalBasis", string())
            .property("exercisingSubject", string())
            .property("legalReviewRequired", ObjectBuilder::new().schema_type(Type::Boolean)
                .description(Some("Decisions always need an approving legal review (重大执法决定法制审核目录)")))
            .property("disclosureOverride", ObjectBuilder::new()
                .required("workingDays").required("legalBasis")
                .property("workingDays", integer().minimum(Some(1)).maximum(Some(60)))
                .property("legalBasis", string()))
            .property("avRecording", string_enum(["as_needed", "full_process"]))
            .property("benchmark", ObjectBuilder::new()
                .required("violation").required("levels")
                .property("violation", string())
                .property("levels", ArrayBuilder::new().items(level))
                .property("notPunishedWhen", string())
                .property("lighterWhen", string())
                .property("mitigatedWhen", string()))
            .required("code").required("name").required("category").required("procedures")
            .required("legalBasis").required("exercisingSubject")
            .into()
    }
);

/// The bearer-token security scheme, which the derive cannot express; the supervision
/// workspace, which accepts the same tokens, documents it with this too.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".into());
        http.description = Some(
            "Claims: sub, role (officer|reviewer|agency_admin|city_supervisor|county_supervisor|\
             province_supervisor|market_regulator), agency, city, county, province, exp"
                .into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "OK", body = Object)))]
#[allow(dead_code)] // the route is served by super::openapi
async fn this_document() {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sanxiang tenant service",
        version = "0.1.0",
        description = "Three systems of administrative law enforcement: personnel list, full-process record, legal review, decisions and disclosure. Errors are JSON {error, field}. A token that may not access an agency gets 403 whether or not the agency exists."
    ),
    servers((url = "/")),
    security(("bearer" = [])),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody, CategoryCode, ProcedureCode, ListKindCode, DiscretionSchema, MatterSchema)),
    paths(
        this_document,
        personnel::list, personnel::create, personnel::get_one, personnel::update, personnel::deactivate,
        actions::list, actions::create, actions::get_one, actions::record::read_record, actions::record::append_record,
        actions::record::verify_record, actions::record::access_log,
        decisions::list, decisions::create, decisions::get_one, decisions::update, decisions::issue,
        publication::publish, publication::preview, publication::approve, publication::correct,
        publication::approve_exemption,
        withdrawal::revoke, withdrawal::withdraw,
        reviews::get_review, reviews::submit, reviews::opinion, reviews::resubmit, reviews::disagree,
        reviews::negotiation, reviews::close, reviews::collective_decision,
        milestones::list, milestones::report,
        decisions::deadline,
        statistics::get_statistics, statistics::report_statistics,
        lists::get_list, lists::create, lists::get_version, lists::revise, lists::submit, lists::review,
        lists::publish,
        inspections::register_target, inspections::create_draw, inspections::verify,
        inspections::publish_results,
    )
)]
pub struct ApiDoc;

/// The document as committed in `tenant-service/openapi.json` and served at `/openapi.json`.
pub fn document() -> String {
    committed_text(&ApiDoc::openapi())
}

/// An OpenAPI document as it is committed and served: pretty JSON ending in a newline
/// (this service's and the supervision workspace's).
pub fn committed_text(doc: &utoipa::openapi::OpenApi) -> String {
    let mut text = doc
        .to_pretty_json()
        .expect("an OpenAPI document serializes");
    text.push('\n');
    text
}

/// The answer to `GET …/openapi.json`: `text` as JSON.
pub fn serve_text(text: &'static str) -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
}

/// The served text, built once.
pub static DOCUMENT: LazyLock<String> = LazyLock::new(document);
