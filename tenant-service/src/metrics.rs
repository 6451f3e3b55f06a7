//! Prometheus metrics (served on the admin port).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub const TENANT_LABELS: [&str; 4] = ["province", "city", "county", "agency"];

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub disclosures_overdue: IntGaugeVec,
    /// The oldest due date among the overdue disclosures, as 00:00 UTC of that date.
    pub disclosures_oldest_overdue_due_date: IntGaugeVec,
    pub disclosures_due_soon: IntGaugeVec,
    pub withdrawals_overdue: IntGaugeVec,
    pub reviews_pending: IntGaugeVec,
    pub av_gaps: IntGaugeVec,
    pub outbox_backlog: IntGaugeVec,
    pub push_lag_seconds: IntGaugeVec,
    pub officers: IntGaugeVec,
    pub legal_reviewers: IntGaugeVec,
    pub annual_statistics_reported: IntGaugeVec,
    pub calendar_missing_year: IntGaugeVec,
    pub milestone_completed: IntGaugeVec,
    pub decisions_issued_total: IntCounterVec,
    pub disclosures_published_total: IntCounterVec,
    pub outbox_relayed_total: IntCounterVec,
    pub http_requests_total: IntCounterVec,
    pub http_request_duration_seconds: HistogramVec,
    pub reviews_overdue: IntGaugeVec,
    pub background_loop_up: IntGaugeVec,
    pub background_failures_total: IntCounterVec,
    pub scan_failures_total: IntCounterVec,
    pub supervisor_decision_reads_total: IntCounterVec,
}

