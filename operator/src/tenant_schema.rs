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
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};

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
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT pg_get_userbyid(datdba)::text, shobj_description(oid, 'pg_database') \
         FROM pg_database WHERE datname = $1",
    )
    .bind(database)
    .fetch_optional(pool)
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

/// The operator acting as a tenant's owner: a dedicated connection to the server's
/// maintenance database holding the owner's advisory lock and, while it lives, the
/// operator's membership of the owner role (and of the application role during a
/// conversion, which `REASSIGN OWNED` needs). [`OwnerSession::end`] revokes both.
pub struct OwnerSession<'a> {
    admin: PgConnection,
    options: PgConnectOptions,
    roles: TenantRoles<'a>,
    granted: Vec<&'a str>,
}

impl<'a> OwnerSession<'a> {
    /// Locks the owner's sessions and makes the operator a member of `roles.owner`
    /// (and of `roles.app` when `convert_from_app`).
    pub async fn begin(
        pool: &PgPool,
        roles: TenantRoles<'a>,
        convert_from_app: bool,
    ) -> Result<Self, DbError> {
        let options = (*pool.connect_options()).clone();
        let mut admin = PgConnection::connect_with(&options).await?;
        sqlx::query("SELECT pg_advisory_lock(hashtext('sanxiang-owner:' || $1))")
            .bind(roles.owner)
            .execute(&mut admin)
            .await?;
        let mut session = OwnerSession {
            admin,
            options,
            roles,
            granted: Vec::new(),
        };
        let mut members = vec![roles.owner];
        if convert_from_app {
            members.push(roles.app);
        }
        for role in members {
            session.granted.push(role);
            if let Err(e) = session
                .admin
                .execute(format!("GRANT {role} TO CURRENT_USER").as_str())
                .await
            {
                session.end().await;
                return Err(e.into());
            }
        }
        Ok(session)
    }

    /// The maintenance-database connection (the operator's own role, member of the owner).
    pub fn admin(&mut self) -> &mut PgConnection {
        &mut self.admin
    }

