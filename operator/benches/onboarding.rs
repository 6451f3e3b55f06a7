//! Onboarding benchmark (not a test): creates N agencies on the real local platform and
//! prints the time until all are Ready, where that time went (per provisioning phase, from
//! the operator's `sanxiang_operator_agency_phase_seconds`), the operator's and
//! nats-server's memory, nats-server's restart time with every tenant's account, the API
//! writes made while idle, and — measured in the same run — how fast PostgreSQL itself
//! creates databases, with the ratio of the two rates. Also measured in the same run: how
//! fast PostgreSQL alone does a new agency's database work (the operator's own statements,
//! no Kubernetes), the bound the database puts on onboarding; and, for each size, the CPU
//! each program spent per agency and the apiserver requests per agency by verb and
//! resource, which say where the rest goes. Readiness is observed with a watch: polling a
//! LIST of every agency cost the apiserver more CPU than the operator's own requests.
//!
//! Run: `cargo bench -p sanxiang-operator --bench onboarding -- 100 1000`
//! (sizes optional; default 100), or `make bench`, which uses the platform profile `bench`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kube::Api;
use kube::api::{DeleteParams, ListParams};
use sanxiang_crds::agency::Agency;
use sanxiang_crds::conditions::{condition_type, is_condition_true};
use support::*;

const COUNTIES: usize = 20;
/// Databases PostgreSQL creates for the baseline with each strategy, over 8 connections
/// (as many as the operator's pool; more only queue on the same disk and WAL here).
const BASELINE_DATABASES: usize = 100;
const BASELINE_CONNECTIONS: usize = 8;
/// The reference: plain, empty databases (`template0`, the smallest source, as the
/// operator's role may copy it), with both of PostgreSQL 15's copy strategies; the faster
/// one is the rate the operator is held to.
const BASELINE_STRATEGIES: [&str; 2] = ["WAL_LOG", "FILE_COPY"];
const PHASES: [&str; 5] = [
    "database",
    "nats_account",
    "streams",
    "prometheus_rule",
    "status",
];
/// What the `database` phase is made of.
const DATABASE_STEPS: [&str; 3] = [
    "database_secret_read",
    "database_postgres",
    "database_secret_write",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() { vec![100] } else { sizes };
    eprintln!(
        "(platform profile {}; `make bench` uses `bench`)",
        std::env::var("SANXIANG_PROFILE").unwrap_or_else(|_| "test".into())
    );
    let (platform, operator) = setup()?;
    let pid = operator.child.id();
    println!("operator pid {pid}; PostgreSQL fsync=off, etcd --unsafe-no-fsync (local platform)");
    let mut pg_rate: f64 = 0.0;
    for strategy in BASELINE_STRATEGIES {
        let (rate, cpu_ms) = postgres_create_rate(platform, strategy).await?;
        println!(
            "PostgreSQL alone: {BASELINE_DATABASES} × CREATE DATABASE … TEMPLATE template0 STRATEGY {strategy} \
             (then dropped) over {BASELINE_CONNECTIONS} connections as the operator's role: {rate:.1} databases/s, \
             PostgreSQL CPU {cpu_ms:.1} ms per database"
        );
        pg_rate = pg_rate.max(rate);
    }
    println!("PostgreSQL reference rate (the faster strategy): {pg_rate:.1} databases/s");
    let (agency_db_rate, agency_db_cpu) = agency_database_rate(platform).await?;
    println!(
        "PostgreSQL alone doing a new agency's database work (the operator's own statements: \
         roles, copy of the migrated template, ACL, reassignment, grants, marker), \
         {BASELINE_DATABASES} agencies over {BASELINE_CONNECTIONS} connections, no Kubernetes: \
         {agency_db_rate:.1} agencies/s, PostgreSQL CPU {agency_db_cpu:.1} ms per agency"
    );
    println!(
        "{:>6} {:>12} {:>14} {:>12} {:>12} {:>16} {:>16}",
        "N",
        "all Ready s",
        "agencies/s",
        "RSS MiB",
        "peak MiB",
        "idle writes/min",
        "of which leases"
    );
    for n in sizes {
        let r = onboard(platform, operator, pid, n).await?;
        println!(
            "{:>6} {:>12.1} {:>14.1} {:>12.1} {:>12.1} {:>16} {:>16}",
            n,
            r.ready_secs,
            n as f64 / r.ready_secs,
            r.rss_mib,
            r.peak_mib,
            r.idle_writes,
            r.idle_lease_writes
        );
        let rate = n as f64 / r.ready_secs;
        println!(
            "       ratio operator/PostgreSQL: {:.2} ({rate:.1} agencies/s vs {pg_rate:.1} databases/s); \
             against PostgreSQL alone doing the same database work: {:.2} ({agency_db_rate:.1} agencies/s)",
            rate / pg_rate,
            rate / agency_db_rate
        );
        let total: f64 = r.phases.iter().map(|(_, s)| s).sum();
        let phases: Vec<String> = r
            .phases
            .iter()
            .map(|(p, s)| format!("{p} {s:.1}s ({:.0}%)", 100.0 * s / total.max(1e-9)))
            .collect();
        println!(
            "       phases (summed over concurrent reconciles): {}",
            phases.join(", ")
        );
        let steps: Vec<String> = r
            .database_steps
            .iter()
            .map(|(p, s)| format!("{p} {s:.1}s ({:.2}s per agency)", s / n as f64))
            .collect();
        println!("       of the database phase: {}", steps.join(", "));
        println!(
            "       CPU per agency over the onboarding: {}",
            r.cpu_per_agency.join(", ")
        );
        // What the machine allows at this CPU cost: onboarding is CPU-bound here, so the
        // rate cannot pass cores / CPU per agency, whatever the concurrency.
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
        let ceiling = cores * 1000.0 / r.cpu_ms_per_agency.max(1e-9);
        println!(
            "       CPU ceiling: {:.1} ms of CPU per agency over these programs; {cores} cores allow at most \
             {ceiling:.1} agencies/s (this run used {:.0}% of them); N = 5,000 in 120 s needs \
             at most {:.1} ms per agency",
            r.cpu_ms_per_agency,
            100.0 * rate / ceiling,
            cores * 1000.0 / (5000.0 / 120.0)
        );
        println!(
            "       apiserver requests per agency (all clients, watches excepted): {}",
            r.requests_per_agency.join(", ")
        );
        println!(
            "       nats-server: RSS {:.1} MiB (peak {:.1}); restart with {n} accounts: ready in {:.2}s, an agency's creds work again after {:.2}s",
            r.nats_rss_mib, r.nats_peak_mib, r.nats_restart_secs, r.nats_first_publish_secs
        );
        println!(
            "       (teardown of {n} agencies with deletionPolicy Delete: {:.1}s)",
            r.teardown_secs
        );
    }
    Ok(())
}

