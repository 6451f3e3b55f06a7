//! The public side: server-rendered Chinese pages ([`html`]) and the JSON API ([`api`]),
//! both reading only the index and the directory. Every request passes the per-client
//! rate limit; successful GETs get an ETag and Cache-Control ([`guard`]).

pub mod api;
pub mod guard;
pub mod html;
pub mod openapi;
pub mod params;
pub mod problem;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::http::{HeaderValue, Method};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::directory::Directory;
use crate::event::DecisionRecord;
use crate::index::SearchIndex;
use crate::labels;
use crate::metrics::Metrics;
use crate::search::{DecisionQuery, Page};
use params::{MAX_Q_CHARS, Params};
use problem::Problem;

/// Settings of the public side.
#[derive(Debug, Clone)]
pub struct WebSettings {
    pub title: String,
    pub cors_origins: Vec<String>,
    pub rate_limit_per_second: f64,
    pub rate_limit_burst: f64,
    pub trust_forwarded_for: bool,
    pub natural_person_retention_days: Option<u32>,
    pub cache_max_age: u32,
    /// Matches a search counts at most; past it the page says "more than"
    /// ([`crate::search::COUNT_LIMIT`] by default).
    pub count_limit: usize,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            title: "行政执法信息公示平台".into(),
            cors_origins: Vec::new(),
            rate_limit_per_second: 20.0,
            rate_limit_burst: 60.0,
            trust_forwarded_for: false,
            natural_person_retention_days: None,
            cache_max_age: 10,
            count_limit: crate::search::COUNT_LIMIT,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub index: Arc<SearchIndex>,
    pub directory: Directory,
    pub metrics: Arc<Metrics>,
    pub web: Arc<WebSettings>,
    pub limiter: Arc<guard::RateLimiter>,
}

impl AppState {
    pub fn new(
        index: Arc<SearchIndex>,
        directory: Directory,
        metrics: Arc<Metrics>,
        web: WebSettings,
    ) -> Self {
        Self {
            limiter: Arc::new(guard::RateLimiter::new(
                web.rate_limit_per_second,
                web.rate_limit_burst,
            )),
            index,
            directory,
            metrics,
            web: Arc::new(web),
        }
    }

    /// Publications of natural persons published before this are no longer shown.
    pub fn natural_person_cutoff(&self) -> Option<DateTime<Utc>> {
        self.web
            .natural_person_retention_days
            .map(|d| Utc::now() - chrono::Duration::days(i64::from(d)))
    }

    /// Whether retention hides this publication now: its agency's own periods, or the
    /// platform-wide cap for natural persons. A withdrawal notice is never hidden.
    pub fn retention_hides(&self, r: &DecisionRecord) -> bool {
        let Some(p) = r.publication.as_ref().filter(|_| r.withdrawal.is_none()) else {
            return false;
        };
        let platform = self
            .natural_person_cutoff()
            .is_some_and(|cutoff| p.natural_person && p.published_at < cutoff);
        platform || self.directory.retention(&p.agency).hides(r, Utc::now())
    }

    /// Runs `f` (a blocking index read) timing it under `query`.
    pub async fn timed<T: Send + 'static>(
        &self,
        query: &'static str,
        f: impl FnOnce(&AppState) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Problem> {
        let st = self.clone();
        let started = Instant::now();
        let out = tokio::task::spawn_blocking(move || f(&st))
            .await
            .map_err(|_| Problem::unavailable())?;
        self.metrics
            .query_duration
            .with_label_values(&[query])
            .observe(started.elapsed().as_secs_f64());
        out
    }
}

/// Parameters of a decision search.
pub const SEARCH_PARAMS: [&str; 13] = [
    "q",
    "city",
    "county",
    "agency",
    "category",
    "procedure",
    "from",
    "to",
    "party",
    "documentNumber",
    "sort",
    "cursor",
    "limit",
];

/// Builds the validated query from the parameters.
pub fn decision_query(st: &AppState, p: &Params) -> Result<DecisionQuery, Problem> {
    let from = p.date("from")?;
    let to = p.date("to")?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(Problem::bad_parameter(
            "to",
            "结束日期不能早于开始日期（from）",
        ));
    }
    let agencies = p.text("agency", 128)?.map(|a| {
        st.directory
            .resolve_agency(&a)
            .into_iter()
            .chain([a])
            .collect::<Vec<_>>()
    });
    Ok(DecisionQuery {
        q: p.text("q", MAX_Q_CHARS)?,
        city: p.division_code("city")?,
        county: p.division_code("county")?,
        agencies,
        category: p.category()?,
        procedure: p.procedure()?,
        from,
        to,
        party_code: p.credit_code("party")?,
        document_number: p.text("documentNumber", 64)?,
        order: p.order()?,
        cursor: p.cursor()?,
        limit: p.limit()?,
        natural_person_cutoff: st.natural_person_cutoff(),
        count_limit: Some(st.web.count_limit),
    })
}

/// Runs a decision search.
pub async fn search(st: &AppState, q: DecisionQuery) -> Result<Page<DecisionRecord>, Problem> {
    let label = if q.q.is_some() {
        "search_text"
    } else {
        "search_filter"
    };
    st.timed(label, move |st| Ok(q.run(&st.index)?)).await
}

/// The record of a decision, as the public may see it (listed, or withdrawn).
pub async fn decision(st: &AppState, id: &str) -> Result<DecisionRecord, Problem> {
    let id = Uuid::parse_str(id)
        .map_err(|_| Problem::not_found("没有这个编号的决定：编号格式有误。"))?;
    let record = st
        .timed("decision", move |st| Ok(st.index.get(&id.to_string())?))
        .await?;
    match record {
        Some(crate::index::Stored::Decision(r))
            if (r.publication.is_some() || r.withdrawal.is_some()) && !st.retention_hides(&r) =>
        {
            Ok(*r)
        }
        _ => Err(Problem::not_found(
            "没有找到这项公示，它可能尚未公示或已超过公示期限。",
        )),
    }
}

