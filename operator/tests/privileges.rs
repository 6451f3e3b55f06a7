//! Least privilege in PostgreSQL (issues 11 and 14), proven against the real server: the
//! operator's role is no superuser and cannot read an agency's tables; each agency's
//! application role (the credentials the tenant service holds) can do what the service
//! needs and is refused everything else — altering, dropping, disabling triggers,
//! truncating, rewriting or deleting records, creating objects, reaching another agency's
//! database; a database provisioned before the owner/application split is converted in
//! place, idempotently; and locking and dropping still work for both roles.

use sanxiang_operator::agency::records;
use sanxiang_operator::postgres::{drop_tenant_database, ensure_tenant_database};
use sanxiang_operator::tenant_schema::{self, MIGRATOR, TenantRoles};
use sanxiang_operator::tenant_template;
use sanxiang_testkit::{Platform, TestScope};
use sqlx::{Connection, Executor, PgConnection, PgPool};

/// The SQLSTATE of a refused statement (or the statement's success, as an error).
async fn refused(conn: &mut PgConnection, sql: &str) -> String {
    match conn.execute(sql).await {
        Ok(_) => panic!("accepted, but must be refused: {sql}"),
        Err(e) => {
            let db = e
                .as_database_error()
                .unwrap_or_else(|| panic!("{sql}: not a database error: {e}"));
            assert_eq!(
                db.code().as_deref(),
                Some("42501"),
                "{sql}: expected insufficient_privilege, got {e}"
            );
            db.message().to_string()
        }
    }
}

async fn operator_pool(platform: &Platform) -> anyhow::Result<PgPool> {
    Ok(PgPool::connect(&platform.operator_postgres_url("postgres")).await?)
}

/// One action with one record entry and an access-log row, written as the service does.
async fn write_as_service(app: &mut PgConnection) -> anyhow::Result<String> {
    let action: String = sqlx::query_scalar(
        "INSERT INTO actions (id, title, category, procedure, kind, requires_full_av, target, \
         started_on, created_by) VALUES (gen_random_uuid(), '查封过期食品', 'penalty', \
         'general', 'seizure_detention', TRUE, '某超市', '2026-11-03', 'officer-1') \
         RETURNING id::text",
    )
    .fetch_one(&mut *app)
    .await?;
    for seq in 1..=2 {
        sqlx::query(
            "INSERT INTO record_entries (action_id, seq, kind, title, content, recorded_by, \
             recorded_at, prev_hash, hash) VALUES ($1::uuid, $2, 'text', '记录', '过期食品20箱', \
             'officer-1', now(), 'p', 'h')",
        )
        .bind(&action)
        .bind(seq)
        .execute(&mut *app)
        .await?;
    }
    sqlx::query(
        "INSERT INTO record_access_log (action_id, accessed_by, role, purpose) \
         VALUES ($1::uuid, 'officer-1', 'officer', 'verify')",
    )
    .bind(&action)
    .execute(&mut *app)
    .await?;
    Ok(action)
}

