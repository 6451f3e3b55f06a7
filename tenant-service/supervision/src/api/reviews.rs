//! Case-file review (案卷评查): a campaign draws a reproducible random sample of each
//! agency's decided cases ([`crate::sample`]), supervisors score each case on a fixed
//! checklist, and the results are averaged per agency and ranked per city.
//!
//! Candidates are the decisions in the campaign's place that were decided (issued, later
//! revoked or not) within its period — what the workspace knows of them is their
//! metadata; the case file itself is read at the agency (the workspace holds no records).
//! The seed is given or drawn at random, and stored: re-drawing with it over the same
//! cases gives the same sample.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_tenant_service::api::openapi::{CategoryCode, ReadErrors};
use sanxiang_tenant_service::error::ApiError;
use serde::{Deserialize, Serialize};
use sqlx::types::Json as JsonColumn;
use utoipa::ToSchema;
use uuid::Uuid;

use super::openapi::{CasePath, IdPath, InputErrors, InputRuleErrors};
use super::{ApiResult, JsonBody, QueryParams, cursor, limit, parse_id, place_code, scope, text};
use crate::AppState;
use crate::scope::Scope;

/// The scored checklist: (key, item, maximum points); the maxima add up to 100.
pub const CHECKLIST: [(&str, &str, i64); 6] = [
    ("subject", "执法主体合法、执法人员持证上岗", 10),
    ("facts", "事实清楚、证据确凿", 25),
    ("law", "适用法律、法规、规章正确", 20),
    (
        "procedure",
        "程序合法（告知、陈述申辩、听证、法制审核）",
        20,
    ),
    ("discretion", "裁量适当、说明理由", 15),
    ("file", "文书规范、案卷完整（含音像记录）", 10),
];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CampaignInput {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Omitted: drawn at random (and stored).
    pub seed: Option<i64>,
    /// Cases drawn per agency.
    #[schema(minimum = 1, maximum = 50)]
    pub per_agency: u32,
    /// The period the cases were decided in (China dates, both included).
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Narrow the campaign to a city or county within the token's scope (GB/T 2260 code).
    pub city: Option<String>,
    pub county: Option<String>,
}

/// A case-file review campaign (案卷评查).
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    pub id: Uuid,
    pub name: String,
    pub province: String,
    pub city: Option<String>,
    pub county: Option<String>,
    pub seed: i64,
    pub per_agency: i32,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

const CAMPAIGN: &str = "SELECT c.id, c.name, c.province, c.city, c.county, c.seed, c.per_agency, \
    c.period_from, c.period_to, c.created_by, c.created_at FROM review_campaigns c";

#[utoipa::path(
    post,
    path = "/api/v1/supervision/reviews",
    tag = "reviews",
    summary = "Start a case-file review: draw a reproducible sample of each agency's decided cases (supervisors)",
    request_body = CampaignInput,
    responses((status = 201, description = "Created", body = CampaignView), InputRuleErrors)
)]
pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<CampaignInput>,
) -> ApiResult<(StatusCode, Json<CampaignView>)> {
    let s = scope(&st, &headers).await?;
    s.require_supervisor("starting a case-file review")?;
    text(&input.name, "name", 200)?;
    if !(1..=50).contains(&input.per_agency) {
        return Err(ApiError::bad_request(
            "perAgency",
            "perAgency must be between 1 and 50",
        ));
    }
    super::date_in_range(input.from, "from")?;
    super::date_in_range(input.to, "to")?;
    if input.from > input.to {
        return Err(ApiError::unprocessable("to", "to must not be before from"));
    }
    place_code(&input.city, "city")?;
    place_code(&input.county, "county")?;
    // A narrowing never widens: it must agree with the token's own place.
    let narrow = |want: &Option<String>, own: &Option<String>, field: &str| match (want, own) {
        (Some(w), Some(o)) if w != o => Err(ApiError::forbidden(format!(
            "{field} {w} is outside this token's scope"
        ))
        .with_field(field)),
        (w, o) => Ok(w.clone().or_else(|| o.clone())),
    };
    let city = narrow(&input.city, &s.city, "city")?;
    let county = narrow(&input.county, &s.county, "county")?;
    let seed = input.seed.unwrap_or_else(|| {
        let bytes = *Uuid::new_v4().as_bytes();
        i64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) & i64::MAX
    });
    let place = Scope {
        city: city.clone(),
        county: county.clone(),
        ..s.clone()
    };
    let sql = format!(
        "SELECT d.agency, d.decision_id::text FROM decisions d WHERE {} \
         AND d.status IN ('issued', 'revoked') AND d.decided_on BETWEEN $5 AND $6",
        Scope::condition("d", 1)
    );
    let candidates: Vec<(String, String)> = place
        .bind(sqlx::query_as(&sql))
        .bind(input.from)
        .bind(input.to)
        .fetch_all(&st.pool)
        .await?;
    let mut per_agency: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, id) in &candidates {
        per_agency.entry(a).or_default().push(id);
    }
    let id = Uuid::new_v4();
    let mut tx = st.pool.begin().await?;
    sqlx::query!(
        "INSERT INTO review_campaigns (id, name, province, city, county, seed, per_agency, \
         period_from, period_to, created_by, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
        id,
        input.name.trim(),
        s.province.clone().unwrap_or_default(),
        city.as_deref(),
        county.as_deref(),
        seed,
        input.per_agency as i32,
        input.from,
        input.to,
        &s.subject,
        st.clock.now(),
    )
    .execute(&mut *tx)
    .await?;
    for (agency, ids) in &per_agency {
        for (rank, d) in crate::sample::draw(seed, ids, input.per_agency as usize)
            .into_iter()
            .enumerate()
        {
            sqlx::query!(
                "INSERT INTO review_cases (campaign_id, decision_id, agency, draw_rank) \
                 VALUES ($1, $2::text::uuid, $3, $4)",
                id,
                d,
                agency,
                rank as i32 + 1,
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(campaign_view(&st, &s, id).await?)))
}

