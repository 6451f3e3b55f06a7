//! Agencies in scope with their compliance, and decision metadata across agencies.
//!
//! Compliance is the agency's newest pushed counts (`compliance` event: overdue
//! disclosures and withdrawals, pending and overdue reviews, A/V gaps, officers and legal
//! reviewers against the ratio, statistics reported) with what the workspace itself knows
//! (open and overdue notices, milestones reported, confirmed, returned, awaiting
//! confirmation, the latest case-review score) and the milestones its SupervisionPlans ask
//! of it, due and missed ([`crate::duties`]). Names come with the compliance event
//! (the Agency's display name as the operator wrote it into the tenant contract).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_domain::EnforcementCategory;
use sanxiang_domain::supervision::ComplianceReport;
use sanxiang_tenant_service::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ApiResult, QueryParams, agency_in_scope, agency_name, limit, place_code, scope};
use crate::AppState;
use crate::duties::AgencyDuties;
use crate::scope::Scope;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgencyQuery {
    pub city: Option<String>,
    pub county: Option<String>,
    /// Keyset: agencies after this name.
    pub after: Option<String>,
    pub limit: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AgencyRow {
    agency: String,
    province: String,
    city: String,
    county: String,
    display_name: String,
    compliance: Option<Value>,
    compliance_at: Option<DateTime<Utc>>,
    notices_open: i64,
    notices_overdue: i64,
    notices_escalated: i64,
    milestones_reported: i64,
    milestones_confirmed: i64,
    milestones_returned: i64,
    case_review_score: Option<f64>,
}

const AGENCY_SELECT: &str = "SELECT a.agency, a.province, a.city, a.county, a.display_name, \
    a.compliance, a.compliance_at, \
    (SELECT count(*) FROM notices n WHERE n.agency = a.agency AND n.status <> 'accepted') AS notices_open, \
    (SELECT count(*) FROM notices n WHERE n.agency = a.agency AND n.status <> 'accepted' AND n.deadline < $1) AS notices_overdue, \
    (SELECT count(*) FROM notices n WHERE n.agency = a.agency AND n.escalated_at IS NOT NULL) AS notices_escalated, \
    (SELECT count(*) FROM milestones m WHERE m.agency = a.agency AND m.status = 'reported') AS milestones_reported, \
    (SELECT count(*) FROM milestones m WHERE m.agency = a.agency AND m.status = 'confirmed') AS milestones_confirmed, \
    (SELECT count(*) FROM milestones m WHERE m.agency = a.agency AND m.status = 'returned') AS milestones_returned, \
    (SELECT avg(rc.total)::float8 FROM review_cases rc WHERE rc.agency = a.agency AND rc.total IS NOT NULL \
       AND rc.campaign_id = (SELECT c.id FROM review_campaigns c JOIN review_cases x ON x.campaign_id = c.id \
       WHERE x.agency = a.agency AND x.total IS NOT NULL ORDER BY c.created_at DESC LIMIT 1)) AS case_review_score \
    FROM agencies a";

fn view(r: AgencyRow, duties: Option<&AgencyDuties>) -> Value {
    let compliance: Option<ComplianceReport> =
        r.compliance.and_then(|c| serde_json::from_value(c).ok());
    json!({
        "agency": r.agency,
        "displayName": r.display_name,
        "province": r.province,
        "city": r.city,
        "county": r.county,
        "compliance": compliance.as_ref().map(|c| json!({
            "disclosuresOverdue": c.disclosures_overdue,
            "oldestOverdueDisclosureDue": c.oldest_overdue_disclosure_due,
            "disclosuresDueSoon": c.disclosures_due_soon,
            "withdrawalsOverdue": c.withdrawals_overdue,
            "reviewsPending": c.reviews_pending,
            "reviewsOverdue": c.reviews_overdue,
            "avGaps": c.av_gaps,
            "officers": c.officers,
            "legalReviewers": c.legal_reviewers,
            "legalReviewerRatioPermille": c.legal_reviewer_ratio_permille,
            "reviewerShortfall": c.reviewer_shortfall(),
            "statisticsYear": c.statistics_year,
            "statisticsReported": c.annual_reported,
            "measuredAt": c.measured_at,
        })),
        "complianceAt": r.compliance_at,
        "notices": {"open": r.notices_open, "overdue": r.notices_overdue, "escalated": r.notices_escalated},
        "milestones": {
            "awaitingConfirmation": r.milestones_reported,
            "confirmed": r.milestones_confirmed,
            "returned": r.milestones_returned,
            "scheduleKnown": duties.is_some_and(|d| d.known),
            "due": duties.map(|d| &d.due),
            "missed": duties.map(|d| &d.missed),
            "missedCount": duties.filter(|d| d.known).map(|d| d.missed.len()),
            "pending": duties.map(|d| &d.pending),
            "scheduleError": duties.and_then(|d| d.error.as_ref()),
        },
        "caseReviewScore": r.case_review_score,
    })
}

pub async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<AgencyQuery>,
) -> ApiResult<Json<Value>> {
    let s = scope(&st, &headers).await?;
    place_code(&q.city, "city")?;
    place_code(&q.county, "county")?;
    if let Some(a) = &q.after {
        agency_name(a, "after")?;
    }
    let limit = limit(q.limit)?;
    let sql = format!(
        "{AGENCY_SELECT} WHERE {} AND ($6::text IS NULL OR a.city = $6) \
         AND ($7::text IS NULL OR a.county = $7) AND ($8::text IS NULL OR a.agency > $8) \
         ORDER BY a.agency LIMIT $9",
        Scope::condition("a", 2)
    );
    let rows: Vec<AgencyRow> = s
        .bind(sqlx::query_as(&sql).bind(st.clock.today()))
        .bind(&q.city)
        .bind(&q.county)
        .bind(&q.after)
        .bind(limit)
        .fetch_all(&st.pool)
        .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.agency.clone()))
        .flatten();
    let duties = duties_of(&st, &rows).await?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let d = duties.get(&r.agency).cloned();
            view(r, d.as_ref())
        })
        .collect();
    Ok(Json(json!({ "items": items, "next": next })))
}

