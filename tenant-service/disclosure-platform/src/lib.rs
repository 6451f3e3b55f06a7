//! The provincial disclosure platform (行政执法信息公示平台).
//!
//! One runs per province (optionally one per city for its own portal). It reads no tenant
//! database: its inputs are
//! - the jurisdiction's aggregate JetStream stream (`SX_PROVINCE_<code>`), followed by a
//!   durable pull consumer ([`ingest`]); every batch is folded into the index and committed
//!   together with the stream position ([`index`]), so a restart resumes exactly there, and
//!   `rebuild` replays the stream into a fresh index;
//! - the Agency and Jurisdiction objects, watched read-only, for official names, credit codes
//!   and Chinese place names ([`directory`]).
//!
//! Events ([`event`]) fold into one record per decision, idempotently and in any order:
//! disclosure and correction (highest version wins), withdrawal (the decision leaves the
//! results, its notice stays), annual statistics. Unknown or malformed messages are counted
//! and skipped.
//!
//! The index ([`index`], [`search`]) is tantivy with a jieba tokenizer (ordinal positions,
//! so phrases work) and a CJK bigram field for names outside the dictionary
//! ([`tokenize`]). The public side ([`web`]) serves Chinese HTML pages and a JSON API;
//! the admin port ([`admin`]) serves `/live`, `/ready` and `/metrics`. Lists published
//! before enforcement (事前公开) are kept per version and shown on each agency's page
//! ([`prepublication`]), with the results of random inspections ([`inspection`]).
//!
//! Each agency's own retention periods decide how long its decisions stay in public
//! output ([`retention`]); renamed agencies and places and changed periods are applied to
//! the decisions already indexed without a rebuild ([`reindex`]).

pub mod admin;
pub mod config;
pub mod directory;
pub mod event;
pub mod index;
pub mod ingest;
pub mod inspection;
pub mod labels;
pub mod metrics;
pub mod newest;
pub mod prepublication;
pub mod reindex;
pub mod retention;
pub mod search;
pub mod tokenize;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use config::{Common, Serve};
use directory::Directory;
use index::{SearchIndex, Writer};
use metrics::Metrics;

/// Province code of a stream name such as `SX_PROVINCE_210000`.
fn jurisdiction_code(stream: &str) -> Option<&str> {
    stream
        .rsplit('_')
        .next()
        .filter(|c| sanxiang_crds::codes::is_division_code(c))
}

async fn directory(c: &Common) -> anyhow::Result<Directory> {
    let dir = Directory::default();
    if !c.directory_from_kube {
        dir.mark_synced();
        return Ok(dir);
    }
    let client = kube::Client::try_default()
        .await
        .context("connecting to Kubernetes for the directory")?;
    directory::spawn_watches(client, c.agency_namespace.clone(), dir.clone());
    // Names are indexed with the decisions: give the watches a moment before applying.
    for _ in 0..100 {
        if dir.synced() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(dir)
}

fn writer(c: &Common, index: &SearchIndex, dir: &Directory) -> anyhow::Result<Writer> {
    Ok(Writer::with_directory(
        index,
        &c.stream,
        c.index_memory_mb * 1024 * 1024,
        dir.clone(),
    )?)
}

/// Opens the served index. One of an older schema is emptied and filled again from the
/// stream (which keeps everything): the index is derived data, and an upgrade should not
/// need an operator to run `rebuild` by hand.
fn open_for_serving(c: &Common) -> anyhow::Result<SearchIndex> {
    let index = SearchIndex::open(&c.index_dir)?;
    match index.position(&c.stream) {
        Err(crate::index::IndexError::Schema(found)) => {
            tracing::warn!(
                found,
                wanted = crate::index::SCHEMA_VERSION,
                "index of another schema: replaying the stream into a new one"
            );
            drop(index);
            for entry in std::fs::read_dir(&c.index_dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    std::fs::remove_dir_all(&path)?;
                } else {
                    std::fs::remove_file(&path)?;
                }
            }
            Ok(SearchIndex::open(&c.index_dir)?)
        }
        _ => Ok(index),
    }
}