struct Run {
    ready_secs: f64,
    requests_per_agency: Vec<String>,
    cpu_per_agency: Vec<String>,
    /// The sum over the programs of [`Run::cpu_per_agency`].
    cpu_ms_per_agency: f64,
    phases: Vec<(&'static str, f64)>,
    database_steps: Vec<(&'static str, f64)>,
    nats_rss_mib: f64,
    nats_peak_mib: f64,
    nats_restart_secs: f64,
    nats_first_publish_secs: f64,
    rss_mib: f64,
    peak_mib: f64,
    idle_writes: u64,
    idle_lease_writes: u64,
    teardown_secs: f64,
}

async fn onboard(
    platform: &sanxiang_testkit::Platform,
    operator: &sanxiang_testkit::operator::OperatorProcess,
    pid: u32,
    n: usize,
) -> anyhow::Result<Run> {
    let mut province = Province::random(COUNTIES);
    // Counties 01..20 exist; agencies spread evenly over them and the city.
    province.counties.truncate(COUNTIES);
    platform.kubectl_apply(&province.jurisdictions_yaml())?;
    let client = platform.kube_client().await?;
    let ns = province.namespace();
    eventually("namespace", Duration::from_secs(60), || {
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
        let ns = ns.clone();
        async move { Ok(api.get_opt(&ns).await?.is_some()) }
    })
    .await?;

    let phases_before = phase_sums(&operator.metrics()?);
    let requests_before = request_counts(platform)?;
    let cpu_before = cpu_by_program(platform, Some(pid));
    let start = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let docs: Vec<String> = chunk
            .iter()
            .map(|i| {
                let j = if i % (COUNTIES + 1) == COUNTIES {
                    province.city.clone()
                } else {
                    province.counties[i % (COUNTIES + 1)].clone()
                };
                agency_yaml(&format!("agency-{i:05}"), &ns, &j, "Delete", *i as u32 + 1)
            })
            .collect();
        platform.kubectl_apply(&docs.join("---\n"))?;
    }
    let api: Api<Agency> = Api::namespaced(client.clone(), &ns);
    all_ready(&api, n).await?;
    let ready_secs = start.elapsed().as_secs_f64();
    let requests_after = request_counts(platform)?;
    let cpu_after = cpu_by_program(platform, Some(pid));
    let spent_by_program: Vec<(&String, f64)> = cpu_after
        .iter()
        .map(|(program, after)| {
            let spent = after - cpu_before.get(program).copied().unwrap_or(0.0);
            (program, 1000.0 * spent / n as f64)
        })
        .collect();
    let cpu_ms_per_agency = spent_by_program.iter().map(|(_, ms)| ms).sum();
    let cpu_per_agency: Vec<String> = spent_by_program
        .iter()
        .map(|(program, ms)| format!("{program} {ms:.1} ms"))
        .collect();
    let (rss_mib, peak_mib) = memory(pid)?;
    let phases_after = phase_sums(&operator.metrics()?);
    let spent = |names: &[&'static str]| -> Vec<(&'static str, f64)> {
        names
            .iter()
            .map(|p| {
                let d = phases_after.get(*p).copied().unwrap_or(0.0)
                    - phases_before.get(*p).copied().unwrap_or(0.0);
                (*p, d)
            })
            .collect()
    };
    let phases = spent(&PHASES);
    // Everyone's requests during the onboarding (the bench's own applies and Ready polls
    // included), per agency: what each new agency costs the apiserver.
    let per_agency: Vec<String> = requests_after
        .iter()
        .filter_map(|(k, after)| {
            let d = after - requests_before.get(k).copied().unwrap_or(0);
            (d as f64 / n as f64 >= 0.05)
                .then(|| format!("{} {} {:.2}", k.0, k.1, d as f64 / n as f64))
        })
        .collect();
    let database_steps = spent(&DATABASE_STEPS);
    let (nats_rss_mib, nats_peak_mib, nats_restart_secs, nats_first_publish_secs) =
        restart_nats(platform, &client, &ns).await?;

    // Idle: let the requeues settle, then count writes over one minute.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let before = write_counts(platform)?;
    let idle_cpu_before = cpu_by_program(platform, Some(pid));
    tokio::time::sleep(Duration::from_secs(60)).await;
    let after = write_counts(platform)?;
    let idle_cpu_after = cpu_by_program(platform, Some(pid));
    // What N tenants cost at rest (PostgreSQL's autovacuum visits every database once
    // per `autovacuum_naptime`, whatever it holds).
    let idle_cpu: Vec<String> = idle_cpu_after
        .iter()
        .filter_map(|(program, after)| {
            let cores = (after - idle_cpu_before.get(program).copied().unwrap_or(0.0)) / 60.0;
            (cores >= 0.001).then(|| format!("{program} {cores:.3}"))
        })
        .collect();
    println!(
        "       (idle minute with {n} agencies, CPU in cores: {})",
        idle_cpu.join(", ")
    );
    let delta = |k: &str| after.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0);
    let idle_writes: u64 = after.keys().map(|k| delta(k)).sum();
    let idle_lease_writes = delta("leases");
    let others: Vec<String> = after
        .keys()
        .filter(|k| *k != "leases" && delta(k) > 0)
        .map(|k| format!("{k}={}", delta(k)))
        .collect();
    println!(
        "       (idle writes other than leases, by resource: {})",
        if others.is_empty() {
            "none".to_string()
        } else {
            others.join(", ")
        }
    );

