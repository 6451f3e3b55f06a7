//! The tenant database's schema and who may do what in it (issues 11 and 14).
//!
//! Each agency has two roles. The **owner** (NOLOGIN) owns the database, its schema and
//! every table, function and trigger: only it can ALTER, DROP or disable a trigger. The
//! **application role** (LOGIN; the credentials in the `<name>-db` Secret, named like the
//! database) gets what the tenant service needs and nothing more ([`sync_privileges`]):
//! SELECT, INSERT, UPDATE on the working tables; no UPDATE where an append-only trigger
//! (`sx_reject_change`) forbids it anyway; DELETE only on the relayed outbox rows it
//! purges; never TRUNCATE, REFERENCES, TRIGGER, CREATE or TEMPORARY; read-only on the
//! migrations' bookkeeping, from which it checks the schema version. Default privileges
//! give tables made by later migrations the same grants before the sync runs again.
//!
//! **Migrations never run with the serving credentials.** The operator runs them here, as
//! the owner, when it provisions a database and whenever the embedded migrations are
//! newer than the database's marker (a comment on the database, readable from the
//! catalog without connecting to it). The tenant service only checks that every migration
//! it knows is applied. For that one [`OwnerSession`] the operator makes itself a member
//! of the owner role (its CREATEROLE allows it), `SET ROLE`s to it, and revokes the
//! membership afterwards, so between sessions the operator holds no privilege on any
//! agency's tables. Sessions for one owner are serialised by an advisory lock on the
//! server, and sqlx's own advisory lock around the migrations keeps concurrent runs safe.
//!
//! **New databases** are copies of the server's migrated template
//! ([`crate::tenant_template`]): the session reassigns the copy's objects from the template
//! owner to the agency's owner, and the migrator then finds every migration applied.
//!
//! **Upgrade.** A database provisioned before this split is owned by its login role. The
//! session converts it: `REASSIGN OWNED` moves the database and every object to the new
//! owner role, and the sync then leaves the old role with the application's grants only.
//! Its name and password stay, so the Secret and the running service keep working.

use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection, PgPool, Postgres};

use crate::postgres::DbError;

/// The tenant service's migrations, applied by the operator as the owner.
pub static MIGRATOR: Migrator = sqlx::migrate!("../tenant-service/migrations");

/// Bumped whenever [`sync_privileges`] grants differently, so every database is synced
/// again on the next reconcile.
pub const PRIVILEGES_VERSION: u32 = 1;

/// The three names of one tenant database.
#[derive(Clone, Copy, Debug)]
pub struct TenantRoles<'a> {
    pub database: &'a str,
    /// NOLOGIN; owns the database and every object in it.
    pub owner: &'a str,
    /// LOGIN; the tenant service's credentials.
    pub app: &'a str,
}

/// The marker the operator writes on a database it migrated and granted (pure).
pub fn marker() -> String {
    let schema = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    format!("sanxiang tenant schema {schema}; privileges {PRIVILEGES_VERSION}")
}

/// What the catalog says about a tenant database, read without connecting to it.
#[derive(Debug)]
pub struct Catalog {
    pub exists: bool,
    /// The role owning the database.
    pub owner: Option<String>,
    pub marker: Option<String>,
}

pub async fn catalog(pool: &PgPool, database: &str) -> Result<Catalog, DbError> {
    catalog_on(&mut *pool.acquire().await?, database).await
}

/// [`catalog`] on a connection the caller holds.
pub async fn catalog_on(conn: &mut PgConnection, database: &str) -> Result<Catalog, DbError> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT pg_get_userbyid(datdba)::text, shobj_description(oid, 'pg_database') \
         FROM pg_database WHERE datname = $1",
    )
    .bind(database)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some((owner, marker)) => Catalog {
            exists: true,
            owner: Some(owner),
            marker,
        },
        None => Catalog {
            exists: false,
            owner: None,
            marker: None,
        },
    })
}

