//! Per-tenant connection pools: a bounded LRU cache, migrations on first use.
//!
//! At most `max_total_connections / per_tenant_connections` pools are open at once; opening
//! one more closes the least recently used. Pools idle longer than `idle_timeout` are
//! closed by [`PoolCache::evict_idle`]. Migrations are embedded (`sqlx::migrate!`) and run
//! when a tenant's pool is first opened by this process; sqlx takes a PostgreSQL advisory
//! lock around them, so concurrent replicas migrate one at a time and the later ones find
//! nothing to do.

use crate::error::ApiError;
use crate::tenants::Tenant;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_total_connections: u32,
    pub per_tenant_connections: u32,
    pub idle_timeout: Duration,
    pub acquire_timeout: Duration,
    /// `statement_timeout` of every tenant query: one tenant's locked or slow table can
    /// hold a request for at most this long, never the service.
    pub statement_timeout: Duration,
    /// `lock_timeout`: how long a query may wait for a row or table lock.
    pub lock_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_total_connections: 200,
            per_tenant_connections: 5,
            idle_timeout: Duration::from_secs(300),
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(3),
        }
    }
}

impl PoolSettings {
    /// Connection options of a tenant's database: timeouts on every statement.
    pub fn connect_options(
        &self,
        url: &str,
        application: &str,
    ) -> anyhow::Result<PgConnectOptions> {
        let ms = |d: Duration| format!("{}ms", d.as_millis().max(1));
        Ok(PgConnectOptions::from_str(url)?
            .application_name(application)
            .options([
                ("statement_timeout", ms(self.statement_timeout)),
                ("lock_timeout", ms(self.lock_timeout)),
                ("idle_in_transaction_session_timeout", "60000ms".to_string()),
            ]))
    }

    pub fn max_pools(&self) -> usize {
        (self.max_total_connections / self.per_tenant_connections.max(1)).max(1) as usize
    }
}

/// A connection for a short background job: from the tenant's cached pool if it is open,
/// else a one-off connection (so background scans never evict the pools of busy tenants).
pub enum JobConn {
    Pooled(sqlx::pool::PoolConnection<sqlx::Postgres>),
    OneOff(sqlx::PgConnection),
}

impl std::ops::Deref for JobConn {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &Self::Target {
        match self {
            JobConn::Pooled(c) => c,
            JobConn::OneOff(c) => c,
        }
    }
}

impl std::ops::DerefMut for JobConn {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            JobConn::Pooled(c) => &mut *c,
            JobConn::OneOff(c) => c,
        }
    }
}

impl JobConn {
    /// Returns a pooled connection, closes a one-off one.
    pub async fn finish(self) {
        if let JobConn::OneOff(c) = self {
            use sqlx::Connection;
            let _ = c.close().await;
        }
    }
}

struct Entry {
    url: String,
    pool: PgPool,
    last_used: Instant,
}