    let teardown = Instant::now();
    // Deleting thousands of objects can outlast one apiserver request; the deletion goes
    // on server-side, so a dropped response is not a failure: wait for the list to empty.
    if let Err(e) = api
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
    {
        eprintln!("delete collection (continuing): {e}");
    }
    eventually(
        "teardown: no agency left",
        Duration::from_secs(1800),
        || async {
            let list = api.list(&ListParams::default()).await?;
            // What a dropped delete-collection never reached is deleted one by one.
            for a in list
                .items
                .iter()
                .filter(|a| a.metadata.deletion_timestamp.is_none())
            {
                let name = a.metadata.name.clone().unwrap_or_default();
                let _ = api.delete(&name, &DeleteParams::default()).await;
            }
            Ok(list.items.is_empty())
        },
    )
    .await?;
    let teardown_secs = teardown.elapsed().as_secs_f64();
    // The garbage collector deletes the agencies' Secrets and PrometheusRules after them:
    // the next size starts once it has, so that it does not pay for this one's.
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), &ns);
    let rules: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &sanxiang_operator::agency::build::prometheus_rule_resource(),
    );
    eventually(
        "teardown: no Secret or PrometheusRule left",
        Duration::from_secs(1800),
        || async {
            let page = ListParams::default()
                .labels(sanxiang_domain::AGENCY_LABEL)
                .limit(1);
            Ok(secrets.list_metadata(&page).await?.items.is_empty()
                && rules.list_metadata(&page).await?.items.is_empty())
        },
    )
    .await?;
    delete_jurisdictions(platform, &province);
    Ok(Run {
        ready_secs,
        requests_per_agency: per_agency,
        cpu_per_agency,
        cpu_ms_per_agency,
        phases,
        database_steps,
        nats_rss_mib,
        nats_peak_mib,
        nats_restart_secs,
        nats_first_publish_secs,
        rss_mib,
        peak_mib,
        idle_writes,
        idle_lease_writes,
        teardown_secs,
    })
}