impl Catalog {
    /// Whether the database needs an [`OwnerSession`]: missing, owned by the login role
    /// (provisioned before the split), or migrated or granted by an older release.
    pub fn needs_owner_session(&self, roles: &TenantRoles) -> bool {
        !self.exists
            || self.owner.as_deref() != Some(roles.owner)
            || self.marker.as_deref() != Some(marker().as_str())
    }
}

/// The operator acting as a tenant's owner: a connection of the server's pool holding the
/// owner's advisory lock and, while it lives, the operator's membership of the owner role
/// (and of the application role during a conversion, which `REASSIGN OWNED` needs).
/// [`OwnerSession::end`] revokes both, releases the lock and returns the connection to
/// the pool.
///
/// The connection is borrowed, not opened: a fresh password-authenticated connection
/// costs a process start and a SCRAM exchange on both sides, and onboarding made three per
/// agency (issue 10). A session that is not ended (an error path that skipped
/// [`OwnerSession::end`], a cancelled reconcile) closes its connection instead of
/// returning it, so no pooled connection ever carries a lock or a role into another
/// reconcile; the membership itself is revoked by the owner's next session.
pub struct OwnerSession<'a> {
    admin: Option<PoolConnection<Postgres>>,
    options: PgConnectOptions,
    roles: TenantRoles<'a>,
    granted: Vec<&'a str>,
}

/// The advisory lock serialising one owner's sessions on a server (pure).
fn owner_lock(owner: &str) -> String {
    format!(
        "hashtext({})",
        crate::postgres::quote_literal(&format!("sanxiang-owner:{owner}"))
    )
}

impl<'a> OwnerSession<'a> {
    /// Locks the owner's sessions and makes the operator a member of `roles.owner`
    /// (and of `roles.app` when `convert_from_app`).
    pub async fn begin(
        pool: &PgPool,
        roles: TenantRoles<'a>,
        convert_from_app: bool,
    ) -> Result<Self, DbError> {
        Self::begin_on(pool, pool.acquire().await?, roles, convert_from_app).await
    }

    /// [`OwnerSession::begin`] on a connection the caller already holds from `pool`.
    /// The lock and the grants go as one batch (a round trip costs more than they take).
    pub async fn begin_on(
        pool: &PgPool,
        admin: PoolConnection<Postgres>,
        roles: TenantRoles<'a>,
        convert_from_app: bool,
    ) -> Result<Self, DbError> {
        Self::begin_creating(pool, admin, roles, convert_from_app, &[]).await
    }

    /// [`OwnerSession::begin_on`] running `create` (e.g. the `CREATE ROLE`s of a new
    /// agency) under the lock, before the grants, in the same transaction: a failing
    /// statement (a duplicate role, when another reconcile won a race) undoes the batch
    /// and ends the session.
    pub async fn begin_creating(
        pool: &PgPool,
        admin: PoolConnection<Postgres>,
        roles: TenantRoles<'a>,
        convert_from_app: bool,
        create: &[String],
    ) -> Result<Self, DbError> {
        let mut session = OwnerSession {
            admin: Some(admin),
            options: (*pool.connect_options()).clone(),
            roles,
            granted: vec![roles.owner],
        };
        if convert_from_app {
            session.granted.push(roles.app);
        }
        let batch: Vec<String> = std::iter::once(format!(
            "SELECT pg_advisory_lock({})",
            owner_lock(roles.owner)
        ))
        .chain(create.iter().cloned())
        .chain(
            session
                .granted
                .iter()
                .map(|role| format!("GRANT {role} TO CURRENT_USER")),
        )
        .collect();
        // A failed grant leaves the lock held (session-level locks survive an aborted
        // transaction): `end` releases it, or closes the connection.
        if let Err(e) = session.admin().execute(batch.join(";\n").as_str()).await {
            session.end().await;
            return Err(e.into());
        }
        Ok(session)
    }

    /// The maintenance-database connection (the operator's own role, member of the owner).
    pub fn admin(&mut self) -> &mut PgConnection {
        self.admin
            .as_mut()
            .expect("a session's connection lives until it ends")
    }

