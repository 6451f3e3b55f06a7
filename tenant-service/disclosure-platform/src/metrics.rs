//! Prometheus metrics of the platform (served on the admin port).

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    pub registry: Registry,
    /// Last stream sequence committed with the index.
    pub applied_sequence: IntGauge,
    /// Last sequence in the stream (when last seen).
    pub stream_last_sequence: IntGauge,
    pub lag_messages: IntGauge,
    /// How far behind the index is, in seconds (see [`crate::ingest`]).
    pub lag_seconds: IntGauge,
    pub stream_reachable: IntGauge,
    pub documents: IntGauge,
    pub events_applied: IntCounterVec,
    pub events_skipped: IntCounterVec,
    pub duplicates: IntCounter,
    /// Decisions rewritten because their agency's names or retention changed.
    pub reindexed: IntCounter,
    pub consumer_errors: IntCounter,
    pub commits: IntCounter,
    pub commit_duration: Histogram,
    pub query_duration: HistogramVec,
    pub requests: IntCounterVec,
    pub rate_limited: IntCounter,
}

impl Metrics {
    pub fn new(stream: &str) -> Self {
        let registry = Registry::new_custom(
            Some("sanxiang_disclosure".into()),
            Some([("stream".to_string(), stream.to_string())].into()),
        )
        .expect("valid registry");
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("metric");
            registry.register(Box::new(g.clone())).expect("register");
            g
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("metric");
            registry.register(Box::new(c.clone())).expect("register");
            c
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("metric");
            registry.register(Box::new(c.clone())).expect("register");
            c
        };
        let commit_duration = Histogram::with_opts(
            HistogramOpts::new("commit_duration_seconds", "Index commit duration").buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )
        .expect("metric");
        registry
            .register(Box::new(commit_duration.clone()))
            .expect("register");
        let query_duration = HistogramVec::new(
            HistogramOpts::new("query_duration_seconds", "Search and page query duration").buckets(
                vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
            ),
            &["query"],
        )
        .expect("metric");
        registry
            .register(Box::new(query_duration.clone()))
            .expect("register");
        Self {
            applied_sequence: gauge(
                "applied_sequence",
                "Last stream sequence committed with the index",
            ),
            stream_last_sequence: gauge(
                "stream_last_sequence",
                "Last sequence of the stream when last checked",
            ),
            lag_messages: gauge(
                "lag_messages",
                "Messages in the stream not yet in the index",
            ),
            lag_seconds: gauge(
                "lag_seconds",
                "Age of the oldest message not yet in the index, or time since the stream was last reachable",
            ),
            stream_reachable: gauge("stream_reachable", "1 when the last stream check succeeded"),
            documents: gauge(
                "documents",
                "Documents in the index (decisions and statistics)",
            ),
            events_applied: counter_vec(
                "events_applied_total",
                "Events applied to the index",
                &["event"],
            ),
            events_skipped: counter_vec(
                "events_skipped_total",
                "Messages skipped (unknown or malformed)",
                &["reason"],
            ),
            duplicates: counter(
                "duplicate_events_total",
                "Events already in the index (redelivered)",
            ),
            reindexed: counter(
                "reindexed_documents_total",
                "Decisions rewritten after a change of their agency's names, places or retention",
            ),
            consumer_errors: counter(
                "consumer_errors_total",
                "Errors of the stream consumer (it reconnects)",
            ),
            commits: counter("commits_total", "Index commits"),
            commit_duration,
            query_duration,
            requests: counter_vec(
                "http_requests_total",
                "Public HTTP requests by status",
                &["status"],
            ),
            rate_limited: counter(
                "rate_limited_total",
                "Requests refused by the per-client rate limit",
            ),
            registry,
        }
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("encode metrics");
        String::from_utf8(buf).unwrap_or_default()
    }
}