/// `GET /reviews`: a page of case-file reviews, the newest first (by `createdAt`, then id).
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignList {
    pub items: Vec<Campaign>,
    /// When the page is full, where it ended: pass it as `after` for the next page; null
    /// on the last page.
    pub next: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/supervision/reviews",
    operation_id = "list_reviews",
    tag = "reviews",
    summary = "Case-file reviews the supervisor started or that sampled an agency in scope, newest first, keyset-paginated",
    params(cursor::PageQuery),
    responses((status = 200, description = "OK", body = CampaignList), InputErrors)
)]
pub async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<cursor::PageQuery>,
) -> ApiResult<Json<CampaignList>> {
    let s = scope(&st, &headers).await?;
    s.require_supervisor("listing case-file reviews")?;
    let after: Option<(DateTime<Utc>, Uuid)> = cursor::decode("reviews", q.after.as_deref())?;
    let limit = limit(q.limit)?;
    let sql = format!(
        "{CAMPAIGN} WHERE (c.created_by = $5 OR EXISTS (SELECT 1 FROM review_cases rc \
         JOIN agencies a ON a.agency = rc.agency WHERE rc.campaign_id = c.id AND {})) \
         AND ($6::timestamptz IS NULL OR c.created_at < $6 OR (c.created_at = $6 AND c.id > $7)) \
         ORDER BY c.created_at DESC, c.id LIMIT $8",
        Scope::condition("a", 1)
    );
    let rows: Vec<Campaign> = s
        .bind(sqlx::query_as(&sql))
        .bind(&s.subject)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(limit)
        .fetch_all(&st.pool)
        .await?;
    let next = cursor::last_of_full_page(&rows, limit)
        .map(|c| cursor::encode("reviews", &(c.created_at, c.id)));
    Ok(Json(CampaignList { items: rows, next }))
}

#[utoipa::path(
    get,
    path = "/api/v1/supervision/reviews/{id}",
    operation_id = "get_review",
    tag = "reviews",
    summary = "A case-file review: its cases in scope, results per agency, ranking per city (supervisors)",
    params(IdPath),
    responses((status = 200, description = "OK", body = CampaignView), ReadErrors)
)]
pub async fn one(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<CampaignView>> {
    let s = scope(&st, &headers).await?;
    s.require_supervisor("reading a case-file review")?;
    let id = parse_id(&id, "id")?;
    Ok(Json(campaign_view(&st, &s, id).await?))
}

/// A sampled case and its scores.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[schema(as = ReviewCase)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    pub decision_id: Uuid,
    pub agency: String,
    pub display_name: String,
    pub city: String,
    pub county: String,
    /// Its place in the agency's sample (1, 2, …).
    pub draw_rank: i32,
    pub document_number: String,
    #[schema(value_type = CategoryCode)]
    pub category: String,
    pub decided_on: Option<NaiveDate>,
    /// Null until scored.
    #[schema(value_type = Option<BTreeMap<String, i64>>)]
    pub scores: Option<JsonColumn<BTreeMap<String, i64>>>,
    pub total: Option<i32>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// A case-file review as read: the campaign, how it sampled and scores, its cases in the
/// reader's scope, the results per agency and the ranking per city.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    pub campaign: Campaign,
    /// How the sample was drawn (to reproduce it).
    pub sampling: &'static str,
    pub checklist: Vec<ChecklistItem>,
    pub cases: Vec<Case>,
    pub results: Vec<AgencyResult>,
    pub ranking: Vec<CityRanking>,
}

