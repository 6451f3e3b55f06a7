//! The JSON API under `/api/v1/` (described by [`super::openapi`]).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde_json::{Value, json};

use super::params::Params;
use super::problem::{JsonProblem, Problem};
use super::{AppState, SEARCH_PARAMS, decision_query, search};
use crate::search::Total;

type ApiResult = Result<Json<Value>, JsonProblem>;

/// Random-inspection draws shown per agency, newest first.
pub const INSPECTIONS_SHOWN: usize = 200;

fn page_json(st: &AppState, page: &crate::search::Page<crate::event::DecisionRecord>) -> Value {
    json!({
        "total": page.total.map(Total::count),
        "totalExact": page.total.map(Total::is_exact),
        "items": page.items.iter().map(|r| st.view(r)).collect::<Vec<_>>(),
        "next": page.next.map(|c| c.encode()),
    })
}

pub async fn decisions(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(raw.as_deref(), &SEARCH_PARAMS)?;
    let query = decision_query(&st, &p)?;
    let page = search(&st, query).await?;
    Ok(Json(page_json(&st, &page)))
}

pub async fn decision(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    Params::parse(raw.as_deref(), &[])?;
    let r = super::decision(&st, &id).await?;
    Ok(Json(serde_json::to_value(st.view(&r)).unwrap_or_default()))
}

pub async fn withdrawals(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
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

pub async fn agencies(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
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
                items.push(json!({
                    "name": a.name, "displayName": a.display_name, "creditCode": a.credit_code,
                    "city": {"code": c, "name": st.directory.place_name(&c)},
                    "county": k.as_ref().map(|k| json!({"code": k, "name": st.directory.place_name(k)})),
                    "url": format!("/agencies/{}", a.name),
                }));
            }
        }
    }
    Ok(Json(json!({ "items": items })))
}

pub async fn agency(
    State(st): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
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
        json!({
            "city": {"code": city, "name": st.directory.place_name(&city)},
            "county": county.map(|k| json!({"code": k, "name": st.directory.place_name(&k)})),
        })
    });
    Ok(Json(json!({
        "agency": st.agency_ref(&name),
        "place": place,
        "categories": entry.map(|a| a.categories).unwrap_or_default(),
        "decisions": listed,
        "decisionsUrl": format!("/api/v1/decisions?agency={name}"),
        "prepublication": {"on": on, "lists": crate::prepublication::on_date(&lists, on)},
        "inspections": crate::inspection::views(&inspections, &lists),
        "statistics": stats.iter().map(|s| json!({
            "year": s.year, "figures": s.figures, "reportedAt": s.reported_at,
        })).collect::<Vec<_>>(),
    })))
}

pub async fn openapi() -> Json<Value> {
    Json(super::openapi::document())
}
