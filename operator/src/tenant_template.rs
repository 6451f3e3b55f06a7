//! The tenant template: one database per server with the tenant schema already migrated,
//! copied by `CREATE DATABASE … TEMPLATE` for every new agency (issue 10).
//!
//! Running the migrations in each fresh database cost 0.6–1.5 s per agency and made the
//! database phase most of onboarding; copying a migrated database costs what PostgreSQL's
//! own `CREATE DATABASE` costs. The template is made once per schema version, by the
//! operator, with the same ownership model as a tenant database:
//!
//! - the **template owner** role ([`TEMPLATE_OWNER`], NOLOGIN) owns every table, function
//!   and trigger the migrations make in it, so that in a copy one `REASSIGN OWNED BY
//!   <template owner> TO <agency owner>` hands every object to the agency's owner
//!   ([`crate::tenant_schema`]). The operator's role stays a member of it (it owns a schema
//!   with no rows, nothing any agency holds);
//! - the **template database itself** is owned by the operator's role, not by the template
//!   owner: `REASSIGN OWNED` also moves shared objects (databases) owned by the role, and
//!   the template must never change hands. Its owner may copy it without `IS_TEMPLATE`, so
//!   no other role can;
//! - no application grants and no default privileges live in it: the copy's grants are
//!   made for the agency's own application role
//!   ([`crate::tenant_schema::privilege_statements`]), and a fresh copy holds nothing for
//!   any role to revoke;
//! - `PUBLIC` has no privilege on it and it does not accept connections
//!   (`ALLOW_CONNECTIONS false`) once complete: nobody can change it between copies, and
//!   no stray session makes a copy fail with "source database is being accessed".
//!
//! **Version.** The name carries a hash of every embedded migration's version and
//! checksum ([`template_name`]), so a release with a new or changed migration builds a new
//! template, and the previous ones are dropped. The database's comment ([`complete_marker`])
//! is written last: only a template carrying it is copied, and one without it (a build
//! interrupted by a crash) is dropped and made again.
//!
//! **Concurrency.** Building is serialised by a server-wide advisory lock and re-checks
//! the catalog under it, so concurrent reconciles (or two replicas) build it once;
//! concurrent copies of a complete template are what PostgreSQL allows (each holds a
//! share lock on it, which also makes a drop of an old template wait for them).

use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, Executor, PgConnection, PgPool};

use crate::postgres::{DbError, ensure_role};
use crate::tenant_schema::MIGRATOR;

/// NOLOGIN role owning the objects in every template (never a database).
pub const TEMPLATE_OWNER: &str = "sxt_tenant_owner";
/// Prefix of the templates' names: not `sx_`, so no agency's name and no orphan sweep
/// ([`crate::naming::DATABASE_NAME_PATTERN`]) can meet it.
pub const TEMPLATE_PREFIX: &str = "sxt_tenant_";
/// How copies are made. PostgreSQL 15's default `WAL_LOG` writes every copied block
/// through the WAL, whose insertion serialises concurrent copies; `FILE_COPY` copies the
/// files and checkpoints around each copy, and concurrent requests share checkpoints.
/// Measured here (PostgreSQL 15, 7.5 MB databases, fsync off, loaded machine): one
/// session WAL_LOG 10/s vs FILE_COPY 8/s, but 8 sessions 12/s vs 34/s and 16 sessions
/// 18/s vs 32/s; reconciles run concurrently, so `FILE_COPY`. The onboarding bench
/// prints both for plain databases in each run.
pub const STRATEGY: &str = "FILE_COPY";
/// Bumped when the way a template is built changes (a new name for the same migrations).
const LAYOUT: u32 = 1;

/// The append-only tables of the template (those whose rows a `sx_reject_change` trigger
/// keeps from being updated: the application role gets no UPDATE on them), the same in
/// every copy, since the name of the template fixes its migrations. Learnt from the first
/// copy this process makes (the template accepts no connections); until then a copy's
/// grants find them with a `DO` block, a PL/pgSQL run and a planned catalog query that
/// every onboarding paid for.
static APPEND_ONLY: OnceLock<Vec<String>> = OnceLock::new();

/// The template's append-only tables, once learnt ([`learn_append_only_tables`]).
pub fn append_only_tables() -> Option<&'static [String]> {
    APPEND_ONLY.get().map(Vec::as_slice)
}

/// Reads the append-only tables in `copy`, a connection to a fresh copy of the template.
pub async fn learn_append_only_tables(copy: &mut PgConnection) -> Result<(), DbError> {
    if APPEND_ONLY.get().is_none() {
        let tables: Vec<String> = sqlx::query_scalar(crate::tenant_schema::APPEND_ONLY_TABLES)
            .fetch_all(copy)
            .await?;
        let _ = APPEND_ONLY.set(tables);
    }
    Ok(())
}

