//! The JSON API under `/api/v1/`. Every response body is a typed struct deriving
//! `ToSchema`, and every handler carries its `#[utoipa::path]`, so the OpenAPI document
//! ([`super::openapi`]) is generated from what the handlers answer.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::openapi::{
    AgencyParams, DirectoryParams, ItemErrors, ListErrors, SearchParams, WithdrawalParams,
};
use super::params::Params;
use super::problem::{JsonProblem, Problem};
use super::{AgencyRef, AppState, DecisionView, Named, SEARCH_PARAMS, decision_query, search};
use crate::inspection::InspectionView;
use crate::prepublication::KindView;
use crate::search::Total;

type ApiResult<T> = Result<Json<T>, JsonProblem>;

/// Random-inspection draws shown per agency, newest first.
pub const INSPECTIONS_SHOWN: usize = 200;

/// One page of decisions (a search, or withdrawn decisions).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionPage {
    // The number is crate::search::COUNT_LIMIT (a unit test in super::openapi keeps it so).
    /// Matching decisions, on the first page only (null on later pages). Decision searches
    /// count up to 1000: when `totalExact` is false, more than `total` match.
    #[schema(required)]
    pub total: Option<usize>,
    /// Whether `total` is the exact number (false: a lower bound, more match; null on later
    /// pages).
    #[schema(required)]
    pub total_exact: Option<bool>,
    /// Decisions as `/api/v1/decisions/{id}` shows them.
    pub items: Vec<DecisionView>,
    /// Cursor of the next page (null: the last page).
    #[schema(required)]
    pub next: Option<String>,
}

/// The directory of agencies.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyDirectory {
    pub items: Vec<DirectoryEntry>,
}

/// An agency of the directory with its place.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryEntry {
    /// The agency's name (used in URLs).
    pub name: String,
    /// The official name.
    pub display_name: String,
    /// Unified social credit code.
    pub credit_code: String,
    pub city: Named,
    /// Null: a city-level agency.
    #[schema(required)]
    pub county: Option<Named>,
    /// The agency's page on this portal.
    pub url: String,
}

/// The place of an agency's jurisdiction.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyPlace {
    pub city: Named,
    /// Null: a city-level agency.
    #[schema(required)]
    pub county: Option<Named>,
}

/// An agency with its statistics, lists published before enforcement and random
/// inspections.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Agency)]
pub struct AgencyView {
    pub agency: AgencyRef,
    /// Null: the directory does not (or no longer) know the agency.
    #[schema(required)]
    pub place: Option<AgencyPlace>,
    /// Enforcement category codes of the agency.
    pub categories: Vec<String>,
    /// Published decisions shown (retention applied).
    pub decisions: usize,
    /// The API search of its decisions.
    pub decisions_url: String,
    pub prepublication: Prepublication,
    /// Results of its random inspections, newest first, at most 200.
    pub inspections: Vec<InspectionView>,
    pub statistics: Vec<YearStatistics>,
}

/// An agency's lists published before enforcement (事前公开), as on a date.
#[derive(Debug, Serialize, ToSchema)]
pub struct Prepublication {
    /// The date the versions in force are shown for.
    pub on: NaiveDate,
    /// Per list kind: the version in force on `on`, and every version with its period.
    pub lists: Vec<KindView>,
}

/// An agency's annual statistics.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct YearStatistics {
    pub year: i32,
    /// Per category code: figure name → number.
    #[schema(value_type = Object)]
    pub figures: Value,
    pub reported_at: DateTime<Utc>,
}

