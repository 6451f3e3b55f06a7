//! Tenant databases: one PostgreSQL database and one login role per agency.
//!
//! The role owns its database (so the tenant service can run migrations as the tenant),
//! `PUBLIC` loses every privilege on it (so no other tenant's role can even connect), and
//! the role gets no superuser, role- or database-creation rights. All statements are
//! idempotent: each step checks the catalog first, so a reconcile that finds everything in
//! place changes nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

/// Connection pools to the configured servers, by name.
#[derive(Clone)]
pub struct Servers {
    pools: BTreeMap<String, Server>,
}

#[derive(Clone)]
pub struct Server {
    pub pool: PgPool,
    /// Host and port tenants connect to.
    pub tenant_host: String,
    pub tenant_port: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("spec.database.server: no PostgreSQL server named {0:?} is configured (known: {1})")]
    UnknownServer(String, String),
    #[error("PostgreSQL: {0}")]
    Sql(#[from] sqlx::Error),
}

impl Servers {
    /// Pools (connected lazily) for each `name -> superuser URL`.
    pub fn new(urls: &BTreeMap<String, String>, tenant_host: Option<&str>) -> anyhow::Result<Self> {
        let mut pools = BTreeMap::new();
        for (name, url) in urls {
            let options: PgConnectOptions = url
                .parse()
                .map_err(|e| anyhow::anyhow!("PostgreSQL server {name:?}: bad URL: {e}"))?;
            let tenant_host = match (name.as_str(), tenant_host) {
                ("default", Some(h)) => h.to_string(),
                _ => options.get_host().to_string(),
            };
            let tenant_port = options.get_port();
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_lazy_with(options.log_statements(tracing::log::LevelFilter::Debug));
            pools.insert(
                name.clone(),
                Server {
                    pool,
                    tenant_host,
                    tenant_port,
                },
            );
        }
        Ok(Self { pools })
    }

    pub fn get(&self, name: &str) -> Result<&Server, DbError> {
        self.pools.get(name).ok_or_else(|| {
            DbError::UnknownServer(
                name.to_string(),
                self.pools.keys().cloned().collect::<Vec<_>>().join(", "),
            )
        })
    }
}

/// What [`ensure_tenant_database`] did.
#[derive(Debug, PartialEq, Eq)]
pub struct Provisioned {
    pub created_role: bool,
    pub created_database: bool,
    pub password_set: bool,
}

/// Ensures `role` (a login role) and `database` (owned by it, closed to PUBLIC) exist.
/// The password is set when the role is created, or when `reset_password` is true (its
/// Secret was lost and a new password was generated).
pub async fn ensure_tenant_database(
    pool: &PgPool,
    database: &str,
    role: &str,
    password: &str,
    reset_password: bool,
) -> Result<Provisioned, DbError> {
    debug_assert!(is_identifier(database) && is_identifier(role));
    let mut result = Provisioned {
        created_role: false,
        created_database: false,
        password_set: false,
    };
    let role_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(role)
            .fetch_one(pool)
            .await?;
    if !role_exists {
        // Two replicas (or a retried reconcile) may race here; a duplicate is fine.
        let create = format!(
            "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE \
             NOREPLICATION CONNECTION LIMIT 64 PASSWORD {}",
            quote_literal(password)
        );
        match sqlx::query(&create).execute(pool).await {
            Ok(_) => {
                result.created_role = true;
                result.password_set = true;
            }
            Err(e) if is_duplicate(&e) => {}
            Err(e) => return Err(e.into()),
        }
    } else if reset_password {
        sqlx::query(&format!(
            "ALTER ROLE {role} PASSWORD {}",
            quote_literal(password)
        ))
        .execute(pool)
        .await?;
        result.password_set = true;
    }
    let db_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(database)
            .fetch_one(pool)
            .await?;
    if !db_exists {
        // CREATE DATABASE cannot run inside a transaction block; sqlx runs it plainly.
        match sqlx::query(&format!(
            "CREATE DATABASE {database} OWNER {role} ENCODING 'UTF8' TEMPLATE template0"
        ))
        .execute(pool)
        .await
        {
            Ok(_) => result.created_database = true,
            Err(e) if is_duplicate(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // Closing the database to PUBLIC is idempotent and cheap; run it only on creation so
    // an idle reconcile writes nothing.
    if result.created_database {
        sqlx::query(&format!("REVOKE ALL ON DATABASE {database} FROM PUBLIC"))
            .execute(pool)
            .await?;
        sqlx::query(&format!(
            "GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {role}"
        ))
        .execute(pool)
        .await?;
    }
    Ok(result)
}

/// Drops the database and its role (deletionPolicy Delete). Open sessions are ended.
pub async fn drop_tenant_database(
    pool: &PgPool,
    database: &str,
    role: &str,
) -> Result<(), DbError> {
    debug_assert!(is_identifier(database) && is_identifier(role));
    sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .execute(pool)
        .await?;
    sqlx::query(&format!("DROP ROLE IF EXISTS {role}"))
        .execute(pool)
        .await?;
    Ok(())
}

/// Locks the role out without dropping anything (deletionPolicy Retain): the records stay,
/// and nobody logs in with credentials whose Secret is gone.
pub async fn disable_login(pool: &PgPool, role: &str) -> Result<(), DbError> {
    debug_assert!(is_identifier(role));
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(role)
            .fetch_one(pool)
            .await?;
    if exists {
        sqlx::query(&format!("ALTER ROLE {role} NOLOGIN"))
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Re-enables login for a retained role when its Agency comes back.
pub async fn enable_login(pool: &PgPool, role: &str) -> Result<(), DbError> {
    debug_assert!(is_identifier(role));
    let can_login: Option<bool> =
        sqlx::query_scalar("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1")
            .bind(role)
            .fetch_optional(pool)
            .await?;
    if can_login == Some(false) {
        sqlx::query(&format!("ALTER ROLE {role} LOGIN"))
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Whether the server is reachable (for readiness and error classification).
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

fn is_duplicate(e: &sqlx::Error) -> bool {
    // 42710 duplicate_object (role), 42P04 duplicate_database, 23505 unique_violation
    // (concurrent catalog insert).
    matches!(
        e.as_database_error().and_then(|d| d.code()).as_deref(),
        Some("42710" | "42P04" | "23505")
    )
}

/// Names built by [`crate::naming`] are plain identifiers; checked in debug builds.
fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
