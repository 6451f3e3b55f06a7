//! `sanxiang-local`: start, inspect and stop the local Sanxiang platform.
//!
//! The developer's face of [`sanxiang_testkit::platform`] (the same platform the tests
//! use, under another profile): `up` (with `--apps` the applications and the sample
//! province, [`up`], and the demo data, [`demo`]), `down`, `purge`, `status`, `env`,
//! `token` ([`token`]), `kubeconfig`, `tenant-db`, and the detached `rules-sync` loop.

mod demo;
mod rules_sync;
mod summary;
mod token;
mod up;

use std::process::ExitCode;

use sanxiang_testkit::platform::{DEV_PROFILE, Platform};

const USAGE: &str = "usage: sanxiang-local <up|down|purge|status|env|token|kubeconfig|tenant-db> [--profile NAME] [--apps]

  up       start (or reuse) etcd, kube-apiserver, kube-controller-manager, PostgreSQL, NATS;
           with --apps also the operator, the tenant service, the disclosure platform, the
           supervision workspace, Prometheus, Alertmanager and the sample province (the
           binaries come from `cargo build --bins`)
  down     stop them, keeping their data
  purge    stop them and delete their data
  status   show what runs
  env      print shell exports (KUBECONFIG, DATABASE_URL, NATS_URL, ...)
  token    print a bearer token for the tenant service:
           token [--agency NAME] [--role officer|reviewer|agency_admin|city_supervisor|county_supervisor|
                  province_supervisor|market_regulator] [--city CODE] [--county CODE]
  kubeconfig
           mint a kubeconfig for a Kubernetes user (client certificate signed by the
           platform's CA) and print its path: kubeconfig --user NAME [--group GROUP],
           e.g. --group sanxiang:province-it, or a city's administratorGroups entry
  tenant-db
           provision a tenant database as the operator does (owner role NOLOGIN with the
           migrated schema, login role NAME with DML only) for a tenants file, and print
           the login role's URL: tenant-db --database NAME --password PW

The profile (default `dev`; the tests use `test`) selects an independent platform.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut profile = std::env::var("SANXIANG_PROFILE").unwrap_or_else(|_| DEV_PROFILE.into());
    let mut command = None;
    let mut apps = false;
    let mut agency = None;
    let mut role = "officer".to_string();
    let mut city = None;
    let mut county = None;
    let mut user = None;
    let mut group = None;
    let mut database = None;
    let mut password = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--profile" => match it.next() {
                Some(p) => profile = p.clone(),
                None => return usage_error("--profile needs a value"),
            },
            "--apps" => apps = true,
            "--agency" | "--role" | "--city" | "--county" | "--user" | "--group" | "--database"
            | "--password" => {
                let Some(v) = it.next() else {
                    return usage_error(&format!("{a} needs a value"));
                };
                match a.as_str() {
                    "--agency" => agency = Some(v.clone()),
                    "--role" => role = v.clone(),
                    "--user" => user = Some(v.clone()),
                    "--group" => group = Some(v.clone()),
                    "--database" => database = Some(v.clone()),
                    "--password" => password = Some(v.clone()),
                    "--county" => county = Some(v.clone()),
                    _ => city = Some(v.clone()),
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            c if command.is_none() => command = Some(c.to_string()),
            other => return usage_error(&format!("unexpected argument {other:?}")),
        }
    }
    let result = match command.as_deref() {
        Some("up") => up(&profile, apps),
        Some("rules-sync") => Platform::load(&profile).and_then(|p| {
            let p = p.ok_or_else(|| anyhow::anyhow!("profile {profile} was never started"))?;
            rules_sync::rules_sync_loop(&p)
        }),
        Some("down") => Platform::down(&profile, false, &mut log),
        Some("purge") => Platform::down(&profile, true, &mut log),
        Some("status") => status(&profile),
        Some("env") => env(&profile),
        Some("token") => Platform::load(&profile).and_then(|p| {
            let p = p.ok_or_else(|| {
                anyhow::anyhow!("profile {profile} was never started: run `make up`")
            })?;
            println!(
                "{}",
                token::dev_token_in(
                    &p,
                    agency.as_deref(),
                    &role,
                    city.as_deref(),
                    county.as_deref()
                )?
            );
            Ok(())
        }),
        Some("kubeconfig") => {
            let Some(user) = user.filter(|u| !u.trim().is_empty()) else {
                return usage_error("kubeconfig needs --user NAME");
            };
            Platform::load(&profile).and_then(|p| {
                let p = p.ok_or_else(|| {
                    anyhow::anyhow!("profile {profile} was never started: run `make up`")
                })?;
                println!("{}", p.kubeconfig_for(&user, group.as_deref())?.display());
                Ok(())
            })
        }
        Some("tenant-db") => {
            let (Some(database), Some(password)) = (database, password) else {
                return usage_error("tenant-db needs --database NAME --password PW");
            };
            Platform::load(&profile).and_then(|p| {
                let p = p.ok_or_else(|| {
                    anyhow::anyhow!("profile {profile} was never started: run `make up`")
                })?;
                println!("{}", tenant_db(&p, &database, &password)?);
                Ok(())
            })
        }
        Some(other) => return usage_error(&format!("unknown command {other:?}")),
        None => return usage_error("a command is required"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sanxiang-local: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Provisions `database` with `sanxiang_operator::postgres::ensure_tenant_database` as the
/// platform's operator role; returns the login role's URL.
fn tenant_db(p: &Platform, database: &str, password: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        !database.is_empty()
            && database.len() <= 57
            && database
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "--database: at most 57 lower-case letters, digits or '_'"
    );
    let owner = format!("{database}_owner");
    tokio::runtime::Runtime::new()?.block_on(async {
        let pool = sqlx::PgPool::connect(&p.operator_postgres_url("postgres")).await?;
        let roles = sanxiang_operator::tenant_schema::TenantRoles {
            database,
            owner: &owner,
            app: database,
        };
        sanxiang_operator::postgres::ensure_tenant_database(&pool, roles, password, true).await?;
        pool.close().await;
        anyhow::Ok(())
    })?;
    Ok(format!(
        "postgres://{database}:{password}@127.0.0.1:{}/{database}",
        p.ports.postgres
    ))
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("sanxiang-local: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}

fn log(line: &str) {
    eprintln!("[platform] {line}");
}

fn up(profile: &str, apps: bool) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let mut p = Platform::up(profile, &mut log)?;
    if apps {
        p = up::up(
            p,
            &sanxiang_testkit::apps::AppBinaries::from_target_dir(),
            &mut log,
        )?;
    }
    log(&format!(
        "ready in {:.1}s (profile {profile}, state {})",
        start.elapsed().as_secs_f64(),
        p.state_dir.display()
    ));
    if apps {
        println!("{}", summary::summary(&p)?);
    } else {
        print_summary(&p);
    }
    Ok(())
}

fn print_summary(p: &Platform) {
    println!("kube-apiserver  {}", p.apiserver_url());
    println!("kubeconfig      {}", p.kubeconfig().display());
    println!("postgres        {}", p.postgres_url("postgres"));
    println!(
        "nats            {} (operator mode; admin creds {})",
        p.nats_url(),
        p.nats_admin_creds().display()
    );
    println!("logs            {}", p.state_dir.join("logs").display());
    println!("\nexport KUBECONFIG={}", p.kubeconfig().display());
}

fn status(profile: &str) -> anyhow::Result<()> {
    let Some(p) = Platform::load(profile)? else {
        println!("profile {profile}: never started (run `make up`)");
        return Ok(());
    };
    for (name, running) in p.status() {
        println!("{name:<24} {}", if running { "running" } else { "stopped" });
    }
    Ok(())
}

/// The sample province `make up` applies (Liaoning).
const PROVINCE_CODE: &str = "210000";

fn env(profile: &str) -> anyhow::Result<()> {
    let p = Platform::load(profile)?
        .ok_or_else(|| anyhow::anyhow!("profile {profile} was never started: run `make up`"))?;
    println!("export KUBECONFIG={}", p.kubeconfig().display());
    println!("export DATABASE_URL={}", p.postgres_url("postgres"));
    println!("export NATS_URL={}", p.nats_url());
    // The NATS administrator (aggregate account), as the `nats` CLI reads it.
    println!("export NATS_CREDS={}", p.nats_admin_creds().display());
    // A reader of the province aggregate (the disclosure platform's credentials).
    println!(
        "export SANXIANG_PROVINCE_NATS_CREDS={}",
        p.province_reader_creds(PROVINCE_CODE)?.display()
    );
    Ok(())
}
