//! Following the province's aggregate stream into the workspace database.
//!
//! A durable pull consumer (ack policy *all*) delivers the stream; each fetched batch is
//! applied in **one transaction**, then the last message is acknowledged. Every applied
//! message is recorded by its envelope id (`applied_events`), so a batch delivered again
//! (a crash between commit and ack, a redelivery after `ack_wait`, the outbox's at-least-
//! once relay) changes nothing the second time. Within the payloads, the newest wins:
//! decision metadata by its `version`, compliance by `measuredAt`.
//!
//! Events this workspace does not use (publications, statistics, anchors, lists) are
//! passed over; unknown events and malformed messages are counted
//! (`sanxiang_supervision_events_skipped_total{reason}`) and skipped, never retried
//! forever. A database error stops the batch unacknowledged: it is delivered again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sanxiang_domain::supervision::{
    COMPLIANCE_EVENT, ComplianceReport, DECISION_METADATA_EVENT, DecisionMetadata,
    MILESTONE_REPORT_EVENT, MilestoneReported,
};
use serde::Deserialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::{AppState, StreamSettings};

/// What `/ready` reads.
#[derive(Default)]
pub struct Status {
    /// The consumer is attached to the stream.
    pub following: AtomicBool,
    pub applied_sequence: AtomicU64,
}

/// The outbox envelope (`sanxiang_tenant_service::outbox::Envelope`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    id: Uuid,
    event: String,
    agency: String,
    province: String,
    city: String,
    county: String,
    occurred_at: DateTime<Utc>,
    data: serde_json::Value,
}

/// Events of the stream this workspace has no use for (not "unknown").
const PASSED_OVER: [&str; 7] = [
    "disclosure",
    "withdrawal",
    "statistics",
    "correction",
    "anchor",
    "list_publication",
    "inspection_results",
];

/// What became of one message.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied(&'static str),
    Duplicate,
    PassedOver,
    Skipped(&'static str),
}

