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
use sanxiang_tenant_service::api::openapi::{AgencyPath, CategoryCode, ProcedureCode};
use sanxiang_tenant_service::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::cursor::last_of_full_page;
use super::openapi::{InputErrors, InputRuleErrors};
use super::{ApiResult, QueryParams, agency_in_scope, agency_name, limit, place_code, scope};
use crate::AppState;
use crate::duties::{AgencyDuties, Occurrence, Pending};
use crate::scope::Scope;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgencyQuery {
    /// City (GB/T 2260 code, six digits).
    pub city: Option<String>,
    /// County (GB/T 2260 code, six digits).
    pub county: Option<String>,
    /// Keyset: agencies after this name (the `next` of the previous page).
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
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

/// An agency in scope: its place, its compliance, and what the workspace knows of it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgencyView {
    /// The Agency object's name.
    pub agency: String,
    pub display_name: String,
    pub province: String,
    pub city: String,
    pub county: String,
    /// The newest counts the agency pushed; null until its first `compliance` event.
    pub compliance: Option<Compliance>,
    /// When those counts were taken.
    pub compliance_at: Option<DateTime<Utc>>,
    pub notices: NoticeCounts,
    pub milestones: AgencyMilestones,
    /// The average total of its scored cases in the latest case-file review that scored
    /// any; null before.
    pub case_review_score: Option<f64>,
}

/// The counts of a `compliance` event (`sanxiang_domain::supervision::ComplianceReport`),
/// with what follows from them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Compliance {
    pub disclosures_overdue: i64,
    pub oldest_overdue_disclosure_due: Option<NaiveDate>,
    pub disclosures_due_soon: i64,
    pub withdrawals_overdue: i64,
    pub reviews_pending: i64,
    pub reviews_overdue: i64,
    pub av_gaps: i64,
    pub officers: i64,
    pub legal_reviewers: i64,
    /// Minimum legal reviewers per 1000 officers in force for the agency.
    pub legal_reviewer_ratio_permille: u32,
    /// Fewer legal reviewers than the ratio requires.
    pub reviewer_shortfall: bool,
    /// The year `statisticsReported` is about.
    pub statistics_year: i32,
    /// The annual statistics of `statisticsYear` were reported.
    pub statistics_reported: bool,
    pub measured_at: DateTime<Utc>,
}

impl From<ComplianceReport> for Compliance {
    fn from(c: ComplianceReport) -> Self {
        Self {
            reviewer_shortfall: c.reviewer_shortfall(),
            disclosures_overdue: c.disclosures_overdue,
            oldest_overdue_disclosure_due: c.oldest_overdue_disclosure_due,
            disclosures_due_soon: c.disclosures_due_soon,
            withdrawals_overdue: c.withdrawals_overdue,
            reviews_pending: c.reviews_pending,
            reviews_overdue: c.reviews_overdue,
            av_gaps: c.av_gaps,
            officers: c.officers,
            legal_reviewers: c.legal_reviewers,
            legal_reviewer_ratio_permille: c.legal_reviewer_ratio_permille,
            statistics_year: c.statistics_year,
            statistics_reported: c.annual_reported,
            measured_at: c.measured_at,
        }
    }
}

/// The agency's notices (通报).
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeCounts {
    /// Not accepted yet.
    pub open: i64,
    /// Open past their deadline.
    pub overdue: i64,
    /// Escalated (accountability recorded), accepted since or not.
    pub escalated: i64,
}

/// The agency's milestones: its reports as supervisors decided them, and what its
/// SupervisionPlans ask of it. The lists are null when the workspace has no schedule for
/// the agency.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgencyMilestones {
    pub awaiting_confirmation: i64,
    pub confirmed: i64,
    pub returned: i64,
    /// False without `--plans-from-kube` or without the agency's Agency object: then
    /// `due`, `missed` and `pending` say nothing.
    pub schedule_known: bool,
    /// Each applicable milestone's next due date.
    pub due: Option<Vec<Occurrence>>,
    /// Past occurrences of the last year not reported, or whose report was returned.
    pub missed: Option<Vec<Occurrence>>,
    /// The length of `missed`; null when the schedule is not known.
    pub missed_count: Option<usize>,
    /// Milestones whose dates wait for the WorkCalendar of a year.
    pub pending: Option<Vec<Pending>>,
    /// An inconsistent schedule or calendar (nothing could be computed).
    pub schedule_error: Option<String>,
}

impl AgencyMilestones {
    fn new(r: &AgencyRow, duties: Option<AgencyDuties>) -> Self {
        let mut m = Self {
            awaiting_confirmation: r.milestones_reported,
            confirmed: r.milestones_confirmed,
            returned: r.milestones_returned,
            schedule_known: false,
            due: None,
            missed: None,
            missed_count: None,
            pending: None,
            schedule_error: None,
        };
        if let Some(d) = duties {
            m.schedule_known = d.known;
            m.missed_count = d.known.then_some(d.missed.len());
            m.due = Some(d.due);
            m.missed = Some(d.missed);
            m.pending = Some(d.pending);
            m.schedule_error = d.error;
        }
        m
    }
}

