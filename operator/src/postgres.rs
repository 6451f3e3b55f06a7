//! Tenant databases: one PostgreSQL database and two roles per agency, made by the
//! operator's own role, which has `LOGIN CREATEDB CREATEROLE` and no superuser (plus
//! `pg_signal_backend`, to end an agency's sessions when it is locked out).
//!
//! The owner role (NOLOGIN) owns the database and its schema; the application role
//! (LOGIN, in the agency's Secret) only gets the DML the tenant service needs; `PUBLIC`
//! loses every privilege on the database (so no other tenant's role can even connect).
//! Neither role has superuser, role- or database-creation rights. What happens inside the
//! database — migrations, grants, converting an older layout — is
//! [`crate::tenant_schema`]'s. All statements are idempotent: each step checks the catalog
//! first, so a reconcile that finds everything in place changes nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Executor, PgConnection, PgPool};

use crate::tenant_onboarding::{self, Onboarded};
use crate::tenant_schema::{self, TenantRoles};

/// Connections of a server's pool beyond one per concurrent reconcile.
const SPARE_CONNECTIONS: u32 = 4;

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
    #[error(
        "database {database} is owned by role {found}, neither its owner role {owner} nor its \
         application role {app}: not provisioned by the operator, so left alone"
    )]
    ForeignOwner {
        database: String,
        found: String,
        owner: String,
        app: String,
    },
    #[error("PostgreSQL: {0}")]
    Sql(#[from] sqlx::Error),
}