/// An item of the scored checklist.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistItem {
    pub key: &'static str,
    pub item: &'static str,
    /// The most points it gives.
    pub max: i64,
}

/// An agency's cases in the campaign.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgencyResult {
    pub agency: String,
    pub display_name: String,
    pub city: String,
    pub sampled: i64,
    pub reviewed: i64,
    /// The average total of its scored cases; null before the first.
    pub average_score: Option<f64>,
}

/// A city's agencies with a score, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CityRanking {
    pub city: String,
    pub agencies: Vec<Ranked>,
}

/// An agency's place in its city.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RankedAgency)]
#[serde(rename_all = "camelCase")]
pub struct Ranked {
    /// 1 for the best average; ties are ranked by agency name.
    pub rank: usize,
    pub agency: String,
    pub average_score: f64,
}

/// The campaign with its cases in scope, results per agency and the ranking per city.
async fn campaign_view(st: &AppState, s: &Scope, id: Uuid) -> ApiResult<CampaignView> {
    let campaign: Campaign = sqlx::query_as(&format!("{CAMPAIGN} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(&st.pool)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no case-file review {id}")))?;
    let sql = format!(
        "SELECT rc.decision_id, rc.agency, a.display_name, a.city, a.county, rc.draw_rank, \
         d.document_number, d.category, d.decided_on, rc.scores, rc.total, rc.reviewed_by, rc.reviewed_at \
         FROM review_cases rc JOIN agencies a ON a.agency = rc.agency \
         JOIN decisions d ON d.decision_id = rc.decision_id \
         WHERE rc.campaign_id = $5 AND {} ORDER BY a.city, rc.agency, rc.draw_rank",
        Scope::condition("a", 1)
    );
    let cases: Vec<Case> = s
        .bind(sqlx::query_as(&sql))
        .bind(id)
        .fetch_all(&st.pool)
        .await?;
    if cases.is_empty() && campaign.created_by != s.subject {
        return Err(ApiError::not_found(format!("no case-file review {id}")));
    }
    // Results per agency: sampled, reviewed, average total.
    let mut results: BTreeMap<&str, (String, String, i64, i64, i64)> = BTreeMap::new();
    for c in &cases {
        let r = results.entry(c.agency.as_str()).or_insert((
            c.display_name.clone(),
            c.city.clone(),
            0,
            0,
            0,
        ));
        r.2 += 1;
        if let Some(t) = c.total {
            r.3 += 1;
            r.4 += i64::from(t);
        }
    }
    let mut by_city: BTreeMap<String, Vec<(f64, &str)>> = BTreeMap::new();
    let mut agencies = Vec::new();
    for (agency, (name, city, sampled, reviewed, sum)) in &results {
        let avg = (*reviewed > 0).then(|| *sum as f64 / *reviewed as f64);
        if let Some(a) = avg {
            by_city.entry(city.clone()).or_default().push((a, agency));
        }
        agencies.push(AgencyResult {
            agency: agency.to_string(),
            display_name: name.clone(),
            city: city.clone(),
            sampled: *sampled,
            reviewed: *reviewed,
            average_score: avg,
        });
    }
    let ranking = by_city
        .into_iter()
        .map(|(city, mut list)| {
            list.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
            let agencies = list
                .iter()
                .enumerate()
                .map(|(i, (avg, a))| Ranked {
                    rank: i + 1,
                    agency: a.to_string(),
                    average_score: *avg,
                })
                .collect();
            CityRanking { city, agencies }
        })
        .collect();
    let checklist = CHECKLIST
        .iter()
        .map(|&(key, item, max)| ChecklistItem { key, item, max })
        .collect();
    Ok(CampaignView {
        campaign,
        sampling: "per agency, the perAgency candidates with the smallest SHA-256(\"<seed>:<decision id>\")",
        checklist,
        cases,
        results: agencies,
        ranking,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScoreInput {
    /// Points per checklist key (`subject`, `facts`, `law`, `procedure`, `discretion`,
    /// `file`), each 0 to its maximum; every key required.
    pub scores: BTreeMap<String, i64>,
}

/// A case scored.
#[derive(Debug, Serialize, ToSchema)]
pub struct Scored {
    /// The case-file review's id.
    pub campaign: Uuid,
    /// The decision's id.
    pub decision: Uuid,
    pub agency: String,
    /// The sum of the scores, out of 100.
    pub total: i64,
}

/// Validates a scored checklist; returns the total.
pub fn total(scores: &BTreeMap<String, i64>) -> ApiResult<i64> {
    if let Some(k) = scores
        .keys()
        .find(|k| !CHECKLIST.iter().any(|(key, _, _)| key == k))
    {
        let keys: Vec<&str> = CHECKLIST.iter().map(|c| c.0).collect();
        return Err(ApiError::bad_request(
            &format!("scores.{k}"),
            format!("unknown checklist item '{k}' (items: {})", keys.join(", ")),
        ));
    }
    let mut sum = 0;
    for (key, item, max) in CHECKLIST {
        let field = format!("scores.{key}");
        let v = *scores.get(key).ok_or_else(|| {
            ApiError::bad_request(&field, format!("{field} ({item}) is required"))
        })?;
        if !(0..=max).contains(&v) {
            return Err(ApiError::bad_request(
                &field,
                format!("{field} ({item}) must be between 0 and {max}"),
            ));
        }
        sum += v;
    }
    Ok(sum)
}

#[utoipa::path(
    post,
    path = "/api/v1/supervision/reviews/{id}/cases/{decision}",
    tag = "reviews",
    summary = "Score a sampled case on the checklist, again to correct it (supervisors)",
    params(CasePath),
    request_body = ScoreInput,
    responses((status = 200, description = "OK", body = Scored), ReadErrors)
)]
pub async fn score(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((id, decision)): Path<(String, String)>,
    JsonBody(input): JsonBody<ScoreInput>,
) -> ApiResult<Json<Scored>> {
    let s = scope(&st, &headers).await?;
    s.require_supervisor("scoring a case file")?;
    let id = parse_id(&id, "id")?;
    let decision = parse_id(&decision, "decision")?;
    let total = total(&input.scores)?;
    let sql = format!(
        "UPDATE review_cases rc SET scores = $7, total = $8, reviewed_by = $9, reviewed_at = $10 \
         FROM agencies a WHERE a.agency = rc.agency AND rc.campaign_id = $5 AND rc.decision_id = $6 \
         AND {} RETURNING rc.agency",
        Scope::condition("a", 1)
    );
    let scores = serde_json::to_value(&input.scores).map_err(ApiError::internal)?;
    let agency: Option<(String,)> = s
        .bind(sqlx::query_as(&sql))
        .bind(id)
        .bind(decision)
        .bind(scores)
        .bind(total as i32)
        .bind(&s.subject)
        .bind(st.clock.now())
        .fetch_optional(&st.pool)
        .await?;
    let (agency,) = agency.ok_or_else(|| {
        ApiError::not_found(format!(
            "decision {decision} is not a sampled case of review {id} in this token's scope"
        ))
    })?;
    Ok(Json(Scored {
        campaign: id,
        decision,
        agency,
        total,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checklist_adds_up_to_100_and_names_the_bad_item() {
        assert_eq!(CHECKLIST.iter().map(|c| c.2).sum::<i64>(), 100);
        let full: BTreeMap<String, i64> = CHECKLIST
            .iter()
            .map(|(k, _, m)| (k.to_string(), *m))
            .collect();
        assert_eq!(total(&full).unwrap(), 100);
        let mut over = full.clone();
        over.insert("facts".into(), 26);
        assert_eq!(
            total(&over).unwrap_err().field.as_deref(),
            Some("scores.facts")
        );
        let mut missing = full.clone();
        missing.remove("law");
        assert_eq!(
            total(&missing).unwrap_err().field.as_deref(),
            Some("scores.law")
        );
        let mut unknown = full;
        unknown.insert("mood".into(), 1);
        assert_eq!(
            total(&unknown).unwrap_err().field.as_deref(),
            Some("scores.mood")
        );
    }
}