/// Serves the portal and follows the stream until SIGTERM/SIGINT.
pub async fn serve(c: Common, s: Serve) -> anyhow::Result<()> {
    let index = Arc::new(open_for_serving(&c)?);
    let metrics = Arc::new(Metrics::new(&c.stream));
    let dir = directory(&c).await?;
    let writer = writer(&c, &index, &dir)?;
    tracing::info!(stream = %c.stream, position = writer.position().sequence, "index open");
    // Names or retention may have changed while the platform was down: check every
    // agency once (an agency whose decisions are current costs one query).
    dir.mark_stale(None);
    let status = Arc::new(ingest::Status::default());
    let client = ingest::connect(&c).await?;
    let js = async_nats::jetstream::new(client);
    tokio::spawn(ingest::follow(
        js.clone(),
        c.clone(),
        index.clone(),
        writer,
        metrics.clone(),
        status.clone(),
    ));
    tokio::spawn(ingest::watch_lag(
        js,
        c.stream.clone(),
        metrics.clone(),
        status.clone(),
        Duration::from_secs(2),
    ));
    let title = s.title.clone().unwrap_or_else(|| {
        let place = jurisdiction_code(&c.stream).map(|code| dir.place_name(code));
        format!(
            "{}行政执法信息公示平台",
            place
                .filter(|p| !p.chars().all(|c| c.is_ascii_digit()))
                .unwrap_or_default()
        )
    });
    let web = web::WebSettings {
        title,
        cors_origins: s.cors_origins.clone(),
        rate_limit_per_second: s.rate_limit_per_second,
        rate_limit_burst: s.rate_limit_burst,
        trust_forwarded_for: s.trust_forwarded_for,
        natural_person_retention_days: s.natural_person_retention_days,
        cache_max_age: s.cache_max_age,
        count_limit: search::COUNT_LIMIT,
    };
    let app = web::router(web::AppState::new(index, dir.clone(), metrics.clone(), web));
    let admin = admin::router(admin::AdminState {
        metrics,
        status,
        directory: dir,
        directory_required: c.directory_from_kube,
        max_lag_messages: s.ready_max_lag_messages,
        max_lag_seconds: s.ready_max_lag_seconds,
    });
    let public = tokio::net::TcpListener::bind(s.listen).await?;
    let admin_listener = tokio::net::TcpListener::bind(s.admin_listen).await?;
    tracing::info!(listen = %s.listen, admin = %s.admin_listen, "serving");
    let admin_task = tokio::spawn(async move { axum::serve(admin_listener, admin).await });
    axum::serve(
        public,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    admin_task.abort();
    Ok(())
}

/// Replays the stream into a new index at `into`; prints what it did.
pub async fn rebuild(c: Common, into: std::path::PathBuf) -> anyhow::Result<()> {
    anyhow::ensure!(
        !into.join("meta.json").exists(),
        "{} already holds an index: rebuild into a new, empty directory",
        into.display()
    );
    let index = SearchIndex::open(&into)?;
    let metrics = Metrics::new(&c.stream);
    let dir = directory(&c).await?;
    let mut writer = writer(&c, &index, &dir)?;
    let js = async_nats::jetstream::new(ingest::connect(&c).await?);
    let started = std::time::Instant::now();
    let position = ingest::rebuild(&js, &c, &index, &mut writer, &metrics).await?;
    println!(
        "{}",
        serde_json::json!({
            "stream": c.stream, "position": position, "documents": index.num_docs(),
            "seconds": started.elapsed().as_secs_f64(), "index": into,
        })
    );
    Ok(())
}

/// Prints every stored document as a JSON line (sorted by key).
pub fn dump(c: &Common) -> anyhow::Result<()> {
    let index = SearchIndex::open(&c.index_dir)?;
    let position = index.position(&c.stream)?;
    println!("{}", serde_json::json!({ "position": position }));
    for (key, stored) in index.dump()? {
        println!("{}", serde_json::json!({ "key": key, "document": stored }));
    }
    Ok(())
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
