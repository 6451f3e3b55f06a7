//! The supervision workspace on the real platform: a county agency served by the tenant
//! service (in-process, on the platform's PostgreSQL) pushes through its outbox into a
//! private nats-server holding the agency → county → city → province chain of streams the
//! operator builds; the workspace follows the province stream into its own database.
//!
//! Proven here: decision metadata reaches the workspace without personal data (checked on
//! the stream itself and in the API); a city supervisor of another city sees nothing of it;
//! notice → answer → return → overdue (metric) → escalation → answer → accept; milestone
//! confirmation; case-file review sample reproducibility, scoring and ranking. Router tests
//! with `oneshot` check validation errors name their field.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{NaiveDate, TimeZone};
use common::{Harness, Options, PrivateNats, SECRET, TestTenant, token_for};
use futures::StreamExt;
use sanxiang_domain::Clock;
use sanxiang_supervision::{Inner, Service, StreamSettings};
use sanxiang_tenant_service::NatsSettings;
use sanxiang_tenant_service::auth::{Claims, Role, Verifier};
use sanxiang_testkit::Platform;
use sanxiang_testkit::wait::{eventually, eventually_some};
use serde_json::{Value, json};
use tower::ServiceExt;

const PROVINCE: &str = "210000";
const CITY: &str = "211200";
const COUNTY: &str = "211221";
const OTHER_CITY: &str = "210100";
const DISPLAY_NAME: &str = "铁岭县市场监督管理局";
/// What must never reach the workspace: the party's name, ID number, phone, address, the
/// third person, and the facts.
const PERSONAL: [&str; 6] = [
    "张三",
    "21010219900101123X",
    "13812345678",
    "南京街",
    "李小明",
    "销售过期食品",
];

fn token(role: Role, agency: Option<&str>, city: Option<&str>, county: Option<&str>) -> String {
    token_for(Claims {
        sub: format!(
            "{}-{}-tester",
            role.as_str(),
            county.or(city).unwrap_or("-")
        ),
        agency: agency.map(Into::into),
        role,
        city: city.map(Into::into),
        province: Some(PROVINCE.into()),
        county: county.map(Into::into),
        exp: common::soon(),
        nbf: None,
    })
}

struct Client {
    http: reqwest::Client,
    base: String,
    admin: String,
}

impl Client {
    async fn call(&self, method: &str, path: &str, tok: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/api/v1/supervision{path}", self.base);
        let mut r = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url),
        }
        .bearer_auth(tok);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.expect("request");
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }
    async fn get(&self, path: &str, tok: &str) -> (u16, Value) {
        self.call("GET", path, tok, None).await
    }
    async fn post(&self, path: &str, tok: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, tok, Some(body)).await
    }
    async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.admin))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }
}

