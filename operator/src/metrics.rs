//! The operator's own Prometheus metrics (names fixed by docs/metrics.md and used by the
//! chart's alerts and the operator-health dashboard).

use std::time::Instant;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    reconciles: IntCounterVec,
    errors: IntCounterVec,
    duration: HistogramVec,
    /// 1 when an agency is Ready, 0 when not; removed when the agency is deleted.
    pub agency_ready: IntGaugeVec,
    pub leader: prometheus::IntGauge,
    /// 1 for a year that should have a WorkCalendar and has none (`calendar_watch`).
    pub calendar_year_missing: IntGaugeVec,
    /// Time spent in each provisioning phase of an agency (database, nats_account,
    /// streams, prometheus_rule, status), summed over concurrent reconciles; the database
    /// phase also by step (database_secret_read, database_postgres, database_secret_write).
    pub phase: HistogramVec,
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new();
        let reconciles = IntCounterVec::new(
            Opts::new("sanxiang_operator_reconciles_total", "Reconciliations run"),
            &["controller"],
        )
        .expect("valid metric");
        let errors = IntCounterVec::new(
            Opts::new(
                "sanxiang_operator_reconcile_errors_total",
                "Reconciliations that failed, by reason",
            ),
            &["controller", "reason"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "sanxiang_operator_reconcile_duration_seconds",
                "Time one reconciliation took",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["controller"],
        )
        .expect("valid metric");
        let agency_ready = IntGaugeVec::new(
            Opts::new("sanxiang_agency_ready", "1 when the agency tenant is Ready"),
            &["namespace", "agency", "province", "city", "county"],
        )
        .expect("valid metric");
        let leader = prometheus::IntGauge::new(
            "sanxiang_operator_leader",
            "1 while this replica holds the leader lease",
        )
        .expect("valid metric");
        let phase = HistogramVec::new(
            HistogramOpts::new(
                "sanxiang_operator_agency_phase_seconds",
                "Time one provisioning phase of an agency took",
            )
            .buckets(vec![0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10.0]),
            &["phase"],
        )
        .expect("valid metric");
        let calendar_year_missing = IntGaugeVec::new(
            Opts::new(
                "sanxiang_calendar_year_missing",
                "1 for the current year, or next year from the warning date on, while no WorkCalendar describes it",
            ),
            &["year"],
        )
        .expect("valid metric");
        for c in [
            Box::new(reconciles.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(errors.clone()),
            Box::new(duration.clone()),
            Box::new(agency_ready.clone()),
            Box::new(leader.clone()),
            Box::new(calendar_year_missing.clone()),
            Box::new(phase.clone()),
        ] {
            registry.register(c).expect("unique metric");
        }
        Self {
            registry,
            reconciles,
            errors,
            duration,
            agency_ready,
            leader,
            calendar_year_missing,
            phase,
        }
    }
}

impl Metrics {
    /// Counts a reconciliation and times it until the returned guard drops.
    pub fn reconcile(&self, controller: &str) -> ReconcileTimer {
        self.reconciles.with_label_values(&[controller]).inc();
        ReconcileTimer {
            histogram: self.duration.with_label_values(&[controller]),
            start: Instant::now(),
        }
    }

    pub fn error(&self, controller: &str, reason: &str) {
        self.errors.with_label_values(&[controller, reason]).inc();
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).expect("metrics are UTF-8")
    }
}

pub struct ReconcileTimer {
    histogram: prometheus::Histogram,
    start: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.start.elapsed().as_secs_f64());
    }
}