#[tokio::test]
async fn the_service_role_can_do_what_the_service_needs_and_nothing_else() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let a = TestScope::new(platform, "privs-a").await?;
    let b = TestScope::new(platform, "privs-b").await?;
    a.create_database().await?;
    b.create_database().await?;
    let operator = operator_pool(platform).await?;

    // ---- the operator's role: CREATEDB CREATEROLE, no superuser, no standing membership
    let (superuser, createdb, createrole): (bool, bool, bool) = sqlx::query_as(
        "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&operator)
    .await?;
    assert_eq!((superuser, createdb, createrole), (false, true, true));
    let (owner_login, owner_members): (bool, i64) = sqlx::query_as(
        "SELECT r.rolcanlogin, (SELECT count(*) FROM pg_auth_members m WHERE m.roleid = r.oid) \
         FROM pg_roles r WHERE r.rolname = $1",
    )
    .bind(a.owner_role())
    .fetch_one(&operator)
    .await?;
    assert!(!owner_login, "the owner role never logs in");
    assert_eq!(
        owner_members, 0,
        "nobody (the operator included) stays a member of the owner role"
    );
    // It cannot read an agency's tables: it cannot even connect to the database.
    let as_operator = platform.operator_postgres_url(&a.database);
    let err = PgConnection::connect(&as_operator).await.unwrap_err();
    assert!(
        err.to_string().contains("permission denied for database"),
        "{err}"
    );

    // ---- the application role: what the service does works -----------------------------
    let mut app = PgConnection::connect(&a.database_url()).await?;
    let action = write_as_service(&mut app).await?;
    sqlx::query("UPDATE actions SET title = '查封过期食品（更正）' WHERE id = $1::uuid")
        .bind(&action)
        .execute(&mut app)
        .await?;
    sqlx::query("SELECT no_av FROM actions WHERE id = $1::uuid FOR UPDATE")
        .bind(&action)
        .fetch_one(&mut app)
        .await?;
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO outbox (id, event, payload) \
         VALUES (gen_random_uuid(), 'disclosure', '{}') RETURNING seq",
    )
    .fetch_one(&mut app)
    .await?;
    sqlx::query("SELECT seq FROM outbox WHERE relayed_at IS NULL ORDER BY seq FOR UPDATE")
        .fetch_all(&mut app)
        .await?;
    sqlx::query(
        "UPDATE outbox SET relayed_at = clock_timestamp() - interval '8 days' WHERE seq = $1",
    )
    .bind(seq)
    .execute(&mut app)
    .await?;
    sqlx::query("DELETE FROM outbox WHERE relayed_at < now() - interval '7 days'")
        .execute(&mut app)
        .await?;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut app)
        .await?;
    assert_eq!(applied as usize, MIGRATOR.iter().count());

    // ---- and everything else is refused --------------------------------------------------
    for sql in [
        "ALTER TABLE record_entries ADD COLUMN note TEXT",
        "ALTER TABLE decisions DROP CONSTRAINT decisions_status_check",
        "DROP TABLE record_entries",
        "DROP TABLE outbox",
        "ALTER TABLE record_entries DISABLE TRIGGER record_entries_append_only",
        "ALTER TABLE record_entries DISABLE TRIGGER ALL",
        "DROP TRIGGER record_entries_append_only ON record_entries",
        "CREATE OR REPLACE FUNCTION sx_reject_change() RETURNS trigger LANGUAGE plpgsql \
         AS $$ BEGIN RETURN NEW; END $$",
        "DROP FUNCTION sx_reject_change() CASCADE",
        "TRUNCATE record_entries",
        "TRUNCATE outbox",
        "TRUNCATE decisions CASCADE",
        "UPDATE record_entries SET content = '过期食品2箱'",
        "DELETE FROM record_entries",
        "UPDATE record_access_log SET purpose = 'x'",
        "DELETE FROM record_access_log",
        "DELETE FROM review_steps",
        "DELETE FROM decision_versions",
        "UPDATE annual_reports SET source = 'x'",
        "DELETE FROM decisions",
        "DELETE FROM actions",
        "UPDATE outbox SET payload = '{}'",
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999, 'x', TRUE, '\\x00', 0)",
        "DELETE FROM _sqlx_migrations",
        "CREATE TABLE shadow (id int)",
        "CREATE TEMP TABLE shadow (id int)",
        "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE TRIGGER t BEFORE INSERT ON record_entries FOR EACH ROW EXECUTE FUNCTION \
         sx_reject_change()",
        "CREATE SCHEMA shadow",
        "COMMENT ON DATABASE current_database IS 'x'",
    ] {
        // Each statement alone (a refusal aborts nothing else: no transaction is open).
        let sql = sql.replace(
            "current_database",
            &a.database, // COMMENT ON DATABASE needs the name
        );
        refused(&mut app, &sql).await;
    }
    // The ALTER ... OWNER / GRANT escape hatches are closed too.
    let message = refused(
        &mut app,
        &format!("ALTER TABLE record_entries OWNER TO {}", a.database),
    )
    .await;
    assert!(message.contains("must be owner"), "{message}");
    // Granting itself more is a no-op (PostgreSQL warns "no privileges were granted"):
    let _ = app
        .execute(format!("GRANT UPDATE, DELETE ON record_entries TO {}", a.database).as_str())
        .await;
    let granted: Vec<String> = sqlx::query_scalar(
        "SELECT privilege_type::text FROM information_schema.role_table_grants \
         WHERE grantee = current_user AND table_name = 'record_entries' ORDER BY 1",
    )
    .fetch_all(&mut app)
    .await?;
    assert_eq!(granted, ["INSERT", "SELECT"]);
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM record_entries")
        .fetch_one(&mut app)
        .await?;
    assert_eq!(kept, 2, "every refused statement left the records alone");

    // ---- issue 11's tampering, with the Secret's credentials: refused at the first step
    let mut tamper = PgConnection::connect(&a.database_url()).await?;
    let message = refused(
        &mut tamper,
        "ALTER TABLE record_entries DISABLE TRIGGER record_entries_append_only",
    )
    .await;
    assert!(
        message.contains("must be owner of table record_entries"),
        "{message}"
    );
    // (and the next steps are refused on their own: the edit, the recomputed chain)
    refused(
        &mut tamper,
        "UPDATE record_entries SET content = '过期食品2箱', hash = 'recomputed' WHERE seq = 2",
    )
    .await;
    refused(&mut tamper, "DELETE FROM record_entries WHERE seq = 2").await;
    tamper.close().await?;

    // ---- another agency's database is closed to it ---------------------------------------
    let foreign = format!(
        "{}/{}",
        a.database_url()
            .rsplit_once('/')
            .expect("URL with a database")
            .0,
        b.database
    );
    let err = PgConnection::connect(&foreign).await.unwrap_err();
    assert!(
        err.to_string().contains("permission denied for database"),
        "{err}"
    );
    app.close().await?;

    // ---- deletion paths, as the operator's role: Retain locks, Delete drops both roles ---
    let b_owner = b.owner_role();
    let b_roles = TenantRoles {
        database: &b.database,
        owner: &b_owner,
        app: &b.database,
    };
    let mut b_app = PgConnection::connect(&b.database_url()).await?;
    write_as_service(&mut b_app).await?;
    let ended = records::lock_out(&operator, &b.database, &b.database).await?;
    assert!(ended >= 1, "the open session was ended");
    assert!(b_app.execute("SELECT 1").await.is_err());
    assert!(PgConnection::connect(&b.database_url()).await.is_err());
    let held = records::held_records(&operator, b_roles).await?;
    assert_eq!(
        records::describe(&held),
        "actions: 1, record_access_log: 1, record_entries: 2"
    );
    drop_tenant_database(&operator, b_roles).await?;
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM pg_database WHERE datname = $1) \
              + (SELECT count(*) FROM pg_roles WHERE rolname IN ($1, $2))",
    )
    .bind(&b.database)
    .bind(&b_owner)
    .fetch_one(&operator)
    .await?;
    assert_eq!(left, 0, "database and both roles dropped");

    operator.close().await;
    a.cleanup().await?;
    b.cleanup().await?;
    Ok(())
}