/// 12:00 China time on `d`.
fn noon(d: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    sanxiang_domain::china_offset()
        .from_local_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// A county agency of Tieling served by the tenant service, the operator's chain of
/// streams on a private nats-server, and the workspace following it with a database of
/// its own.
struct World {
    h: Harness,
    c: Client,
    service: Service,
    clock: Clock,
    agency: String,
    prefix: String,
    js: jetstream::Context,
    admin: sqlx::PgPool,
    db_name: String,
    _nats: PrivateNats,
}

impl World {
    async fn start(name: &str, plans: sanxiang_supervision::duties::Plans) -> anyhow::Result<Self> {
        let platform = Platform::shared()?;
        let mut tenant = TestTenant::new(platform, name, CITY).await?;
        tenant.tenant.county = COUNTY.into();
        tenant.tenant.display_name = DISPLAY_NAME.into();
        let agency = tenant.tenant.agency.clone();
        let prefix = tenant.tenant.subject_prefix.clone();
        let id = tenant.scope.id.clone();

        // The chain of streams the operator builds.
        let nats = PrivateNats::start()?;
        let js = jetstream::new(async_nats::connect(nats.url()).await?);
        common::create_aggregate_chain(&js, &prefix, &id, (PROVINCE, CITY, COUNTY)).await?;
        let h = Harness::start(
            vec![tenant],
            Options {
                nats: Some(NatsSettings {
                    url: nats.url(),
                    ..Default::default()
                }),
                scan_interval: Duration::from_secs(1),
                ..Default::default()
            },
        )
        .await?;

        // An empty database of its own (the workspace migrates it), not a tenant's.
        let db_name = format!("sx_supervision_{}", id.to_lowercase().replace('-', "_"));
        let admin = sqlx::PgPool::connect(&platform.postgres_url("postgres")).await?;
        sqlx::query(&format!("CREATE DATABASE \"{db_name}\""))
            .execute(&admin)
            .await?;
        let pool = sanxiang_supervision::connect_db(&platform.postgres_url(&db_name), 5).await?;
        let clock = Clock::system();
        let state = std::sync::Arc::new(Inner {
            pool,
            verifier: Verifier::new().with_hs256_secret(SECRET),
            calendars: common::test_calendars()?,
            clock: clock.clone(),
            metrics: Default::default(),
            ingest: Default::default(),
            plans,
        });
        let service = Service::start(
            state,
            js.clone(),
            StreamSettings {
                stream: format!("SX_PROVINCE_{PROVINCE}"),
                consumer: "supervision".into(),
                batch: 64,
            },
            tokio::net::TcpListener::bind("127.0.0.1:0").await?,
            tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        )
        .await?;
        let c = Client {
            http: reqwest::Client::new(),
            base: format!("http://{}", service.api_addr),
            admin: format!("http://{}", service.admin_addr),
        };
        Ok(Self {
            h,
            c,
            service,
            clock,
            agency,
            prefix,
            js,
            admin,
            db_name,
            _nats: nats,
        })
    }

    async fn stop(self) -> anyhow::Result<()> {
        drop(self.service);
        self.h.stop().await;
        sqlx::query(&format!("DROP DATABASE \"{}\" WITH (FORCE)", self.db_name))
            .execute(&self.admin)
            .await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn county_decisions_reach_the_workspace_and_notices_escalate() -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn,sanxiang_supervision=info")
        .try_init();
    let w = World::start("supv", Default::default()).await?;
    let (h, c, clock, agency, prefix, js) = (&w.h, &w.c, &w.clock, &w.agency, &w.prefix, &w.js);
    let city_sup = token(Role::CitySupervisor, None, Some(CITY), None);
    let county_sup = token(Role::CountySupervisor, None, Some(CITY), Some(COUNTY));
    let other_sup = token(Role::CitySupervisor, None, Some(OTHER_CITY), None);
    let staff = token(Role::AgencyAdmin, Some(agency), Some(CITY), None);

    // ---- decision metadata, no personal data --------------------------------------------
    let doc = format!("铁县市监罚〔2026〕{}号", rand::random::<u16>());
    let _ = &doc;
    let decision = h.draft(0, common::penalty(&doc)).await?;
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{decision}/issue"),
            Role::Officer,
            json!({"decidedOn": "2026-03-02"}),
        )
        .await?;
    anyhow::ensure!(s.is_success(), "issue: {v}");
    h.publish(0, &decision).await?;
    let started = Instant::now();
    let seen = eventually_some(
        "disclosed metadata in the workspace",
        Duration::from_secs(20),
        || async {
            let (_, v) = c.get("/decisions", &city_sup).await;
            anyhow::ensure!(v["items"][0]["disclosedAt"].is_string(), "{v}");
            Ok(Some(v))
        },
    )
    .await?;
    println!(
        "metadata with its disclosure in the workspace after {:?}",
        started.elapsed()
    );
    let item = &seen["items"][0];
    assert_eq!(item["decisionId"], json!(decision));
    assert_eq!(item["documentNumber"], json!(doc));
    assert_eq!(item["agency"], json!(agency));
    assert_eq!(
        (item["category"].as_str(), item["status"].as_str()),
        (Some("penalty"), Some("issued"))
    );
    assert!(
        item["version"].as_i64() >= Some(2),
        "issue then disclosure: {item}"
    );
    // Nothing personal on the stream (every decision_metadata message) nor in the API.
    let province = js.get_stream(format!("SX_PROVINCE_{PROVINCE}")).await?;
    let reader = province
        .create_consumer(consumer::pull::Config {
            filter_subject: format!("{prefix}.decision_metadata"),
            ..Default::default()
        })
        .await?;
    let mut batch = reader
        .fetch()
        .max_messages(100)
        .expires(Duration::from_secs(2))
        .messages()
        .await?;
    let mut metadata_messages = 0;
    while let Some(m) = batch.next().await {
        let m = m.map_err(|e| anyhow::anyhow!("{e}"))?;
        let text = String::from_utf8_lossy(&m.payload).to_string();
        for secret in PERSONAL {
            assert!(!text.contains(secret), "{secret} travelled upward: {text}");
        }
        metadata_messages += 1;
        m.ack().await.ok();
    }
    assert!(metadata_messages >= 2, "issue and disclosure pushed");
    for secret in PERSONAL {
        assert!(
            !seen.to_string().contains(secret),
            "{secret} in the workspace: {seen}"
        );
    }
    // The county's own supervisor sees it too; another city's supervisor nothing.
    let (_, v) = c.get("/decisions", &county_sup).await;
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1), "{v}");
    let (s, v) = c.get("/decisions", &other_sup).await;
    assert_eq!(
        (s, v["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{v}"
    );
    let (s, _) = c.get(&format!("/agencies/{agency}"), &other_sup).await;
    assert_eq!(s, 403);
    let (_, v) = c.get("/agencies", &other_sup).await;
    assert_eq!(v["items"], json!([]));
    // Compliance, with the agency's name.
    eventually(
        "compliance in the workspace",
        Duration::from_secs(20),
        || async {
            let (_, v) = c.get(&format!("/agencies/{agency}"), &city_sup).await;
            Ok(v["compliance"].is_object() && v["displayName"] == DISPLAY_NAME)
        },
    )
    .await?;
    let (_, v) = c.get("/agencies", &city_sup).await;
    assert_eq!(v["items"][0]["agency"], json!(agency));
    assert!(
        v["items"][0]["compliance"]["reviewerShortfall"].is_boolean(),
        "{v}"
    );

    // ---- inspection, then notice → answer → return → overdue → escalation → accept -----
    let inspection = json!({"subject": "2026年行政执法公示专项检查", "agencies": [agency],
                            "findings": "处罚决定公示超期", "inspectedOn": clock.today()});
    let (s, v) = c.post("/inspections", &other_sup, inspection.clone()).await;
    assert_eq!((s, v["field"].as_str()), (403, Some("agencies[0]")), "{v}");
    let (s, insp) = c.post("/inspections", &city_sup, inspection).await;
    assert_eq!(s, 201, "{insp}");
    let (_, v) = c.get("/inspections", &other_sup).await;
    assert_eq!(v["items"], json!([]));
    let (_, v) = c.get("/inspections", &county_sup).await;
    assert_eq!(v["items"][0]["id"], insp["id"]);
    let (s, v) = c
        .post(
            "/notices",
            &other_sup,
            json!({"agency": agency, "title": "x", "findings": ["y"], "workingDays": 2}),
        )
        .await;
    assert_eq!((s, v["field"].as_str()), (403, Some("agency")), "{v}");
    let (s, notice) = c
        .post(
            "/notices",
            &city_sup,
            json!({"agency": agency, "title": "关于行政处罚决定公示不及时的通报",
                   "findings": ["2026年3月作出的处罚决定未在7个工作日内公示"], "workingDays": 2,
                   "inspection": insp["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{notice}");
    let nid = notice["id"].as_str().unwrap().to_string();
    let today = clock.today();
    let deadline: NaiveDate = notice["deadline"].as_str().unwrap().parse()?;
    let cal = common::test_calendars()?.get();
    assert_eq!(deadline, cal.add_working_days(today, 2)?);
    let (s, v) = c
        .post(
            &format!("/notices/{nid}/escalate"),
            &city_sup,
            json!({"measure": "约谈"}),
        )
        .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (409, Some("deadline")),
        "not overdue yet: {v}"
    );
    let (s, v) = c
        .post(
            &format!("/notices/{nid}/answer"),
            &city_sup,
            json!({"text": "x"}),
        )
        .await;
    assert_eq!((s, v["field"].as_str()), (403, Some("role")), "{v}");
    let (s, v) = c
        .post(
            &format!("/notices/{nid}/answer"),
            &staff,
            json!({"text": "已完成公示并建立台账"}),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("answered")), "{v}");
    let (s, v) = c
        .post(
            &format!("/notices/{nid}/return"),
            &city_sup,
            json!({"text": "未附公示截图"}),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("returned")), "{v}");
    let (s, _) = c.get(&format!("/notices/{nid}"), &other_sup).await;
    assert_eq!(s, 404, "out of scope reads as unknown");
    let page = c.metrics().await;
    assert_eq!(
        common::metric(&page, "sanxiang_supervision_notices_open", agency),
        Some(1.0)
    );
    assert_eq!(
        common::metric(&page, "sanxiang_supervision_rectification_overdue", agency),
        Some(0.0)
    );
    // The deadline day passes.
    clock.set(Some(noon(deadline + chrono::Duration::days(1))));
    let (_, v) = c.get(&format!("/notices/{nid}"), &city_sup).await;
    assert_eq!(v["overdue"], json!(true), "{v}");
    let page = c.metrics().await;
    assert_eq!(
        common::metric(&page, "sanxiang_supervision_rectification_overdue", agency),
        Some(1.0),
        "{page}"
    );
    assert!(page.contains(&format!(
        "sanxiang_supervision_rectification_overdue{{agency=\"{agency}\",city=\"{CITY}\",county=\"{COUNTY}\",province=\"{PROVINCE}\"}} 1"
    )));
    let (s, v) = c
        .post(
            &format!("/notices/{nid}/escalate"),
            &city_sup,
            json!({"measure": "约谈该局主要负责人"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["escalation"], json!("约谈该局主要负责人"));
    let (s, v) = c
        .post(
            &format!("/notices/{nid}/escalate"),
            &city_sup,
            json!({"measure": "again"}),
        )
        .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (409, Some("escalatedAt")),
        "once: {v}"
    );
    let (_, v) = c.get("/notices?overdue=true", &county_sup).await;
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1), "{v}");
    c.post(
        &format!("/notices/{nid}/answer"),
        &staff,
        json!({"text": "补充公示截图"}),
    )
    .await;
    let (s, v) = c
        .post(
            &format!("/notices/{nid}/accept"),
            &city_sup,
            json!({"text": "同意"}),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str(), v["overdue"].as_bool()),
        (200, Some("accepted"), Some(false)),
        "{v}"
    );
    let steps: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert_eq!(
        steps,
        [
            "issued",
            "answered",
            "returned",
            "escalated",
            "answered",
            "accepted"
        ]
    );
    let page = c.metrics().await;
    assert_eq!(
        common::metric(&page, "sanxiang_supervision_rectification_overdue", agency),
        Some(0.0)
    );
    clock.set(None);

    // ---- milestones ------------------------------------------------------------------------
    let due = h_today(h);
    let (s, v) = h
        .post(
            0,
            "/milestones",
            Role::AgencyAdmin,
            json!({"plan": "tieling-2026", "milestone": "monthly-report", "due": due}),
        )
        .await?;
    anyhow::ensure!(s.is_success(), "report: {v}");
    eventually(
        "milestone report in the workspace",
        Duration::from_secs(20),
        || async {
            let (_, v) = c.get("/milestones?status=reported", &city_sup).await;
            Ok(v["items"].as_array().is_some_and(|i| i.len() == 1))
        },
    )
    .await?;
    let page = c.metrics().await;
    assert_eq!(
        common::metric(&page, "sanxiang_supervision_milestones_unconfirmed", agency),
        Some(1.0)
    );
    let body = json!({"agency": agency, "plan": "tieling-2026", "milestone": "monthly-report", "due": due});
    let (s, v) = c.post("/milestones/return", &city_sup, body.clone()).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (400, Some("reason")),
        "a return needs its reason: {v}"
    );
    let (s, _) = c
        .post("/milestones/confirm", &other_sup, body.clone())
        .await;
    assert_eq!(s, 403);
    // Returned with its reason, the agency reports it again (the next revision), which
    // re-opens it for the supervisor; reporting it again without saying so stays a 409,
    // and a "resubmission" of an occurrence never reported is refused naming the field.
    let mut returned = body.clone();
    returned["reason"] = json!("月度报告未附执法数据统计表");
    let (s, v) = c.post("/milestones/return", &city_sup, returned).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("returned")), "{v}");
    let report = json!({"plan": "tieling-2026", "milestone": "monthly-report", "due": due});
    let (s, v) = h
        .post(0, "/milestones", Role::AgencyAdmin, report.clone())
        .await?;
    assert_eq!((s.as_u16(), v["field"].as_str()), (409, Some("due")), "{v}");
    let mut never = report.clone();
    let yesterday = chrono::NaiveDate::parse_from_str(&h_today(h), "%Y-%m-%d")?.pred_opt();
    never["due"] = json!(yesterday);
    never["resubmission"] = json!(true);
    let (s, v) = h.post(0, "/milestones", Role::AgencyAdmin, never).await?;
    assert_eq!(
        (s.as_u16(), v["field"].as_str()),
        (422, Some("resubmission")),
        "{v}"
    );
    let mut again = report;
    again["resubmission"] = json!(true);
    again["note"] = json!("已补附统计表");
    let (s, v) = h.post(0, "/milestones", Role::AgencyAdmin, again).await?;
    assert_eq!((s.as_u16(), v["revision"].as_i64()), (201, Some(2)), "{v}");
    eventually(
        "the report made again re-opens the occurrence",
        Duration::from_secs(20),
        || async {
            let (_, v) = c.get("/milestones?status=reported", &city_sup).await;
            Ok(v["items"].as_array().is_some_and(|i| i.len() == 1))
        },
    )
    .await?;
    let (s, v) = c.post("/milestones/confirm", &city_sup, body.clone()).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("confirmed")), "{v}");
    let (s, _) = c.post("/milestones/confirm", &city_sup, body).await;
    assert_eq!(s, 409);
    let page = c.metrics().await;
    assert_eq!(
        common::metric(&page, "sanxiang_supervision_milestones_unconfirmed", agency),
        Some(0.0)
    );

    // ---- case-file review --------------------------------------------------------------
    let mut ids = vec![decision.clone()];
    for n in 0..3 {
        let d = h
            .draft(
                0,
                common::penalty(&format!("铁县市监罚〔2026〕{}号", 70_000 + n)),
            )
            .await?;
        let (s, v) = h
            .post(
                0,
                &format!("/decisions/{d}/issue"),
                Role::Officer,
                json!({"decidedOn": "2026-03-03"}),
            )
            .await?;
        anyhow::ensure!(s.is_success(), "issue: {v}");
        ids.push(d);
    }
    eventually(
        "four decisions in the workspace",
        Duration::from_secs(20),
        || async {
            let (_, v) = c.get("/decisions?status=issued", &city_sup).await;
            Ok(v["items"].as_array().is_some_and(|i| i.len() == 4))
        },
    )
    .await?;
    // Keyset pages reach every decision once.
    let (_, p1) = c.get("/decisions?limit=3", &city_sup).await;
    let next = p1["next"].as_str().expect("a next page").to_string();
    let (s, p2) = c
        .get(&format!("/decisions?limit=3&after={next}"), &city_sup)
        .await;
    assert_eq!(s, 200, "{p2}");
    assert_eq!(p2["next"], Value::Null, "{p2}");
    let mut paged: Vec<String> = [&p1, &p2]
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().iter())
        .map(|d| d["decisionId"].as_str().unwrap().to_string())
        .collect();
    paged.sort();
    let mut all = ids.clone();
    all.sort();
    assert_eq!(paged, all);
    let campaign = json!({"name": "2026年一季度行政处罚案卷评查", "seed": 20260301, "perAgency": 2,
                          "from": "2026-03-01", "to": "2026-03-31"});
    let (s, first) = c.post("/reviews", &city_sup, campaign.clone()).await;
    assert_eq!(s, 201, "{first}");
    let (_, second) = c.post("/reviews", &county_sup, campaign).await;
    let sample = |v: &Value| -> Vec<String> {
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["decisionId"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(sample(&first).len(), 2);
    assert_eq!(sample(&first), sample(&second), "same seed, same sample");
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(
        sample(&first),
        sanxiang_supervision::sample::draw(20260301, &refs, 2),
        "the documented algorithm"
    );
    let cid = first["campaign"]["id"].as_str().unwrap().to_string();
    let case = &sample(&first)[0];
    let scores = json!({"scores": {"subject": 10, "facts": 20, "law": 20, "procedure": 15, "discretion": 10, "file": 5}});
    let (s, v) = c
        .post(
            &format!("/reviews/{cid}/cases/{case}"),
            &other_sup,
            scores.clone(),
        )
        .await;
    assert_eq!(s, 404, "{v}");
    let (s, v) = c
        .post(&format!("/reviews/{cid}/cases/{case}"), &city_sup, scores)
        .await;
    assert_eq!((s, v["total"].as_i64()), (200, Some(80)), "{v}");
    let (_, v) = c.get(&format!("/reviews/{cid}"), &city_sup).await;
    assert_eq!(v["ranking"][0]["city"], json!(CITY));
    assert_eq!(v["ranking"][0]["agencies"][0]["rank"], json!(1));
    assert_eq!(v["results"][0]["averageScore"], json!(80.0));
    let page = c.metrics().await;
    assert_eq!(
        common::metric(&page, "sanxiang_supervision_case_review_score", agency),
        Some(80.0)
    );
    let (s, _) = c.get(&format!("/reviews/{cid}"), &other_sup).await;
    assert_eq!(s, 404);

    // Operations.
    let ready = c.http.get(format!("{}/ready", c.admin)).send().await?;
    assert_eq!(ready.status(), 200);
    for name in [
        "sanxiang_supervision_events_applied_total",
        "sanxiang_supervision_applied_sequence",
        "sanxiang_supervision_notices_open",
    ] {
        assert!(page.contains(name), "{name} missing");
    }
    w.stop().await
}

/// Today in China by the harness's clock, as the tenant service sees it.
fn h_today(_h: &Harness) -> String {
    chrono::Utc::now()
        .with_timezone(&sanxiang_domain::china_offset())
        .date_naive()
        .to_string()
}

/// A router on a database that is never reached: validation answers first.
fn router() -> axum::Router {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(200))
        .connect_lazy("postgres://nobody@127.0.0.1:1/none")
        .unwrap();
    router_on(pool)
}