    /// A one-connection pool on the tenant database whose connection acts as the owner
    /// (`SET ROLE`), for migrations and grants. Every object of each role in
    /// `reassign_from` is first moved to the owner: the application role of a database
    /// being converted, or the template owner of a database copied from the tenant
    /// template ([`crate::tenant_template`]). The operator must be a member of them.
    pub async fn tenant_pool(&self, reassign_from: &[&str]) -> Result<PgPool, DbError> {
        let owner = self.roles.owner.to_string();
        // The database first: PostgreSQL 15's schema `public` belongs to the database's
        // owner, and a table can be given only to a role that may create in its schema. Left
        // to REASSIGN, the order follows the catalog and a table may come before the database
        // ("permission denied for schema public", seen on a long-used server).
        let database_first = (!reassign_from.is_empty())
            .then(|| format!("ALTER DATABASE {} OWNER TO {owner}", self.roles.database));
        let reassign: Vec<String> = database_first
            .into_iter()
            .chain(
                reassign_from
                    .iter()
                    .map(|from| format!("REASSIGN OWNED BY {from} TO {owner}")),
            )
            .collect();
        // The ownership moves once per session, on a direct connection: a pool would hide a
        // failing statement behind "pool timed out" after retrying for its acquire timeout.
        let options = self.options.clone().database(self.roles.database);
        let mut first = PgConnection::connect_with(&options).await?;
        for statement in &reassign {
            first.execute(statement.as_str()).await?;
        }
        first.execute(format!("SET ROLE {owner}").as_str()).await?;
        let _ = first.close().await;
        // The pool's connection (re-made after idling) only acts as the owner.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .after_connect(move |conn, _| {
                let set_role = format!("SET ROLE {owner}");
                Box::pin(async move {
                    conn.execute(set_role.as_str()).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(pool)
    }

    /// Revokes the memberships and releases the lock (best effort: a failure is logged,
    /// and the next session of this owner revokes again).
    pub async fn end(mut self) {
        // A failed statement may have left the connection acting as the owner.
        let _ = self.admin.execute("RESET ROLE").await;
        for role in std::mem::take(&mut self.granted) {
            if let Err(e) = self
                .admin
                .execute(format!("REVOKE {role} FROM CURRENT_USER").as_str())
                .await
            {
                tracing::warn!(role, error = %e, "could not revoke the operator's membership");
            }
        }
        let _ = self.admin.close().await;
    }
}

/// Migrates the tenant database as its owner, syncs the application role's privileges and
/// writes the marker. `pool` is an [`OwnerSession::tenant_pool`].
pub async fn migrate_and_grant(pool: &PgPool, roles: &TenantRoles<'_>) -> Result<(), DbError> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| DbError::Sql(sqlx::Error::Migrate(Box::new(e))))?;
    sync_privileges(pool, roles).await?;
    sqlx::query(&format!(
        "COMMENT ON DATABASE {} IS {}",
        roles.database,
        crate::postgres::quote_literal(&marker())
    ))
    .execute(pool)
    .await?;
    Ok(())
}

/// Tables of the public schema whose rows an `sx_reject_change` trigger keeps from being
/// updated (the append-only records, logs and steps); the application role gets no UPDATE
/// on them, so even the trigger's refusal is never reached.
const APPEND_ONLY_TABLES: &str = "SELECT DISTINCT c.relname::text FROM pg_trigger t \
     JOIN pg_class c ON c.oid = t.tgrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_proc p ON p.oid = t.tgfoid \
     WHERE n.nspname = 'public' AND p.proname = 'sx_reject_change' \
       AND NOT t.tgisinternal AND (t.tgtype & 16) <> 0 \
     ORDER BY 1";

/// The application role's privileges, from scratch (idempotent; one transaction, run as
/// the owner): everything it had is revoked first, so a converted database keeps nothing
/// of its former ownership.
pub async fn sync_privileges(pool: &PgPool, roles: &TenantRoles<'_>) -> Result<(), DbError> {
    let TenantRoles {
        database: db,
        owner,
        app,
    } = *roles;
    let mut tx = pool.begin().await?;
    let append_only: Vec<String> = sqlx::query_scalar(APPEND_ONLY_TABLES)
        .fetch_all(&mut *tx)
        .await?;
    let mut statements = vec![
        format!("REVOKE ALL ON DATABASE {db} FROM PUBLIC, {app}"),
        format!("GRANT CONNECT ON DATABASE {db} TO {app}"),
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_string(),
        format!("REVOKE ALL ON SCHEMA public FROM {app}"),
        format!("GRANT USAGE ON SCHEMA public TO {app}"),
        format!("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app}"),
        format!("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {app}"),
        format!("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM {app}"),
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
    ];
    statements.extend(
        append_only
            .iter()
            .map(|t| format!("REVOKE UPDATE ON {t} FROM {app}")),
    );
    for statement in statements {
        (&mut *tx).execute(statement.as_str()).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Brings one tenant database to the current schema and grants as its owner: creates it
/// when missing, converts one provisioned before the owner/application split. Returns
/// whether the database was created. Both roles must exist.
pub async fn ensure_schema(pool: &PgPool, roles: TenantRoles<'_>) -> Result<bool, DbError> {
    let found = catalog(pool, roles.database).await?;
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
        None => Some(crate::tenant_template::ensure_template(pool).await?),
        Some(_) => None,
    };
    let mut reassign_from = Vec::new();
    if convert {
        reassign_from.push(roles.app);
    }
    if template.is_some() {
        reassign_from.push(crate::tenant_template::TEMPLATE_OWNER);
    }
    let mut session = OwnerSession::begin(pool, roles, convert).await?;
    let result = async {
        let mut created = false;
        if let Some(template) = template.as_deref()
            && !catalog(pool, roles.database).await?.exists
        {
            // A copy of the migrated template (CREATE DATABASE cannot run in a
            // transaction block; sqlx runs it plainly).
            match session
                .admin()
                .execute(
                    format!(
                        "CREATE DATABASE {} OWNER {} TEMPLATE {template} STRATEGY {}",
                        roles.database,
                        roles.owner,
                        crate::tenant_template::STRATEGY
                    )
                    .as_str(),
                )
                .await
            {
                Ok(_) => created = true,
                Err(e) if crate::postgres::is_duplicate(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let tenant = session.tenant_pool(&reassign_from).await?;
        let migrated = migrate_and_grant(&tenant, &roles).await;
        tenant.close().await;
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
}
