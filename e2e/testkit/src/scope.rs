//! Per-test isolation on the shared platform: a namespace, a database with its own owner
//! and login roles (provisioned as the operator does), and a NATS subject prefix, all named from a short random id so tests running in
//! parallel (or a rerun after a crash) never collide.

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use sqlx::Connection;

use crate::Platform;

/// Names reserved for one test.
pub struct TestScope {
    pub platform: &'static Platform,
    /// Short random id shared by every name below.
    pub id: String,
    /// Kubernetes namespace (created by [`TestScope::create_namespace`]).
    pub namespace: String,
    /// PostgreSQL database name (created by [`TestScope::create_database`]).
    pub database: String,
    /// NATS subject prefix, e.g. `sxt.3f9a1c`; publish under `<prefix>.>`.
    pub subject_prefix: String,
    role_password: String,
}

impl TestScope {
    /// Reserves names for a test; `label` (e.g. the test's name) makes them recognisable.
    pub async fn new(platform: &'static Platform, label: &str) -> Result<Self> {
        use rand::Rng;
        let id: String = (0..6)
            .map(|_| char::from(b"0123456789abcdef"[rand::rng().random_range(0..16)]))
            .collect();
        let slug: String = label
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(30)
            .collect::<String>()
            .trim_matches('-')
            .to_string();
        Ok(Self {
            platform,
            namespace: format!("t-{slug}-{id}"),
            database: format!("t_{}_{id}", slug.replace('-', "_")),
            subject_prefix: format!("sxt.{id}"),
            role_password: format!("pw{id}{}", rand::rng().random::<u64>()),
            id,
        })
    }

    /// Creates the namespace and returns its name.
    pub async fn create_namespace(&self) -> Result<String> {
        let client = self.platform.kube_client().await?;
        let api: Api<Namespace> = Api::all(client);
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": self.namespace, "labels": {"sanxiang.io/test": "true"}}
        }))?;
        api.create(&PostParams::default(), &ns)
            .await
            .with_context(|| format!("creating namespace {}", self.namespace))?;
        Ok(self.namespace.clone())
    }

    /// Creates the database the way the operator provisions an agency's
    /// (`sanxiang_operator::postgres::ensure_tenant_database`, as the operator's role): an
    /// owner role ([`TestScope::owner_role`], NOLOGIN) owning the migrated schema, and a
    /// login role of the database's name with the tenant service's DML only. Returns that
    /// login role's connection URL.
    pub async fn create_database(&self) -> Result<String> {
        let operator = sqlx::PgPool::connect(&self.platform.operator_postgres_url("postgres"))
            .await
            .context("connecting to PostgreSQL as the operator's role")?;
        let owner = self.owner_role();
        let roles = sanxiang_operator::tenant_schema::TenantRoles {
            database: &self.database,
            owner: &owner,
            app: &self.database,
        };
        let result = sanxiang_operator::postgres::ensure_tenant_database(
            &operator,
            roles,
            &self.role_password,
            false,
        )
        .await;
        operator.close().await;
        result.with_context(|| format!("provisioning database {}", self.database))?;
        Ok(self.database_url())
    }

    /// The NOLOGIN role owning the scope's database (migrations run as it).
    pub fn owner_role(&self) -> String {
        format!("{}_owner", self.database)
    }

    /// Connection URL of the scope's login (application) role to its database.
    pub fn database_url(&self) -> String {
        format!(
            "postgres://{db}:{pw}@127.0.0.1:{port}/{db}",
            db = self.database,
            pw = self.role_password,
            port = self.platform.ports.postgres
        )
    }

    /// Removes what the scope created (namespace, database, role); missing parts are fine.
    pub async fn cleanup(&self) -> Result<()> {
        let client = self.platform.kube_client().await?;
        let api: Api<Namespace> = Api::all(client);
        match api
            .delete(&self.namespace, &DeleteParams::background())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
        let mut admin =
            sqlx::PgConnection::connect(&self.platform.postgres_url("postgres")).await?;
        let db = &self.database;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
        for role in [db.clone(), self.owner_role()] {
            sqlx::query(&format!("DROP ROLE IF EXISTS {role}"))
                .execute(&mut admin)
                .await?;
        }
        Ok(())
    }
}

/// Checks, as an agency's login role (`conn`), what the operator's provisioning promises:
/// the role creates no tables (the schema belongs to the owner role), and it writes rows —
/// one `record_access_log` row with `purpose`.
pub async fn assert_login_writes_rows_only(
    conn: &mut sqlx::PgConnection,
    purpose: &str,
) -> Result<()> {
    let refused = sqlx::query("CREATE TABLE records (id serial PRIMARY KEY, body text NOT NULL)")
        .execute(&mut *conn)
        .await
        .expect_err("the login role creates no tables");
    assert!(
        refused
            .to_string()
            .contains("permission denied for schema public"),
        "{refused}"
    );
    sqlx::query(
        "INSERT INTO record_access_log (action_id, accessed_by, role, purpose) \
         VALUES (gen_random_uuid(), 'officer-1', 'officer', $1)",
    )
    .bind(purpose)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
