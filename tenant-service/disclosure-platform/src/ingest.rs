//! Following the aggregate stream.
//!
//! The index's committed [`Position`](crate::index::Position) is the truth. At every
//! (re)start of the consumer loop — process start, or after any NATS error — the durable
//! pull consumer is recreated to deliver from `position + 1`, so messages delivered to a
//! previous run but never committed are delivered again, and nothing is skipped. Each
//! fetched batch is folded into the index and committed with its last sequence, then
//! acknowledged (ack policy *all*). A crash between commit and ack re-delivers messages
//! the index already holds: they are at or below the position and are passed over.
//!
//! Lag is checked every few seconds against the stream's last sequence. `lag_seconds` is
//! the age of the oldest message not yet applied, or, while the stream cannot be reached,
//! the time since it last could: either way, how long the portal may have been stale.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream::{self, consumer, stream::Stream};
use futures::StreamExt;

use crate::config::Common;
use crate::event::{self, Change};
use crate::index::{Applied, SearchIndex, Writer};
use crate::metrics::Metrics;

/// Connects to NATS with a credentials file, a user and password, or neither.
pub async fn connect(c: &Common) -> anyhow::Result<async_nats::Client> {
    let opts = match (&c.nats_creds, &c.nats_user) {
        (Some(path), _) => async_nats::ConnectOptions::with_credentials_file(path)
            .await
            .with_context(|| format!("reading NATS credentials {}", path.display()))?,
        (None, Some(user)) => async_nats::ConnectOptions::with_user_and_password(
            user.clone(),
            c.nats_password.clone().unwrap_or_default(),
        ),
        (None, None) => async_nats::ConnectOptions::new(),
    };
    opts.name("sanxiang-disclosure")
        .retry_on_initial_connect()
        .request_timeout(Some(Duration::from_secs(5)))
        .connect(c.nats_url.as_str())
        .await
        .context("connecting to NATS")
}

/// What the web and admin sides read about ingestion.
#[derive(Default)]
pub struct Status {
    pub applied: AtomicU64,
    pub lag_messages: AtomicU64,
    pub lag_seconds: AtomicU64,
    /// The lag has been measured at least once.
    pub measured: AtomicBool,
}

impl Status {
    pub fn caught_up(&self, max_messages: u64, max_seconds: u64) -> bool {
        self.measured.load(Ordering::Relaxed)
            && self.lag_messages.load(Ordering::Relaxed) <= max_messages
            && self.lag_seconds.load(Ordering::Relaxed) <= max_seconds
    }
}

/// Folds one message into the index; counts what happened.
pub fn apply_message(
    writer: &mut Writer,
    index: &SearchIndex,
    metrics: &Metrics,
    payload: &[u8],
    sequence: u64,
) -> anyhow::Result<()> {
    if sequence <= writer.position().sequence {
        return Ok(());
    }
    match event::parse(payload) {
        Ok(change) => {
            let name = match &change {
                Change::Publication { publication, .. } if publication.version > 1 => "correction",
                Change::Publication { .. } => "disclosure",
                Change::Withdrawal { .. } => "withdrawal",
                Change::Statistics { .. } => "statistics",
                Change::List { .. } => "list_publication",
                Change::Inspection { .. } => "inspection_results",
            };
            match writer.apply(index, &change)? {
                Applied::Changed => metrics.events_applied.with_label_values(&[name]).inc(),
                Applied::Duplicate => metrics.duplicates.inc(),
            }
        }
        Err(skip) => {
            tracing::info!(sequence, reason = %skip, "message skipped");
            metrics
                .events_skipped
                .with_label_values(&[skip.label()])
                .inc();
        }
    }
    writer.advance(sequence);
    Ok(())
}

fn commit(writer: &mut Writer, index: &SearchIndex, metrics: &Metrics) -> anyhow::Result<()> {
    let started = Instant::now();
    writer.commit(index)?;
    metrics.commits.inc();
    metrics
        .commit_duration
        .observe(started.elapsed().as_secs_f64());
    metrics
        .applied_sequence
        .set(writer.position().sequence as i64);
    metrics.documents.set(index.num_docs() as i64);
    Ok(())
}