/// Bounded cache of per-tenant pools.
#[derive(Clone)]
pub struct PoolCache {
    settings: PoolSettings,
    pools: Arc<Mutex<HashMap<String, Entry>>>,
    /// Agencies (and database URLs) whose migrations this process has run.
    migrated: Arc<Mutex<HashMap<String, String>>>,
    init_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl PoolCache {
    pub fn new(settings: PoolSettings) -> Self {
        Self {
            settings,
            pools: Arc::default(),
            migrated: Arc::default(),
            init_locks: Arc::default(),
        }
    }

    pub fn settings(&self) -> &PoolSettings {
        &self.settings
    }

    /// Number of open pools.
    pub fn open_pools(&self) -> usize {
        self.pools.lock().expect("pool lock").len()
    }

    fn cached(&self, tenant: &Tenant) -> Option<PgPool> {
        let mut pools = self.pools.lock().expect("pool lock");
        let e = pools.get_mut(&tenant.agency)?;
        if e.url != tenant.database_url || e.pool.is_closed() {
            let stale = pools.remove(&tenant.agency).map(|e| e.pool);
            if let Some(p) = stale {
                tokio::spawn(async move { p.close().await });
            }
            return None;
        }
        e.last_used = Instant::now();
        Some(e.pool.clone())
    }

    /// The tenant's pool, opened and migrated on first use.
    pub async fn get(&self, tenant: &Tenant) -> Result<PgPool, ApiError> {
        if let Some(p) = self.cached(tenant) {
            return Ok(p);
        }
        let lock = self
            .init_locks
            .lock()
            .expect("init lock")
            .entry(tenant.agency.clone())
            .or_default()
            .clone();
        let _guard = lock.lock().await;
        if let Some(p) = self.cached(tenant) {
            return Ok(p);
        }
        let pool = self.open(tenant).await.map_err(|e| {
            tracing::error!(agency = %tenant.agency, error = %e, "opening tenant database failed");
            ApiError::unavailable(format!(
                "database of agency '{}' is unavailable",
                tenant.agency
            ))
        })?;
        let evicted = {
            let mut pools = self.pools.lock().expect("pool lock");
            let mut evicted = Vec::new();
            while pools.len() >= self.settings.max_pools() {
                let Some(oldest) = pools
                    .iter()
                    .min_by_key(|(_, e)| e.last_used)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                if let Some(e) = pools.remove(&oldest) {
                    evicted.push(e.pool);
                }
            }
            pools.insert(
                tenant.agency.clone(),
                Entry {
                    url: tenant.database_url.clone(),
                    pool: pool.clone(),
                    last_used: Instant::now(),
                },
            );
            evicted
        };
        for p in evicted {
            tokio::spawn(async move { p.close().await });
        }
        Ok(pool)
    }

    async fn open(&self, tenant: &Tenant) -> anyhow::Result<PgPool> {
        // Migrations run on a connection of their own without the statement timeouts:
        // sqlx waits on an advisory lock while another replica migrates.
        // (A one-connection pool: `Migrator::run` on a bare `&mut PgConnection` makes the
        // caller's future fail the compiler's `Send` check.)
        {
            let migrate = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(self.settings.acquire_timeout)
                .connect_with(
                    PgConnectOptions::from_str(&tenant.database_url)?
                        .application_name("sanxiang-tenant-service-migrate"),
                )
                .await?;
            let result = MIGRATOR.run(&migrate).await;
            migrate.close().await;
            result?;
        }
        let opts = self
            .settings
            .connect_options(&tenant.database_url, "sanxiang-tenant-service")?;
        let pool = PgPoolOptions::new()
            .max_connections(self.settings.per_tenant_connections)
            .min_connections(0)
            .acquire_timeout(self.settings.acquire_timeout)
            .idle_timeout(Some(Duration::from_secs(60)))
            .connect_with(opts)
            .await?;
        self.migrated
            .lock()
            .expect("migrated lock")
            .insert(tenant.agency.clone(), tenant.database_url.clone());
        Ok(pool)
    }

    /// A connection for a background job (metrics scan): the cached pool's if open;
    /// otherwise, once the tenant was migrated by this process, a one-off connection that
    /// does not enter the LRU; the first time, the pool is opened (and migrated).
    pub async fn job_connection(&self, tenant: &Tenant) -> Result<JobConn, ApiError> {
        if let Some(p) = self.cached_no_touch(tenant) {
            return Ok(JobConn::Pooled(p.acquire().await?));
        }
        let migrated = self
            .migrated
            .lock()
            .expect("migrated lock")
            .get(&tenant.agency)
            == Some(&tenant.database_url);
        if migrated {
            use sqlx::ConnectOptions;
            let opts = self
                .settings
                .connect_options(&tenant.database_url, "sanxiang-tenant-service-scan")
                .map_err(|e| ApiError::internal(format!("database URL: {e}")))?;
            let conn = tokio::time::timeout(self.settings.acquire_timeout, opts.connect())
                .await
                .map_err(|_| ApiError::unavailable("tenant database connect timed out"))??;
            return Ok(JobConn::OneOff(conn));
        }
        Ok(JobConn::Pooled(self.get(tenant).await?.acquire().await?))
    }

    fn cached_no_touch(&self, tenant: &Tenant) -> Option<PgPool> {
        let pools = self.pools.lock().expect("pool lock");
        pools
            .get(&tenant.agency)
            .filter(|e| e.url == tenant.database_url && !e.pool.is_closed())
            .map(|e| e.pool.clone())
    }

    /// Closes pools unused for longer than the idle timeout; returns how many.
    pub async fn evict_idle(&self) -> usize {
        let idle = self.settings.idle_timeout;
        let evicted: Vec<PgPool> = {
            let mut pools = self.pools.lock().expect("pool lock");
            let keys: Vec<String> = pools
                .iter()
                .filter(|(_, e)| e.last_used.elapsed() > idle)
                .map(|(k, _)| k.clone())
                .collect();
            keys.into_iter()
                .filter_map(|k| pools.remove(&k).map(|e| e.pool))
                .collect()
        };
        let n = evicted.len();
        for p in evicted {
            p.close().await;
        }
        n
    }

    /// Closes every pool.
    pub async fn close_all(&self) {
        let all: Vec<PgPool> = self
            .pools
            .lock()
            .expect("pool lock")
            .drain()
            .map(|(_, e)| e.pool)
            .collect();
        for p in all {
            p.close().await;
        }
    }
}