fn page_json(
    st: &AppState,
    page: &crate::search::Page<crate::event::DecisionRecord>,
) -> DecisionPage {
    DecisionPage {
        total: page.total.map(Total::count),
        total_exact: page.total.map(Total::is_exact),
        items: page.items.iter().map(|r| st.view(r)).collect(),
        next: page.next.map(|c| c.encode()),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/decisions",
    operation_id = "search_decisions",
    summary = "Search published decisions (newest first by default)",
    params(SearchParams),
    responses(
        (status = 200, description = "A page of decisions", body = DecisionPage,
            headers(("ETag" = String, description = "Send it as If-None-Match: 304 while unchanged"))),
        ListErrors
    )
)]
pub async fn decisions(
    State(st): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<DecisionPage> {
    let p = Params::parse(raw.as_deref(), &SEARCH_PARAMS)?;
    let query = decision_query(&st, &p)?;
    let page = search(&st, query).await?;
    Ok(Json(page_json(&st, &page)))
}

#[utoipa::path(
    get,
    path = "/api/v1/decisions/{id}",
    operation_id = "get_decision",
    summary = "One decision; a withdrawn one shows only its withdrawal notice",
    params(("id" = uuid::Uuid, Path, description = "The decision's id")),
    responses(
        (status = 200, description = "The decision", body = DecisionView,
            headers(("ETag" = String, description = "Send it as If-None-Match: 304 while unchanged"))),
        ItemErrors
    )
)]
pub async fn decision(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<DecisionView> {
    Params::parse(raw.as_deref(), &[])?;
    let r = super::decision(&st, &id).await?;
    Ok(Json(st.view(&r)))
}

#[utoipa::path(
    get,
    path = "/api/v1/withdrawals",
    operation_id = "list_withdrawals",
    summary = "Withdrawal notices, newest first",
    params(WithdrawalParams),
    responses(
        (status = 200, description = "A page of withdrawn decisions", body = DecisionPage,
            headers(("ETag" = String, description = "Send it as If-None-Match: 304 while unchanged"))),
        ListErrors
    )
)]
pub async fn withdrawals(
    State(st): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<DecisionPage> {
    let p = Params::parse(raw.as_deref(), &["agency", "cursor", "limit"])?;
    let agency = p.text("agency", 128)?;
    let (cursor, limit) = (p.cursor()?, p.limit()?);
    let page = st
        .timed("withdrawals", move |st| {
            Ok(crate::search::withdrawals(
                &st.index,
                agency.as_deref(),
                cursor,
                limit,
            )?)
        })
        .await?;
    Ok(Json(page_json(&st, &page)))
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies",
    operation_id = "list_agencies",
    summary = "The directory of agencies",
    params(DirectoryParams),
    responses(
        (status = 200, description = "Agencies with their places", body = AgencyDirectory,
            headers(("ETag" = String, description = "Send it as If-None-Match: 304 while unchanged"))),
        ListErrors
    )
)]
pub async fn agencies(
    State(st): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<AgencyDirectory> {
    let p = Params::parse(raw.as_deref(), &["city", "county"])?;
    let (city, county) = (p.division_code("city")?, p.division_code("county")?);
    let mut items = Vec::new();
    for (c, counties) in st.directory.by_place() {
        if city.as_ref().is_some_and(|x| *x != c) {
            continue;
        }
        for (k, list) in counties {
            if county.is_some() && county != k {
                continue;
            }
            for a in list {
                items.push(DirectoryEntry {
                    url: format!("/agencies/{}", a.name),
                    name: a.name,
                    display_name: a.display_name,
                    credit_code: a.credit_code,
                    city: st.named_place(&c),
                    county: k.as_deref().map(|k| st.named_place(k)),
                });
            }
        }
    }
    Ok(Json(AgencyDirectory { items }))
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{name}",
    operation_id = "get_agency",
    summary = "One agency: annual statistics, lists published before enforcement (事前公开), random inspections",
    description = "One agency with its annual statistics, its lists published before enforcement (事前公开): per list the version in force on `on`, and every version with its period, and the results of its random inspections (双随机 抽查情况及查处结果, `inspections`, newest first, at most 200). `decisions` counts the decisions its retention still shows.",
    params(("name" = String, Path, description = "The agency's name"), AgencyParams),
    responses(
        (status = 200, description = "The agency", body = AgencyView,
            headers(("ETag" = String, description = "Send it as If-None-Match: 304 while unchanged"))),
        ItemErrors
    )
)]
pub async fn agency(
    State(st): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<AgencyView> {
    let p = Params::parse(raw.as_deref(), &["on"])?;
    let on = p
        .date("on")?
        .unwrap_or_else(|| sanxiang_crds::domain::Clock::system().today());
    let entry = st.directory.agency(&name);
    let n = name.clone();
    let (stats, listed, lists, inspections) = st
        .timed("agency_statistics", move |st| {
            Ok((
                crate::search::statistics(&st.index, &n)?,
                crate::search::count_listed(&st.index, &n, st.natural_person_cutoff())?,
                crate::prepublication::versions(&st.index, &n)?,
                crate::inspection::of_agency(&st.index, &n, INSPECTIONS_SHOWN)?,
            ))
        })
        .await?;
    if entry.is_none()
        && stats.is_empty()
        && listed == 0
        && lists.is_empty()
        && inspections.is_empty()
    {
        return Err(Problem::not_found("没有这个执法机关。").into());
    }
    let place = entry.as_ref().map(|a| {
        let (city, county) = st.directory.city_and_county(&a.jurisdiction);
        AgencyPlace {
            city: st.named_place(&city),
            county: county.map(|k| st.named_place(&k)),
        }
    });
    Ok(Json(AgencyView {
        agency: st.agency_ref(&name),
        place,
        categories: entry.map(|a| a.categories).unwrap_or_default(),
        decisions: listed,
        decisions_url: format!("/api/v1/decisions?agency={name}"),
        prepublication: Prepublication {
            on,
            lists: crate::prepublication::on_date(&lists, on),
        },
        inspections: crate::inspection::views(&inspections, &lists),
        statistics: stats
            .into_iter()
            .map(|s| YearStatistics {
                year: s.year,
                figures: s.figures,
                reported_at: s.reported_at,
            })
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    summary = "This document",
    responses(
        (status = 200, description = "OpenAPI document", body = Object,
            headers(("ETag" = String, description = "Send it as If-None-Match: 304 while unchanged"))),
        super::openapi::MetaErrors
    )
)]
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::DOCUMENT.as_str(),
    )
}