pub async fn one(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(agency): Path<String>,
) -> ApiResult<Json<Value>> {
    let s = scope(&st, &headers).await?;
    agency_in_scope(&st, &s, &agency).await?;
    let row: AgencyRow = sqlx::query_as(&format!("{AGENCY_SELECT} WHERE a.agency = $2"))
        .bind(st.clock.today())
        .bind(&agency)
        .fetch_one(&st.pool)
        .await?;
    let duties = duties_of(&st, std::slice::from_ref(&row)).await?;
    let d = duties.get(&row.agency).cloned();
    Ok(Json(view(row, d.as_ref())))
}

/// The milestones due and missed of the agencies of `rows`.
async fn duties_of(
    st: &AppState,
    rows: &[AgencyRow],
) -> ApiResult<std::collections::HashMap<String, AgencyDuties>> {
    let places: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.agency.clone(), r.province.clone(), r.city.clone()))
        .collect();
    Ok(st.plans.for_agencies(st, &places).await?)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionQuery {
    pub agency: Option<String>,
    pub city: Option<String>,
    pub county: Option<String>,
    pub category: Option<String>,
    /// issued, revoked or closed.
    pub status: Option<String>,
    /// `disclosure`: disclosure due before today and not disclosed; `withdrawal`: revoked,
    /// published, not withdrawn by its due instant; `av`: A/V required and missing.
    pub problem: Option<String>,
    /// Decided on or after / on or before (China dates).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRow {
    pub decision_id: Uuid,
    pub agency: String,
    pub display_name: String,
    pub city: String,
    pub county: String,
    pub document_number: String,
    pub category: String,
    pub procedure: String,
    pub matter: Option<String>,
    pub status: String,
    pub review_required: bool,
    pub reviewed: bool,
    pub decided_on: Option<NaiveDate>,
    pub issued_at: Option<DateTime<Utc>>,
    pub publish_online: bool,
    pub disclosure_due: Option<NaiveDate>,
    pub disclosure_due_pending_year: Option<i32>,
    pub disclosed_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub withdrawal_due: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub av_required: Option<bool>,
    pub av_present: Option<bool>,
    pub version: i64,
    pub sort_at: DateTime<Utc>,
}

/// The keyset cursor: `<sort instant, RFC 3339>_<decision id>`.
fn parse_cursor(s: &str) -> ApiResult<(DateTime<Utc>, Uuid)> {
    let bad = || ApiError::bad_request("after", "after must be the 'next' of a previous page");
    let (at, id) = s.split_once('_').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad())?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((at.with_timezone(&Utc), id))
}