    /// A connection to the tenant database acting as the owner (`SET ROLE`), for
    /// migrations, grants and counting; the caller closes it. Every object of each role
    /// in `reassign_from` is first moved to the owner: the application role of a database
    /// being converted, or the template owner of a database copied from the tenant
    /// template ([`crate::tenant_template`]). The operator must be a member of them.
    ///
    /// One direct connection (a database's sessions cannot be pooled across databases):
    /// a failing statement is reported as itself, never as a pool's "timed out".
    pub async fn tenant_connection(&self, reassign_from: &[&str]) -> Result<PgConnection, DbError> {
        self.tenant_connection_then(reassign_from, &[]).await
    }

    /// [`OwnerSession::tenant_connection`] that also runs `then` (as the owner) in the
    /// same batch, hence the same transaction.
    pub async fn tenant_connection_then(
        &self,
        reassign_from: &[&str],
        then: &[String],
    ) -> Result<PgConnection, DbError> {
        let owner = self.roles.owner;
        // The database first: PostgreSQL 15's schema `public` belongs to the database's
        // owner, and a table can be given only to a role that may create in its schema. Left
        // to REASSIGN, the order follows the catalog and a table may come before the database
        // ("permission denied for schema public", seen on a long-used server).
        let database_first = (!reassign_from.is_empty())
            .then(|| format!("ALTER DATABASE {} OWNER TO {owner}", self.roles.database));
        let statements: Vec<String> = database_first
            .into_iter()
            .chain(
                reassign_from
                    .iter()
                    .map(|from| format!("REASSIGN OWNED BY {from} TO {owner}")),
            )
            .chain([format!("SET ROLE {owner}")])
            .chain(then.iter().cloned())
            .collect();
        let options = self.options.clone().database(self.roles.database);
        let mut tenant = PgConnection::connect_with(&options).await?;
        // One batch, run as one transaction: the ownership moves whole or not at all.
        if let Err(e) = tenant.execute(statements.join(";\n").as_str()).await {
            let _ = tenant.close().await;
            return Err(e.into());
        }
        Ok(tenant)
    }

    /// Revokes the memberships, releases the lock and returns the connection to the pool
    /// (best effort: a failure is logged, the connection is closed instead, and the next
    /// session of this owner revokes again).
    pub async fn end(mut self) {
        let Some(mut admin) = self.admin.take() else {
            return;
        };
        // A failed statement may have left the connection acting as the owner. One
        // batch; if any of it fails, closing the session releases what it still holds.
        //
        // The revocations commit before the lock is released: in one implicit transaction
        // the unlock takes effect at once while the REVOKE is still uncommitted, so the
        // next session of this owner, taking the lock, found the operator still a member,
        // its GRANT did nothing, and the REVOKE then committed under it ("permission
        // denied for database", caught by `privileges::concurrent_reconciles_…`).
        let granted = std::mem::take(&mut self.granted);
        let batch: Vec<String> = ["BEGIN".to_string(), "RESET ROLE".to_string()]
            .into_iter()
            .chain(
                granted
                    .iter()
                    .map(|role| format!("REVOKE {role} FROM CURRENT_USER")),
            )
            .chain([
                "COMMIT".to_string(),
                format!(
                    "SELECT pg_advisory_unlock({})",
                    owner_lock(self.roles.owner)
                ),
            ])
            .collect();
        if let Err(e) = admin.execute(batch.join(";\n").as_str()).await {
            tracing::warn!(
                roles = ?granted,
                error = %e,
                "could not revoke the operator's membership; the owner's next session will"
            );
            let _ = admin.close().await;
        }
    }
}

impl Drop for OwnerSession<'_> {
    fn drop(&mut self) {
        if let Some(admin) = self.admin.take() {
            // Not ended: the connection may hold the lock or act as the owner. Detached,
            // it closes as it drops, which ends its server session.
            drop(admin.detach());
        }
    }
}

