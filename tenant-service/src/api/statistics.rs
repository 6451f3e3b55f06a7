//! Annual enforcement statistics (年度统计).
//!
//! Figures are computed from the agency's own data for the part of the year it was on the
//! platform (from its first record), plus manual entries for the rest, each with its
//! source. Categories shown: the six every agency reports ("0" where it holds the power but
//! had no cases: licensing, penalty, coercion, expropriation, requisition, inspection) and
//! those it holds (on its officers' certificates, or with decisions that year). A filed
//! report is never changed: a correction is a new version with its reason. The due date
//! (January 31 by default) moves to the next working day when it is not one.

use super::tenant::{Read, Tenant, Write};
use super::text;
use crate::auth::{Role, require_role};
use crate::error::{ApiError, ApiResult};
use crate::outbox::{self, Event};
use crate::state::{AppState, Inner};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sanxiang_domain::EnforcementCategory as Category;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::collections::BTreeMap;

/// Categories every agency reports, with 0 where it had no cases.
pub const MANDATORY: [Category; 6] = [
    Category::Licensing,
    Category::Penalty,
    Category::Coercion,
    Category::Expropriation,
    Category::Requisition,
    Category::Inspection,
];

/// The figures of one category.
#[derive(utoipa::ToSchema, Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Figures {
    #[serde(default)]
    pub decisions: i64,
    #[serde(default)]
    pub general: i64,
    #[serde(default)]
    pub simple: i64,
    #[serde(default)]
    pub published: i64,
    #[serde(default)]
    pub revoked: i64,
}

impl Figures {
    fn add(self, o: Figures) -> Figures {
        Figures {
            decisions: self.decisions.saturating_add(o.decisions),
            general: self.general.saturating_add(o.general),
            simple: self.simple.saturating_add(o.simple),
            published: self.published.saturating_add(o.published),
            revoked: self.revoked.saturating_add(o.revoked),
        }
    }
    fn check(&self, field: &str) -> ApiResult<()> {
        for (v, name) in [
            (self.decisions, "decisions"),
            (self.general, "general"),
            (self.simple, "simple"),
            (self.published, "published"),
            (self.revoked, "revoked"),
        ] {
            if !(0..=10_000_000).contains(&v) {
                return Err(ApiError::bad_request(
                    &format!("{field}.{name}"),
                    format!("{field}.{name} must be between 0 and 10000000"),
                ));
            }
        }
        if self.general.saturating_add(self.simple) > self.decisions {
            return Err(ApiError::unprocessable(
                field,
                format!("{field}: general + simple exceed decisions"),
            ));
        }
        Ok(())
    }
}

fn parse_year(s: &str, st: &Inner) -> ApiResult<i32> {
    let year: i32 = s
        .parse()
        .map_err(|_| ApiError::bad_request("year", "year must be a number like 2025"))?;
    let this_year = st.clock.today().year();
    if !(2000..=this_year).contains(&year) {
        return Err(ApiError::bad_request(
            "year",
            format!("year must be between 2000 and {this_year}"),
        ));
    }
    Ok(year)
}

/// The part of `year` the agency was on the platform: from its first record.
async fn period(pool: &PgPool, year: i32) -> ApiResult<Option<(NaiveDate, NaiveDate)>> {
    let first: Option<NaiveDate> = sqlx::query_scalar!(
        "SELECT (min(t) AT TIME ZONE 'Asia/Shanghai')::date FROM (\
           SELECT min(created_at) AS t FROM personnel UNION ALL \
           SELECT min(created_at) FROM actions UNION ALL \
           SELECT min(created_at) FROM decisions) s",
    )
    .fetch_one(pool)
    .await?;
    let (Some(jan1), Some(dec31)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return Ok(None);
    };
    Ok(first.filter(|f| *f <= dec31).map(|f| (f.max(jan1), dec31)))
}