/// Waits until `n` agencies read Ready, by watching them (a watch costs the apiserver one
/// event per change, which the operator's own watch pays for anyway; polling a LIST of
/// thousands of agencies several times a second cost it more CPU than the operator did).
async fn all_ready(api: &Api<Agency>, n: usize) -> anyhow::Result<()> {
    use futures::TryStreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let mut ready = std::collections::HashSet::new();
    let events = watcher(api.clone(), watcher::Config::default())
        .default_backoff()
        .applied_objects();
    let mut events = std::pin::pin!(events);
    let deadline = Instant::now() + Duration::from_secs(1800);
    while ready.len() < n {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let Ok(next) = tokio::time::timeout(remaining, events.try_next()).await else {
            anyhow::bail!("only {}/{n} agencies Ready after 1800 s", ready.len());
        };
        let Some(agency) = next? else {
            anyhow::bail!("the watch of agencies ended");
        };
        let name = kube::ResourceExt::name_any(&agency);
        if agency
            .status
            .as_ref()
            .is_some_and(|s| is_condition_true(&s.conditions, condition_type::READY))
        {
            ready.insert(name);
        } else {
            ready.remove(&name);
        }
    }
    Ok(())
}

/// CPU time (user + system, s) each platform program and the operator (when given) have
/// used so far, their children included: PostgreSQL's ended backends through the
/// postmaster's reaped children, its live ones (the pools) one by one.
fn cpu_by_program(
    platform: &sanxiang_testkit::Platform,
    operator: Option<u32>,
) -> BTreeMap<String, f64> {
    let ticks: f64 = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0);
    // Fields after the command name: state is field 3; utime 14, stime 15, cutime 16,
    // cstime 17 (proc(5)); ppid is field 4.
    let stat = |pid: u32| -> Option<Vec<String>> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after_name = &text[text.rfind(')')? + 2..];
        Some(after_name.split_whitespace().map(String::from).collect())
    };
    let field = |f: &[String], n: usize| {
        f.get(n - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let children_of = || {
        let mut children: BTreeMap<u32, f64> = BTreeMap::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(f) = stat(pid) {
                let ppid = field(&f, 4) as u32;
                *children.entry(ppid).or_insert(0.0) += field(&f, 14) + field(&f, 15);
            }
        }
        children
    };
    // nats-server is restarted by each size's run: its pid is read again.
    let mut programs: Vec<(String, u32)> = current(platform)
        .unwrap_or_else(|_| platform.clone())
        .pids
        .iter()
        .map(|(name, pid)| (name.clone(), *pid))
        .collect();
    programs.extend(operator.map(|pid| ("operator".to_string(), pid)));
    let stats =
        || -> Vec<Option<Vec<String>>> { programs.iter().map(|(_, pid)| stat(*pid)).collect() };
    let reaped = |stats: &[Option<Vec<String>>]| -> Vec<f64> {
        stats
            .iter()
            .map(|f| f.as_deref().map_or(0.0, |f| field(f, 16) + field(f, 17)))
            .collect()
    };
    // A child reaped while /proc is scanned would count twice (live, then in the parent's
    // cutime) or not at all: the scan is taken again until no program reaped one meanwhile
    // (PostgreSQL ends a backend per connection; one such race made a baseline's CPU read
    // negative).
    let (mut before, mut children, mut after) = (stats(), children_of(), stats());
    for _ in 0..20 {
        if reaped(&before) == reaped(&after) {
            break;
        }
        (before, children, after) = (stats(), children_of(), stats());
    }
    programs
        .iter()
        .zip(after)
        .filter_map(|((name, pid), f)| {
            let f = f?;
            let own = field(&f, 14) + field(&f, 15) + field(&f, 16) + field(&f, 17);
            Some((
                name.clone(),
                (own + children.get(pid).copied().unwrap_or(0.0)) / ticks,
            ))
        })
        .collect()
}

