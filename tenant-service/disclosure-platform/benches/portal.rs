//! `make bench-portal`: the disclosure platform at province scale.
//!
//! 1. Generates N synthetic disclosures (default 1,000,000; `BENCH_N` or the first
//!    argument) with Chinese text across Liaoning's 14 cities and 100 counties, ~1,100
//!    agencies, and folds them into an on-disk index through the same code path as the
//!    stream (JSON envelope → parse → fold → tantivy). Prints documents/s, index size, RSS.
//! 2. Serves the real router on 127.0.0.1 and runs 16 concurrent HTTP clients for (a) 罚款
//!    with a city and a date range, (b) an agency page, (c) a document number, (d) no query,
//!    newest first. Prints p50/p99, and first the same for a route that reads no index
//!    (the OpenAPI document) as the reference of the run: on a shared machine it shows
//!    how much of the latency is the machine rather than the index.
//! 3. Freshness: a nats-server of its own with the province stream; each event is
//!    published (as the tenant service's relay does right after the commit) and the time
//!    until `/api/v1/decisions/{id}` answers is measured. Prints p50/p99.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sanxiang_disclosure::directory::{AgencyEntry, Directory, Place};
use sanxiang_disclosure::index::{SearchIndex, Writer};
use sanxiang_disclosure::metrics::Metrics;
use sanxiang_disclosure::web::{self, AppState, WebSettings};
use sanxiang_disclosure::{config, event, ingest};
use serde_json::json;
use uuid::Uuid;

const CITIES: [(&str, &str); 14] = [
    ("210100", "沈阳市"),
    ("210200", "大连市"),
    ("210300", "鞍山市"),
    ("210400", "抚顺市"),
    ("210500", "本溪市"),
    ("210600", "丹东市"),
    ("210700", "锦州市"),
    ("210800", "营口市"),
    ("210900", "阜新市"),
    ("211000", "辽阳市"),
    ("211100", "盘锦市"),
    ("211200", "铁岭市"),
    ("211300", "朝阳市"),
    ("211400", "葫芦岛市"),
];
const COUNTY_NAMES: [&str; 8] = [
    "和平区",
    "铁西区",
    "新城县",
    "东港市",
    "西丰县",
    "凤城市",
    "昌图县",
    "建平县",
];
const AGENCIES: [&str; 11] = [
    "市场监督管理局",
    "生态环境局",
    "应急管理局",
    "交通运输局",
    "城市管理综合行政执法局",
    "卫生健康委员会",
    "文化旅游和广播电视局",
    "农业农村局",
    "自然资源局",
    "住房和城乡建设局",
    "税务局",
];
const ACTS: [&str; 12] = [
    "销售过期食品",
    "未取得食品经营许可从事食品经营活动",
    "超标排放大气污染物",
    "未按规定设置安全警示标志",
    "擅自改变房屋承重结构",
    "无证经营网吧",
    "使用未经检验的特种设备",
    "违规倾倒建筑垃圾",
    "销售不合格农药",
    "非法占用耕地建房",
    "未按规定办理纳税申报",
    "超限超载运输",
];
const BASES: [&str; 8] = [
    "《中华人民共和国食品安全法》第一百二十四条",
    "《中华人民共和国大气污染防治法》第九十九条",
    "《中华人民共和国安全生产法》第九十九条",
    "《建设工程质量管理条例》第六十九条",
    "《中华人民共和国特种设备安全法》第八十四条",
    "《城市市容和环境卫生管理条例》第三十六条",
    "《农药管理条例》第五十五条",
    "《中华人民共和国土地管理法》第七十七条",
];
const SURNAMES: [&str; 10] = ["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴"];
const TRADES: [&str; 8] = [
    "食品",
    "商贸",
    "建筑工程",
    "物流",
    "餐饮管理",
    "化工",
    "农业科技",
    "网络科技",
];

