//! A new agency's PostgreSQL side in the fewest round trips and transactions (issue 10):
//! the path every onboarding takes, when neither of its roles nor its database exists.
//!
//! The general path ([`crate::postgres::ensure_tenant_database`] →
//! [`crate::tenant_schema::ensure_schema`]) checks and makes each piece on its own, which
//! suits the rare cases (a retained role, a database of an older release, a crash half
//! way). Onboarding 1,000 agencies showed what that costs when everything is new: seven
//! transactions and some fifteen round trips per agency, each commit of a catalog change
//! paid on the one server all agencies share. Here the same end state takes:
//!
//! 1. one transaction on the operator's connection: the owner's advisory lock, both
//!    `CREATE ROLE`s (the application's with a verifier computed by the operator,
//!    [`crate::scram`]) and the operator's session membership of the owner;
//! 2. `CREATE DATABASE … TEMPLATE <tenant template> ALLOW_CONNECTIONS false`
//!    ([`tenant_schema::create_copy_statement`]);
//! 3. one transaction: `PUBLIC` closed out, `CONNECT` for the application role, then
//!    connections allowed ([`tenant_schema::open_database_statement`]); so no other role
//!    ever reaches the copy, not even between its creation and its ACL;
//! 4. one connection to the copy and one transaction in it, as the owner: every object
//!    reassigned from the template owner, the application's grants
//!    ([`tenant_schema::Start::FreshCopy`]: nothing to revoke in a fresh copy; the
//!    append-only tables named, as learnt from the first copy,
//!    [`tenant_template::append_only_tables`]) and the marker, last;
//! 5. the session's end (membership revoked, lock released).
//!
//! Any failure before the database exists leaves nothing (the roles' transaction rolls
//! back whole); a race lost to another reconcile (a duplicate role or database) returns
//! [`Onboarded::Raced`] and the caller takes the general path, which finds what the winner
//! made. A failure after the copy leaves a database without a marker, which the general
//! path completes on the next reconcile (it reopens a closed copy and reassigns).

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Executor, PgPool, Postgres};

use crate::postgres::{DbError, is_duplicate};
use crate::tenant_schema::{self, OwnerSession, Start, TenantRoles};
use crate::tenant_template::{self, TEMPLATE_OWNER};

/// What [`onboard`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Onboarded {
    /// Both roles and the database were made, migrated (copied) and granted.
    Created,
    /// Another reconcile made a role or the database first: nothing was changed here.
    Raced,
}

/// Makes the roles and the database of an agency none of which exists yet (as the
/// catalog said just before), on `conn`, copying the complete template `template`.
/// `create_roles` are the two `CREATE ROLE` statements.
pub async fn onboard(
    pool: &PgPool,
    conn: PoolConnection<Postgres>,
    roles: TenantRoles<'_>,
    create_roles: &[String],
    template: &str,
) -> Result<Onboarded, DbError> {
    let mut session =
        match OwnerSession::begin_creating(pool, conn, roles, false, create_roles).await {
            Ok(session) => session,
            Err(DbError::Sql(e)) if is_duplicate(&e) => return Ok(Onboarded::Raced),
            Err(e) => return Err(e),
        };
    let result = async {
        let copy = tenant_schema::create_copy_statement(&roles, template);
        match session.admin().execute(copy.as_str()).await {
            Ok(_) => {}
            Err(e) if is_duplicate(&e) => return Ok(Onboarded::Raced),
            Err(e) => return Err(e.into()),
        }
        session
            .admin()
            .execute(tenant_schema::open_database_statement(&roles).as_str())
            .await?;
        let known = tenant_template::append_only_tables();
        let mut statements = tenant_schema::privilege_statements(&roles, Start::FreshCopy, known);
        statements.push(tenant_schema::marker_statement(&roles));
        let mut tenant = session
            .tenant_connection_then(&[TEMPLATE_OWNER], &statements)
            .await?;
        // Learning the tables only spares the next copies their lookup: this agency is
        // complete whether or not it succeeds, so a failure is no reason to fail it.
        if known.is_none()
            && let Err(e) = tenant_template::learn_append_only_tables(&mut tenant).await
        {
            tracing::warn!(error = %e, "reading the template's append-only tables failed; the next copy looks them up");
        }
        let _ = tenant.close().await;
        Ok(Onboarded::Created)
    }
    .await;
    session.end().await;
    result
}