/// Migrates the tenant database as its owner, then syncs the application role's
/// privileges and writes the marker in one transaction. `conn` is an
/// [`OwnerSession::tenant_connection`]. A database this session has just copied from the
/// complete template skips the migrator (`fresh_copy`): the template's name hashes every
/// embedded migration's version and checksum ([`crate::tenant_template::template_name`]),
/// so the copy holds exactly them, and asking sqlx costs five statements per agency.
pub async fn migrate_and_grant(
    conn: &mut PgConnection,
    roles: &TenantRoles<'_>,
    fresh_copy: bool,
) -> Result<(), DbError> {
    if !fresh_copy {
        // `run_direct` is `run` on a connection: `run(&mut PgConnection)` makes the
        // reconcile's future fail the controller's `Send` bound ("not general enough").
        MIGRATOR
            .run_direct(conn)
            .await
            .map_err(|e| DbError::Sql(sqlx::Error::Migrate(Box::new(e))))?;
    }
    sync_privileges(conn, roles, &[marker_statement(roles)]).await
}

/// Writes the [`marker`] on the tenant database (last: it says the database is complete).
pub fn marker_statement(roles: &TenantRoles<'_>) -> String {
    format!(
        "COMMENT ON DATABASE {} IS {}",
        roles.database,
        crate::postgres::quote_literal(&marker())
    )
}

/// Tables of the public schema whose rows an `sx_reject_change` trigger keeps from being
/// updated (the append-only records, logs and steps); the application role gets no UPDATE
/// on them, so even the trigger's refusal is never reached.
pub(crate) const APPEND_ONLY_TABLES: &str = "SELECT DISTINCT c.relname::text FROM pg_trigger t \
     JOIN pg_class c ON c.oid = t.tgrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_proc p ON p.oid = t.tgfoid \
     WHERE n.nspname = 'public' AND p.proname = 'sx_reject_change' \
       AND NOT t.tgisinternal AND (t.tgtype & 16) <> 0 \
     ORDER BY 1";

/// The application role's privileges, from scratch (idempotent; one transaction, run as
/// the owner, with `and_then` after the grants): everything it had is revoked first, so a
/// converted database keeps nothing of its former ownership. Everything goes as one
/// simple query, which PostgreSQL runs as one transaction (the append-only tables are
/// found by a `DO` block in it): a round trip per statement cost more, on a loaded
/// server, than most of them take to run.
pub async fn sync_privileges(
    conn: &mut PgConnection,
    roles: &TenantRoles<'_>,
    and_then: &[String],
) -> Result<(), DbError> {
    let mut statements = privilege_statements(roles, Start::Anything, None);
    statements.extend_from_slice(and_then);
    // Without arguments sqlx sends a simple query, which may hold several statements.
    conn.execute(statements.join(";\n").as_str()).await?;
    Ok(())
}

/// What the application role may hold before [`privilege_statements`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Anything (a converted database, an older release's grants): revoke it all first.
    Anything,
    /// Nothing: a copy of the template made in this session, whose only ACL entries are
    /// the template owner's (it is built with no application grants and no default
    /// privileges), with the database's own ACL already set by
    /// [`open_database_statement`]. The revocations would change nothing, and each
    /// `… ON ALL TABLES` one rewrites every table's catalog row.
    FreshCopy,
}