struct Province {
    agencies: Vec<(String, String, String, String)>, // name, city, county, display
    directory: Directory,
}

fn province() -> Province {
    let directory = Directory::default();
    directory.upsert_place(Place {
        code: "210000".into(),
        display_name: "辽宁省".into(),
        level: "Province".into(),
        parent: None,
    });
    let mut agencies = Vec::new();
    let mut county_count = 0;
    for (i, (city, city_name)) in CITIES.iter().enumerate() {
        directory.upsert_place(Place {
            code: city.to_string(),
            display_name: city_name.to_string(),
            level: "City".into(),
            parent: Some("210000".into()),
        });
        // 100 counties: 7 or 8 per city.
        let n = if i < 2 { 8 } else { 7 };
        for (k, county_suffix) in COUNTY_NAMES.iter().enumerate().take(n) {
            county_count += 1;
            let county = format!("{}{:02}", &city[..4], k + 2);
            let county_name = format!("{}{}", &city_name.trim_end_matches('市'), county_suffix);
            directory.upsert_place(Place {
                code: county.clone(),
                display_name: county_name.clone(),
                level: "County".into(),
                parent: Some(city.to_string()),
            });
            for (a, suffix) in AGENCIES.iter().enumerate() {
                let name = format!("ag-{county}-{a}");
                let display = format!("{county_name}{suffix}");
                let first17 = format!("11{county}MB{:07}", a);
                let check = sanxiang_crds::credit_code::check_character(&first17).unwrap();
                directory.upsert_agency(AgencyEntry {
                    name: name.clone(),
                    display_name: display.clone(),
                    credit_code: format!("{first17}{check}"),
                    jurisdiction: county.clone(),
                    categories: vec!["penalty".into()],
                });
                agencies.push((name, city.to_string(), county.clone(), display));
            }
        }
    }
    assert_eq!(county_count, 100);
    directory.mark_synced();
    Province {
        agencies,
        directory,
    }
}

fn envelope(rng: &mut StdRng, p: &Province, n: usize) -> (Uuid, Vec<u8>) {
    let (agency, city, county, _) = &p.agencies[rng.random_range(0..p.agencies.len())];
    let id = Uuid::from_u128(rng.random());
    let licensing = rng.random_ratio(1, 5);
    let person = rng.random_ratio(1, 2);
    let target = if person {
        format!("{}某某", SURNAMES[rng.random_range(0..SURNAMES.len())])
    } else {
        format!(
            "{}{}{}有限公司",
            &CITIES.iter().find(|c| c.0 == city).unwrap().1[..6],
            ["恒达", "鑫源", "宏图", "华信", "金泰"][rng.random_range(0..5)],
            TRADES[rng.random_range(0..TRADES.len())]
        )
    };
    let act = ACTS[rng.random_range(0..ACTS.len())];
    let (category, facts, conclusion) = if licensing {
        (
            "licensing",
            format!(
                "{target}申请{}许可，经审查符合法定条件。",
                TRADES[rng.random_range(0..TRADES.len())]
            ),
            "准予行政许可".to_string(),
        )
    } else {
        (
            "penalty",
            format!(
                "经查，{target}于{}月{}日{act}，货值金额{}元，违法所得{}元，有现场检查笔录、询问笔录和照片为证。",
                rng.random_range(1..=12),
                rng.random_range(1..=28),
                rng.random_range(100..50_000),
                rng.random_range(0..10_000)
            ),
            format!(
                "罚款人民币{}元{}",
                rng.random_range(1..=200) * 500,
                if rng.random_ratio(1, 3) {
                    "，没收违法所得"
                } else {
                    ""
                }
            ),
        )
    };
    let day = chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap()
        + chrono::Duration::days(rng.random_range(0..1800));
    let payload = json!({
        "id": Uuid::from_u128(rng.random()), "event": "disclosure", "agency": agency, "province": "210000",
        "city": city, "county": county, "occurredAt": "2026-03-03T09:00:00Z",
        "data": {
            "id": id, "documentNumber": format!("辽{}罚〔{}〕{}号", &county[2..], day.format("%Y"), n),
            "agency": agency, "province": "210000", "city": city, "county": county, "category": category,
            "procedure": if rng.random_ratio(1, 4) { "simple" } else { "general" },
            "target": target, "targetCode": if person { "210102********123X".to_string() } else { "91210100MA0Y1234X".into() },
            "facts": facts, "legalBasis": BASES[rng.random_range(0..BASES.len())], "conclusion": conclusion,
            "decidedOn": day.to_string(), "publishedAt": format!("{}T09:00:00Z", day + chrono::Duration::days(3)),
        }
    });
    (id, serde_json::to_vec(&payload).unwrap())
}