impl Servers {
    /// Pools (connected lazily) for each `name -> URL` of the operator's role, sized for
    /// `concurrency` reconciles: each holds at most one connection at a time (its
    /// [`tenant_schema::OwnerSession`], or one short statement), and a few more serve the
    /// other controllers and the orphan sweep without waiting for the reconciles.
    pub fn new(
        urls: &BTreeMap<String, String>,
        tenant_host: Option<&str>,
        concurrency: u16,
    ) -> anyhow::Result<Self> {
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
                .max_connections(u32::from(concurrency) + SPARE_CONNECTIONS)
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

/// What the server says about one agency's roles and database, in one query.
const TENANT_STATE: &str = "SELECT \
       (SELECT rolcanlogin FROM pg_roles WHERE rolname = $1), \
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2), \
       (SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $3), \
       (SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $3), \
       EXISTS (SELECT 1 FROM pg_database WHERE datname = $3)";

/// The owner role's attributes: it never logs in.
const OWNER_ATTRIBUTES: &str =
    "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS";

/// [`TENANT_STATE`]'s answer.
struct TenantState {
    /// Whether the application role may log in; `None`: no such role.
    app_login: Option<bool>,
    owner_exists: bool,
    db_owner: Option<String>,
    marker: Option<String>,
    db_exists: bool,
}

impl TenantState {
    async fn read(conn: &mut PgConnection, roles: &TenantRoles<'_>) -> Result<Self, DbError> {
        let (app_login, owner_exists, db_owner, marker, db_exists) = sqlx::query_as(TENANT_STATE)
            .bind(roles.app)
            .bind(roles.owner)
            .bind(roles.database)
            .fetch_one(&mut *conn)
            .await?;
        Ok(Self {
            app_login,
            owner_exists,
            db_owner,
            marker,
            db_exists,
        })
    }
}

/// Ensures the owner role (NOLOGIN), the application role (LOGIN, logging in again if a
/// retained role was locked out) and the database (owned by the owner, closed to PUBLIC,
/// migrated, the application's grants synced: [`tenant_schema::ensure_schema`]). The
/// application password is set when the role is created, or when `reset_password` is
/// true (its Secret was lost and a new password was generated).
///
/// One connection of the pool for the whole provisioning, the owner session included
/// (every acquisition costs a round trip, as sqlx tests the connection, and a reconcile
/// never waits for a second connection while holding one), and one catalog read first:
/// a reconcile that finds everything in place — most of them, as every write of the
/// agency's status or Secrets triggers one — costs that read and nothing else.
pub async fn ensure_tenant_database(
    pool: &PgPool,
    roles: TenantRoles<'_>,
    password: &str,
    reset_password: bool,
) -> Result<Provisioned, DbError> {
    debug_assert!(
        [roles.database, roles.owner, roles.app]
            .iter()
            .all(|n| is_identifier(n))
    );
    let mut result = Provisioned {
        created_role: false,
        created_database: false,
        password_set: false,
    };
    let mut conn = pool.acquire().await?;
    let mut state = TenantState::read(&mut conn, &roles).await?;
    // The password as PostgreSQL stores it, hashed here rather than by the server; only
    // when a role is made or its password reset (4,096 rounds of PBKDF2: not per reconcile).
    let password_sql =
        || quote_literal(&crate::scram::verifier(password).unwrap_or_else(|| password.into()));
    let app_attributes = |password_sql: &str| {
        format!(
            "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS \
             CONNECTION LIMIT 64 PASSWORD {password_sql}"
        )
    };
    if state.app_login.is_none() && !state.owner_exists && !state.db_exists {
        // A new agency: everything in a few batches ([`tenant_onboarding`]).
        let template = crate::tenant_template::ensure_template(pool, &mut conn).await?;
        let create = [
            format!(
                "CREATE ROLE {} {}",
                roles.app,
                app_attributes(&password_sql())
            ),
            format!("CREATE ROLE {} {OWNER_ATTRIBUTES}", roles.owner),
        ];
        match tenant_onboarding::onboard(pool, conn, roles, &create, &template).await? {
            Onboarded::Created => {
                return Ok(Provisioned {
                    created_role: true,
                    created_database: true,
                    password_set: true,
                });
            }
            // Another reconcile made something first: the general path from here.
            Onboarded::Raced => {
                conn = pool.acquire().await?;
                state = TenantState::read(&mut conn, &roles).await?;
            }
        }
    }
    let TenantState {
        app_login,
        owner_exists,
        db_owner,
        marker,
        db_exists,
    } = state;
    if app_login.is_none()
        && ensure_role(&mut conn, roles.app, &app_attributes(&password_sql())).await?
    {
        result.created_role = true;
        result.password_set = true;
    } else {
        if reset_password {
            let password_sql = password_sql();
            conn.execute(format!("ALTER ROLE {} PASSWORD {password_sql}", roles.app).as_str())
                .await?;
            result.password_set = true;
        }
        // A role retained from an earlier Agency of the same name logs in again.
        if app_login == Some(false) {
            conn.execute(format!("ALTER ROLE {} LOGIN", roles.app).as_str())
                .await?;
        }
    }
    if !owner_exists {
        ensure_role(&mut conn, roles.owner, OWNER_ATTRIBUTES).await?;
    }
    let found = tenant_schema::Catalog {
        exists: db_exists,
        owner: db_owner,
        marker,
    };
    result.created_database = tenant_schema::ensure_schema(pool, conn, roles, found).await?;
    Ok(result)
}

/// Creates `role` with `attributes` unless it exists; whether it was created. Two
/// replicas (or a retried reconcile) may race here; a duplicate is fine.
pub(crate) async fn ensure_role(
    conn: &mut PgConnection,
    role: &str,
    attributes: &str,
) -> Result<bool, DbError> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(role)
            .fetch_one(&mut *conn)
            .await?;
    if exists {
        return Ok(false);
    }
    // A simple query: a statement made once needs no preparing (two round trips).
    match conn
        .execute(format!("CREATE ROLE {role} {attributes}").as_str())
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if is_duplicate(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Drops the database and both roles (deletionPolicy Delete). The application's sessions
/// are ended first ([`crate::agency::records::lock_out`]); the database is dropped as its
/// owner, which is all the operator may do to it.
pub async fn drop_tenant_database(pool: &PgPool, roles: TenantRoles<'_>) -> Result<(), DbError> {
    debug_assert!(is_identifier(roles.database) && is_identifier(roles.app));
    crate::agency::records::lock_out(pool, roles.database, roles.app).await?;
    // Whichever role owns it now: the owner role, or the application role of a database
    // provisioned before the split.
    if let Some(owner) = tenant_schema::current_owner(pool, roles.database).await? {
        let as_owner = TenantRoles {
            owner: &owner,
            ..roles
        };
        let mut session = tenant_schema::OwnerSession::begin(pool, as_owner, false).await?;
        let dropped = async {
            let admin = session.admin();
            admin.execute(format!("SET ROLE {owner}").as_str()).await?;
            // Without FORCE: `lock_out` has ended every tenant session already, and a plain
            // DROP waits (up to 5 s) for those to exit and stops an autovacuum worker in the
            // database itself. FORCE instead checks that the current role (the owner, not a
            // member of pg_signal_backend) may signal every process in the database, and an
            // autovacuum worker made the drop fail ("must be a member of the role whose
            // process is being terminated"; seen by the onboarding bench).
            admin
                .execute(format!("DROP DATABASE IF EXISTS {}", roles.database).as_str())
                .await?;
            admin.execute("RESET ROLE").await?;
            Ok::<_, sqlx::Error>(())
        }
        .await;
        session.end().await;
        dropped?;
    }
    for role in [roles.app, roles.owner] {
        sqlx::query(&format!("DROP ROLE IF EXISTS {role}"))
            .execute(pool)
            .await?;
    }
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

/// Whether the server is reachable (for readiness and error classification).
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

pub(crate) fn is_duplicate(e: &sqlx::Error) -> bool {
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

pub(crate) fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An identifier as SQL text, whatever it holds (a name read from the catalog).
pub(crate) fn quote_identifier(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    #[test]
    fn identifiers_and_literals_are_quoted_whole() {
        assert_eq!(super::quote_identifier("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(super::quote_literal("it's"), "'it''s'");
    }
}
