//! Transactional outbox and its relay to NATS JetStream.
//!
//! Writers call [`enqueue`] inside the transaction that makes the change. The relay takes
//! unrelayed rows in order, holding a per-database advisory lock so that only one relayer
//! (of any replica) works on a tenant at a time and rows go out in commit order; publishes each with `Nats-Msg-Id` = the row's id, waits for every
//! JetStream ack, then marks the acked rows relayed and commits. A crash after publishing
//! and before the commit re-sends those rows later; JetStream's duplicate window drops
//! them (and consumers can dedup on `id` in the payload too). When NATS is down, publishes
//! fail, nothing is marked, and the rows go out once NATS is back.

use crate::state::AppState;
use crate::tenants::Tenant;
use async_nats::jetstream;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::future::join_all;
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;

/// Advisory lock key of the relay (per tenant database).
const RELAY_LOCK: i64 = 0x5358_4f55_5442_4f58; // "SXOUTBOX"
/// Transaction-scoped advisory lock key of writers appending to the outbox.
const APPEND_LOCK: i64 = 0x5358_4150_5045_4e44; // "SXAPPEND"

/// Events pushed upward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Disclosure,
    Withdrawal,
    Statistics,
    /// A corrected publication: the full publication with its `version`.
    Correction,
    /// The head of an action's record hash chain, kept by the province.
    Anchor,
    /// A list published before enforcement (事前公开): kind, version, effective date, items.
    ListPublication,
    /// Results of a random inspection draw (抽查情况及查处结果).
    InspectionResults,
    /// A decision's supervision-relevant state, no personal data ([`crate::upward`]).
    DecisionMetadata,
    /// The agency's compliance counts, when they change ([`crate::upward`]).
    Compliance,
    /// A milestone occurrence reported done ([`crate::upward`]).
    MilestoneReport,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Disclosure => "disclosure",
            Event::Withdrawal => "withdrawal",
            Event::Statistics => "statistics",
            Event::Correction => "correction",
            Event::Anchor => "anchor",
            Event::ListPublication => "list_publication",
            Event::InspectionResults => "inspection_results",
            Event::DecisionMetadata => sanxiang_domain::supervision::DECISION_METADATA_EVENT,
            Event::Compliance => sanxiang_domain::supervision::COMPLIANCE_EVENT,
            Event::MilestoneReport => sanxiang_domain::supervision::MILESTONE_REPORT_EVENT,
        }
    }
}

/// The message body published to `<subjectPrefix>.<event>`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<'a, T: Serialize> {
    pub id: Uuid,
    pub event: Event,
    pub agency: &'a str,
    pub province: &'a str,
    pub city: &'a str,
    pub county: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub data: T,
}