/// A code with its Chinese name.
#[derive(Debug, Serialize, ToSchema)]
pub struct Named {
    pub code: String,
    pub name: String,
}

/// An agency as shown.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgencyRef {
    /// The agency's name (its Agency object's name, used in URLs).
    pub name: String,
    /// The official name (its own name when the directory does not know it).
    pub display_name: String,
    /// Unified social credit code (when the directory knows the agency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<String>,
}

/// A decision as the API shows it. A withdrawn decision shows only its withdrawal notice
/// (`withdrawal`) with what identifies it: no procedure, target, facts, basis or conclusion.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Decision)]
pub struct DecisionView {
    pub id: Uuid,
    /// The decision's page on this portal.
    pub url: String,
    /// 决定书文号.
    pub document_number: String,
    pub agency: AgencyRef,
    pub city: Named,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub county: Option<Named>,
    /// Enforcement category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Named>,
    /// Procedure (simple or general).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<Named>,
    /// The party, as redacted for publication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The party's code, as redacted for publication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_on: Option<chrono::NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    /// Version of the publication (a correction publishes a new one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Why this version corrected the previous one (corrections only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correction_reason: Option<String>,
    /// The withdrawal notice of a withdrawn decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawal: Option<WithdrawalView>,
}

/// The withdrawal notice of a withdrawn decision.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Withdrawal)]
pub struct WithdrawalView {
    pub withdrawn_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the decision was revoked (撤销), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl AppState {
    pub fn agency_ref(&self, name: &str) -> AgencyRef {
        let entry = self.directory.agency(name);
        AgencyRef {
            name: name.to_string(),
            display_name: entry
                .as_ref()
                .map_or_else(|| name.to_string(), |a| a.display_name.clone()),
            credit_code: entry.map(|a| a.credit_code),
        }
    }

    fn named_place(&self, code: &str) -> Named {
        Named {
            code: code.to_string(),
            name: self.directory.place_name(code),
        }
    }

    /// The view of a record: a withdrawn decision shows only its notice.
    pub fn view(&self, r: &DecisionRecord) -> DecisionView {
        let withdrawn = r.withdrawal.as_ref();
        let shown = r.publication.as_ref().filter(|_| withdrawn.is_none());
        let empty = String::new();
        let (agency, city, county, doc) = match (withdrawn, &r.publication) {
            (Some(w), _) => (&w.agency, &w.city, &w.county, &w.document_number),
            (None, Some(p)) => (&p.agency, &p.city, &p.county, &p.document_number),
            // Not stored: a record always has one or the other.
            (None, None) => (&empty, &empty, &empty, &empty),
        };
        let doc = if doc.is_empty() {
            r.publication
                .as_ref()
                .map_or(doc.clone(), |p| p.document_number.clone())
        } else {
            doc.clone()
        };
        DecisionView {
            id: r.id,
            url: format!("/decisions/{}", r.id),
            document_number: doc,
            agency: self.agency_ref(agency),
            city: self.named_place(city),
            county: (!county.is_empty() && county != "-").then(|| self.named_place(county)),
            category: r.publication.as_ref().map(|p| Named {
                code: p.category.clone(),
                name: labels::category_zh(&p.category),
            }),
            procedure: shown.map(|p| Named {
                code: p.procedure.clone(),
                name: labels::procedure_zh(&p.procedure),
            }),
            target: shown.map(|p| p.target.clone()),
            target_code: shown.and_then(|p| p.target_code.clone()),
            facts: shown.map(|p| p.facts.clone()),
            legal_basis: shown.map(|p| p.legal_basis.clone()),
            conclusion: shown.map(|p| p.conclusion.clone()),
            decided_on: r.publication.as_ref().map(|p| p.decided_on),
            published_at: r.publication.as_ref().map(|p| p.published_at),
            version: shown.map(|p| p.version),
            correction_reason: shown.and_then(|p| p.correction_reason.clone()),
            withdrawal: withdrawn.map(|w| WithdrawalView {
                withdrawn_at: w.withdrawn_at,
                reason: w.reason.clone(),
                revoked_at: w.revoked_at,
            }),
        }
    }
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::HEAD])
        .expose_headers([axum::http::header::ETAG]);
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(AllowOrigin::any())
    } else {
        layer.allow_origin(AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        ))
    }
}

/// Every public route.
pub fn router(st: AppState) -> Router {
    Router::new()
        .route("/", get(html::home))
        .route("/decisions/{id}", get(html::decision_page))
        .route("/withdrawals", get(html::withdrawals_page))
        .route("/agencies", get(html::directory_page))
        .route("/agencies/{name}", get(html::agency_page))
        .route("/api/v1/decisions", get(api::decisions))
        .route("/api/v1/decisions/{id}", get(api::decision))
        .route("/api/v1/withdrawals", get(api::withdrawals))
        .route("/api/v1/agencies", get(api::agencies))
        .route("/api/v1/agencies/{name}", get(api::agency))
        .route("/api/v1/openapi.json", get(api::openapi))
        .fallback(html::fallback)
        .layer(axum::middleware::from_fn_with_state(
            st.clone(),
            guard::cache_headers,
        ))
        .layer(cors(&st.web.cors_origins))
        .layer(axum::middleware::from_fn_with_state(
            st.clone(),
            guard::rate_limit,
        ))
        .with_state(st)
}