#[tokio::test]
async fn a_database_provisioned_before_the_split_is_converted_in_place() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let scope = TestScope::new(platform, "privs-legacy").await?;
    let db = scope.database.clone();
    let owner = scope.owner_role();
    // The old layout, made the way the earlier (superuser) operator made it: one login
    // role owning the database, migrated by the tenant service with that role.
    let mut su = PgConnection::connect(&platform.postgres_url("postgres")).await?;
    let password = "legacy-pw-1";
    for sql in [
        format!("CREATE ROLE {db} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}'"),
        format!("CREATE DATABASE {db} OWNER {db} ENCODING 'UTF8' TEMPLATE template0"),
        format!("REVOKE ALL ON DATABASE {db} FROM PUBLIC"),
        format!("GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {db}"),
    ] {
        su.execute(sql.as_str()).await?;
    }
    let url = format!(
        "postgres://{db}:{password}@127.0.0.1:{}/{db}",
        platform.ports.postgres
    );
    let legacy = PgPool::connect(&url).await?;
    MIGRATOR.run(&legacy).await?;
    let action = {
        let mut c = legacy.acquire().await?;
        write_as_service(&mut c).await?
    };
    // What issue 11 found: the owner-login can switch the append-only rule off.
    legacy
        .execute("ALTER TABLE record_entries DISABLE TRIGGER record_entries_append_only")
        .await?;
    legacy
        .execute("ALTER TABLE record_entries ENABLE TRIGGER record_entries_append_only")
        .await?;

    // The operator's reconcile converts it; the service's pool stays open meanwhile.
    let operator = operator_pool(platform).await?;
    let roles = TenantRoles {
        database: &db,
        owner: &owner,
        app: &db,
    };
    let first = ensure_tenant_database(&operator, roles, "unused", false).await?;
    assert!(!first.created_role && !first.created_database && !first.password_set);
    let mut db_su = PgConnection::connect(&platform.postgres_url(&db)).await?;
    let owners: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT pg_get_userbyid(relowner)::text FROM pg_class \
         WHERE relnamespace = 'public'::regnamespace \
         UNION SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1",
    )
    .bind(&db)
    .fetch_all(&mut db_su)
    .await?;
    assert_eq!(
        owners,
        vec![owner.clone()],
        "database and every object moved"
    );
    let marker: Option<String> = sqlx::query_scalar(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
    )
    .bind(&db)
    .fetch_one(&mut db_su)
    .await?;
    assert_eq!(marker, Some(tenant_schema::marker()));

    // The same credentials (the Secret is unchanged) still serve, with DML only.
    let mut app = legacy.acquire().await?;
    let entries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM record_entries WHERE action_id = $1::uuid")
            .bind(&action)
            .fetch_one(&mut *app)
            .await?;
    assert_eq!(entries, 2, "records intact");
    write_as_service(&mut app).await?;
    refused(
        &mut app,
        "ALTER TABLE record_entries DISABLE TRIGGER record_entries_append_only",
    )
    .await;
    refused(&mut app, "UPDATE record_entries SET content = 'x'").await;
    refused(&mut app, "CREATE TEMP TABLE shadow (id int)").await;
    drop(app);

    // Idempotent: a second reconcile finds the marker and needs no owner session.
    assert!(
        !tenant_schema::catalog(&operator, &db)
            .await?
            .needs_owner_session(&roles)
    );
    let again = ensure_tenant_database(&operator, roles, "unused", false).await?;
    assert!(!again.created_database);
    // A forced resync (the marker of an older release) converges to the same grants.
    db_su
        .execute(format!("COMMENT ON DATABASE {db} IS 'older'").as_str())
        .await?;
    ensure_tenant_database(&operator, roles, "unused", false).await?;
    let grants: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, string_agg(privilege_type, ',' ORDER BY privilege_type) \
         FROM information_schema.role_table_grants WHERE grantee = $1 \
         AND table_name IN ('record_entries', 'outbox', 'decisions', '_sqlx_migrations') \
         GROUP BY 1 ORDER BY 1",
    )
    .bind(&db)
    .fetch_all(&mut db_su)
    .await?;
    assert_eq!(
        grants,
        [
            ("_sqlx_migrations".into(), "SELECT".into()),
            ("decisions".into(), "INSERT,SELECT,UPDATE".into()),
            ("outbox".into(), "DELETE,INSERT,SELECT".into()),
            ("record_entries".into(), "INSERT,SELECT".into()),
        ]
    );
    db_su.close().await?;
    legacy.close().await;
    operator.close().await;
    su.close().await?;
    scope.cleanup().await?;
    Ok(())
}