/// Writes an outbox row in the caller's transaction; returns its id.
pub async fn enqueue<T: Serialize>(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &Tenant,
    event: Event,
    data: T,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    let env = Envelope {
        id,
        event,
        agency: &tenant.agency,
        province: &tenant.province,
        city: &tenant.city,
        county: &tenant.county,
        occurred_at: Utc::now(),
        data,
    };
    let payload = serde_json::to_value(&env).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    // `seq` is drawn at insert, but transactions commit in their own order: without this
    // lock (held until commit) a relay could see seq 4 committed before seq 3 and push
    // them out of order. Appending writers of one tenant queue here for the rest of
    // their transaction, so seq order is commit order.
    // (A void result has no Rust type: the lock is taken selecting no column.)
    sqlx::query!("SELECT FROM pg_advisory_xact_lock($1)", APPEND_LOCK)
        .execute(&mut **tx)
        .await?;
    sqlx::query!(
        "INSERT INTO outbox (id, event, payload) VALUES ($1, $2, $3)",
        id,
        event.as_str(),
        payload,
    )
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Relays one tenant's pending rows, in batches, until none is left. Returns how many
/// rows were relayed, and the error that stopped it early, if any.
pub async fn relay_tenant(
    js: &jetstream::Context,
    pool: &PgPool,
    tenant: &Tenant,
    batch: i64,
) -> (u64, anyhow::Result<()>) {
    let mut total = 0u64;
    loop {
        match relay_batch(js, pool, tenant, batch).await {
            Ok((n, more)) => {
                total += n;
                if !more {
                    return (total, Ok(()));
                }
            }
            Err((n, e)) => return (total + n, Err(e)),
        }
    }
}

/// One batch: `(relayed, more may remain)`, or `(relayed, error)`.
async fn relay_batch(
    js: &jetstream::Context,
    pool: &PgPool,
    tenant: &Tenant,
    batch: i64,
) -> Result<(u64, bool), (u64, anyhow::Error)> {
    let db = |e: sqlx::Error| (0u64, anyhow::Error::from(e));
    {
        let mut tx = pool.begin().await.map_err(db)?;
        let ours = sqlx::query_scalar!(
            r#"SELECT pg_try_advisory_xact_lock($1) AS "locked!""#,
            RELAY_LOCK
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if !ours {
            // Another replica is relaying this tenant right now.
            return Ok((0, false));
        }
        let rows: Vec<(i64, Uuid, String, serde_json::Value)> = sqlx::query!(
            "SELECT seq, id, event, payload FROM outbox WHERE relayed_at IS NULL \
             ORDER BY seq LIMIT $1 FOR UPDATE",
            batch
        )
        .map(|r| (r.seq, r.id, r.event, r.payload))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        if rows.is_empty() {
            tx.commit().await.map_err(db)?;
            return Ok((0, false));
        }
        // Pipeline: send every publish, then wait for every ack.
        let mut pending = Vec::with_capacity(rows.len());
        let mut send_error = None;
        for (seq, id, event, payload) in &rows {
            let msg = jetstream::message::PublishMessage::build()
                .payload(
                    serde_json::to_vec(payload)
                        .map_err(|e| (0, e.into()))?
                        .into(),
                )
                .message_id(id.to_string());
            let subject = crate::nats_subjects::publish_subject(&tenant.subject_prefix, event)
                .map_err(|e| (0, e))?;
            match js.send_publish(subject, msg).await {
                Ok(ack) => pending.push((*seq, ack)),
                Err(e) => {
                    send_error = Some(anyhow::anyhow!("publish failed: {e}"));
                    break;
                }
            }
        }
        let (seqs, acks): (Vec<i64>, Vec<_>) = pending.into_iter().unzip();
        let results = join_all(acks.into_iter().map(|a| a.into_future())).await;
        let mut acked = Vec::with_capacity(seqs.len());
        let mut ack_error = None;
        for (seq, r) in seqs.into_iter().zip(results) {
            match r {
                Ok(_) => acked.push(seq),
                Err(e) => {
                    ack_error
                        .get_or_insert_with(|| anyhow::anyhow!("publish not acknowledged: {e}"));
                }
            }
        }
        if !acked.is_empty() {
            sqlx::query!(
                "UPDATE outbox SET relayed_at = clock_timestamp() WHERE seq = ANY($1)",
                &acked
            )
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        let n = acked.len() as u64;
        if let Some(e) = send_error.or(ack_error) {
            return Err((
                n,
                e.context(format!("{} of {} rows relayed", n, rows.len())),
            ));
        }
        Ok((n, rows.len() as i64 >= batch))
    }
}

/// Every this many sweep ticks, every tenant is swept (not only those with a known backlog).
const FULL_SWEEP_EVERY: u64 = 30;

/// Runs the relay: on demand (after a write) and by periodic sweep.
pub async fn run_relay(
    state: AppState,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<String>,
    sweep: Duration,
) {
    let Some(js) = state.jetstream.clone() else {
        tracing::warn!("NATS not configured: outbox rows accumulate and are not relayed");
        return;
    };
    let mut ticks: u64 = 0;
    let mut ticker = tokio::time::interval(sweep);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let agencies: Vec<String> = tokio::select! {
            Some(first) = rx.recv() => {
                let mut set = HashSet::new();
                set.insert(first);
                while let Ok(more) = rx.try_recv() {
                    set.insert(more);
                }
                set.into_iter().collect()
            }
            _ = ticker.tick() => {
                // A full sweep at start (rows left by a previous run) and every
                // FULL_SWEEP_EVERY ticks; in between only tenants known to have a backlog
                // (failed relays, or a backlog seen by the metrics scan).
                ticks += 1;
                if ticks % FULL_SWEEP_EVERY == 1 {
                    state.tenants.all().iter().map(|t| t.agency.clone()).collect()
                } else {
                    state.relay_pending.lock().expect("lock").iter().cloned().collect()
                }
            }
        };
        // Tenants are relayed concurrently (bounded), so one slow tenant does not hold up
        // the others.
        futures::stream::iter(agencies)
            .for_each_concurrent(8, |agency| {
                let state = state.clone();
                let js = js.clone();
                async move {
                    let Some(tenant) = state.tenants.get(&agency) else { return };
                    let pool = match state.pools.get(&tenant).await {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(%agency, error = %e, "relay: tenant database unavailable");
                            return;
                        }
                    };
                    let (n, result) = relay_tenant(&js, &pool, &tenant, 256).await;
                    if n > 0 {
                        state.metrics.outbox_relayed_total.with_label_values(&tenant.labels()).inc_by(n);
                        tracing::debug!(%agency, relayed = n, "outbox relayed");
                    }
                    match result {
                        Ok(()) => {
                            state.relay_pending.lock().expect("lock").remove(&agency);
                        }
                        Err(e) => {
                            state.relay_pending.lock().expect("lock").insert(agency.clone());
                            tracing::warn!(%agency, error = %e, "relay failed; will retry");
                        }
                    }
                }
            })
            .await;
    }
}
