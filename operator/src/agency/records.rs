//! What a tenant database holds, and locking it: used before an agency's database may be
//! dropped ([`super::cleanup`]) and by the orphan sweep ([`crate::orphans`]).
//!
//! "Holds enforcement records" is read conservatively: any row in any table of the
//! database except the migration bookkeeping. Deciding that a table is unimportant is not
//! the operator's business when the cost of a mistake is destroyed records.
//!
//! Locking never drops anything: the role loses its login and its open sessions end, so
//! nobody keeps writing into a database whose Agency is gone or going.

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};

use crate::postgres::{self, DbError};

/// Tables the tenant service's migrations keep for themselves (not records).
const BOOKKEEPING: [&str; 1] = ["_sqlx_migrations"];

/// Rows held per table (`schema.table`, rows), non-empty tables only, by table name.
pub type Held = Vec<(String, i64)>;

/// The non-empty tables of `database` on the server of `pool` (empty when the database
/// does not exist).
pub async fn held_records(pool: &PgPool, database: &str) -> Result<Held, DbError> {
    let options: PgConnectOptions = (*pool.connect_options()).clone().database(database);
    let mut conn = match PgConnection::connect_with(&options).await {
        Ok(c) => c,
        // 3D000 invalid_catalog_name: no such database, so nothing is held.
        Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("3D000") => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e.into()),
    };
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg_toast%' \
         ORDER BY 1, 2",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut held = Vec::new();
    for (schema, table) in tables {
        if BOOKKEEPING.contains(&table.as_str()) {
            continue;
        }
        let rows: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {}.{}",
            quote_ident(&schema),
            quote_ident(&table)
        ))
        .fetch_one(&mut conn)
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
    conn.close().await.ok();
    Ok(held)
}

/// `records: 1, decisions: 3` (pure), for messages.
pub fn describe(held: &Held) -> String {
    held.iter()
        .map(|(t, n)| format!("{t}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Disables the role's login and ends every session of the role or on the database.
/// Returns how many sessions were ended.
pub async fn lock_out(pool: &PgPool, database: &str, role: &str) -> Result<u64, DbError> {
    postgres::disable_login(pool, role).await?;
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE (datname = $1 OR usename = $2) AND pid <> pg_backend_pid()",
    )
    .bind(database)
    .bind(role)
    .fetch_all(pool)
    .await?;
    Ok(ended.into_iter().filter(|ok| *ok).count() as u64)
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_records_read_as_table_and_count() {
        let held = vec![("records".to_string(), 1), ("audit.log".to_string(), 30)];
        assert_eq!(describe(&held), "records: 1, audit.log: 30");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}
