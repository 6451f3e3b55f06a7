//! Per-tenant connection pools: a bounded LRU cache, the schema checked on first use.
//!
//! At most `max_total_connections / per_tenant_connections` pools are open at once; opening
//! one more closes the least recently used. Pools idle longer than `idle_timeout` are
//! closed by [`PoolCache::evict_idle`].
//!
//! The service never migrates: it serves with the agency's application role, which may not
//! ALTER, DROP or CREATE anything. The migrations (`migrations/`) are applied as the
//! database's owner role by the operator (`sanxiang_operator::tenant_schema`, which embeds
//! this same directory) when it provisions or reconciles the agency. When a tenant's pool
//! is first opened, [`check_schema`] compares the database's applied migrations with the
//! ones embedded here: a database that lacks one answers 503 (naming the versions) until
//! the operator has applied it; one that is newer is served (migrations only add).

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

/// Why a tenant database is not served (yet).
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "database schema: migrations {missing:?} are not applied (the operator applies them \
         as the database owner; this service never migrates)"
    )]
    Behind { missing: Vec<i64> },
    #[error(
        "database schema: migration {version} was applied with other content than this \
         service's (checksum differs)"
    )]
    Changed { version: i64 },
    #[error("database schema: {0}")]
    Sql(#[from] sqlx::Error),
}

/// Checks that every migration embedded in this service is applied, with the same content
/// (read from sqlx's bookkeeping table, which the application role may only read).
pub async fn check_schema(pool: &PgPool) -> Result<(), SchemaError> {
    let applied: Vec<(i64, Vec<u8>)> =
        match sqlx::query!("SELECT version, checksum FROM _sqlx_migrations WHERE success")
            .map(|r| (r.version, r.checksum))
            .fetch_all(pool)
            .await
        {
            Ok(rows) => rows,
            // 42P01 undefined_table: never migrated.
            Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("42P01") => {
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        };
    let applied: HashMap<i64, Vec<u8>> = applied.into_iter().collect();
    let mut missing = Vec::new();
    for m in MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
    {
        match applied.get(&m.version) {
            None => missing.push(m.version),
            Some(sum) if sum.as_slice() != &*m.checksum => {
                return Err(SchemaError::Changed { version: m.version });
            }
            Some(_) => {}
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(SchemaError::Behind { missing })
    }
}

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
    /// Agencies (and database URLs) whose schema this process has checked.
    checked: Arc<Mutex<HashMap<String, String>>>,
    init_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl PoolCache {
    pub fn new(settings: PoolSettings) -> Self {
        Self {
            settings,
            pools: Arc::default(),
            checked: Arc::default(),
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

    /// The tenant's pool, opened (and its schema checked) on first use.
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
        if let Err(e) = check_schema(&pool).await {
            pool.close().await;
            return Err(e.into());
        }
        self.checked
            .lock()
            .expect("checked lock")
            .insert(tenant.agency.clone(), tenant.database_url.clone());
        Ok(pool)
    }

    /// A connection for a background job (metrics scan): the cached pool's if open;
    /// otherwise, once this process checked the tenant's schema, a one-off connection that
    /// does not enter the LRU; the first time, the pool is opened (and checked).
    pub async fn job_connection(&self, tenant: &Tenant) -> Result<JobConn, ApiError> {
        if let Some(p) = self.cached_no_touch(tenant) {
            return Ok(JobConn::Pooled(p.acquire().await?));
        }
        let checked = self
            .checked
            .lock()
            .expect("checked lock")
            .get(&tenant.agency)
            == Some(&tenant.database_url);
        if checked {
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
