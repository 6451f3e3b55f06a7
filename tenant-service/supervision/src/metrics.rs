//! Prometheus metrics and the admin port (`/live`, `/ready`, `/metrics`).
//!
//! The supervision gauges (`…_notices_open`, `…_rectification_overdue`,
//! `…_milestones_unconfirmed`, `…_milestones_missed`, `…_case_review_score`, labelled province, city, county,
//! agency) are computed from the database at each scrape: the database is the truth, and
//! several replicas report the same figures. "Overdue" is judged against the service's
//! clock, so a scrape after a deadline passes reports it without any write.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::AppState;

const PLACE: [&str; 4] = ["province", "city", "county", "agency"];

pub struct Metrics {
    pub registry: Registry,
    pub events_applied: IntCounterVec,
    pub events_skipped: IntCounterVec,
    pub events_passed_over: IntCounter,
    pub duplicates: IntCounter,
    pub consumer_errors: IntCounter,
    pub applied_sequence: IntGauge,
    pub notices_open: IntGaugeVec,
    pub rectification_overdue: IntGaugeVec,
    pub milestones_unconfirmed: IntGaugeVec,
    /// Past milestone occurrences not reported (or returned), per agency whose plans are
    /// known ([`crate::duties`]).
    pub milestones_missed: IntGaugeVec,
    /// Average total score (0–100) per agency in the latest campaign that scored any of
    /// its cases.
    pub case_review_score: prometheus::GaugeVec,
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), &PLACE).expect("metric");
    r.register(Box::new(g.clone())).expect("register");
    g
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new();
        let counter_vec = |name: &str, help: &str, label: &str| {
            let c = IntCounterVec::new(Opts::new(name, help), &[label]).expect("metric");
            r.register(Box::new(c.clone())).expect("register");
            c
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("metric");
            r.register(Box::new(c.clone())).expect("register");
            c
        };
        let applied_sequence = IntGauge::new(
            "sanxiang_supervision_applied_sequence",
            "Last stream sequence applied and committed",
        )
        .expect("metric");
        r.register(Box::new(applied_sequence.clone()))
            .expect("register");
        let case_review_score = prometheus::GaugeVec::new(
            Opts::new(
                "sanxiang_supervision_case_review_score",
                "Average total score (0-100) of the agency's reviewed case files in the latest campaign that scored any",
            ),
            &PLACE,
        )
        .expect("metric");
        r.register(Box::new(case_review_score.clone()))
            .expect("register");
        Self {
            events_applied: counter_vec(
                "sanxiang_supervision_events_applied_total",
                "Stream events applied, by event",
                "event",
            ),
            events_skipped: counter_vec(
                "sanxiang_supervision_events_skipped_total",
                "Stream messages skipped (unknown event, malformed), by reason",
                "reason",
            ),
            events_passed_over: counter(
                "sanxiang_supervision_events_passed_over_total",
                "Stream events of kinds the workspace does not use (publications, statistics, ...)",
            ),
            duplicates: counter(
                "sanxiang_supervision_duplicates_total",
                "Stream messages already applied (same envelope id)",
            ),
            consumer_errors: counter(
                "sanxiang_supervision_consumer_errors_total",
                "Times the stream consumer stopped on an error and reattached",
            ),
            applied_sequence,
            notices_open: gauge(
                &r,
                "sanxiang_supervision_notices_open",
                "Notices (通报) not yet accepted, per agency",
            ),
            rectification_overdue: gauge(
                &r,
                "sanxiang_supervision_rectification_overdue",
                "Notices past their rectification deadline without an accepted answer, per agency",
            ),
            milestones_unconfirmed: gauge(
                &r,
                "sanxiang_supervision_milestones_unconfirmed",
                "Milestones reported done that no supervisor has confirmed or returned yet, per agency",
            ),
            milestones_missed: gauge(
                &r,
                "sanxiang_supervision_milestones_missed",
                "Supervision milestone occurrences past due and not reported done (or returned), per agency",
            ),
            case_review_score,
            registry: r,
        }
    }

    /// Recomputes the supervision gauges from the database.
    pub async fn refresh(&self, state: &AppState) -> sqlx::Result<()> {
        let today = state.clock.today();
        type Row = (String, String, String, String, i64, i64, i64, Option<f64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT a.province, a.city, a.county, a.agency, \
             (SELECT count(*) FROM notices n WHERE n.agency = a.agency AND n.status <> 'accepted'), \
             (SELECT count(*) FROM notices n WHERE n.agency = a.agency AND n.status <> 'accepted' \
                AND n.deadline < $1), \
             (SELECT count(*) FROM milestones m WHERE m.agency = a.agency AND m.status = 'reported'), \
             (SELECT avg(rc.total)::float8 FROM review_cases rc WHERE rc.agency = a.agency \
                AND rc.total IS NOT NULL AND rc.campaign_id = \
                (SELECT c.id FROM review_campaigns c JOIN review_cases x ON x.campaign_id = c.id \
                 WHERE x.agency = a.agency AND x.total IS NOT NULL ORDER BY c.created_at DESC LIMIT 1)) \
             FROM agencies a",
        )
        .bind(today)
        .fetch_all(&state.pool)
        .await?;
        let places: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| (r.3.clone(), r.0.clone(), r.1.clone()))
            .collect();
        let duties = state.plans.for_agencies(state, &places).await?;
        self.notices_open.reset();
        self.rectification_overdue.reset();
        self.milestones_unconfirmed.reset();
        self.case_review_score.reset();
        self.milestones_missed.reset();
        for (p, c, k, a, open, overdue, unconfirmed, score) in rows {
            let l = [p.as_str(), &c, &k, &a];
            self.notices_open.with_label_values(&l).set(open);
            self.rectification_overdue
                .with_label_values(&l)
                .set(overdue);
            self.milestones_unconfirmed
                .with_label_values(&l)
                .set(unconfirmed);
            if let Some(d) = duties.get(&a).filter(|d| d.known) {
                self.milestones_missed
                    .with_label_values(&l)
                    .set(d.missed.len() as i64);
            }
            if let Some(s) = score {
                self.case_review_score.with_label_values(&l).set(s);
            }
        }
        Ok(())
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

pub fn admin_router(state: AppState) -> Router {
    Router::new()
        .route("/live", get(|| async { "ok" }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn ready(State(st): State<AppState>) -> (StatusCode, String) {
    let mut problems = Vec::new();
    if let Err(e) = sqlx::query("SELECT 1").execute(&st.pool).await {
        problems.push(format!("database: {e}"));
    }
    if !st.ingest.following.load(Ordering::Relaxed) {
        problems.push("not attached to the stream yet".into());
    }
    if !st.plans.is_ready() {
        problems.push("SupervisionPlans and Agencies not listed yet".into());
    }
    if !st.calendars.is_loaded() {
        problems.push("working-day calendars not loaded yet".into());
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready".into())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, problems.join("\n"))
    }
}

async fn metrics(State(st): State<AppState>) -> (StatusCode, String) {
    if let Err(e) = st.metrics.refresh(&st).await {
        tracing::warn!(error = %e, "supervision gauges not refreshed");
    }
    let mut out = String::new();
    match prometheus::TextEncoder::new().encode_utf8(&st.metrics.registry.gather(), &mut out) {
        Ok(()) => (StatusCode::OK, out),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