async fn recreate_consumer(
    stream: &Stream,
    durable: &str,
    from: u64,
) -> anyhow::Result<consumer::PullConsumer> {
    match stream.delete_consumer(durable).await {
        Ok(_) => {}
        Err(e) if e.to_string().contains("not found") => {}
        Err(e) => return Err(anyhow::anyhow!("deleting consumer {durable}: {e}")),
    }
    stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some(durable.to_string()),
            description: Some("sanxiang disclosure platform (position kept with the index)".into()),
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: from,
            },
            ack_policy: consumer::AckPolicy::All,
            ack_wait: Duration::from_secs(60),
            max_ack_pending: 10_000,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating consumer {durable}: {e}"))
}

/// How long messages following the first are gathered into one commit: bounds the
/// freshness cost of batching (a commit per message would be slow under bursts).
const COMMIT_WINDOW: Duration = Duration::from_millis(100);

/// One run of the consumer loop; returns on the first error.
async fn follow_once(
    js: &jetstream::Context,
    c: &Common,
    index: &SearchIndex,
    writer: &mut Writer,
    metrics: &Metrics,
    status: &Status,
) -> anyhow::Result<()> {
    let stream = js
        .get_stream(&c.stream)
        .await
        .map_err(|e| anyhow::anyhow!("stream {}: {e}", c.stream))?;
    let from = writer.position().sequence + 1;
    let consumer = recreate_consumer(&stream, &c.consumer, from).await?;
    tracing::info!(stream = %c.stream, from, "following the stream");
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(c.batch)
        .heartbeat(Duration::from_secs(5))
        .expires(Duration::from_secs(30))
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("pull: {e}"))?;
    let changed = writer.directory().map(|d| d.changed());
    loop {
        // Wait for the next message (or a directory change to apply), then take what
        // follows within COMMIT_WINDOW (or up to a batch), fold it all in and commit once.
        let mut next = match &changed {
            None => messages.next().await,
            Some(changed) => tokio::select! {
                m = messages.next() => m,
                () = changed.notified() => {
                    tokio::task::block_in_place(|| reindex_round(writer, index, metrics))?;
                    continue;
                }
            },
        };
        let deadline = tokio::time::Instant::now() + COMMIT_WINDOW;
        let mut last;
        let mut count = 0;
        loop {
            let m = match next {
                Some(m) => m.map_err(|e| anyhow::anyhow!("message: {e}"))?,
                None => anyhow::bail!("the pull stream ended"),
            };
            let seq = m
                .info()
                .map_err(|e| anyhow::anyhow!("message info: {e}"))?
                .stream_sequence;
            tokio::task::block_in_place(|| apply_message(writer, index, metrics, &m.payload, seq))?;
            last = Some(m);
            count += 1;
            if count >= c.batch {
                break;
            }
            match tokio::time::timeout_at(deadline, messages.next()).await {
                Ok(m) => next = m,
                Err(_) => break,
            }
        }
        tokio::task::block_in_place(|| commit(writer, index, metrics))?;
        status
            .applied
            .store(writer.position().sequence, Ordering::Relaxed);
        if let Some(m) = last {
            m.ack().await.map_err(|e| anyhow::anyhow!("ack: {e}"))?;
        }
    }
}

/// Decisions rewritten per round of [`crate::reindex`] before fresh events get a turn.
const REINDEX_BUDGET: usize = 5_000;

/// Applies directory changes to the decisions already indexed (one budgeted round).
fn reindex_round(
    writer: &mut Writer,
    index: &SearchIndex,
    metrics: &Metrics,
) -> anyhow::Result<()> {
    let round = crate::reindex::round(writer, index, REINDEX_BUDGET)?;
    if round.rewritten > 0 {
        tracing::info!(
            checked = round.checked,
            rewritten = round.rewritten,
            more = round.more,
            "directory changes applied to the index"
        );
        metrics.reindexed.inc_by(round.rewritten as u64);
        metrics.documents.set(index.num_docs() as i64);
    }
    if round.more
        && let Some(d) = writer.directory()
    {
        d.changed().notify_one();
    }
    Ok(())
}