/// The template's name for the embedded migrations (pure).
pub fn template_name() -> String {
    let mut hash = Sha256::new();
    hash.update(LAYOUT.to_be_bytes());
    for m in MIGRATOR.iter() {
        hash.update(m.version.to_be_bytes());
        hash.update(&m.checksum);
    }
    let digest = hash.finalize();
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("{TEMPLATE_PREFIX}{hex}")
}

/// The comment written on a template once it is complete.
pub fn complete_marker() -> String {
    let schema = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    format!("sanxiang tenant template; schema {schema}; complete")
}

const STATE: &str = "SELECT shobj_description(d.oid, 'pg_database'), \
       EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
               WHERE r.rolname = $2 AND m.member = (SELECT oid FROM pg_roles \
                                                    WHERE rolname = current_user)) \
     FROM pg_database d WHERE d.datname = $1";

/// The name of a complete template for the embedded migrations on this server, built
/// first when missing; afterwards the operator is a member of [`TEMPLATE_OWNER`]. A
/// reconcile that finds it pays one catalog read, on its own connection `conn`; a build
/// uses a connection of its own, made with `pool`'s options.
pub async fn ensure_template(pool: &PgPool, conn: &mut PgConnection) -> Result<String, DbError> {
    let name = template_name();
    if is_complete(conn, &name).await? {
        return Ok(name);
    }
    let mut admin = PgConnection::connect_with(&pool.connect_options()).await?;
    let built = async {
        admin
            .execute("SELECT pg_advisory_lock(hashtext('sanxiang-tenant-template'))")
            .await?;
        if !is_complete(&mut admin, &name).await? {
            build(pool, &mut admin, &name).await?;
        }
        Ok::<_, DbError>(())
    }
    .await;
    // Closing the session releases the advisory lock.
    let _ = admin.close().await;
    built.map(|()| name)
}

async fn is_complete(conn: &mut PgConnection, name: &str) -> Result<bool, DbError> {
    let row: Option<(Option<String>, bool)> = sqlx::query_as(STATE)
        .bind(name)
        .bind(TEMPLATE_OWNER)
        .fetch_optional(conn)
        .await?;
    Ok(matches!(row, Some((Some(m), true)) if m == complete_marker()))
}

/// Builds the template `name` (under the lock): the owner role and the operator's
/// membership, a fresh database (replacing an incomplete one), the migrations run as the
/// template owner, then closed to connections and marked complete; older templates go.
async fn build(pool: &PgPool, admin: &mut PgConnection, name: &str) -> Result<(), DbError> {
    ensure_role(
        admin,
        TEMPLATE_OWNER,
        "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
    )
    .await?;
    // Idempotent (PostgreSQL 15 answers a NOTICE when already a member).
    admin
        .execute(format!("GRANT {TEMPLATE_OWNER} TO CURRENT_USER").as_str())
        .await?;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await?;
    admin
        .execute(format!("CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0").as_str())
        .await?;
    admin
        .execute(format!("REVOKE ALL ON DATABASE {name} FROM PUBLIC").as_str())
        .await?;
    // One connection, acting as the template owner (a pool, as sqlx's migrator wants).
    let template = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(
                    format!(
                        "GRANT CREATE ON SCHEMA public TO {TEMPLATE_OWNER}; \
                         SET ROLE {TEMPLATE_OWNER}"
                    )
                    .as_str(),
                )
                .await?;
                Ok(())
            })
        })
        .connect_with((*pool.connect_options()).clone().database(name))
        .await?;
    let migrated = async {
        MIGRATOR
            .run(&template)
            .await
            .map_err(|e| DbError::Sql(sqlx::Error::Migrate(Box::new(e))))?;
        template
            .execute(
                format!("RESET ROLE; REVOKE CREATE ON SCHEMA public FROM {TEMPLATE_OWNER}, PUBLIC")
                    .as_str(),
            )
            .await?;
        Ok::<_, DbError>(())
    }
    .await;
    template.close().await;
    migrated?;
    admin
        .execute(format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false").as_str())
        .await?;
    admin
        .execute(
            format!(
                "COMMENT ON DATABASE {name} IS {}",
                crate::postgres::quote_literal(&complete_marker())
            )
            .as_str(),
        )
        .await?;
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database \
         WHERE starts_with(datname, $1) AND datname <> $2 \
           AND datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)",
    )
    .bind(TEMPLATE_PREFIX)
    .bind(name)
    .fetch_all(&mut *admin)
    .await?;
    for old in stale {
        // A copy in progress holds a share lock on it: the drop waits for it.
        admin
            .execute(format!("DROP DATABASE IF EXISTS {old}").as_str())
            .await?;
    }
    tracing::info!(template = name, "built the tenant template database");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_name_is_an_identifier_outside_the_agencies_pattern() {
        let name = template_name();
        assert_eq!(name, template_name(), "stable");
        assert!(name.len() <= 63);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
        // DATABASE_NAME_PATTERN starts with `^sx_`.
        assert!(
            !name.starts_with("sx_"),
            "{name} looks like an agency's database"
        );
        assert!(!name.starts_with(crate::naming::OWNER_ROLE_PREFIX));
    }
}