/// The platform as its state file says now (nats-server gets a new pid when the bench
/// restarts it).
fn current(platform: &sanxiang_testkit::Platform) -> anyhow::Result<sanxiang_testkit::Platform> {
    Ok(sanxiang_testkit::Platform::load(&platform.profile)?.unwrap_or_else(|| platform.clone()))
}

/// PostgreSQL's CPU time so far (s), its backends included.
fn postgres_cpu(platform: &sanxiang_testkit::Platform) -> f64 {
    cpu_by_program(platform, None)
        .get("postgres")
        .copied()
        .unwrap_or(0.0)
}

/// VmRSS and VmHWM of a process, in MiB.
fn memory(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

/// Mutating requests the apiserver has served, by resource, from its own metrics.
fn write_counts(platform: &sanxiang_testkit::Platform) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut counts = BTreeMap::new();
    for ((verb, resource), n) in request_counts(platform)? {
        if matches!(verb.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") {
            *counts.entry(resource).or_insert(0) += n;
        }
    }
    Ok(counts)
}

/// Every request the apiserver has served (watches excepted), by verb and resource, from
/// its own metrics.
fn request_counts(
    platform: &sanxiang_testkit::Platform,
) -> anyhow::Result<BTreeMap<(String, String), u64>> {
    let out = platform
        .kubectl()
        .args(["get", "--raw", "/metrics"])
        .output()?;
    anyhow::ensure!(out.status.success(), "reading apiserver metrics failed");
    let mut counts = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if !line.starts_with("apiserver_request_total{") {
            continue;
        }
        let Some(verb) = label(line, "verb").filter(|v| v != "WATCH") else {
            continue;
        };
        let resource = label(line, "resource").unwrap_or_default();
        let subresource = label(line, "subresource").unwrap_or_default();
        let resource = if subresource.is_empty() {
            resource
        } else {
            format!("{resource}/{subresource}")
        };
        let value: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        *counts.entry((verb, resource)).or_insert(0) += value as u64;
    }
    Ok(counts)
}

fn label(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    let end = line[start..].find('"')? + start;
    Some(line[start..end].to_string())
}

/// `sanxiang_operator_agency_phase_seconds_sum` by phase.
fn phase_sums(metrics: &str) -> BTreeMap<String, f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with("sanxiang_operator_agency_phase_seconds_sum{"))
        .filter_map(|l| {
            let phase = label(l, "phase")?;
            let v = l.rsplit(' ').next()?.parse().ok()?;
            Some((phase, v))
        })
        .collect()
}

/// Creates (timed) and drops (untimed) plain databases with PostgreSQL alone, as the
/// operator's role, copying `template0` with `strategy`: databases per second, and
/// PostgreSQL's CPU per database (ms).
async fn postgres_create_rate(
    platform: &sanxiang_testkit::Platform,
    strategy: &'static str,
) -> anyhow::Result<(f64, f64)> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(BASELINE_CONNECTIONS as u32)
        .connect(&platform.operator_postgres_url("postgres"))
        .await?;
    let tag: u32 = rand::random();
    let names: Vec<String> = (0..BASELINE_DATABASES)
        .map(|i| format!("sx_baseline_{tag:08x}_{i}"))
        .collect();
    let run = |sql: String| {
        let pool = pool.clone();
        over_connections(&names, move |name| {
            let (pool, sql) = (pool.clone(), sql.replace("{}", &name));
            async move {
                sqlx::query(&sql).execute(&pool).await?;
                anyhow::Ok(())
            }
        })
    };
    let cpu_before = postgres_cpu(platform);
    let secs = run(format!(
        "CREATE DATABASE \"{{}}\" TEMPLATE template0 STRATEGY {strategy}"
    ))
    .await?;
    let cpu_ms = 1000.0 * (postgres_cpu(platform) - cpu_before) / BASELINE_DATABASES as f64;
    run("DROP DATABASE \"{}\"".to_string()).await?;
    Ok((BASELINE_DATABASES as f64 / secs, cpu_ms))
}