fn gauge(registry: &Registry, name: &str, help: &str, extra: &[&str]) -> IntGaugeVec {
    let mut labels: Vec<&str> = TENANT_LABELS.to_vec();
    labels.extend_from_slice(extra);
    let g = IntGaugeVec::new(Opts::new(name, help), &labels).expect("valid gauge");
    registry
        .register(Box::new(g.clone()))
        .expect("register gauge");
    g
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
    registry
        .register(Box::new(c.clone()))
        .expect("register counter");
    c
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let r = &registry;
        fn tenant_and(extra: &'static str) -> Vec<&'static str> {
            let mut l = TENANT_LABELS.to_vec();
            l.push(extra);
            l
        }
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "sanxiang_http_request_duration_seconds",
                "HTTP request duration",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["route"],
        )
        .expect("valid histogram");
        registry
            .register(Box::new(duration.clone()))
            .expect("register histogram");
        Self {
            disclosures_overdue: gauge(
                r,
                "sanxiang_disclosures_overdue",
                "Issued decisions past their disclosure due date and not published",
                &[],
            ),
            disclosures_oldest_overdue_due_date: gauge(
                r,
                "sanxiang_disclosures_oldest_overdue_due_date",
                "Oldest disclosure due date among the overdue decisions, as the Unix time of \
                 00:00 UTC of that date so that it formats as the date (0 if none)",
                &[],
            ),
            disclosures_due_soon: gauge(
                r,
                "sanxiang_disclosures_due_soon",
                "Unpublished decisions due within 2 working days",
                &[],
            ),
            withdrawals_overdue: gauge(
                r,
                "sanxiang_withdrawals_overdue",
                "Revoked published decisions not withdrawn within the deadline",
                &[],
            ),
            reviews_pending: gauge(
                r,
                "sanxiang_reviews_pending",
                "Legal reviews awaiting an opinion or collective decision",
                &[],
            ),
            av_gaps: gauge(
                r,
                "sanxiang_av_gaps",
                "Actions requiring full-process A/V recording without A/V evidence",
                &[],
            ),
            outbox_backlog: gauge(
                r,
                "sanxiang_outbox_backlog",
                "Outbox rows not yet relayed to NATS",
                &[],
            ),
            push_lag_seconds: gauge(
                r,
                "sanxiang_push_lag_seconds",
                "Age of the oldest unrelayed outbox row (0 if none)",
                &[],
            ),
            officers: gauge(
                r,
                "sanxiang_officers",
                "Enforcement officers with a valid certificate",
                &[],
            ),
            legal_reviewers: gauge(
                r,
                "sanxiang_legal_reviewers",
                "Legal reviewers with a valid certificate",
                &[],
            ),
            annual_statistics_reported: gauge(
                r,
                "sanxiang_annual_statistics_reported",
                "1 when the annual statistics report for the year exists",
                &["year"],
            ),
            calendar_missing_year: gauge(
                r,
                "sanxiang_calendar_missing_year",
                "1 when a deadline could not be computed because a year's calendar is missing",
                &[],
            ),
            milestone_completed: gauge(
                r,
                "sanxiang_milestone_completed",
                "1 when the agency reported that supervision milestone occurrence done",
                &["plan", "milestone", "due"],
            ),
            decisions_issued_total: counter(
                r,
                "sanxiang_decisions_issued_total",
                "Decisions issued",
                &tenant_and("category"),
            ),
            disclosures_published_total: counter(
                r,
                "sanxiang_disclosures_published_total",
                "Decisions published",
                &TENANT_LABELS,
            ),
            outbox_relayed_total: counter(
                r,
                "sanxiang_outbox_relayed_total",
                "Outbox rows relayed to NATS (acknowledged)",
                &TENANT_LABELS,
            ),
            http_requests_total: counter(
                r,
                "sanxiang_http_requests_total",
                "HTTP requests",
                &["route", "status"],
            ),
            http_request_duration_seconds: duration,
            reviews_overdue: gauge(
                r,
                "sanxiang_reviews_overdue",
                "Legal reviews whose opinion is past the review time limit (working days)",
                &[],
            ),
            background_loop_up: {
                let g = IntGaugeVec::new(
                    Opts::new(
                        "sanxiang_background_loop_up",
                        "1 while a background loop (scanner, relay) runs, 0 once it stopped",
                    ),
                    &["loop"],
                )
                .expect("valid gauge");
                registry
                    .register(Box::new(g.clone()))
                    .expect("register gauge");
                g
            },
            background_failures_total: counter(
                r,
                "sanxiang_background_failures_total",
                "Background loops that stopped (error or panic)",
                &["loop"],
            ),
            scan_failures_total: counter(
                r,
                "sanxiang_scan_failures_total",
                "Metric scans of a tenant that failed (its gauges keep their last value)",
                &TENANT_LABELS,
            ),
            supervisor_decision_reads_total: counter(
                r,
                "sanxiang_supervisor_decision_reads_total",
                "Full (unredacted) decisions read by supervisors, logged like record reads",
                &TENANT_LABELS,
            ),
            registry,
        }
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("encode metrics");
        String::from_utf8(buf).expect("utf-8 metrics")
    }

    /// Removes every series of a tenant that is no longer served.
    pub fn forget_tenant(&self, labels: &[&str; 4]) {
        for g in [
            &self.disclosures_overdue,
            &self.disclosures_oldest_overdue_due_date,
            &self.disclosures_due_soon,
            &self.withdrawals_overdue,
            &self.reviews_pending,
            &self.av_gaps,
            &self.outbox_backlog,
            &self.push_lag_seconds,
            &self.officers,
            &self.legal_reviewers,
            &self.calendar_missing_year,
            &self.reviews_overdue,
        ] {
            let _ = g.remove_label_values(labels);
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_exact() {
        let m = Metrics::new();
        let l = ["p", "c", "-", "a"];
        m.disclosures_overdue.with_label_values(&l).set(1);
        m.disclosures_due_soon.with_label_values(&l).set(0);
        m.withdrawals_overdue.with_label_values(&l).set(0);
        m.reviews_pending.with_label_values(&l).set(0);
        m.av_gaps.with_label_values(&l).set(0);
        m.outbox_backlog.with_label_values(&l).set(0);
        m.push_lag_seconds.with_label_values(&l).set(0);
        m.officers.with_label_values(&l).set(0);
        m.legal_reviewers.with_label_values(&l).set(0);
        m.annual_statistics_reported
            .with_label_values(&["p", "c", "-", "a", "2025"])
            .set(1);
        m.calendar_missing_year.with_label_values(&l).set(0);
        m.milestone_completed
            .with_label_values(&["p", "c", "-", "a", "plan", "ms", "2026-03-20"])
            .set(1);
        m.decisions_issued_total
            .with_label_values(&["p", "c", "-", "a", "penalty"])
            .inc();
        m.disclosures_published_total.with_label_values(&l).inc();
        m.outbox_relayed_total.with_label_values(&l).inc();
        m.http_requests_total
            .with_label_values(&["/x", "200"])
            .inc();
        m.http_request_duration_seconds
            .with_label_values(&["/x"])
            .observe(0.1);
        let text = m.render();
        for name in [
            "sanxiang_disclosures_overdue{agency=\"a\",city=\"c\",county=\"-\",province=\"p\"} 1",
            "sanxiang_disclosures_due_soon",
            "sanxiang_withdrawals_overdue",
            "sanxiang_reviews_pending",
            "sanxiang_av_gaps",
            "sanxiang_outbox_backlog",
            "sanxiang_push_lag_seconds",
            "sanxiang_officers",
            "sanxiang_legal_reviewers",
            "sanxiang_annual_statistics_reported{agency=\"a\",city=\"c\",county=\"-\",province=\"p\",year=\"2025\"} 1",
            "sanxiang_calendar_missing_year",
            "sanxiang_milestone_completed{agency=\"a\",city=\"c\",county=\"-\",due=\"2026-03-20\",milestone=\"ms\",plan=\"plan\",province=\"p\"} 1",
            "sanxiang_milestone_completed{agency=\"a\",city=\"c\",county=\"-\",due=\"2026-03-20\",milestone=\"ms\",plan=\"plan\",province=\"p\"} 1",
            "sanxiang_decisions_issued_total{agency=\"a\",category=\"penalty\"",
            "sanxiang_disclosures_published_total",
            "sanxiang_outbox_relayed_total",
            "sanxiang_http_requests_total{route=\"/x\",status=\"200\"} 1",
            "sanxiang_http_request_duration_seconds_bucket",
        ] {
            assert!(text.contains(name), "{name} missing in\n{text}");
        }
    }
}