/// The statements of the application role's privileges (run as the owner, in one
/// transaction): [`sync_privileges`], or a fresh copy's grants. `append_only` names the
/// append-only tables when they are known (a copy of the template: the template's, see
/// [`crate::tenant_template::append_only_tables`]); otherwise a `DO` block finds them.
pub fn privilege_statements(
    roles: &TenantRoles<'_>,
    start: Start,
    append_only: Option<&[String]>,
) -> Vec<String> {
    let TenantRoles {
        database: db,
        owner,
        app,
    } = *roles;
    let revoke_first = start == Start::Anything;
    let mut statements = Vec::new();
    if revoke_first {
        statements.extend([
            format!("REVOKE ALL ON DATABASE {db} FROM PUBLIC, {app}"),
            format!("GRANT CONNECT ON DATABASE {db} TO {app}"),
        ]);
    }
    statements.push("REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_string());
    if revoke_first {
        statements.push(format!("REVOKE ALL ON SCHEMA public FROM {app}"));
    }
    statements.push(format!("GRANT USAGE ON SCHEMA public TO {app}"));
    if revoke_first {
        statements.extend([
            format!("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app}"),
            format!("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {app}"),
            format!("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM {app}"),
        ]);
    }
    statements.extend([
        format!("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {app}"),
        format!("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {app}"),
        // Read the schema version, never write it.
        format!("REVOKE INSERT, UPDATE ON _sqlx_migrations FROM {app}"),
        // The relay marks rows sent and the scan purges the sent ones: the payload stays.
        format!("REVOKE UPDATE ON outbox FROM {app}"),
        format!("GRANT UPDATE (relayed_at), DELETE ON outbox TO {app}"),
        format!(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public \
             GRANT SELECT, INSERT, UPDATE ON TABLES TO {app}"
        ),
        format!(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public \
             GRANT USAGE ON SEQUENCES TO {app}"
        ),
    ]);
    match append_only {
        Some([]) => {}
        Some(tables) => statements.push(format!(
            "REVOKE UPDATE ON {} FROM {app}",
            tables
                .iter()
                .map(|t| crate::postgres::quote_identifier(t))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => statements.push(format!(
            "DO $sx$ DECLARE t text; BEGIN \
               FOR t IN {APPEND_ONLY_TABLES} LOOP \
                 EXECUTE format('REVOKE UPDATE ON %I FROM %I', t, {}); \
               END LOOP; \
             END $sx$",
            crate::postgres::quote_literal(app)
        )),
    }
    statements
}

/// A copy of the template for the agency, owned by its owner role and closed to every
/// connection until [`open_database_statement`] has set its ACL: `CREATE DATABASE` gives
/// a new database the default ACL, which lets `PUBLIC` connect, and no other agency's role
/// may ever reach it, not even for a moment. Not in a transaction (PostgreSQL refuses).
pub fn create_copy_statement(roles: &TenantRoles<'_>, template: &str) -> String {
    format!(
        "CREATE DATABASE {} OWNER {} TEMPLATE {template} STRATEGY {} ALLOW_CONNECTIONS false",
        roles.database,
        roles.owner,
        crate::tenant_template::STRATEGY
    )
}

/// Closes the database to `PUBLIC`, lets the application role connect, then accepts
/// connections: one transaction, so the database is never open with the default ACL.
/// Run as a member of the database's owner.
pub fn open_database_statement(roles: &TenantRoles<'_>) -> String {
    let TenantRoles {
        database: db, app, ..
    } = *roles;
    format!(
        "REVOKE ALL ON DATABASE {db} FROM PUBLIC;\n\
         GRANT CONNECT ON DATABASE {db} TO {app};\n\
         ALTER DATABASE {db} WITH ALLOW_CONNECTIONS true"
    )
}

/// Brings one tenant database to the current schema and grants as its owner: creates it
/// when missing, converts one provisioned before the owner/application split. Returns
/// whether the database was created. Both roles must exist. `found` is what the catalog
/// said of the database just before; works on `conn`, a connection of `pool`, which
/// becomes the owner session's.
pub async fn ensure_schema(
    pool: &PgPool,
    mut conn: PoolConnection<Postgres>,
    roles: TenantRoles<'_>,
    found: Catalog,
) -> Result<bool, DbError> {
    if !found.needs_owner_session(&roles) {
        return Ok(false);
    }
    let convert = found.owner.as_deref() == Some(roles.app);
    if let Some(other) = found
        .owner
        .as_deref()
        .filter(|o| *o != roles.owner && !convert)
    {
        return Err(DbError::ForeignOwner {
            database: roles.database.into(),
            found: other.into(),
            owner: roles.owner.into(),
            app: roles.app.into(),
        });
    }
    // A database without a marker is new, or was copied from the template but never
    // finished (a crash between the copy and the marker): its objects may still belong to
    // the template owner, whom the session then reassigns from.
    let template = match found.marker {
        None => Some(crate::tenant_template::ensure_template(pool, &mut conn).await?),
        Some(_) => None,
    };
    let mut reassign_from = Vec::new();
    if convert {
        reassign_from.push(roles.app);
    }
    if template.is_some() {
        reassign_from.push(crate::tenant_template::TEMPLATE_OWNER);
    }
    let mut session = OwnerSession::begin_on(pool, conn, roles, convert).await?;
    let result = async {
        let mut created = false;
        if let Some(template) = template.as_deref() {
            // Checked again under the owner's lock.
            if !catalog_on(session.admin(), roles.database).await?.exists {
                // A copy of the migrated template (CREATE DATABASE cannot run in a
                // transaction block; sqlx runs it plainly).
                match session
                    .admin()
                    .execute(create_copy_statement(&roles, template).as_str())
                    .await
                {
                    Ok(_) => created = true,
                    Err(e) if crate::postgres::is_duplicate(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            // A database without a marker may be a copy still closed (a crash before it
            // was opened): closed to PUBLIC and opened, before the session connects.
            session
                .admin()
                .execute(open_database_statement(&roles).as_str())
                .await?;
        }
        let mut tenant = session.tenant_connection(&reassign_from).await?;
        let migrated = migrate_and_grant(&mut tenant, &roles, created).await;
        let _ = tenant.close().await;
        migrated.map(|()| created)
    }
    .await;
    session.end().await;
    result
}

/// The role that owns the tenant database now (the owner role, or the application role
/// of a database provisioned before the split), `None` when the database does not exist:
/// what an [`OwnerSession`] for counting or dropping must join.
pub async fn current_owner(pool: &PgPool, database: &str) -> Result<Option<String>, DbError> {
    Ok(catalog(pool, database).await?.owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_names_the_newest_migration_and_the_grants() {
        let m = marker();
        let newest = MIGRATOR.iter().map(|m| m.version).max().unwrap();
        assert!(m.contains(&format!("schema {newest};")), "{m}");
        assert!(
            m.ends_with(&format!("privileges {PRIVILEGES_VERSION}")),
            "{m}"
        );
        let roles = TenantRoles {
            database: "sx_a_00000000",
            owner: "sxo_a_00000000",
            app: "sx_a_00000000",
        };
        let current = Catalog {
            exists: true,
            owner: Some(roles.owner.into()),
            marker: Some(m.clone()),
        };
        assert!(!current.needs_owner_session(&roles));
        let legacy = Catalog {
            owner: Some(roles.app.into()),
            ..current
        };
        assert!(legacy.needs_owner_session(&roles));
    }

    #[test]
    fn a_copy_names_the_append_only_tables_once_they_are_known() {
        let roles = TenantRoles {
            database: "sx_a_00000000",
            owner: "sxo_a_00000000",
            app: "sx_a_00000000",
        };
        let looked_up = privilege_statements(&roles, Start::FreshCopy, None);
        assert!(looked_up.last().unwrap().starts_with("DO $sx$"));
        let known = ["record_entries".to_string(), "odd\"name".to_string()];
        let named = privilege_statements(&roles, Start::FreshCopy, Some(&known));
        assert_eq!(
            named.last().unwrap(),
            "REVOKE UPDATE ON \"record_entries\", \"odd\"\"name\" FROM sx_a_00000000"
        );
        assert!(named.iter().all(|s| !s.starts_with("DO ")));
        // The same grants otherwise.
        assert_eq!(looked_up[..looked_up.len() - 1], named[..named.len() - 1]);
        // None to revoke: nothing at all.
        let none = privilege_statements(&roles, Start::FreshCopy, Some(&[]));
        assert_eq!(none.len(), named.len() - 1);
    }
}