#[tokio::test]
async fn concurrent_reconciles_migrate_a_fresh_database_once() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let scope = TestScope::new(platform, "privs-race").await?;
    let owner = scope.owner_role();
    let roles = TenantRoles {
        database: &scope.database,
        owner: &owner,
        app: &scope.database,
    };
    let operator = operator_pool(platform).await?;
    // Six reconciles (two operator replicas during a handover, retries) at once.
    let results = futures::future::join_all(
        (0..6).map(|_| ensure_tenant_database(&operator, roles, "pw-race-1", false)),
    )
    .await;
    let mut created = 0;
    for r in results {
        created += usize::from(r?.created_database);
    }
    assert_eq!(created, 1, "one reconcile created the database");
    let mut su = PgConnection::connect(&platform.postgres_url(&scope.database)).await?;
    let (applied, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT version) FROM _sqlx_migrations")
            .fetch_one(&mut su)
            .await?;
    assert_eq!(
        (applied, distinct),
        (MIGRATOR.iter().count() as i64, applied)
    );
    let members: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
         WHERE r.rolname = $1",
    )
    .bind(&owner)
    .fetch_one(&mut su)
    .await?;
    assert_eq!(members, 0, "every session revoked its membership");
    su.close().await?;
    operator.close().await;
    scope.cleanup().await?;
    Ok(())
}