/// Follows the stream forever, reconnecting after errors.
pub async fn follow(
    js: jetstream::Context,
    c: Common,
    index: Arc<SearchIndex>,
    mut writer: Writer,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
) {
    status
        .applied
        .store(writer.position().sequence, Ordering::Relaxed);
    metrics
        .applied_sequence
        .set(writer.position().sequence as i64);
    metrics.documents.set(index.num_docs() as i64);
    let mut backoff = Duration::from_millis(250);
    loop {
        let started = Instant::now();
        if let Err(e) = follow_once(&js, &c, &index, &mut writer, &metrics, &status).await {
            metrics.consumer_errors.inc();
            tracing::warn!(error = %format!("{e:#}"), "stream consumer stopped; restarting it");
        }
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_millis(250);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Measures the lag every `every` until the process ends.
pub async fn watch_lag(
    js: jetstream::Context,
    stream_name: String,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
    every: Duration,
) {
    let mut last_ok = Instant::now();
    loop {
        let applied = status.applied.load(Ordering::Relaxed);
        match lag(&js, &stream_name, applied).await {
            Ok((last, messages, seconds)) => {
                last_ok = Instant::now();
                metrics.stream_reachable.set(1);
                metrics.stream_last_sequence.set(last as i64);
                status.lag_messages.store(messages, Ordering::Relaxed);
                status.lag_seconds.store(seconds, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::debug!(error = %e, "lag check failed");
                metrics.stream_reachable.set(0);
                let stale = last_ok.elapsed().as_secs();
                status.lag_seconds.store(
                    status.lag_seconds.load(Ordering::Relaxed).max(stale),
                    Ordering::Relaxed,
                );
            }
        }
        status.measured.store(true, Ordering::Relaxed);
        metrics
            .lag_messages
            .set(status.lag_messages.load(Ordering::Relaxed) as i64);
        metrics
            .lag_seconds
            .set(status.lag_seconds.load(Ordering::Relaxed) as i64);
        tokio::time::sleep(every).await;
    }
}

/// (last sequence, messages waiting, age in seconds of the oldest waiting).
async fn lag(
    js: &jetstream::Context,
    stream_name: &str,
    applied: u64,
) -> anyhow::Result<(u64, u64, u64)> {
    let mut stream = js
        .get_stream(stream_name)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let state = stream
        .info()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .state
        .clone();
    let waiting = state.last_sequence.saturating_sub(applied);
    if waiting == 0 {
        return Ok((state.last_sequence, 0, 0));
    }
    let next = (applied + 1).max(state.first_sequence);
    let seconds = match stream.get_raw_message(next).await {
        Ok(m) => {
            let age = time::OffsetDateTime::now_utc() - m.time;
            age.whole_seconds().max(0) as u64
        }
        Err(_) => 0,
    };
    Ok((state.last_sequence, waiting, seconds))
}

/// Replays the whole stream into `index` (a new one); returns the position reached.
pub async fn rebuild(
    js: &jetstream::Context,
    c: &Common,
    index: &SearchIndex,
    writer: &mut Writer,
    metrics: &Metrics,
) -> anyhow::Result<u64> {
    let mut stream = js
        .get_stream(&c.stream)
        .await
        .map_err(|e| anyhow::anyhow!("stream {}: {e}", c.stream))?;
    let target = stream
        .info()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .state
        .last_sequence;
    let consumer = stream
        .create_consumer(consumer::pull::Config {
            deliver_policy: consumer::DeliverPolicy::All,
            ack_policy: consumer::AckPolicy::None,
            inactive_threshold: Duration::from_secs(60),
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating the replay consumer: {e}"))?;
    let mut consumer = consumer;
    while writer.position().sequence < target {
        let mut got = 0usize;
        let mut messages = consumer
            .fetch()
            .max_messages(c.batch.max(1000))
            .expires(Duration::from_secs(2))
            .messages()
            .await
            .map_err(|e| anyhow::anyhow!("fetch: {e}"))?;
        while let Some(m) = messages.next().await {
            let m = m.map_err(|e| anyhow::anyhow!("message: {e}"))?;
            let seq = m
                .info()
                .map_err(|e| anyhow::anyhow!("message info: {e}"))?
                .stream_sequence;
            apply_message(writer, index, metrics, &m.payload, seq)?;
            got += 1;
        }
        commit(writer, index, metrics)?;
        if got == 0 {
            // Sequences up to `target` may have been deleted from the stream.
            let pending = consumer
                .info()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .num_pending;
            if pending == 0 {
                break;
            }
        }
    }
    Ok(writer.position().sequence)
}
