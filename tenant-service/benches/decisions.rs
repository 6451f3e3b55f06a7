//! Benchmark: decision writes per second through the HTTP API next to pgbench's TPS on the
//! same PostgreSQL, and upward push latency percentiles (write commit → NATS delivery).
//!
//! Runs on the local platform (`Platform::shared()`): `cargo bench -p sanxiang-tenant-service`.
//! Sizes: `SX_BENCH_DECISIONS` (default 2000), `SX_BENCH_PUBLISH` (default 500),
//! `SX_BENCH_CONCURRENCY` (default 16), `SX_BENCH_PGBENCH_SECONDS` (default 10).

use anyhow::Context;
use async_nats::jetstream::{self, stream};
use futures::StreamExt;
use sanxiang_domain::{Clock, TenantContract};
use sanxiang_tenant_service::auth::{Claims, Role, Verifier};
use sanxiang_tenant_service::calendar::Calendars;
use sanxiang_tenant_service::db::PoolSettings;
use sanxiang_tenant_service::tenants::{Tenant, TenantRegistry};
use sanxiang_tenant_service::{NatsSettings, Service, Settings};
use sanxiang_testkit::{Platform, TestScope, tenant_api};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SECRET: &[u8] = b"bench-secret-0123456789abcdef";

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn pgbench(platform: &Platform, db: &str, seconds: usize) -> anyhow::Result<String> {
    let url = platform.postgres_url(db);
    let init = std::process::Command::new("pgbench")
        .args(["-i", "-s", "1", "-q", &url])
        .output()?;
    anyhow::ensure!(
        init.status.success(),
        "pgbench -i: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let run = std::process::Command::new("pgbench")
        .args(["-c", "8", "-j", "2", "-T", &seconds.to_string(), &url])
        .output()?;
    anyhow::ensure!(
        run.status.success(),
        "pgbench: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = String::from_utf8_lossy(&run.stdout);
    Ok(out
        .lines()
        .find(|l| l.starts_with("tps"))
        .map(|l| l.to_string())
        .unwrap_or_else(|| out.to_string()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` this binary is only
    // smoke-run, so it does nothing there.
    if !std::env::args().any(|a| a == "--bench") {
        println!("decisions benchmark: run it with `cargo bench -p sanxiang-tenant-service`");
        return Ok(());
    }
    let n_decisions = env_n("SX_BENCH_DECISIONS", 2000);
    let n_publish = env_n("SX_BENCH_PUBLISH", 500).min(n_decisions);
    let concurrency = env_n("SX_BENCH_CONCURRENCY", 16);
    let pg_seconds = env_n("SX_BENCH_PGBENCH_SECONDS", 10);

    let platform = Platform::shared()?;
    let scope = TestScope::new(platform, "bench").await?;
    let url = scope.create_database().await?;
    let mut contract = TenantContract::new(format!("bench-{}", scope.id), "210000", "210100", "-");
    contract.subject_prefix = scope.subject_prefix.clone();
    let tenant = Tenant::new(contract, url);
    let nats = platform.nats().await?;
    let js = jetstream::new(nats.clone());
    let stream_name = format!("BENCH_{}", scope.id);
    js.create_stream(stream::Config {
        name: stream_name.clone(),
        subjects: vec![format!("{}.>", scope.subject_prefix)],
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await?;
    let settings = Settings {
        tenants: TenantRegistry::with_tenants(vec![tenant.clone()])?,
        tenant_source: None,
        calendars: Calendars::from_dir(Some(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../e2e/fixtures/calendars"),
        ))?,
        calendar_source: None,
        verifier: Verifier::new().with_hs256_secret(SECRET),
        clock: Clock::system(),
        pools: PoolSettings {
            per_tenant_connections: 10,
            ..Default::default()
        },
        nats: Some(NatsSettings {
            url: platform.nats_url(),
            user: None,
            password: None,
            creds_file: Some(platform.nats_admin_creds()),
        }),
        scan_interval: Duration::from_secs(3600),
        relay_sweep: Duration::from_secs(1),
        header_read_timeout: Duration::from_secs(10),
        policy: Default::default(),
    };
    let api = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let service = Service::start(settings, api, admin).await?;
    let base = format!(
        "http://{}/api/v1/agencies/{}",
        service.api_addr, tenant.agency
    );
    let token = sanxiang_testkit::token::hs256(
        SECRET,
        &Claims {
            sub: "bench".into(),
            agency: Some(tenant.agency.clone()),
            role: Role::Officer,
            city: None,
            province: None,
            county: None,
            exp: (chrono::Utc::now().timestamp() + 3600) as u64,
            nbf: None,
        },
    )?;
    let http = reqwest::Client::new();
    // The agency's matter list, as every agency publishes it before deciding anything.
    let (port, agency) = (service.api_addr.port(), tenant.agency.clone());
    tokio::task::spawn_blocking(move || {
        let place = tenant_api::Place {
            province: "210000",
            city: "210100",
            county: "-",
        };
        tenant_api::publish_matters(port, SECRET, &agency, place, None, None)
    })
    .await??;

    // 1. Decision writes: draft + issue (working-day due date), `concurrency` clients.
    let started = Instant::now();
    let ids: Vec<String> = futures::stream::iter(0..n_decisions)
        .map(|i| {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            async move {
                let body = json!({
                    "documentNumber": format!("沈市监罚〔2026〕{i}号"), "matter": tenant_api::sample_matter("penalty"), "procedure": "simple",
                    "party": {"kind": "natural_person", "name": "张三", "idNumber": "21010219900101123X",
                              "phone": "13812345678", "address": "沈阳市和平区南京街1号"},
                    "facts": "张三（电话13812345678）销售过期食品", "legalBasis": "《食品安全法》第一百二十四条",
                    "conclusion": "罚款人民币500元"
                });
                let v: serde_json::Value = http
                    .post(format!("{base}/decisions"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let id = v["id"].as_str().context("id")?.to_string();
                http.post(format!("{base}/decisions/{id}/issue"))
                    .bearer_auth(&token)
                    .json(&json!({"decidedOn": "2026-03-02"}))
                    .send()
                    .await?
                    .error_for_status()?;
                Ok::<_, anyhow::Error>(id)
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let write_secs = started.elapsed().as_secs_f64();

    // 2. Publications: redaction + outbox in one transaction, then relay to JetStream.
    let mut sub = nats
        .subscribe(format!("{}.disclosure", scope.subject_prefix))
        .await?;
    nats.flush().await?;
    let receiver = tokio::spawn(async move {
        let mut lat = Vec::new();
        while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(30), sub.next()).await {
            let now = chrono::Utc::now();
            let v: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap_or_default();
            if let Some(at) = v["occurredAt"]
                .as_str()
                .and_then(|s| s.parse::<chrono::DateTime<chrono::Utc>>().ok())
            {
                lat.push((now - at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
            if lat.len() >= n_publish {
                break;
            }
        }
        lat
    });
    let started = Instant::now();
    futures::stream::iter(ids.into_iter().take(n_publish))
        .map(|id| {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            async move {
                http.post(format!("{base}/decisions/{id}/publish"))
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .error_for_status()?;
                Ok::<_, anyhow::Error>(())
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let publish_secs = started.elapsed().as_secs_f64();
    let mut lat = receiver.await?;
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let stored = js
        .get_stream(&stream_name)
        .await?
        .info()
        .await?
        .state
        .messages;

    // 3. pgbench on the same server.
    let admin_url = platform.postgres_url("postgres");
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await?;
    let pg_db = format!("pgbench_{}", scope.id);
    sqlx::query(&format!("CREATE DATABASE {pg_db}"))
        .execute(&mut conn)
        .await?;
    let tps = pgbench(platform, &pg_db, pg_seconds);

    println!(
        "== sanxiang tenant service benchmark ({} cores) ==",
        std::thread::available_parallelism()?.get()
    );
    println!(
        "decision writes (create + issue, {concurrency} clients): {n_decisions} in {write_secs:.2}s = {:.0} decisions/s ({:.0} HTTP writes/s)",
        n_decisions as f64 / write_secs,
        2.0 * n_decisions as f64 / write_secs
    );
    println!(
        "publications (redaction + outbox, {concurrency} clients): {n_publish} in {publish_secs:.2}s = {:.0}/s",
        n_publish as f64 / publish_secs
    );
    match &tps {
        Ok(line) => println!(
            "pgbench (TPC-B, scale 1, 8 clients, {pg_seconds}s) on the same PostgreSQL: {line}"
        ),
        Err(e) => println!("pgbench failed: {e}"),
    }
    println!(
        "push latency commit→NATS delivery over {} messages: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms; JetStream stored {stored}",
        lat.len(),
        percentile(&lat, 50.0),
        percentile(&lat, 95.0),
        percentile(&lat, 99.0),
        lat.last().copied().unwrap_or(f64::NAN)
    );

    service.stop().await;
    let _ = js.delete_stream(&stream_name).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    scope.cleanup().await?;
    Ok(())
}