/// Applies one message inside `tx`.
pub async fn apply_message(
    tx: &mut Transaction<'_, Postgres>,
    payload: &[u8],
    sequence: u64,
) -> sqlx::Result<Outcome> {
    let Ok(env) = serde_json::from_slice::<Envelope>(payload) else {
        return Ok(Outcome::Skipped("malformed"));
    };
    let event: &'static str = match env.event.as_str() {
        DECISION_METADATA_EVENT => DECISION_METADATA_EVENT,
        COMPLIANCE_EVENT => COMPLIANCE_EVENT,
        MILESTONE_REPORT_EVENT => MILESTONE_REPORT_EVENT,
        e if PASSED_OVER.contains(&e) => return Ok(Outcome::PassedOver),
        _ => return Ok(Outcome::Skipped("unknown_event")),
    };
    // Parse before recording the id: a malformed payload is skipped, not remembered.
    enum Data {
        Decision(DecisionMetadata),
        Compliance(ComplianceReport),
        Milestone(MilestoneReported),
    }
    let data = match event {
        DECISION_METADATA_EVENT => serde_json::from_value(env.data.clone()).map(Data::Decision),
        COMPLIANCE_EVENT => serde_json::from_value(env.data.clone()).map(Data::Compliance),
        _ => serde_json::from_value(env.data.clone()).map(Data::Milestone),
    };
    let Ok(data) = data else {
        return Ok(Outcome::Skipped("malformed_data"));
    };
    let Ok(decision_id) = (match &data {
        Data::Decision(d) => Uuid::parse_str(&d.decision_id).map(Some),
        _ => Ok(None),
    }) else {
        return Ok(Outcome::Skipped("malformed_data"));
    };
    let fresh: Option<Uuid> = sqlx::query_scalar!(
        "INSERT INTO applied_events (id, event, agency, stream_seq) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO NOTHING RETURNING id",
        env.id,
        event,
        &env.agency,
        i64::try_from(sequence).unwrap_or(i64::MAX),
    )
    .fetch_optional(&mut **tx)
    .await?;
    if fresh.is_none() {
        return Ok(Outcome::Duplicate);
    }
    sqlx::query!(
        "INSERT INTO agencies (agency, province, city, county) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (agency) DO UPDATE SET province = $2, city = $3, county = $4",
        &env.agency,
        &env.province,
        &env.city,
        &env.county,
    )
    .execute(&mut **tx)
    .await?;
    match data {
        Data::Decision(d) => {
            sqlx::query!(
                "INSERT INTO decisions (decision_id, agency, province, city, county, document_number, \
                 category, procedure, matter, status, review_required, reviewed, decided_on, issued_at, \
                 publish_online, disclosure_due, disclosure_due_pending_year, disclosed_at, revoked_at, \
                 withdrawal_due, withdrawn_at, av_required, av_present, version, occurred_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25) \
                 ON CONFLICT (decision_id) DO UPDATE SET document_number = EXCLUDED.document_number, \
                 category = EXCLUDED.category, procedure = EXCLUDED.procedure, matter = EXCLUDED.matter, \
                 status = EXCLUDED.status, review_required = EXCLUDED.review_required, \
                 reviewed = EXCLUDED.reviewed, decided_on = EXCLUDED.decided_on, issued_at = EXCLUDED.issued_at, \
                 publish_online = EXCLUDED.publish_online, disclosure_due = EXCLUDED.disclosure_due, \
                 disclosure_due_pending_year = EXCLUDED.disclosure_due_pending_year, \
                 disclosed_at = EXCLUDED.disclosed_at, revoked_at = EXCLUDED.revoked_at, \
                 withdrawal_due = EXCLUDED.withdrawal_due, withdrawn_at = EXCLUDED.withdrawn_at, \
                 av_required = EXCLUDED.av_required, av_present = EXCLUDED.av_present, \
                 version = EXCLUDED.version, occurred_at = EXCLUDED.occurred_at \
                 WHERE decisions.version < EXCLUDED.version AND decisions.agency = EXCLUDED.agency",
                decision_id,
                &env.agency,
                &env.province,
                &env.city,
                &env.county,
                &d.document_number,
                d.category.code(),
                d.procedure.as_str(),
                d.matter.as_deref(),
                &d.status,
                d.review_required,
                d.reviewed,
                d.decided_on,
                d.issued_at,
                d.publish_online,
                d.disclosure_due,
                d.disclosure_due_pending_year,
                d.disclosed_at,
                d.revoked_at,
                d.withdrawal_due,
                d.withdrawn_at,
                d.av_required,
                d.av_present,
                d.version,
                env.occurred_at,
            )
            .execute(&mut **tx)
            .await?;
        }
        Data::Compliance(c) => {
            let json = serde_json::to_value(&c).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            sqlx::query!(
                "UPDATE agencies SET compliance = $2, compliance_at = $3, \
                 display_name = CASE WHEN $4 = '' THEN display_name ELSE $4 END \
                 WHERE agency = $1 AND (compliance_at IS NULL OR compliance_at <= $3)",
                &env.agency,
                json,
                c.measured_at,
                &c.display_name,
            )
            .execute(&mut **tx)
            .await?;
        }
        Data::Milestone(m) => {
            sqlx::query!(
                // A newer revision (reported again after a return) re-opens the
                // occurrence for the supervisor's decision; a redelivered or older one
                // changes nothing.
                "INSERT INTO milestones (agency, plan, milestone, due, reported_at, revision) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (agency, plan, milestone, due) DO UPDATE \
                 SET reported_at = EXCLUDED.reported_at, revision = EXCLUDED.revision, \
                     status = 'reported', decided_by = NULL, decided_at = NULL \
                 WHERE milestones.revision < EXCLUDED.revision",
                &env.agency,
                &m.plan,
                &m.milestone,
                m.due,
                m.reported_at,
                m.revision,
            )
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(Outcome::Applied(event))
}

/// Follows the stream forever, reattaching after errors.
pub async fn follow(js: jetstream::Context, s: StreamSettings, state: AppState) {
    let mut backoff = Duration::from_millis(250);
    loop {
        let started = std::time::Instant::now();
        if let Err(e) = follow_once(&js, &s, &state).await {
            state.ingest.following.store(false, Ordering::Relaxed);
            state.metrics.consumer_errors.inc();
            tracing::warn!(error = %format!("{e:#}"), "stream consumer stopped; reattaching");
        }
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_millis(250);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn follow_once(
    js: &jetstream::Context,
    s: &StreamSettings,
    state: &AppState,
) -> anyhow::Result<()> {
    let stream = js
        .get_stream(&s.stream)
        .await
        .map_err(|e| anyhow::anyhow!("stream {}: {e}", s.stream))?;
    let consumer = stream
        .get_or_create_consumer(
            &s.consumer,
            consumer::pull::Config {
                durable_name: Some(s.consumer.clone()),
                description: Some("sanxiang supervision workspace".into()),
                deliver_policy: consumer::DeliverPolicy::All,
                ack_policy: consumer::AckPolicy::All,
                ack_wait: Duration::from_secs(60),
                max_ack_pending: 10_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("consumer {}: {e}", s.consumer))?;
    state.ingest.following.store(true, Ordering::Relaxed);
    tracing::info!(stream = %s.stream, consumer = %s.consumer, "following the stream");
    loop {
        let mut batch = consumer
            .fetch()
            .max_messages(s.batch.max(1))
            .expires(Duration::from_secs(5))
            .messages()
            .await
            .map_err(|e| anyhow::anyhow!("fetch: {e}"))?;
        let mut messages = Vec::new();
        while let Some(m) = batch.next().await {
            messages.push(m.map_err(|e| anyhow::anyhow!("message: {e}"))?);
        }
        let Some(last) = messages.last() else {
            continue;
        };
        let mut tx = state.pool.begin().await?;
        let mut outcomes = Vec::with_capacity(messages.len());
        let mut seq = 0;
        for m in &messages {
            seq = m
                .info()
                .map_err(|e| anyhow::anyhow!("message info: {e}"))?
                .stream_sequence;
            outcomes.push(apply_message(&mut tx, &m.payload, seq).await?);
        }
        tx.commit().await?;
        last.ack().await.map_err(|e| anyhow::anyhow!("ack: {e}"))?;
        let metrics = &state.metrics;
        for o in outcomes {
            match o {
                Outcome::Applied(e) => metrics.events_applied.with_label_values(&[e]).inc(),
                Outcome::Duplicate => metrics.duplicates.inc(),
                Outcome::PassedOver => metrics.events_passed_over.inc(),
                Outcome::Skipped(reason) => {
                    tracing::info!(reason, "stream message skipped");
                    metrics.events_skipped.with_label_values(&[reason]).inc()
                }
            }
        }
        state.ingest.applied_sequence.store(seq, Ordering::Relaxed);
        metrics.applied_sequence.set(seq as i64);
    }
}