fn dir_size(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The machine's load average (1, 5, 15 min): other work on a shared machine shows here.
fn load() -> String {
    let l = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let parts: Vec<&str> = l.split_whitespace().take(3).collect();
    format!("load average {}", parts.join(" "))
}

fn percentiles(mut v: Vec<Duration>) -> String {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    format!(
        "n={} p50={:.1}ms p99={:.1}ms max={:.1}ms",
        v.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        v[v.len() - 1].as_secs_f64() * 1e3
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| a.parse::<usize>().is_ok())
        .or_else(|| std::env::var("BENCH_N").ok())
        .map_or(1_000_000, |s| s.parse().unwrap_or(1_000_000));
    const STREAM: &str = "SX_PROVINCE_210000";
    let p = province();
    let base = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    let dir = base.join(format!("bench-portal-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!(
        "bench-portal: {n} disclosures, {} agencies in 14 cities / 100 counties, index {}",
        p.agencies.len(),
        dir.display()
    );

    // 1. Build.
    let index = Arc::new(SearchIndex::open(&dir)?);
    let metrics = Arc::new(Metrics::new(STREAM));
    let mut writer =
        Writer::with_directory(&index, STREAM, 256 * 1024 * 1024, p.directory.clone())?;
    let mut rng = StdRng::seed_from_u64(7);
    let started = Instant::now();
    let mut sample_doc = String::new();
    let mut sample_agency = String::new();
    for i in 0..n {
        let (_, payload) = envelope(&mut rng, &p, i);
        if i == n / 2 {
            let v: serde_json::Value = serde_json::from_slice(&payload)?;
            sample_doc = v["data"]["documentNumber"].as_str().unwrap().to_string();
            sample_agency = v["agency"].as_str().unwrap().to_string();
        }
        let change = event::parse(&payload).map_err(|e| anyhow::anyhow!("{e}"))?;
        writer.apply(&index, &change)?;
        if (i + 1) % 50_000 == 0 {
            writer.commit(&index)?;
            println!(
                "  {:>9} documents, {:>6.0} docs/s, {}, {}",
                i + 1,
                (i + 1) as f64 / started.elapsed().as_secs_f64(),
                rss(),
                load()
            );
        }
    }
    writer.commit(&index)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "build: {n} documents in {secs:.1}s = {:.0} docs/s; index {:.1} MiB; {}; {}",
        n as f64 / secs,
        dir_size(&dir) as f64 / 1048576.0,
        rss(),
        load()
    );
    drop(writer);

    // 2. Queries over HTTP, 16 clients.
    let web = WebSettings {
        rate_limit_per_second: 1e9,
        rate_limit_burst: 1e9,
        ..Default::default()
    };
    let app = web::router(AppState::new(
        index.clone(),
        p.directory.clone(),
        metrics.clone(),
        web,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let enc = |s: &str| serde_urlencoded::to_string([("", s)]).unwrap()[1..].to_string();
    let queries: Vec<(&str, String)> = vec![
        // The floor of the same server, clients and (shared) machine without the index: the
        // figures below minus this one are what the index costs.
        (
            "(ref) /api/v1/openapi.json, no index read",
            "/api/v1/openapi.json".to_string(),
        ),
        (
            "(a) 罚款 + city + date range",
            format!(
                "/api/v1/decisions?q={}&city=210100&from=2023-01-01&to=2024-12-31",
                enc("罚款")
            ),
        ),
        ("(b) agency page", format!("/agencies/{sample_agency}")),
        (
            "(c) document number",
            format!("/api/v1/decisions?documentNumber={}", enc(&sample_doc)),
        ),
        (
            "(d) no query, newest first",
            "/api/v1/decisions".to_string(),
        ),
    ];
    let per_client: usize = std::env::var("BENCH_QUERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    for (label, path) in &queries {
        let url = format!("http://{addr}{path}");
        let check = reqwest::get(&url).await?;
        anyhow::ensure!(check.status() == 200, "{label}: {}", check.status());
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut lat = Vec::new();
                for _ in 0..per_client {
                    let t = Instant::now();
                    let r = client.get(&url).send().await.unwrap();
                    let _ = r.bytes().await.unwrap();
                    lat.push(t.elapsed());
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await?);
        }
        println!("query {label}: {}; {}", percentiles(all), load());
    }

    // 3. Freshness: publish → visible.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let nats_dir = tempfile::tempdir()?;
    let mut nats =
        std::process::Command::new(sanxiang_testkit::platform::Tools::locate()?.nats_server)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(nats_dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
    let result = freshness(port, index.clone(), metrics.clone(), &p, addr).await;
    let _ = nats.kill();
    let _ = nats.wait();
    result?;
    println!("after queries: {}", rss());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn freshness(
    port: u16,
    index: Arc<SearchIndex>,
    metrics: Arc<Metrics>,
    p: &Province,
    addr: std::net::SocketAddr,
) -> anyhow::Result<()> {
    let url = format!("nats://127.0.0.1:{port}");
    let client = sanxiang_testkit::wait::eventually_some(
        "nats-server accepts connections",
        Duration::from_secs(30),
        || async { Ok(Some(async_nats::connect(&url).await?)) },
    )
    .await?;
    let js = async_nats::jetstream::new(client);
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "SX_PROVINCE_210000".into(),
        subjects: vec!["sx.>".into()],
        ..Default::default()
    })
    .await?;
    let common = config::Common {
        nats_url: url,
        nats_creds: None,
        nats_user: None,
        nats_password: None,
        stream: "SX_PROVINCE_210000".into(),
        consumer: "bench".into(),
        index_dir: Default::default(),
        batch: 500,
        index_memory_mb: 64,
        directory_from_kube: false,
        agency_namespace: None,
    };
    let writer = Writer::with_directory(
        &index,
        &common.stream,
        64 * 1024 * 1024,
        p.directory.clone(),
    )?;
    let status = Arc::new(ingest::Status::default());
    tokio::spawn(ingest::follow(
        js.clone(),
        common,
        index.clone(),
        writer,
        metrics,
        status,
    ));
    let http = reqwest::Client::new();
    let mut rng = StdRng::seed_from_u64(11);
    let samples: usize = std::env::var("BENCH_FRESHNESS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let mut lat = Vec::new();
    for i in 0..samples + 3 {
        let (id, payload) = envelope(&mut rng, p, 10_000_000 + i);
        let t = Instant::now();
        js.publish("sx.210000.210100.210102.bench.disclosure", payload.into())
            .await?
            .await?;
        let deadline = t + Duration::from_secs(30);
        loop {
            let r = http
                .get(format!("http://{addr}/api/v1/decisions/{id}"))
                .send()
                .await?;
            if r.status() == 200 {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "not visible within 30 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if i >= 3 {
            lat.push(t.elapsed()); // the first few warm up the consumer
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..80))).await;
    }
    println!(
        "freshness (JetStream publish ack → visible on the portal API): {}; {}",
        percentiles(lat),
        load()
    );
    Ok(())
}
