//! NATS and service outages: every committed disclosure arrives upward exactly once.
//!
//! The test runs its own nats-server (the one `e2e/tools/build.sh` builds; JetStream, file
//! store in a temp dir) on a free loopback port so it can stop and restart it without
//! disturbing the shared platform.

mod common;

use async_nats::jetstream::{self, stream};
use common::*;
use sanxiang_tenant_service::NatsSettings;
use sanxiang_tenant_service::auth::Role;
use sanxiang_testkit::Platform;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

async fn backlog(pool: &sqlx::PgPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE relayed_at IS NULL")
            .fetch_one(pool)
            .await?,
    )
}

async fn wait_backlog_zero(pool: &sqlx::PgPool, within: Duration) -> anyhow::Result<()> {
    sanxiang_testkit::wait::eventually("the outbox relayed", within, || async {
        let n = backlog(pool).await?;
        anyhow::ensure!(n == 0, "outbox still has {n} rows");
        Ok(true)
    })
    .await
}

/// (message ids, subjects) of every message in the stream, but the harness's matter-list
/// publication (the test counts its own events).
async fn stream_ids(js: &jetstream::Context, name: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut s = js.get_stream(name).await?;
    let state = s.info().await?.state.clone();
    let mut out = Vec::new();
    for seq in state.first_sequence..=state.last_sequence {
        if state.messages == 0 {
            break;
        }
        let m = s.get_raw_message(seq).await?;
        let id = m
            .headers
            .get(async_nats::header::NATS_MESSAGE_ID)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&m.payload)?;
        assert_eq!(
            body["id"].as_str(),
            Some(id.as_str()),
            "payload id = Nats-Msg-Id"
        );
        if !m.subject.ends_with(".list_publication") {
            out.push((id, m.subject.to_string()));
        }
    }
    Ok(out)
}

/// The supervision workspace's events ride along with every publication
/// (`sanxiang_tenant_service::upward`); the counts below are of the publications.
const SUPERVISION: [&str; 3] = ["decision_metadata", "compliance", "milestone_report"];

/// How many of `got` are publications (not supervision events).
fn publications(got: &[(String, String)]) -> usize {
    got.iter()
        .filter(|(_, subject)| {
            !SUPERVISION
                .iter()
                .any(|e| subject.ends_with(&format!(".{e}")))
        })
        .count()
}

/// Unrelayed outbox rows that are publications.
async fn publication_backlog(pool: &sqlx::PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE relayed_at IS NULL AND event <> ALL($1)",
    )
    .bind(&SUPERVISION[..])
    .fetch_one(pool)
    .await?)
}

async fn publish_one(h: &Harness, doc: impl AsRef<str>) -> anyhow::Result<()> {
    let id = h.draft(0, penalty(doc.as_ref())).await?;
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/issue"),
            Role::Officer,
            json!({"decidedOn": "2026-03-02"}),
        )
        .await?;
    anyhow::ensure!(s.is_success(), "issue: {v}");
    h.publish(0, &id).await?;
    Ok(())
}

