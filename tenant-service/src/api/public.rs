//! Public search over disclosed (redacted) decisions. No authentication.
//!
//! Only the stored `publication` (already redacted) is ever returned or searched.
//! Withdrawn decisions disappear from the results. Results are ordered by decision date
//! (newest first), then document number.

use super::QueryParams;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use futures::stream::{self, StreamExt};
use sanxiang_domain::EnforcementCategory as Category;
use serde::Deserialize;

/// (decided on, document number, publication)
type Hit = (NaiveDate, String, serde_json::Value);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchQuery {
    pub agency: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub county: Option<String>,
    pub category: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub q: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

fn date(s: Option<&str>, field: &str) -> ApiResult<Option<NaiveDate>> {
    s.map(|s| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| ApiError::bad_request(field, format!("{field} must be a date YYYY-MM-DD")))
    })
    .transpose()
}

fn number(s: Option<&str>, field: &str, default: i64, max: i64) -> ApiResult<i64> {
    match s {
        None => Ok(default),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(
                field,
                format!("{field} must be a number from 1 to {max}"),
            )),
        },
    }
}

pub async fn search(
    State(st): State<AppState>,
    QueryParams(q): QueryParams<SearchQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let category = q
        .category
        .as_deref()
        .map(|c| {
            Category::from_code(c).ok_or_else(|| {
                ApiError::bad_request(
                    "category",
                    format!("category must be one of {}", Category::code_list()),
                )
            })
        })
        .transpose()?;
    let from = date(q.from.as_deref(), "from")?;
    let to = date(q.to.as_deref(), "to")?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::bad_request("to", "to must not be before from"));
    }
    let page = number(q.page.as_deref(), "page", 1, 50)?;
    let page_size = number(q.page_size.as_deref(), "pageSize", 20, 100)?;
    let text = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(t) = text
        && t.chars().count() > 100
    {
        return Err(ApiError::bad_request(
            "q",
            "q must be at most 100 characters",
        ));
    }
    let pattern = text.map(|t| {
        let escaped = t
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let tenants: Vec<_> = st
        .tenants
        .all()
        .into_iter()
        .filter(|t| q.agency.as_deref().is_none_or(|a| a == t.agency))
        .filter(|t| q.province.as_deref().is_none_or(|p| p == t.province))
        .filter(|t| q.city.as_deref().is_none_or(|c| c == t.city))
        .filter(|t| q.county.as_deref().is_none_or(|c| c == t.county))
        .collect();
    let want = page * page_size;
    let category = category.map(|c| c.code());
    let results: Vec<(i64, Vec<Hit>)> = stream::iter(tenants)
        .map(|t| {
            let st = st.clone();
            let pattern = pattern.clone();
            async move {
                let pool = match st.pools.get(&t).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(agency = %t.agency, error = %e, "public search: tenant skipped");
                        return Ok((0, Vec::new()));
                    }
                };
                // Retention (policy per agency, default keep): older publications are no
                // longer shown online; natural persons' may have a shorter limit.
                let now = st.clock.now();
                let keep_all = t.publication_retention_days.map(|d| now - chrono::Duration::days(i64::from(d)));
                let keep_np = t.natural_person_retention_days.map(|d| now - chrono::Duration::days(i64::from(d)));
                let filter = "published_at IS NOT NULL AND withdrawn_at IS NULL \
                     AND ($6::timestamptz IS NULL OR published_at >= $6) \
                     AND ($7::timestamptz IS NULL OR party_kind <> 'natural_person' OR published_at >= $7) \
                     AND ($1::text IS NULL OR category = $1) AND ($2::date IS NULL OR decided_on >= $2) \
                     AND ($3::date IS NULL OR decided_on <= $3) AND ($4::text IS NULL OR publication::text ILIKE $4)";
                let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM decisions WHERE {filter}"))
                    .bind(category)
                    .bind(from)
                    .bind(to)
                    .bind(&pattern)
                    .bind(0i64) // $5 is the limit below; unused here
                    .bind(keep_all)
                    .bind(keep_np)
                    .fetch_one(&pool)
                    .await?;
                let rows: Vec<Hit> = sqlx::query_as(&format!(
                    "SELECT decided_on, document_number, publication FROM decisions WHERE {filter} \
                     ORDER BY decided_on DESC, document_number LIMIT $5"
                ))
                .bind(category)
                .bind(from)
                .bind(to)
                .bind(&pattern)
                .bind(want)
                .bind(keep_all)
                .bind(keep_np)
                .fetch_all(&pool)
                .await?;
                Ok::<_, ApiError>((total, rows))
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let total: i64 = results.iter().map(|r| r.0).sum();
    let mut all: Vec<_> = results.into_iter().flat_map(|r| r.1).collect();
    all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let items: Vec<serde_json::Value> = all
        .into_iter()
        .skip(((page - 1) * page_size) as usize)
        .take(page_size as usize)
        .map(|r| r.2)
        .collect();
    Ok(Json(serde_json::json!({
        "page": page, "pageSize": page_size, "total": total, "items": items,
    })))
}