/// The workspace's router on `pool`.
fn router_on(pool: sqlx::PgPool) -> axum::Router {
    sanxiang_supervision::api::router(std::sync::Arc::new(Inner {
        pool,
        verifier: Verifier::new().with_hs256_secret(SECRET),
        calendars: common::test_calendars().unwrap(),
        clock: Clock::system(),
        metrics: Default::default(),
        ingest: Default::default(),
        plans: Default::default(),
    }))
}

async fn send(
    method: &str,
    uri: &str,
    tok: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    send_to(&router(), method, uri, tok, body).await
}

async fn send_to(
    app: &axum::Router,
    method: &str,
    uri: &str,
    tok: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = tok {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The OpenAPI document is served without a token, the same text `cargo xtask generate`
/// commits.
#[tokio::test]
async fn the_openapi_document_is_served() {
    let (status, doc) = send("GET", "/api/v1/supervision/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let generated: Value =
        serde_json::from_str(&sanxiang_supervision::api::openapi::document()).unwrap();
    assert_eq!(doc, generated);
}

#[tokio::test]
async fn refusals_name_the_field() {
    let sup = token(Role::CitySupervisor, None, Some(CITY), None);
    let staff = token(Role::Officer, Some("tieling-market"), Some(CITY), None);
    let regulator = token(Role::MarketRegulator, None, Some(CITY), None);
    let base = "/api/v1/supervision";
    let notice = |extra: Value| {
        let mut b =
            json!({"agency": "tieling-market", "title": "t", "findings": ["f"], "workingDays": 5});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (method, uri, tok, body, status, field) in [
        (
            "GET",
            format!("{base}/decisions"),
            None,
            None,
            401,
            "Authorization",
        ),
        (
            "GET",
            format!("{base}/decisions"),
            Some(&regulator),
            None,
            403,
            "role",
        ),
        (
            "GET",
            format!("{base}/decisions?city=21120"),
            Some(&sup),
            None,
            400,
            "city",
        ),
        (
            "GET",
            format!("{base}/decisions?category=bogus"),
            Some(&sup),
            None,
            400,
            "category",
        ),
        (
            "GET",
            format!("{base}/decisions?status=draft"),
            Some(&sup),
            None,
            400,
            "status",
        ),
        (
            "GET",
            format!("{base}/decisions?problem=late"),
            Some(&sup),
            None,
            400,
            "problem",
        ),
        (
            "GET",
            format!("{base}/decisions?from=2026-13-01"),
            Some(&sup),
            None,
            400,
            "from",
        ),
        (
            "GET",
            format!("{base}/decisions?from=2026-03-02&to=2026-03-01"),
            Some(&sup),
            None,
            422,
            "to",
        ),
        (
            "GET",
            format!("{base}/decisions?after=yesterday"),
            Some(&sup),
            None,
            400,
            "after",
        ),
        (
            "GET",
            format!("{base}/notices?after=yesterday"),
            Some(&sup),
            None,
            400,
            "after",
        ),
        (
            "GET",
            format!("{base}/inspections?after=7b7d"),
            Some(&staff),
            None,
            400,
            "after",
        ),
        (
            "GET",
            format!("{base}/inspections?limit=0"),
            Some(&sup),
            None,
            400,
            "limit",
        ),
        (
            "GET",
            format!("{base}/inspections?bogus=1"),
            Some(&sup),
            None,
            400,
            "bogus",
        ),
        (
            "GET",
            format!("{base}/milestones?after=2026-03-01_tl-market_plan_m"),
            Some(&sup),
            None,
            400,
            "after",
        ),
        (
            "GET",
            format!("{base}/reviews?after=ZZ"),
            Some(&sup),
            None,
            400,
            "after",
        ),
        (
            "GET",
            format!("{base}/reviews?limit=501"),
            Some(&sup),
            None,
            400,
            "limit",
        ),
        (
            "GET",
            format!("{base}/reviews"),
            Some(&staff),
            None,
            403,
            "role",
        ),
        (
            "GET",
            format!("{base}/decisions?limit=0"),
            Some(&sup),
            None,
            400,
            "limit",
        ),
        (
            "GET",
            format!("{base}/decisions?agency=Bad%20Name"),
            Some(&sup),
            None,
            400,
            "agency",
        ),
        (
            "GET",
            format!("{base}/decisions?bogus=1"),
            Some(&sup),
            None,
            400,
            "bogus",
        ),
        (
            "POST",
            format!("{base}/notices"),
            Some(&staff),
            Some(notice(json!({}))),
            403,
            "role",
        ),
        (
            "POST",
            format!("{base}/notices"),
            Some(&sup),
            Some(notice(json!({"title": " "}))),
            400,
            "title",
        ),
        (
            "POST",
            format!("{base}/notices"),
            Some(&sup),
            Some(notice(json!({"findings": []}))),
            400,
            "findings",
        ),
        (
            "POST",
            format!("{base}/notices"),
            Some(&sup),
            Some(notice(json!({"findings": ["ok", ""]}))),
            400,
            "findings[1]",
        ),
        (
            "POST",
            format!("{base}/notices"),
            Some(&sup),
            Some(notice(json!({"workingDays": 0}))),
            400,
            "workingDays",
        ),
        (
            "POST",
            format!("{base}/notices"),
            Some(&sup),
            Some(notice(json!({"workingDays": -1}))),
            400,
            "workingDays",
        ),
        (
            "POST",
            format!("{base}/notices/not-a-uuid/accept"),
            Some(&sup),
            Some(json!({"text": "ok"})),
            400,
            "id",
        ),
        (
            "POST",
            format!("{base}/reviews"),
            Some(&sup),
            Some(json!({"name": "r", "perAgency": 0, "from": "2026-01-01", "to": "2026-02-01"})),
            400,
            "perAgency",
        ),
        (
            "POST",
            format!("{base}/reviews"),
            Some(&sup),
            Some(
                json!({"name": "r", "perAgency": 2, "from": "2026-01-01", "to": "2026-02-01", "city": "210100"}),
            ),
            403,
            "city",
        ),
        (
            "POST",
            format!(
                "{base}/reviews/00000000-0000-4000-8000-000000000000/cases/00000000-0000-4000-8000-000000000000"
            ),
            Some(&sup),
            Some(
                json!({"scores": {"subject": 10, "facts": 99, "law": 20, "procedure": 20, "discretion": 15, "file": 10}}),
            ),
            400,
            "scores.facts",
        ),
        (
            "POST",
            format!("{base}/milestones/confirm"),
            Some(&sup),
            Some(json!({"agency": "a", "plan": "p", "milestone": "m", "due": "someday"})),
            400,
            "due",
        ),
    ] {
        let (s, v) = send(method, &uri, tok.map(String::as_str), body).await;
        assert_eq!(
            (s.as_u16(), v["field"].as_str()),
            (status, Some(field)),
            "{method} {uri}: {v}"
        );
    }
}

/// The envelope the tenant service's outbox writes, with `data`.
fn envelope(id: uuid::Uuid, event: &str, agency: &str, data: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id, "event": event, "agency": agency, "province": PROVINCE, "city": CITY,
        "county": COUNTY, "occurredAt": "2026-03-03T09:00:00Z", "data": data,
    }))
    .unwrap()
}

fn metadata(decision: &str, status: &str, version: i64) -> Value {
    json!({"decisionId": decision, "documentNumber": "铁县市监罚〔2026〕9号", "category": "Penalty",
           "procedure": "general", "matter": null, "status": status, "reviewRequired": false,
           "reviewed": false, "decidedOn": "2026-03-02", "issuedAt": "2026-03-02T02:00:00Z",
           "publishOnline": true, "disclosureDue": "2026-03-11", "disclosureDuePendingYear": null,
           "disclosedAt": null, "revokedAt": null, "withdrawalDue": null, "withdrawnAt": null,
           "avRequired": null, "avPresent": null, "version": version})
}

#[tokio::test]
async fn redeliveries_old_versions_and_unknown_events_change_nothing() -> anyhow::Result<()> {
    use sanxiang_supervision::ingest::{Outcome, apply_message};
    let platform = Platform::shared()?;
    let db_name = format!("sx_supervision_ingest_{}", rand::random::<u32>());
    let admin = sqlx::PgPool::connect(&platform.postgres_url("postgres")).await?;
    sqlx::query(&format!("CREATE DATABASE \"{db_name}\""))
        .execute(&admin)
        .await?;
    let pool = sanxiang_supervision::connect_db(&platform.postgres_url(&db_name), 2).await?;
    let decision = uuid::Uuid::new_v4().to_string();
    let (first, second, older) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    let mut tx = pool.begin().await?;
    let mut apply = async |payload: Vec<u8>, seq: u64| apply_message(&mut tx, &payload, seq).await;
    let issued = envelope(
        first,
        "decision_metadata",
        "tl-market",
        metadata(&decision, "issued", 1),
    );
    assert_eq!(
        apply(issued.clone(), 1).await?,
        Outcome::Applied("decision_metadata")
    );
    assert_eq!(
        apply(issued, 2).await?,
        Outcome::Duplicate,
        "same envelope id"
    );
    let revoked = metadata(&decision, "revoked", 3);
    assert_eq!(
        apply(
            envelope(second, "decision_metadata", "tl-market", revoked),
            3
        )
        .await?,
        Outcome::Applied("decision_metadata")
    );
    // An older version arriving late is recorded but does not win.
    let late = metadata(&decision, "issued", 2);
    assert_eq!(
        apply(envelope(older, "decision_metadata", "tl-market", late), 4).await?,
        Outcome::Applied("decision_metadata")
    );
    let unknown = envelope(uuid::Uuid::new_v4(), "audit", "tl-market", json!({}));
    assert_eq!(apply(unknown, 5).await?, Outcome::Skipped("unknown_event"));
    assert_eq!(
        apply(b"not json".to_vec(), 6).await?,
        Outcome::Skipped("malformed")
    );
    let bad = envelope(
        uuid::Uuid::new_v4(),
        "decision_metadata",
        "tl-market",
        json!({"x": 1}),
    );
    assert_eq!(apply(bad, 7).await?, Outcome::Skipped("malformed_data"));
    let publication = envelope(uuid::Uuid::new_v4(), "disclosure", "tl-market", json!({}));
    assert_eq!(apply(publication, 8).await?, Outcome::PassedOver);
    tx.commit().await?;
    let (status, version): (String, i64) =
        sqlx::query_as("SELECT status, version FROM decisions WHERE decision_id = $1::uuid")
            .bind(&decision)
            .fetch_one(&pool)
            .await?;
    assert_eq!((status.as_str(), version), ("revoked", 3));
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM applied_events")
        .fetch_one(&pool)
        .await?;
    assert_eq!(applied, 3, "three distinct envelopes of known events");
    pool.close().await;
    sqlx::query(&format!("DROP DATABASE \"{db_name}\" WITH (FORCE)"))
        .execute(&admin)
        .await?;
    Ok(())
}

/// Milestones due and missed: a SupervisionPlan on the platform's apiserver applies to the
/// county agency; the workspace watches it (and the Agency) and, with its clock past the
/// due date, shows the occurrence missed, in the API and the gauge, until the agency
/// reports it and a supervisor confirms. A one-off date before the plan was issued is
/// never missed.
#[tokio::test(flavor = "multi_thread")]
async fn milestones_due_then_missed_until_reported_and_confirmed() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{Api, DeleteParams, PostParams};
    use sanxiang_crds::agency::Agency;
    use sanxiang_crds::plan::SupervisionPlan;

    let platform = Platform::shared()?;
    tokio::task::block_in_place(|| platform.install_sanxiang_crds())?;
    let kube = platform.kube_client().await?;
    let plans = sanxiang_supervision::duties::Plans::watch(kube.clone());
    let w = World::start("supm", plans).await?;
    let (c, agency) = (&w.c, w.agency.as_str());
    let city_sup = token(Role::CitySupervisor, None, Some(CITY), None);

    // The Agency object (no operator here: it is only read) and the plan, in a namespace
    // of this run.
    let ns = format!("sx-supm-{}", rand::random::<u32>());
    let namespaces: Api<Namespace> = Api::all(kube.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns, "labels": {
                // Agencies live in a city's namespace (the admission policy's rule).
                "sanxiang.io/city-code": CITY, "sanxiang.io/province-code": PROVINCE}}}))?,
        )
        .await?;
    let agencies: Api<Agency> = Api::namespaced(kube.clone(), &ns);
    agencies
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "sanxiang.io/v1alpha1", "kind": "Agency",
                "metadata": {"name": agency, "namespace": ns},
                "spec": {"jurisdiction": COUNTY, "displayName": DISPLAY_NAME,
                         "creditCode": "11211221MB00000030", "categories": ["Penalty"]}
            }))?,
        )
        .await?;
    let today = w.clock.today();
    let due = today + chrono::Duration::days(2);
    let plan_name = format!("tieling-supm-{}", rand::random::<u32>());
    let plans_api: Api<SupervisionPlan> = Api::namespaced(kube.clone(), &ns);
    plans_api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "sanxiang.io/v1alpha1", "kind": "SupervisionPlan",
                "metadata": {"name": plan_name, "namespace": ns},
                "spec": {"title": "铁岭县推行三项制度任务", "issuedBy": CITY, "milestones": [
                    {"id": "summary", "task": "报送年度总结",
                     "responsible": {"jurisdictions": [COUNTY]}, "schedule": {"due": due}},
                    {"id": "before-the-plan", "task": "计划印发前的任务",
                     "responsible": {"jurisdictions": [CITY]},
                     "schedule": {"due": today - chrono::Duration::days(1)}},
                    {"id": "other-county", "task": "别县任务",
                     "responsible": {"jurisdictions": ["211223"]}, "schedule": {"due": due}}
                ]}
            }))?,
        )
        .await?;
    // This plan's entries of a list (other tests' plans may apply to the agency too).
    let mine = |v: &Value, list: &str| -> Vec<(String, String, Option<String>)> {
        v["milestones"][list]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["plan"] == json!(plan_name))
            .map(|o| {
                (
                    o["milestone"].as_str().unwrap_or_default().to_string(),
                    o["due"].as_str().unwrap_or_default().to_string(),
                    o["report"].as_str().map(String::from),
                )
            })
            .collect()
    };
    let summary = |report: Option<&str>| {
        vec![(
            "summary".to_string(),
            due.to_string(),
            report.map(String::from),
        )]
    };
    let path = format!("/agencies/{agency}");
    let seen = eventually_some(
        "the plan's milestone due in the workspace",
        Duration::from_secs(30),
        || async {
            let (s, v) = c.get(&path, &city_sup).await;
            anyhow::ensure!(s == 200 && mine(&v, "due") == summary(None), "{s} {v}");
            Ok(Some(v))
        },
    )
    .await?;
    assert!(mine(&seen, "missed").is_empty(), "{seen}");
    assert_eq!(seen["milestones"]["scheduleKnown"], json!(true));

    // Past the due date: missed, in the list of agencies and the gauge.
    w.clock.set(Some(noon(due + chrono::Duration::days(1))));
    let (_, v) = c
        .get(&format!("/agencies?county={COUNTY}"), &city_sup)
        .await;
    let item = v["items"]
        .as_array()
        .and_then(|i| i.iter().find(|a| a["agency"] == json!(agency)))
        .cloned()
        .unwrap_or_default();
    assert_eq!(mine(&item, "missed"), summary(None), "{item}");
    assert!(mine(&item, "due").is_empty(), "{item}");
    let missed = item["milestones"]["missedCount"].as_f64().expect("a count");
    assert!(missed >= 1.0);
    let page = c.metrics().await;
    assert_eq!(
        common::metric(&page, "sanxiang_supervision_milestones_missed", agency),
        Some(missed),
        "the gauge counts what the API lists"
    );

    // The agency reports it (late): no longer missed, awaiting confirmation.
    let (s, v) =
        w.h.post(
            0,
            "/milestones",
            Role::AgencyAdmin,
            json!({"plan": plan_name, "milestone": "summary", "due": due}),
        )
        .await?;
    anyhow::ensure!(s.is_success(), "report: {v}");
    eventually(
        "the report in the workspace",
        Duration::from_secs(20),
        || async {
            let (_, v) = c.get(&path, &city_sup).await;
            Ok(mine(&v, "missed").is_empty())
        },
    )
    .await?;
    let body = json!({"agency": agency, "plan": plan_name, "milestone": "summary", "due": due});
    let (s, v) = c.post("/milestones/confirm", &city_sup, body).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("confirmed")), "{v}");
    let (_, v) = c.get(&path, &city_sup).await;
    assert!(mine(&v, "missed").is_empty(), "{v}");
    assert!(
        mine(&v, "due").is_empty(),
        "a one-off milestone has no next date: {v}"
    );
    let page = c.metrics().await;
    assert_eq!(
        common::metric(&page, "sanxiang_supervision_milestones_missed", agency),
        Some(missed - 1.0)
    );

    w.clock.set(None);
    let _ = plans_api.delete(&plan_name, &DeleteParams::default()).await;
    let _ = agencies.delete(agency, &DeleteParams::default()).await;
    let _ = namespaces.delete(&ns, &DeleteParams::default()).await;
    w.stop().await
}