#[tokio::test]
async fn nats_and_service_restarts_lose_and_double_nothing() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let mut nats = PrivateNats::start()?;
    let tenant = TestTenant::new(platform, "outage", "210100").await?;
    let prefix = tenant.tenant.subject_prefix.clone();
    let stream_name = format!("OUTAGE_{}", tenant.scope.id);
    let admin = async_nats::connect(nats.url()).await?;
    let js = jetstream::new(admin);
    js.create_stream(stream::Config {
        name: stream_name.clone(),
        subjects: vec![format!("{prefix}.>")],
        duplicate_window: Duration::from_secs(600),
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    let nats_settings = NatsSettings {
        url: nats.url(),
        ..Default::default()
    };
    let h = Harness::start(
        vec![tenant],
        Options {
            nats: Some(nats_settings.clone()),
            ..Default::default()
        },
    )
    .await?;
    let db = sqlx::PgPool::connect(&h.tenants[0].tenant.database_url).await?;

    // 1. NATS up: delivered at once.
    for i in 0..3 {
        publish_one(&h, &format!("沈市监罚〔2026〕{i}号")).await?;
    }
    wait_backlog_zero(&db, Duration::from_secs(20)).await?;
    assert_eq!(publications(&stream_ids(&js, &stream_name).await?), 3);

    // 2. NATS down: writes still commit, the outbox keeps them.
    drop(js);
    nats.down();
    for i in 3..8 {
        publish_one(&h, &format!("沈市监罚〔2026〕{i}号")).await?;
    }
    // A withdrawal and a statistics report too.
    let (_, v) = h
        .get(0, "/decisions?status=issued&limit=1", Role::Officer)
        .await?;
    let id = v["items"][0]["id"].as_str().unwrap().to_string();
    h.post(
        0,
        &format!("/decisions/{id}/revoke"),
        Role::Officer,
        json!({"reason": "撤销"}),
    )
    .await?;
    h.post(
        0,
        &format!("/decisions/{id}/withdraw"),
        Role::Officer,
        json!({}),
    )
    .await?;
    let (s, v) = h
        .post(0, "/statistics/2025", Role::AgencyAdmin, json!({}))
        .await?;
    assert!(s.is_success(), "{v}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        publication_backlog(&db).await?,
        7,
        "nothing relayed while NATS is down"
    );

    // 3. NATS back: the relay catches up.
    nats.up()?;
    wait_backlog_zero(&db, Duration::from_secs(60)).await?;
    let js = jetstream::new(async_nats::connect(nats.url()).await?);
    let got = stream_ids(&js, &stream_name).await?;
    assert_eq!(publications(&got), 10, "{got:?}");
    let before_crash = got.len();

    // 4. Crash between publish and mark: rows look unrelayed again and are re-sent;
    //    JetStream's duplicate window drops them.
    let n = sqlx::query(
        "UPDATE outbox SET relayed_at = NULL WHERE seq > (SELECT max(seq) - 4 FROM outbox)",
    )
    .execute(&db)
    .await?
    .rows_affected();
    assert_eq!(n, 4);
    h.service().state.kick_relay(h.agency(0));
    wait_backlog_zero(&db, Duration::from_secs(20)).await?;
    assert_eq!(
        stream_ids(&js, &stream_name).await?.len(),
        before_crash,
        "re-sends deduplicated"
    );

    // 5. Service restart with NATS down in between.
    nats.down();
    for i in 8..10 {
        publish_one(&h, &format!("沈市监罚〔2026〕{i}号")).await?;
    }
    let Harness {
        service, tenants, ..
    } = h;
    service.unwrap().stop().await;
    assert_eq!(publication_backlog(&db).await?, 2);
    nats.up()?;
    let h = Harness::start(
        tenants,
        Options {
            nats: Some(nats_settings),
            // The same database: its matter list is in force already.
            matter_list: false,
            ..Default::default()
        },
    )
    .await?;
    wait_backlog_zero(&db, Duration::from_secs(30)).await?;
    let js = jetstream::new(async_nats::connect(nats.url()).await?);
    let got = stream_ids(&js, &stream_name).await?;
    assert_eq!(publications(&got), 12, "{got:?}");

    // Exactly once: every outbox row (publications and supervision events) is in the
    // stream once, under the right subject.
    let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT id, event FROM outbox WHERE event <> 'list_publication' ORDER BY seq",
    )
    .fetch_all(&db)
    .await?;
    let ids: HashSet<_> = got.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(
        (ids.len(), got.len()),
        (rows.len(), rows.len()),
        "no duplicates, none missing"
    );
    for (id, event) in &rows {
        let (_, subject) = got
            .iter()
            .find(|(m, _)| *m == id.to_string())
            .expect("row delivered");
        assert_eq!(subject, &format!("{prefix}.{event}"));
    }
    let events: Vec<_> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(events.iter().filter(|e| **e == "disclosure").count(), 10);
    assert!(events.contains(&"withdrawal") && events.contains(&"statistics"));
    db.close().await;
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn two_replicas_relay_each_row_once_in_commit_order() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let nats = PrivateNats::start()?;
    let tenant = TestTenant::new(platform, "replicas", "210100").await?;
    let prefix = tenant.tenant.subject_prefix.clone();
    let stream_name = format!("REPLICAS_{}", tenant.scope.id);
    let js = jetstream::new(async_nats::connect(nats.url()).await?);
    js.create_stream(stream::Config {
        name: stream_name.clone(),
        subjects: vec![format!("{prefix}.>")],
        duplicate_window: Duration::from_secs(600),
        ..Default::default()
    })
    .await?;
    let settings = || Options {
        nats: Some(NatsSettings {
            url: nats.url(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let config = tenant.tenant.clone();
    let a = Harness::start(vec![tenant], settings()).await?;
    // Replica B serves the same tenant (same database) from another process-like instance.
    let b_scope = sanxiang_testkit::TestScope::new(platform, "replicas-b").await?;
    let b = Harness::start(
        vec![TestTenant {
            scope: b_scope,
            tenant: config,
        }],
        // A's start published the shared database's matter list.
        Options {
            matter_list: false,
            ..settings()
        },
    )
    .await?;
    let writes = (0..20).map(|i| {
        let h = if i % 2 == 0 { &a } else { &b };
        publish_one(
            h,
            Box::leak(format!("沈市监罚〔2026〕{i}号").into_boxed_str()),
        )
    });
    for r in futures::future::join_all(writes).await {
        r?;
    }
    let db = sqlx::PgPool::connect(&a.tenants[0].tenant.database_url).await?;
    wait_backlog_zero(&db, Duration::from_secs(30)).await?;
    let got = stream_ids(&js, &stream_name).await?;
    let rows: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM outbox WHERE event <> 'list_publication' ORDER BY seq")
            .fetch_all(&db)
            .await?;
    let expected: Vec<String> = rows.iter().map(|u| u.to_string()).collect();
    let in_stream: Vec<String> = got.into_iter().map(|(id, _)| id).collect();
    assert_eq!(in_stream, expected, "each row once, in commit order");
    db.close().await;
    // B's scope never created anything; stop B first, then A (which drops the database).
    let Harness { service, .. } = b;
    service.unwrap().stop().await;
    a.stop().await;
    Ok(())
}