/// Figures computed from the agency's decisions of `year`, per shown category.
pub async fn compute(pool: &PgPool, year: i32) -> ApiResult<BTreeMap<String, Figures>> {
    let rows: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query!(
        r#"SELECT category, count(*) AS "decisions!", count(*) FILTER (WHERE procedure = 'general') AS "general!",
           count(*) FILTER (WHERE procedure = 'simple') AS "simple!",
           count(*) FILTER (WHERE published_at IS NOT NULL) AS "published!",
           count(*) FILTER (WHERE status = 'revoked') AS "revoked!"
         FROM decisions WHERE status IN ('issued','revoked') AND extract(year FROM decided_on) = $1::integer
         GROUP BY category"#,
        year
    )
    .map(|r| (r.category, r.decisions, r.general, r.simple, r.published, r.revoked))
    .fetch_all(pool)
    .await?;
    let held: Vec<String> = sqlx::query_scalar!(
        r#"SELECT DISTINCT unnest(categories) AS "category!" FROM personnel WHERE active AND role = 'officer'"#,
    )
    .fetch_all(pool)
    .await?;
    let mut out = BTreeMap::new();
    for c in Category::ALL {
        let r = rows.iter().find(|r| r.0 == c.code());
        let shown = MANDATORY.contains(&c) || held.iter().any(|h| h == c.code()) || r.is_some();
        if !shown {
            continue;
        }
        let f = r
            .map(|r| Figures {
                decisions: r.1,
                general: r.2,
                simple: r.3,
                published: r.4,
                revoked: r.5,
            })
            .unwrap_or_default();
        out.insert(c.code().to_string(), f);
    }
    Ok(out)
}

/// When the report of `year` is due: January 31 of the next year, or the next working day.
fn due(st: &Inner, year: i32) -> Option<NaiveDate> {
    let mut d = NaiveDate::from_ymd_opt(year + 1, 1, 31)?;
    let cal = st.calendars.get();
    for _ in 0..31 {
        match cal.is_working_day(d) {
            Ok(true) => return Some(d),
            Ok(false) => d = d.succ_opt()?,
            Err(_) => return Some(d), // no calendar: the date as set
        }
    }
    Some(d)
}

/// `GET …/statistics/{year}`: the latest reported version, or (not reported) the figures
/// computed so far; the fields of a report are absent until there is one.
#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnualStatistics {
    pub year: i32,
    pub reported: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<DateTime<Utc>>,
    /// Per category code (0 where none).
    #[schema(value_type = BTreeMap<String, Figures>)]
    pub figures: serde_json::Value,
    /// The manual entries added to the computed figures, per category code.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, Figures>>)]
    pub manual: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    pub due: Option<NaiveDate>,
    /// Versions reported (corrections file new ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<usize>,
}

/// `POST …/statistics/{year}`: the version just reported.
#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportedStatistics {
    pub year: i32,
    pub reported: bool,
    pub version: i32,
    /// Per category code (0 where none).
    #[schema(value_type = BTreeMap<String, Figures>)]
    pub figures: serde_json::Value,
    #[schema(value_type = BTreeMap<String, Figures>)]
    pub manual: serde_json::Value,
    pub source: String,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
}

#[derive(Debug, sqlx::FromRow)]
struct Report {
    version: i32,
    figures: serde_json::Value,
    manual: serde_json::Value,
    source: String,
    reported_by: String,
    reported_at: DateTime<Utc>,
    period_from: Option<NaiveDate>,
    period_to: Option<NaiveDate>,
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/statistics/{year}",
    tag = "statistics",
    summary = "Annual statistics (reported, or computed so far)",
    params(super::openapi::AgencyYearPath),
    responses((status = 200, description = "OK", body = AnnualStatistics), super::openapi::ReadErrors)
)]
pub async fn get_statistics(
    State(st): State<AppState>,
    Path((_agency, year)): Path<(String, String)>,
    ctx: Tenant<Read>,
) -> ApiResult<Json<AnnualStatistics>> {
    let year = parse_year(&year, &st)?;
    let rows = sqlx::query_as!(
        Report,
        "SELECT version, figures, manual, source, reported_by, reported_at, period_from, period_to \
         FROM annual_reports WHERE year = $1 ORDER BY version",
        year
    )
    .fetch_all(&ctx.pool)
    .await?;
    let due = due(&st, year);
    match rows.last() {
        Some(r) => Ok(Json(AnnualStatistics {
            year,
            reported: true,
            version: Some(r.version),
            reported_by: Some(r.reported_by.clone()),
            reported_at: Some(r.reported_at),
            figures: r.figures.clone(),
            manual: Some(r.manual.clone()),
            source: Some(r.source.clone()),
            period_from: r.period_from,
            period_to: r.period_to,
            due,
            versions: Some(rows.len()),
        })),
        None => {
            let figures = compute(&ctx.pool, year).await?;
            let period = period(&ctx.pool, year).await?;
            Ok(Json(AnnualStatistics {
                year,
                reported: false,
                version: None,
                reported_by: None,
                reported_at: None,
                figures: serde_json::to_value(&figures).map_err(ApiError::internal)?,
                manual: None,
                source: None,
                period_from: period.map(|p| p.0),
                period_to: period.map(|p| p.1),
                due,
                versions: None,
            }))
        }
    }
}

