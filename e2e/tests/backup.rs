//! Backup and restore of one agency's database, as `docs/backup.md` describes it: the real
//! tenant service writes an enforcement record on the platform's PostgreSQL; `pg_dumpall
//! --roles-only` (the agency's roles only) and `pg_dump -Fc` save it; a second, fresh
//! PostgreSQL server is initialised from Debian's binaries in a temporary directory and
//! `pg_restore` loads it; the tenant service then serves the agency from the restored server:
//! the record's hash chain verifies with the same entry hashes, the append-only rule still
//! refuses an UPDATE by the agency's role, and new entries extend the chain.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use sanxiang_testkit::operator::workspace_root;
use sanxiang_testkit::platform::process::{self, free_port, wait_until};
use sanxiang_testkit::{Platform, TestScope, tenant_api};
use serde_json::{Value, json};
use sqlx::Connection;

const JWT_SECRET: &[u8] = b"backup-test-secret-0123456789abcdef";
const CITY: &str = "210100";

fn tenant_service_binary() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("target"))
        .join("debug/sanxiang-tenant-service")
}

fn token(agency: &str, role: &str) -> Result<String> {
    sanxiang_testkit::token::hs256(
        JWT_SECRET,
        &json!({"sub": format!("backup-{role}"), "role": role, "agency": agency,
                "province": "210000"}),
    )
}

/// The tenant service binary serving one agency from `database_url`; stopped when dropped.
struct TenantService {
    child: Child,
    api: u16,
    base: String,
    agency: String,
    http: reqwest::Client,
}

impl TenantService {
    async fn start(dir: &Path, label: &str, agency: &str, database_url: &str) -> Result<Self> {
        let tenants = dir.join(format!("tenants-{label}.yaml"));
        fs::write(
            &tenants,
            serde_yaml::to_string(&json!({"tenants": [{
                "agency": agency, "province": "210000", "city": CITY, "county": "-",
                "databaseUrl": database_url, "subjectPrefix": format!("sx.210000.{CITY}.-.{agency}"),
            }]}))?,
        )?;
        let secret = dir.join("jwt");
        fs::write(&secret, JWT_SECRET)?;
        let (api, admin) = (free_port()?, free_port()?);
        let log = dir.join(format!("tenant-service-{label}.log"));
        let out = fs::File::create(&log)?;
        let binary = tenant_service_binary();
        let child = Command::new(&binary)
            .arg(format!("--listen=127.0.0.1:{api}"))
            .arg(format!("--admin-listen=127.0.0.1:{admin}"))
            .arg(format!("--tenants-file={}", tenants.display()))
            .arg(format!(
                "--calendar-dir={}",
                workspace_root().join("e2e/fixtures/calendars").display()
            ))
            .arg(format!("--jwt-hs256-secret-file={}", secret.display()))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let service = Self {
            child,
            api,
            base: format!("http://127.0.0.1:{api}/api/v1/agencies/{agency}"),
            agency: agency.to_string(),
            http: reqwest::Client::new(),
        };
        let pid = service.child.id();
        wait_until(
            "sanxiang-tenant-service",
            &log,
            Duration::from_secs(60),
            Some(pid),
            || {
                Ok(process::http_get(admin, "/ready")
                    .map(|(s, _)| s == 200)
                    .unwrap_or(false))
            },
        )?;
        Ok(service)
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        role: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method.parse()?, &url)
            .bearer_auth(token(&self.agency, role)?);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    async fn created(&self, path: &str, role: &str, body: Value) -> Result<Value> {
        let (s, v) = self.call("POST", path, role, Some(body)).await?;
        ensure!(s == 201, "POST {path}: {s} {v}");
        Ok(v)
    }
}

impl Drop for TenantService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh PostgreSQL server from Debian's binaries in its own directory and port; stopped
/// (fast shutdown) when dropped.
struct ScratchPostgres {
    port: u16,
    password: String,
    child: Option<Child>,
}

impl ScratchPostgres {
    fn start(bin: &Path, dir: &Path, password: &str) -> Result<Self> {
        use std::os::unix::process::CommandExt;
        let root = dir.join("restore-server");
        fs::create_dir_all(&root)?;
        // PostgreSQL refuses to run as root: run it as the `postgres` user then.
        let user = sanxiang_testkit::platform::postgres_user()?;
        if let Some((uid, gid)) = user {
            process::run(Command::new("chmod").arg("a+x").arg(dir), "chmod")?;
            process::run(
                Command::new("chown")
                    .arg("-R")
                    .arg(format!("{uid}:{gid}"))
                    .arg(&root),
                "chown",
            )?;
        }
        let data = root.join("data");
        sanxiang_testkit::platform::initdb(bin, &root, &data, password, user)
            .context("initdb of the restore server")?;
        let port = free_port()?;
        let log = root.join("postgres.log");
        let out = fs::File::create(&log)?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&log, Some(uid), Some(gid))?;
        }
        let mut postgres = Command::new(bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", root.display()))
            .args(["-c", "fsync=off"])
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        if let Some((uid, gid)) = user {
            postgres.uid(uid).gid(gid);
        }
        let child = postgres.spawn().context("starting the restore server")?;
        let server = Self {
            port,
            password: password.to_string(),
            child: Some(child),
        };
        let pid = server.child.as_ref().map(Child::id);
        wait_until(
            "restore PostgreSQL",
            &log,
            Duration::from_secs(60),
            pid,
            || {
                Ok(Command::new(bin.join("pg_isready"))
                    .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q"])
                    .status()?
                    .success())
            },
        )?;
        Ok(server)
    }

    fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{db}",
            self.password, self.port
        )
    }
}

impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGINT: fast shutdown.
            process::signal(child.id(), "INT");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs a PostgreSQL client program (`pg_dump`, `psql`, …) with the superuser's password.
fn pg(bin: &Path, program: &str, password: &str, args: &[&str]) -> Result<String> {
    process::run(
        Command::new(bin.join(program))
            .env("PGPASSWORD", password)
            .args(args),
        program,
    )
}

/// The roles the agency's database needs: its owner and every role granted anything in it
/// (the same query as docs/backup.md).
async fn database_roles(superuser_url: &str) -> Result<Vec<String>> {
    let mut conn = sqlx::PgConnection::connect(superuser_url).await?;
    let roles: Vec<(String,)> = sqlx::query_as(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()
         UNION SELECT DISTINCT grantee::text FROM information_schema.role_table_grants
               WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND grantee <> 'PUBLIC'
         UNION SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class
               WHERE relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
                 AND relnamespace::regnamespace::text NOT LIKE 'pg_toast%'",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut roles: Vec<String> = roles
        .into_iter()
        .map(|(r,)| r)
        .filter(|r| r != "postgres")
        .collect();
    roles.sort();
    Ok(roles)
}

/// The `CREATE ROLE` / `ALTER ROLE` statements of `roles` from `pg_dumpall --roles-only`
/// (with their SCRAM password hashes, so the agency's Secret keeps working), and the
/// memberships among them.
fn role_statements(dump: &str, roles: &[String]) -> String {
    let known = |r: &str| roles.iter().any(|x| x == r.trim_matches('"'));
    dump.lines()
        .filter(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            match words.as_slice() {
                ["CREATE", "ROLE", r, ..] => known(r.trim_end_matches(';')),
                ["ALTER", "ROLE", r, "WITH", ..] => known(r),
                ["GRANT", granted, "TO", member, ..] => {
                    known(granted) && known(member.trim_end_matches(';'))
                }
                _ => false,
            }
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[tokio::test]
async fn an_agency_restored_on_a_fresh_server_serves_its_verified_records() -> Result<()> {
    let platform = Platform::shared()?;
    ensure!(
        tenant_service_binary().exists(),
        "{} is missing: cargo build --bins first",
        tenant_service_binary().display()
    );
    let scope = TestScope::new(platform, "backup").await?;
    let source_url = scope.create_database().await?;
    let agency = format!("ag-{}", scope.id);
    let dir = tempfile::tempdir()?;
    let bin = &platform.tools.postgres_bin;

    // 1. The agency works: two officers, an action and its record of three entries.
    let service = TenantService::start(dir.path(), "source", &agency, &source_url).await?;
    // Its matter list, approved by the city's justice bureau: actions name a matter of it.
    let (port, name) = (service.api, agency.clone());
    tokio::task::spawn_blocking(move || {
        let place = tenant_api::Place {
            province: "210000",
            city: CITY,
            county: "-",
        };
        tenant_api::publish_matters(port, JWT_SECRET, &name, place, None, None)
    })
    .await??;
    let mut officers = Vec::new();
    for (name, cert) in [("赵一", "SY-2001"), ("周二", "SY-2002")] {
        let v = service
            .created(
                "/personnel",
                "agency_admin",
                json!({"name": name, "unit": "执法一队", "role": "officer", "certificateNumber": cert,
                       "categories": ["penalty", "coercion", "licensing", "inspection"], "region": "沈阳市",
                       "validFrom": "2020-01-01", "validUntil": "2030-12-31", "legalQualification": false}),
            )
            .await?;
        officers.push(v["id"].as_str().context("person id")?.to_string());
    }
    let action = service
        .created(
            "/actions",
            "officer",
            json!({"title": "查封过期食品", "category": "coercion", "procedure": "general",
                   "matter": tenant_api::sample_matter("coercion"),
                   "kind": "seizure_detention", "target": "沈阳某某超市", "startedOn": "2026-03-02",
                   "officerIds": officers}),
        )
        .await?;
    let id = action["id"].as_str().context("action id")?.to_string();
    let record = format!("/actions/{id}/record");
    for (kind, title, extra) in [
        ("event", "到达现场", json!({})),
        (
            "text",
            "查封决定书",
            json!({"content": "决定查封过期食品20箱"}),
        ),
        (
            "av",
            "执法记录仪视频",
            json!({"mediaSha256": "AB".repeat(32)}),
        ),
    ] {
        let mut body = json!({"kind": kind, "title": title});
        body.as_object_mut()
            .context("object")?
            .extend(extra.as_object().context("object")?.clone());
        service.created(&record, "officer", body).await?;
    }
    let (_, verified) = service
        .call("GET", &format!("{record}/verify"), "officer", None)
        .await?;
    ensure!(
        verified["intact"] == true && verified["entries"] == 3,
        "{verified}"
    );
    let (_, before) = service.call("GET", &record, "officer", None).await?;
    drop(service);

    // 2. Backup: the agency's roles, then its database (custom format).
    let source_superuser = platform.postgres_url(&scope.database);
    let roles = database_roles(&source_superuser).await?;
    ensure!(
        roles == [scope.database.clone(), scope.owner_role()],
        "roles of the database (the application's and the owner): {roles:?}"
    );
    let port = platform.ports.postgres.to_string();
    let conn = ["-h", "127.0.0.1", "-p", &port, "-U", "postgres"];
    let all_roles = pg(
        bin,
        "pg_dumpall",
        &platform.postgres_password,
        &[&conn[..], &["--roles-only"]].concat(),
    )?;
    let roles_sql = dir.path().join("roles.sql");
    fs::write(&roles_sql, role_statements(&all_roles, &roles))?;
    let dump = dir.path().join(format!("{}.dump", scope.database));
    let dump_arg = format!("--file={}", dump.display());
    pg(
        bin,
        "pg_dump",
        &platform.postgres_password,
        &[&conn[..], &["--format=custom", &dump_arg, &scope.database]].concat(),
    )?;
    ensure!(fs::metadata(&dump)?.len() > 0, "empty dump");

    // 3. Restore into a fresh server.
    let restore = ScratchPostgres::start(bin, dir.path(), "restore-superuser-secret")?;
    let rport = restore.port.to_string();
    let rconn = ["-h", "127.0.0.1", "-p", &rport, "-U", "postgres"];
    let roles_arg = format!("--file={}", roles_sql.display());
    pg(
        bin,
        "psql",
        &restore.password,
        &[
            &rconn[..],
            &["-v", "ON_ERROR_STOP=1", "-q", &roles_arg, "postgres"],
        ]
        .concat(),
    )?;
    pg(
        bin,
        "pg_restore",
        &restore.password,
        &[
            &rconn[..],
            &["--create", "--exit-on-error", "--dbname=postgres"],
            &[dump.to_str().context("path")?],
        ]
        .concat(),
    )?;

    // 4. The tenant service serves the agency from the restored server, with the same role
    // and password (only the host and port of its URL change).
    let restored_url = source_url.replace(
        &format!(":{}/", platform.ports.postgres),
        &format!(":{}/", restore.port),
    );
    ensure!(restored_url != source_url, "URL unchanged: {source_url}");
    let service = TenantService::start(dir.path(), "restored", &agency, &restored_url).await?;
    let (s, verified) = service
        .call("GET", &format!("{record}/verify"), "officer", None)
        .await?;
    ensure!(
        s == 200 && verified["intact"] == true && verified["entries"] == 3,
        "{s} {verified}"
    );
    let (_, after) = service.call("GET", &record, "officer", None).await?;
    let hashes = |v: &Value| -> Vec<Value> {
        v["entries"]
            .as_array()
            .map(|e| e.iter().map(|x| x["hash"].clone()).collect())
            .unwrap_or_default()
    };
    ensure!(
        hashes(&before).len() == 3 && hashes(&before) == hashes(&after),
        "entry hashes differ after restore:\n{before}\n{after}"
    );
    let (_, listed) = service.call("GET", "/actions", "officer", None).await?;
    ensure!(
        listed.to_string().contains(&id),
        "restored actions: {listed}"
    );

    // The record protections came back with the data: the agency's role still cannot
    // rewrite an entry.
    let mut own = sqlx::PgConnection::connect(&restored_url).await?;
    let refused = sqlx::query("UPDATE record_entries SET content = 'x'")
        .execute(&mut own)
        .await;
    ensure!(refused.is_err(), "the restored record accepted an UPDATE");
    // Nor switch the append-only rule off: the owner role, restored with its grants, owns
    // the tables and never logs in.
    let refused =
        sqlx::query("ALTER TABLE record_entries DISABLE TRIGGER record_entries_append_only")
            .execute(&mut own)
            .await;
    ensure!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("must be owner")),
        "the restored record's trigger: {refused:?}"
    );
    drop(own);

    // And the agency keeps working: a new entry extends the restored chain.
    service
        .created(
            &record,
            "officer",
            json!({"kind": "text", "title": "查封清单", "content": "过期食品20箱，已封存"}),
        )
        .await?;
    let (_, verified) = service
        .call("GET", &format!("{record}/verify"), "officer", None)
        .await?;
    ensure!(
        verified["intact"] == true && verified["entries"] == 4,
        "{verified}"
    );
    drop(service);

    let mut check = sqlx::PgConnection::connect(&restore.url(&scope.database)).await?;
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM record_entries")
        .fetch_one(&mut check)
        .await?;
    ensure!(n == 4, "{n} record entries on the restored server");
    drop(check);
    drop(restore);
    if let Err(e) = scope.cleanup().await {
        bail!("cleanup: {e:#}");
    }
    Ok(())
}