#[tokio::test]
async fn fresh_databases_are_copies_of_a_closed_template_and_owe_it_nothing() -> anyhow::Result<()>
{
    let platform = Platform::shared()?;
    let scope = TestScope::new(platform, "privs-tmpl").await?;
    scope.create_database().await?;
    let owner = scope.owner_role();
    let template = tenant_template::template_name();
    let mut su = PgConnection::connect(&platform.postgres_url("postgres")).await?;

    // The template: complete, owned by the operator's role (never by the role owning its
    // objects, which REASSIGN OWNED would move), closed to connections and to PUBLIC.
    let (db_owner, allow_conn, is_template, acl, marker): (
        String,
        bool,
        bool,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT pg_get_userbyid(datdba)::text, datallowconn, datistemplate, datacl::text, \
         shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
    )
    .bind(&template)
    .fetch_one(&mut su)
    .await?;
    assert_eq!(db_owner, sanxiang_testkit::platform::OPERATOR_POSTGRES_ROLE);
    assert!(!allow_conn, "the template accepts no connections");
    assert!(!is_template, "only its owner may copy it");
    // NULL would mean the default ACL, which lets PUBLIC connect.
    let acl = acl.expect("an explicit ACL on the template");
    assert!(!acl.contains("{=") && !acl.contains(",="), "PUBLIC: {acl}");
    assert_eq!(
        marker.as_deref(),
        Some(tenant_template::complete_marker().as_str())
    );
    // Nobody connects to it, the agency's role (which has credentials) included.
    let app_url = scope.database_url();
    let as_app = format!("{}/{template}", app_url.rsplit_once('/').unwrap().0);
    let err = PgConnection::connect(&as_app).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("not currently accepting connections")
            || err.to_string().contains("permission denied"),
        "{err}"
    );
    let err = PgConnection::connect(&platform.operator_postgres_url(&template))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not currently accepting connections"),
        "{err}"
    );

    // The copy: every object belongs to the agency's owner, none to the template owner;
    // the migrations' bookkeeping reads as applied, with the embedded checksums.
    let mut tenant = PgConnection::connect(&platform.postgres_url(&scope.database)).await?;
    let foreign: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace \
                 AND pg_get_userbyid(relowner) <> $1) \
              + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace \
                 AND pg_get_userbyid(proowner) <> $1) \
              + (SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace \
                 AND pg_get_userbyid(typowner) <> $1)",
    )
    .bind(&owner)
    .fetch_one(&mut tenant)
    .await?;
    assert_eq!(foreign, 0, "objects not owned by {owner}");
    let template_owned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid \
         WHERE r.rolname = $1 AND d.dbid = (SELECT oid FROM pg_database \
                                            WHERE datname = current_database())",
    )
    .bind(tenant_template::TEMPLATE_OWNER)
    .fetch_one(&mut tenant)
    .await?;
    assert_eq!(
        template_owned, 0,
        "the template owner keeps nothing in a copy"
    );
    for m in MIGRATOR.iter() {
        let checksum: Vec<u8> =
            sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_one(&mut tenant)
                .await?;
        assert_eq!(checksum, m.checksum.as_ref(), "migration {}", m.version);
    }
    tenant.close().await?;

    // Dropping the agency leaves the template for the next one.
    scope.cleanup().await?;
    let still: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&template)
            .fetch_one(&mut su)
            .await?;
    assert!(still);
    su.close().await?;
    Ok(())
}