/// Walks `path` (with its own query, if any) page by page, `limit` rows a page, passing
/// each page's `next` as `after`, and checks the contract on the way: `next` only on a
/// full page, present and null on the last. Returns every item in the order served.
async fn walk(app: &axum::Router, path: &str, tok: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..200 {
        let uri = match &after {
            None => format!("{path}{sep}limit={limit}"),
            Some(a) => format!("{path}{sep}limit={limit}&after={a}"),
        };
        let (s, v) = send_to(app, "GET", &uri, Some(tok), None).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {v}");
        let page = v["items"].as_array().expect("items").clone();
        assert!(page.len() <= limit, "{uri}: {v}");
        items.extend(page.iter().cloned());
        match &v["next"] {
            Value::String(n) => {
                assert_eq!(page.len(), limit, "a next only on a full page: {uri}: {v}");
                after = Some(n.clone());
            }
            Value::Null if v.get("next").is_some() => return items,
            other => panic!("{uri}: next is {other}"),
        }
    }
    panic!("{path}: more than 200 pages");
}

/// The lists of notices, inspections, milestone reports and case-file reviews page by
/// keyset: with rows sharing their sort instant or date (the tie broken by the rest of
/// the key), rows of an agency out of scope interleaved, and page sizes that divide the
/// rows and that do not, every row in scope is served exactly once, in the list's order,
/// the last page says `next: null`, and nothing out of scope appears on any page. A
/// malformed or forged `after` is a 400 naming it.
#[tokio::test]
async fn every_list_pages_through_its_rows_in_scope_exactly_once() -> anyhow::Result<()> {
    use chrono::{DateTime, Utc};
    use uuid::Uuid;

    let platform = Platform::shared()?;
    let db_name = format!("sx_supervision_pages_{}", rand::random::<u32>());
    let admin = sqlx::PgPool::connect(&platform.postgres_url("postgres")).await?;
    sqlx::query(&format!("CREATE DATABASE \"{db_name}\""))
        .execute(&admin)
        .await?;
    let pool = sanxiang_supervision::connect_db(&platform.postgres_url(&db_name), 4).await?;
    let app = router_on(pool.clone());

    // Two agencies of the city (one of its county, one of the city itself) and one of
    // another city.
    let (county_agency, city_agency, other_agency) = ("pg-county", "pg-city", "pg-other");
    let places = [
        (county_agency, CITY, COUNTY),
        (city_agency, CITY, "-"),
        (other_agency, OTHER_CITY, "210102"),
    ];
    for (a, city, county) in places {
        sqlx::query(
            "INSERT INTO agencies (agency, province, city, county, display_name) \
             VALUES ($1, $2, $3, $4, $1)",
        )
        .bind(a)
        .bind(PROVINCE)
        .bind(city)
        .bind(county)
        .execute(&pool)
        .await?;
    }
    let city_sup = token(Role::CitySupervisor, None, Some(CITY), None);
    let city_subject = format!("{}-{CITY}-tester", Role::CitySupervisor.as_str());
    let other_sup = token(Role::CitySupervisor, None, Some(OTHER_CITY), None);
    let staff = token(Role::Officer, Some(county_agency), Some(CITY), None);
    let in_city = |a: &str| a != other_agency;
    let base: DateTime<Utc> = "2026-03-02T02:00:00.123456Z".parse()?;
    let day = |n: i64| NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + chrono::Duration::days(n);

    // ---- notices: 15, five per agency; three instants shared by rows of every agency. ----
    let mut notices: Vec<(DateTime<Utc>, Uuid, &str, &str)> = Vec::new();
    for i in 0..15 {
        let agency = places[i % 3].0;
        let at = base + chrono::Duration::microseconds(((i / 3) % 3) as i64);
        let status = if i % 5 == 0 { "accepted" } else { "open" };
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO notices (id, agency, title, findings, issued_by, issuer_role, issued_on, \
             working_days, deadline, status, created_at) \
             VALUES ($1, $2, 't', ARRAY['f'], 'x', 'city_supervisor', $3, 5, $4, $5, $6)",
        )
        .bind(id)
        .bind(agency)
        .bind(day(0))
        .bind(day(7))
        .bind(status)
        .bind(at)
        .execute(&pool)
        .await?;
        notices.push((at, id, agency, status));
    }
    notices.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let ids = |items: &[Value], key: &str| -> Vec<String> {
        items
            .iter()
            .map(|i| i[key].as_str().expect("a key").to_string())
            .collect()
    };
    // By agency and status.
    let expect = |keep: &dyn Fn(&str, &str) -> bool| -> Vec<String> {
        notices
            .iter()
            .filter(|n| keep(n.2, n.3))
            .map(|n| n.1.to_string())
            .collect()
    };
    let city_notices = expect(&|a, _| in_city(a));
    assert_eq!(city_notices.len(), 10);
    for limit in [1, 3, 5, 10, 100] {
        let items = walk(&app, "/api/v1/supervision/notices", &city_sup, limit).await;
        assert_eq!(ids(&items, "id"), city_notices, "limit {limit}");
        assert!(items.iter().all(|i| i["agency"] != other_agency));
    }
    let open = walk(
        &app,
        "/api/v1/supervision/notices?status=open",
        &city_sup,
        2,
    )
    .await;
    assert_eq!(ids(&open, "id"), expect(&|a, s| in_city(a) && s == "open"));
    let own = walk(&app, "/api/v1/supervision/notices", &staff, 2).await;
    assert_eq!(ids(&own, "id"), expect(&|a, _| a == county_agency));
    let other = walk(&app, "/api/v1/supervision/notices", &other_sup, 2).await;
    assert_eq!(ids(&other, "id"), expect(&|a, _| a == other_agency));

    // ---- inspections: 12 on four days; some looked at the other city's agency only. ----
    let mut inspections: Vec<(NaiveDate, Uuid, Vec<&str>)> = Vec::new();
    for i in 0..12 {
        let looked_at = match i % 4 {
            0 => vec![county_agency],
            1 => vec![other_agency],
            2 => vec![other_agency, city_agency],
            _ => vec![city_agency, county_agency],
        };
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO inspections (id, province, city, subject, agencies, findings, \
             inspected_on, created_by) VALUES ($1, $2, $3, 's', $4, 'f', $5, 'x')",
        )
        .bind(id)
        .bind(PROVINCE)
        .bind(CITY)
        .bind(&looked_at)
        .bind(day((i % 5) as i64))
        .execute(&pool)
        .await?;
        inspections.push((day((i % 5) as i64), id, looked_at));
    }
    inspections.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let expect_insp = |keep: &dyn Fn(&[&str]) -> bool| -> Vec<String> {
        inspections
            .iter()
            .filter(|i| keep(&i.2))
            .map(|i| i.1.to_string())
            .collect()
    };
    let city_inspections = expect_insp(&|a| a.iter().any(|a| in_city(a)));
    assert_eq!(city_inspections.len(), 9);
    for limit in [1, 2, 4, 9, 100] {
        let items = walk(&app, "/api/v1/supervision/inspections", &city_sup, limit).await;
        assert_eq!(ids(&items, "id"), city_inspections, "limit {limit}");
    }
    let own = walk(&app, "/api/v1/supervision/inspections", &staff, 2).await;
    assert_eq!(
        ids(&own, "id"),
        expect_insp(&|a| a.contains(&county_agency)),
        "staff read their own agency's inspections"
    );
    // Each reader sees, of the agencies an inspection looked at, only those in scope.
    let named = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .flat_map(|i| i["agencies"].as_array().cloned().unwrap_or_default())
            .map(|a| a.as_str().unwrap_or_default().to_string())
            .collect()
    };
    let all_city = walk(&app, "/api/v1/supervision/inspections", &city_sup, 100).await;
    assert!(named(&all_city).iter().all(|a| in_city(a)), "{all_city:?}");
    assert!(named(&all_city).contains(&city_agency.to_string()));
    assert!(named(&own).iter().all(|a| a == county_agency), "{own:?}");
    let theirs = walk(&app, "/api/v1/supervision/inspections", &other_sup, 100).await;
    assert!(
        named(&theirs).iter().all(|a| a == other_agency),
        "{theirs:?}"
    );
    assert_eq!(theirs.len(), 6, "the other city's six inspections");

    // ---- milestones: every agency × two plans × two milestones × two due dates. ----
    let mut milestones: Vec<(NaiveDate, String, String, String)> = Vec::new();
    for (agency, _, _) in places {
        for plan in ["plan-a", "plan-b"] {
            for milestone in ["m1", "m2"] {
                for due in [day(3), day(10)] {
                    sqlx::query(
                        "INSERT INTO milestones (agency, plan, milestone, due, reported_at) \
                         VALUES ($1, $2, $3, $4, now())",
                    )
                    .bind(agency)
                    .bind(plan)
                    .bind(milestone)
                    .bind(due)
                    .execute(&pool)
                    .await?;
                    milestones.push((due, agency.into(), plan.into(), milestone.into()));
                }
            }
        }
    }
    milestones.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then((&a.1, &a.2, &a.3).cmp(&(&b.1, &b.2, &b.3)))
    });
    let key = |m: &Value| {
        format!(
            "{}/{}/{}/{}",
            m["due"].as_str().unwrap(),
            m["agency"].as_str().unwrap(),
            m["plan"].as_str().unwrap(),
            m["milestone"].as_str().unwrap()
        )
    };
    let expect_ms = |keep: &dyn Fn(&str) -> bool| -> Vec<String> {
        milestones
            .iter()
            .filter(|m| keep(&m.1))
            .map(|m| format!("{}/{}/{}/{}", m.0, m.1, m.2, m.3))
            .collect()
    };
    let city_milestones = expect_ms(&|a| in_city(a));
    assert_eq!(city_milestones.len(), 16);
    for limit in [1, 3, 8, 16, 100] {
        let items = walk(&app, "/api/v1/supervision/milestones", &city_sup, limit).await;
        assert_eq!(
            items.iter().map(key).collect::<Vec<_>>(),
            city_milestones,
            "limit {limit}"
        );
    }
    let own = walk(&app, "/api/v1/supervision/milestones", &staff, 3).await;
    assert_eq!(
        own.iter().map(key).collect::<Vec<_>>(),
        expect_ms(&|a| a == county_agency)
    );

    // ---- case-file reviews: 9 campaigns, three per instant; those that sampled only the
    // other city's agency are not this city's, but for the one its supervisor started. ----
    let mut decisions = std::collections::HashMap::new();
    for (agency, city, county) in places {
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO decisions (decision_id, agency, province, city, county, document_number, \
             category, procedure, status, review_required, reviewed, decided_on, publish_online, \
             version, occurred_at) VALUES ($1, $2, $3, $4, $5, 'n', 'penalty', 'general', \
             'issued', false, false, $6, false, 1, now())",
        )
        .bind(id)
        .bind(agency)
        .bind(PROVINCE)
        .bind(city)
        .bind(county)
        .bind(day(0))
        .execute(&pool)
        .await?;
        decisions.insert(agency, id);
    }
    let mut campaigns: Vec<(DateTime<Utc>, Uuid, bool)> = Vec::new();
    for i in 0..9 {
        let sampled = places[i % 3].0;
        let mine = i == 5;
        let at = base + chrono::Duration::seconds((i / 3) as i64);
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO review_campaigns (id, name, province, seed, per_agency, period_from, \
             period_to, created_by, created_at) VALUES ($1, 'r', $2, 1, 1, $3, $3, $4, $5)",
        )
        .bind(id)
        .bind(PROVINCE)
        .bind(day(0))
        .bind(if mine {
            city_subject.as_str()
        } else {
            "someone-else"
        })
        .bind(at)
        .execute(&pool)
        .await?;
        sqlx::query(
            "INSERT INTO review_cases (campaign_id, decision_id, agency, draw_rank) \
             VALUES ($1, $2, $3, 1)",
        )
        .bind(id)
        .bind(decisions[sampled])
        .bind(sampled)
        .execute(&pool)
        .await?;
        campaigns.push((at, id, in_city(sampled) || mine));
    }
    assert_eq!(
        campaigns.iter().filter(|c| c.2).count(),
        7,
        "six of the city, one the city's supervisor started"
    );
    campaigns.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let city_campaigns: Vec<String> = campaigns
        .iter()
        .filter(|c| c.2)
        .map(|c| c.1.to_string())
        .collect();
    for limit in [1, 2, 7, 100] {
        let items = walk(&app, "/api/v1/supervision/reviews", &city_sup, limit).await;
        assert_eq!(ids(&items, "id"), city_campaigns, "limit {limit}");
    }

    // ---- malformed and forged cursors ---------------------------------------------------
    let (_, first) = send_to(
        &app,
        "GET",
        "/api/v1/supervision/notices?limit=1",
        Some(&city_sup),
        None,
    )
    .await;
    let notice_next = first["next"].as_str().expect("a next").to_string();
    let (_, first) = send_to(
        &app,
        "GET",
        "/api/v1/supervision/milestones?limit=1",
        Some(&city_sup),
        None,
    )
    .await;
    let milestone_next = first["next"].as_str().expect("a next").to_string();
    let damaged = format!("{}0", &notice_next[..notice_next.len() - 1]);
    for path in ["notices", "inspections", "milestones", "reviews"] {
        for after in [
            "yesterday".to_string(),
            "2026-03-02T02:00:00Z_00000000-0000-4000-8000-000000000000".into(),
            damaged.clone(),
            // Another list's cursor: the same shape for reviews, a different one for the rest.
            if path == "notices" {
                milestone_next.clone()
            } else {
                notice_next.clone()
            },
        ] {
            let uri = format!("/api/v1/supervision/{path}?after={after}");
            let (s, v) = send_to(&app, "GET", &uri, Some(&city_sup), None).await;
            assert_eq!(
                (s, v["field"].as_str()),
                (StatusCode::BAD_REQUEST, Some("after")),
                "{uri}: {v}"
            );
        }
    }

    pool.close().await;
    sqlx::query(&format!("DROP DATABASE \"{db_name}\" WITH (FORCE)"))
        .execute(&admin)
        .await?;
    Ok(())
}