pub async fn decisions(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<DecisionQuery>,
) -> ApiResult<Json<Value>> {
    let s = scope(&st, &headers).await?;
    if let Some(a) = &q.agency {
        agency_name(a, "agency")?;
    }
    place_code(&q.city, "city")?;
    place_code(&q.county, "county")?;
    let category = match &q.category {
        None => None,
        Some(c) => Some(
            c.parse::<EnforcementCategory>()
                .map_err(|_| {
                    ApiError::bad_request(
                        "category",
                        format!(
                            "category must be one of {}",
                            EnforcementCategory::code_list()
                        ),
                    )
                })?
                .code(),
        ),
    };
    if let Some(v) = &q.status
        && !["issued", "revoked", "closed"].contains(&v.as_str())
    {
        return Err(ApiError::bad_request(
            "status",
            "status must be issued, revoked or closed",
        ));
    }
    if let Some(v) = &q.problem
        && !["disclosure", "withdrawal", "av"].contains(&v.as_str())
    {
        return Err(ApiError::bad_request(
            "problem",
            "problem must be disclosure, withdrawal or av",
        ));
    }
    for (d, f) in [(q.from, "from"), (q.to, "to")] {
        if let Some(d) = d {
            super::date_in_range(d, f)?;
        }
    }
    if let (Some(f), Some(t)) = (q.from, q.to)
        && f > t
    {
        return Err(ApiError::unprocessable("to", "to must not be before from"));
    }
    let cursor = q.after.as_deref().map(parse_cursor).transpose()?;
    let limit = limit(q.limit)?;
    let sql = format!(
        "SELECT d.decision_id, d.agency, a.display_name, d.city, d.county, d.document_number, \
         d.category, d.procedure, d.matter, d.status, d.review_required, d.reviewed, d.decided_on, \
         d.issued_at, d.publish_online, d.disclosure_due, d.disclosure_due_pending_year, \
         d.disclosed_at, d.revoked_at, d.withdrawal_due, d.withdrawn_at, d.av_required, \
         d.av_present, d.version, COALESCE(d.issued_at, d.occurred_at) AS sort_at \
         FROM decisions d JOIN agencies a ON a.agency = d.agency \
         WHERE {} AND ($5::text IS NULL OR d.agency = $5) AND ($6::text IS NULL OR d.city = $6) \
         AND ($7::text IS NULL OR d.county = $7) AND ($8::text IS NULL OR d.category = $8) \
         AND ($9::text IS NULL OR d.status = $9) \
         AND ($10::date IS NULL OR d.decided_on >= $10) AND ($11::date IS NULL OR d.decided_on <= $11) \
         AND ($12::text IS NULL \
           OR ($12 = 'disclosure' AND d.status = 'issued' AND d.publish_online AND d.disclosed_at IS NULL \
               AND d.disclosure_due < $15) \
           OR ($12 = 'withdrawal' AND d.status = 'revoked' AND d.disclosed_at IS NOT NULL \
               AND d.withdrawn_at IS NULL AND d.withdrawal_due < $16) \
           OR ($12 = 'av' AND d.av_required AND NOT COALESCE(d.av_present, FALSE))) \
         AND ($13::timestamptz IS NULL OR (COALESCE(d.issued_at, d.occurred_at), d.decision_id) < ($13, $14)) \
         ORDER BY COALESCE(d.issued_at, d.occurred_at) DESC, d.decision_id DESC LIMIT $17",
        Scope::condition("d", 1)
    );
    let rows: Vec<DecisionRow> = s
        .bind(sqlx::query_as(&sql))
        .bind(&q.agency)
        .bind(&q.city)
        .bind(&q.county)
        .bind(category)
        .bind(&q.status)
        .bind(q.from)
        .bind(q.to)
        .bind(&q.problem)
        .bind(cursor.map(|c| c.0))
        .bind(cursor.map(|c| c.1))
        .bind(st.clock.today())
        .bind(st.clock.now())
        .bind(limit)
        .fetch_all(&st.pool)
        .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| {
            rows.last().map(|r| {
                format!(
                    "{}_{}",
                    r.sort_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    r.decision_id
                )
            })
        })
        .flatten();
    Ok(Json(json!({ "items": rows, "next": next })))
}
