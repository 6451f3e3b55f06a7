//! Pool cache bounds and the schema check under concurrency, on the real PostgreSQL.

mod common;

use common::*;
use sanxiang_tenant_service::db::{JobConn, PoolCache, PoolSettings};
use sanxiang_testkit::Platform;

#[tokio::test]
async fn concurrent_replicas_migrate_once_and_pools_stay_bounded() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let mut tenants = Vec::new();
    for i in 0..3 {
        tenants.push(TestTenant::new(platform, &format!("pools-{i}"), "210100").await?);
    }
    // Six "replicas" open the same tenant at once. The service never migrates (the
    // operator did, as the database owner, when `TestScope` provisioned it, under an
    // advisory lock: see the operator's `privileges` test); each replica checks the schema
    // version and serves, and each migration is recorded once.
    let caches: Vec<PoolCache> = (0..6)
        .map(|_| {
            PoolCache::new(PoolSettings {
                max_total_connections: 4,
                per_tenant_connections: 2,
                ..Default::default()
            })
        })
        .collect();
    let t0 = tenants[0].tenant.clone();
    let results = futures::future::join_all(caches.iter().map(|c| {
        let t = t0.clone();
        async move { c.get(&t).await }
    }))
    .await;
    for r in results {
        let pool = r.map_err(|e| anyhow::anyhow!("{e}"))?;
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM decisions")
            .fetch_one(&pool)
            .await?;
        assert_eq!(n, 0);
    }
    let su = tenants[0].superuser().await?;
    let (applied, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT version) FROM _sqlx_migrations")
            .fetch_one(&su)
            .await?;
    assert_eq!(applied, distinct);
    assert!(applied >= 1);
    // A database behind the service (a migration not applied) is not served: the service
    // cannot migrate it with its role; it answers 503 until the operator has.
    let newest: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&su)
        .await?;
    let hide = "UPDATE _sqlx_migrations SET version = -version WHERE version = $1";
    sqlx::query(hide).bind(newest).execute(&su).await?;
    let fresh = PoolCache::new(PoolSettings::default());
    let refused = fresh.get(&t0).await;
    sqlx::query(hide).bind(-newest).execute(&su).await?;
    let err = refused.expect_err("a database behind the service is not served");
    assert_eq!(
        err.status,
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "{err}"
    );
    fresh.get(&t0).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    su.close().await;

    // At most max_total / per_tenant = 2 pools open; the least recently used is closed.
    let cache = &caches[0];
    for t in &tenants {
        cache
            .get(&t.tenant)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        assert!(cache.open_pools() <= 2);
    }
    assert_eq!(cache.open_pools(), 2);
    // Re-opening an evicted tenant works (and evicts another).
    let p = cache
        .get(&tenants[0].tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    sqlx::query("SELECT 1").execute(&p).await?;
    assert_eq!(cache.open_pools(), 2);
    // A background job on an evicted (already migrated) tenant uses a one-off connection
    // and leaves the LRU alone.
    let mut job = cache
        .job_connection(&tenants[1].tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert!(matches!(job, JobConn::OneOff(_)));
    sqlx::query("SELECT count(*) FROM outbox")
        .execute(&mut *job)
        .await?;
    job.finish().await;
    assert_eq!(cache.open_pools(), 2);
    let job = cache
        .job_connection(&tenants[0].tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert!(matches!(job, JobConn::Pooled(_)));
    job.finish().await;
    // Idle pools are closed.
    let idle = PoolCache::new(PoolSettings {
        idle_timeout: std::time::Duration::ZERO,
        ..Default::default()
    });
    idle.get(&tenants[1].tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    assert_eq!(idle.evict_idle().await, 1);
    assert_eq!(idle.open_pools(), 0);
    for c in &caches {
        c.close_all().await;
    }
    for t in &tenants {
        t.scope.cleanup().await?;
    }
    Ok(())
}