#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportInput {
    /// Figures kept outside the platform (before onboarding, paper files), per category.
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, Figures>)]
    pub manual: BTreeMap<Category, Figures>,
    /// Where the manual figures come from (required with `manual`).
    pub source: Option<String>,
    /// Why an already filed report is corrected (makes a new version).
    pub correction_reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/statistics/{year}",
    tag = "statistics",
    summary = "Report a finished year's statistics (computed + manual entries with source; correctionReason files a new version) and push them upward (agency_admin)",
    params(super::openapi::AgencyYearPath),
    request_body = Option<ReportInput>,
    responses((status = 201, description = "Created", body = ReportedStatistics), super::openapi::WriteErrors)
)]
pub async fn report_statistics(
    State(st): State<AppState>,
    Path((_agency, year)): Path<(String, String)>,
    ctx: Tenant<Write>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<ReportedStatistics>)> {
    let year = parse_year(&year, &st)?;
    // An empty body or `{}` files the computed figures; anything else is read, never
    // ignored.
    let input: ReportInput = super::parse_json_or_default(&body)?;
    require_role(
        &ctx.claims,
        &[Role::AgencyAdmin],
        "reporting annual statistics",
    )?;
    let this_year = st.clock.today().year();
    if year >= this_year {
        return Err(ApiError::unprocessable(
            "year",
            "only a finished year can be reported",
        ));
    }
    for (c, f) in &input.manual {
        f.check(&format!("manual.{}", c.code()))?;
    }
    let source = input.source.as_deref().map(str::trim).unwrap_or("");
    super::optional_text(source, "source", 1_000)?;
    if !input.manual.is_empty() {
        text(source, "source", 1_000)?;
    }
    if let Some(r) = &input.correction_reason {
        text(r, "correctionReason", 2_000)?;
    }
    let mut tx = ctx.pool.begin().await?;
    // Serialize concurrent reports of the same year.
    // (A void result has no Rust type: the lock is taken selecting no column.)
    sqlx::query!("SELECT FROM pg_advisory_xact_lock(7301, $1)", year)
        .execute(&mut *tx)
        .await?;
    let last: Option<i32> = sqlx::query_scalar!(
        "SELECT max(version) FROM annual_reports WHERE year = $1",
        year
    )
    .fetch_one(&mut *tx)
    .await?;
    let version = match (last, &input.correction_reason) {
        (None, _) => 1,
        (Some(v), Some(_)) => v + 1,
        (Some(_), None) => {
            return Err(ApiError::conflict(
                "year",
                format!(
                    "statistics for {year} were already reported; send correctionReason to file a corrected version"
                ),
            ));
        }
    };
    let mut figures = compute(&ctx.pool, year).await?;
    for (c, f) in &input.manual {
        let e = figures.entry(c.code().to_string()).or_default();
        *e = e.add(*f);
    }
    let period = period(&ctx.pool, year).await?;
    let manual = serde_json::to_value(
        input
            .manual
            .iter()
            .map(|(c, f)| (c.code(), f))
            .collect::<BTreeMap<_, _>>(),
    )
    .map_err(ApiError::internal)?;
    let figures_json = serde_json::to_value(&figures).map_err(ApiError::internal)?;
    let at = st.clock.now();
    let source = match &input.correction_reason {
        Some(r) if source.is_empty() => format!("correction: {}", r.trim()),
        Some(r) => format!("{source}; correction: {}", r.trim()),
        None => source.to_string(),
    };
    sqlx::query!(
        "INSERT INTO annual_reports (year, version, figures, manual, source, reported_by, reported_at, \
         period_from, period_to) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        year,
        version,
        &figures_json,
        &manual,
        &source,
        &ctx.claims.sub,
        at,
        period.map(|p| p.0),
        period.map(|p| p.1),
    )
    .execute(&mut *tx)
    .await?;
    let payload = serde_json::json!({
        "year": year, "version": version, "figures": figures_json, "manual": manual,
        "source": source, "periodFrom": period.map(|p| p.0), "periodTo": period.map(|p| p.1),
        "reportedAt": at,
    });
    outbox::enqueue(&mut tx, &ctx.tenant, Event::Statistics, &payload).await?;
    tx.commit().await?;
    st.kick_relay(&ctx.tenant.agency);
    Ok((
        StatusCode::CREATED,
        Json(ReportedStatistics {
            year,
            reported: true,
            version,
            figures: figures_json,
            manual,
            source,
            period_from: period.map(|p| p.0),
            period_to: period.map(|p| p.1),
        }),
    ))
}