/// Runs `each` on every item, in [`BASELINE_CONNECTIONS`] tasks of consecutive items (one
/// after the other within a task): the seconds it took.
async fn over_connections<T, F, Fut>(items: &[T], each: F) -> anyhow::Result<f64>
where
    T: Clone + Send + 'static,
    F: Fn(T) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let start = Instant::now();
    let per = items.len().div_ceil(BASELINE_CONNECTIONS).max(1);
    let tasks: Vec<_> = items
        .chunks(per)
        .map(|chunk| {
            let (chunk, each) = (chunk.to_vec(), each.clone());
            tokio::spawn(async move {
                for item in chunk {
                    each(item).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// The database side of onboarding without the rest: [`ensure_tenant_database`] (what the
/// operator runs for a new agency) for [`BASELINE_DATABASES`] made-up agencies over
/// [`BASELINE_CONNECTIONS`] tasks, timed; then dropped, untimed. Returns agencies/s and
/// PostgreSQL's CPU per agency (ms): the bound PostgreSQL alone puts on onboarding.
///
/// [`ensure_tenant_database`]: sanxiang_operator::postgres::ensure_tenant_database
async fn agency_database_rate(platform: &sanxiang_testkit::Platform) -> anyhow::Result<(f64, f64)> {
    use sanxiang_operator::postgres::{drop_tenant_database, ensure_tenant_database};
    use sanxiang_operator::tenant_schema::TenantRoles;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(BASELINE_CONNECTIONS as u32)
        .connect(&platform.operator_postgres_url("postgres"))
        .await?;
    let tag: u32 = rand::random();
    // (database, owner, application role); index 0 is the untimed warm-up, which also
    // builds the migrated template if no agency has yet.
    let names: Vec<(String, String, String)> = (0..=BASELINE_DATABASES)
        .map(|i| {
            let base = format!("bl_{tag:08x}_{i}");
            (
                format!("sx_{base}"),
                format!("sxo_{base}"),
                format!("sx_{base}"),
            )
        })
        .collect();
    fn roles(n: &(String, String, String)) -> TenantRoles<'_> {
        TenantRoles {
            database: &n.0,
            owner: &n.1,
            app: &n.2,
        }
    }
    let ensure = {
        let pool = pool.clone();
        move |n: (String, String, String)| {
            let pool = pool.clone();
            async move {
                ensure_tenant_database(&pool, roles(&n), "baseline-password-0123456789", true)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: {e}", n.0))?;
                anyhow::Ok(())
            }
        }
    };
    ensure(names[0].clone()).await?;
    let cpu_before = postgres_cpu(platform);
    let secs = over_connections(&names[1..], ensure).await?;
    let cpu_ms = 1000.0 * (postgres_cpu(platform) - cpu_before) / BASELINE_DATABASES as f64;
    for n in &names {
        drop_tenant_database(&pool, roles(n)).await?;
    }
    Ok((BASELINE_DATABASES as f64 / secs, cpu_ms))
}

/// nats-server's memory with every account loaded, then its restart: stopped, started
/// again from its resolver directory, time until it serves clients and until an agency's
/// credentials publish again.
async fn restart_nats(
    platform: &sanxiang_testkit::Platform,
    client: &kube::Client,
    ns: &str,
) -> anyhow::Result<(f64, f64, f64, f64)> {
    let pid = current(platform)?
        .nats_pid()
        .ok_or_else(|| anyhow::anyhow!("nats-server not running"))?;
    let (rss, peak) = memory(pid)?;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), ns);
    let secret = secrets.get("agency-00000-nats").await?;
    let data = secret.data.unwrap_or_default();
    let get = |k: &str| String::from_utf8_lossy(&data[k].0).to_string();
    let (creds, prefix) = (get("creds"), get("subjectPrefix"));
    sanxiang_testkit::platform::process::stop(pid, "nats-server", Duration::from_secs(15));
    let start = Instant::now();
    sanxiang_testkit::Platform::up(&platform.profile, &mut |_| {})?;
    let ready = start.elapsed().as_secs_f64();
    loop {
        let attempt = async {
            let c = async_nats::ConnectOptions::with_credentials(&creds)?
                .connect(platform.nats_url())
                .await?;
            async_nats::jetstream::new(c)
                .publish(format!("{prefix}.bench"), "restart".into())
                .await?
                .await?;
            anyhow::Ok(())
        };
        if attempt.await.is_ok() {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(300),
            "nats-server never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((rss, peak, ready, start.elapsed().as_secs_f64()))
}
