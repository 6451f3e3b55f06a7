//! What a tenant database holds, and locking it: used before an agency's database may be
//! dropped ([`super::cleanup`]) and by the orphan sweep ([`crate::orphans`]).
//!
//! "Holds enforcement records" is read conservatively: any row in any table of the
//! database except the migration bookkeeping. Deciding that a table is unimportant is not
//! the operator's business when the cost of a mistake is destroyed records.
//!
//! Locking never drops anything: the application role loses its login and its open
//! sessions end, so nobody keeps writing into a database whose Agency is gone or going.
//! (The owner role never logs in.) Counting needs the owner's privileges: the operator's
//! own role cannot read an agency's tables, so it counts in an owner session.

use sqlx::{Connection, PgConnection, PgPool};

use crate::postgres::{self, DbError};
use crate::tenant_schema::{self, OwnerSession, TenantRoles};

/// Tables the tenant service's migrations keep for themselves (not records).
const BOOKKEEPING: [&str; 1] = ["_sqlx_migrations"];

/// Rows held per table (`schema.table`, rows), non-empty tables only, by table name.
pub type Held = Vec<(String, i64)>;

/// The non-empty tables of the tenant database (empty when the database does not exist),
/// counted in an owner session of whichever role owns it now.
pub async fn held_records(pool: &PgPool, roles: TenantRoles<'_>) -> Result<Held, DbError> {
    let Some(owner) = tenant_schema::current_owner(pool, roles.database).await? else {
        return Ok(Vec::new());
    };
    let roles = TenantRoles {
        owner: &owner,
        ..roles
    };
    let session = OwnerSession::begin(pool, roles, false).await?;
    let held = async {
        let mut tenant = session.tenant_connection(&[]).await?;
        let held = count_rows(&mut tenant).await;
        let _ = tenant.close().await;
        held
    }
    .await;
    session.end().await;
    held
}

async fn count_rows(conn: &mut PgConnection) -> Result<Held, DbError> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg_toast%' \
         ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut held = Vec::new();
    for (schema, table) in tables {
        if BOOKKEEPING.contains(&table.as_str()) {
            continue;
        }
        let rows: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {}.{}",
            postgres::quote_identifier(&schema),
            postgres::quote_identifier(&table)
        ))
        .fetch_one(&mut *conn)
        .await?;
        if rows > 0 {
            let name = if schema == "public" {
                table
            } else {
                format!("{schema}.{table}")
            };
            held.push((name, rows));
        }
    }
    Ok(held)
}

/// `records: 1, decisions: 3` (pure), for messages.
pub fn describe(held: &Held) -> String {
    held.iter()
        .map(|(t, n)| format!("{t}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Disables the application role's login and ends every session of that role or on the
/// database (but a superuser's, which the operator may not end and which is no tenant's).
/// Returns how many sessions were ended.
pub async fn lock_out(pool: &PgPool, database: &str, role: &str) -> Result<u64, DbError> {
    postgres::disable_login(pool, role).await?;
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a \
         JOIN pg_roles r ON r.oid = a.usesysid \
         WHERE (a.datname = $1 OR a.usename = $2) AND a.pid <> pg_backend_pid() \
           AND NOT r.rolsuper",
    )
    .bind(database)
    .bind(role)
    .fetch_all(pool)
    .await?;
    Ok(ended.into_iter().filter(|ok| *ok).count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_records_read_as_table_and_count() {
        let held = vec![("records".to_string(), 1), ("audit.log".to_string(), 30)];
        assert_eq!(describe(&held), "records: 1, audit.log: 30");
    }
}