fn view(r: AgencyRow, duties: Option<AgencyDuties>) -> AgencyView {
    let milestones = AgencyMilestones::new(&r, duties);
    // A stored report this version cannot read shows as none.
    let compliance = r
        .compliance
        .and_then(|c| serde_json::from_value::<ComplianceReport>(c).ok());
    AgencyView {
        agency: r.agency,
        display_name: r.display_name,
        province: r.province,
        city: r.city,
        county: r.county,
        compliance: compliance.map(Compliance::from),
        compliance_at: r.compliance_at,
        notices: NoticeCounts {
            open: r.notices_open,
            overdue: r.notices_overdue,
            escalated: r.notices_escalated,
        },
        milestones,
        case_review_score: r.case_review_score,
    }
}

/// `GET /agencies`: a page of agencies, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyPage {
    pub items: Vec<AgencyView>,
    /// The last agency's name when the page is full: pass it as `after` for the next page;
    /// null on the last page.
    pub next: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/supervision/agencies",
    operation_id = "list_agencies",
    tag = "agencies",
    summary = "Agencies in scope with their compliance, by name",
    params(AgencyQuery),
    responses((status = 200, description = "OK", body = AgencyPage), InputErrors)
)]
pub async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<AgencyQuery>,
) -> ApiResult<Json<AgencyPage>> {
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
    let next = last_of_full_page(&rows, limit).map(|r| r.agency.clone());
    let mut duties = duties_of(&st, &rows).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let d = duties.remove(&r.agency);
            view(r, d)
        })
        .collect();
    Ok(Json(AgencyPage { items, next }))
}

#[utoipa::path(
    get,
    path = "/api/v1/supervision/agencies/{agency}",
    operation_id = "get_agency",
    tag = "agencies",
    summary = "An agency in scope with its compliance (403 out of scope, known or not)",
    params(AgencyPath),
    responses((status = 200, description = "OK", body = AgencyView), InputErrors)
)]
pub async fn one(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(agency): Path<String>,
) -> ApiResult<Json<AgencyView>> {
    let s = scope(&st, &headers).await?;
    agency_in_scope(&st, &s, &agency).await?;
    let row: AgencyRow = sqlx::query_as(&format!("{AGENCY_SELECT} WHERE a.agency = $2"))
        .bind(st.clock.today())
        .bind(&agency)
        .fetch_one(&st.pool)
        .await?;
    let mut duties = duties_of(&st, std::slice::from_ref(&row)).await?;
    let d = duties.remove(&row.agency);
    Ok(Json(view(row, d)))
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionQuery {
    /// The Agency object's name.
    pub agency: Option<String>,
    /// City (GB/T 2260 code, six digits).
    pub city: Option<String>,
    /// County (GB/T 2260 code, six digits).
    pub county: Option<String>,
    #[param(value_type = Option<CategoryCode>)]
    pub category: Option<String>,
    /// `issued`, `revoked` or `closed`.
    pub status: Option<String>,
    /// `disclosure`: disclosure due before today and not disclosed; `withdrawal`: revoked,
    /// published, not withdrawn by its due instant; `av`: A/V required and missing.
    pub problem: Option<String>,
    /// Decided on or after / on or before (China dates).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A decision's metadata as the agency pushed it (`sanxiang_domain::supervision::
/// DecisionMetadata`: no personal data), with the agency's name and place.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[schema(as = DecisionMetadata)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRow {
    pub decision_id: Uuid,
    pub agency: String,
    pub display_name: String,
    pub city: String,
    pub county: String,
    /// 决定书文号.
    pub document_number: String,
    #[schema(value_type = CategoryCode)]
    pub category: String,
    #[schema(value_type = ProcedureCode)]
    pub procedure: String,
    /// Code of the matter on the agency's matter list.
    pub matter: Option<String>,
    /// `issued`, `revoked` or `closed` (closed without a decision after review).
    pub status: String,
    /// A major decision (重大执法决定): legal review required.
    pub review_required: bool,
    /// The legal review ended approving.
    pub reviewed: bool,
    pub decided_on: Option<NaiveDate>,
    pub issued_at: Option<DateTime<Utc>>,
    /// Published online at all (false: exempt).
    pub publish_online: bool,
    /// Null with `disclosureDuePendingYear` while that year's calendar is missing, null
    /// alone when not published online.
    pub disclosure_due: Option<NaiveDate>,
    pub disclosure_due_pending_year: Option<i32>,
    pub disclosed_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub withdrawal_due: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// The action behind it requires full-process A/V recording (null: no action linked).
    pub av_required: Option<bool>,
    /// An A/V record entry exists on that action.
    pub av_present: Option<bool>,
    /// The metadata's version (grows with each change).
    pub version: i64,
    /// What the list is sorted by: issued, else when the event occurred.
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

/// `GET /decisions`: a page of decisions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionPage {
    pub items: Vec<DecisionRow>,
    /// When the page is full, where it ended: pass it as `after` for the next page; null
    /// on the last page.
    pub next: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/supervision/decisions",
    tag = "decisions",
    summary = "Decision metadata across agencies in scope, newest first",
    params(DecisionQuery),
    responses((status = 200, description = "OK", body = DecisionPage), InputRuleErrors)
)]
pub async fn decisions(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<DecisionQuery>,
) -> ApiResult<Json<DecisionPage>> {
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
    let next = last_of_full_page(&rows, limit).map(|r| {
        format!(
            "{}_{}",
            r.sort_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            r.decision_id
        )
    });
    Ok(Json(DecisionPage { items: rows, next }))
}