#[tokio::test]
async fn copies_after_the_first_revoke_the_learnt_append_only_tables() -> anyhow::Result<()> {
    // The first copy this process makes (this test's or an earlier test's) finds the
    // append-only tables with a `DO` block and teaches them to the operator; the copies
    // after it name them (at least `second` here). Every copy must end with the same
    // grants: no UPDATE on any table a trigger keeps append-only, and the learnt list is
    // exactly the copy's own.
    let platform = Platform::shared()?;
    let first = TestScope::new(platform, "privs-ao1").await?;
    first.create_database().await?;
    let learnt = tenant_template::append_only_tables()
        .expect("learnt from the first copy")
        .to_vec();
    assert!(learnt.iter().any(|t| t == "record_entries"), "{learnt:?}");
    let second = TestScope::new(platform, "privs-ao2").await?;
    second.create_database().await?;
    for scope in [&first, &second] {
        let mut su = PgConnection::connect(&platform.postgres_url(&scope.database)).await?;
        let append_only: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT c.relname::text FROM pg_trigger t \
             JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_proc p ON p.oid = t.tgfoid \
             WHERE c.relnamespace = 'public'::regnamespace AND p.proname = 'sx_reject_change' \
               AND NOT t.tgisinternal AND (t.tgtype & 16) <> 0 ORDER BY 1",
        )
        .fetch_all(&mut su)
        .await?;
        assert_eq!(append_only, learnt, "{}", scope.database);
        let updatable: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.role_table_grants \
             WHERE grantee = $1 AND privilege_type = 'UPDATE' AND table_name = ANY($2) \
             ORDER BY 1",
        )
        .bind(&scope.database)
        .bind(&append_only)
        .fetch_all(&mut su)
        .await?;
        assert!(
            updatable.is_empty(),
            "{}: UPDATE on {updatable:?}",
            scope.database
        );
        su.close().await?;
        let mut app = PgConnection::connect(&scope.database_url()).await?;
        refused(&mut app, "UPDATE record_entries SET content = 'x'").await;
        app.close().await?;
    }
    first.cleanup().await?;
    second.cleanup().await?;
    Ok(())
}

#[tokio::test]
async fn a_new_copy_admits_nobody_before_its_acl_and_only_its_role_after() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let other = TestScope::new(platform, "privs-window-other").await?;
    other.create_database().await?;
    let scope = TestScope::new(platform, "privs-window").await?;
    let owner = scope.owner_role();
    let roles = TenantRoles {
        database: &scope.database,
        owner: &owner,
        app: &scope.database,
    };
    let operator = operator_pool(platform).await?;
    let template =
        tenant_template::ensure_template(&operator, &mut *operator.acquire().await?).await?;
    // The onboarding's steps one by one, as the operator's role: roles and membership,
    // then the copy, which exists closed.
    let session = tenant_schema::OwnerSession::begin_creating(
        &operator,
        operator.acquire().await?,
        roles,
        false,
        &[
            format!(
                "CREATE ROLE {} LOGIN PASSWORD 'window-pw-1'",
                scope.database
            ),
            format!("CREATE ROLE {owner} NOLOGIN"),
        ],
    )
    .await?;
    let mut session = session;
    session
        .admin()
        .execute(tenant_schema::create_copy_statement(&roles, &template).as_str())
        .await?;
    // Between CREATE DATABASE and its ACL the database has PostgreSQL's default ACL
    // (PUBLIC may connect): nobody gets in, not another agency, not a superuser.
    let other_to_new = format!(
        "{}/{}",
        other.database_url().rsplit_once('/').unwrap().0,
        scope.database
    );
    for url in [other_to_new.clone(), platform.postgres_url(&scope.database)] {
        let err = PgConnection::connect(&url).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("not currently accepting connections"),
            "{err}"
        );
    }
    session
        .admin()
        .execute(tenant_schema::open_database_statement(&roles).as_str())
        .await?;
    session.end().await;
    // Open: the other agency is refused by the ACL, the agency's own role connects.
    let err = PgConnection::connect(&other_to_new).await.unwrap_err();
    assert!(
        err.to_string().contains("permission denied for database"),
        "{err}"
    );
    let own = format!(
        "postgres://{db}:window-pw-1@127.0.0.1:{}/{db}",
        platform.ports.postgres,
        db = scope.database
    );
    PgConnection::connect(&own).await?.close().await?;
    // The next reconcile completes the copy (no marker yet: reassigned and granted).
    let done = ensure_tenant_database(&operator, roles, "window-pw-1", false).await?;
    assert!(!done.created_database && !done.created_role);
    assert_eq!(
        tenant_schema::catalog(&operator, &scope.database)
            .await?
            .marker,
        Some(tenant_schema::marker())
    );
    drop_tenant_database(&operator, roles).await?;
    operator.close().await;
    other.cleanup().await?;
    scope.cleanup().await?;
    Ok(())
}
