//! Test harness: the tenant service in-process, on the real platform (PostgreSQL, NATS).
#![allow(dead_code)]

use anyhow::Context;
use chrono::Datelike;
use reqwest::StatusCode;
use sanxiang_crds::calendar::{HolidayPeriod, WorkCalendarSpec};
use sanxiang_domain::Clock;
use sanxiang_domain::{DisclosureOverride, TenantContract};
use sanxiang_tenant_service::auth::{Claims, Role, Verifier};
use sanxiang_tenant_service::calendar::Calendars;
use sanxiang_tenant_service::db::PoolSettings;
use sanxiang_tenant_service::state::Policy;
use sanxiang_tenant_service::tenants::{Tenant, TenantRegistry};
use sanxiang_tenant_service::{NatsSettings, Service, Settings};
use sanxiang_testkit::{Platform, TestScope};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

pub const SECRET: &[u8] = b"test-secret-0123456789abcdef";
pub const PROVINCE: &str = "210000";

pub fn calendar_dir() -> PathBuf {
    // The nearest e2e/fixtures/calendars above the crate (this harness is also used by the
    // disclosure platform's tests, one level deeper).
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|d| d.join("e2e/fixtures/calendars"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| manifest.join("../e2e/fixtures/calendars"))
}

/// The calendars the tests run with: the fixtures (copies of the State Council notices)
/// and, for the real current year and the next one when no fixture covers them, a TEST
/// calendar (weekends and 1 January off, nothing else; its one holiday is named so).
///
/// Why: tests that follow the real clock (an opinion due 10 working days after today, the
/// scanner's "due within 2 working days" window, a reviewer's clock moved 30 days ahead)
/// would otherwise break as soon as today, or today plus a few working days, passes the
/// last fixture year — the service rightly answers "pending: no calendar" there. Tests
/// that assert exact dates pin the clock to a fixture year and never meet a test calendar.
pub fn test_calendar_specs() -> anyhow::Result<Vec<WorkCalendarSpec>> {
    let mut specs = sanxiang_tenant_service::calendar::load_specs(&calendar_dir())?;
    let this_year = (chrono::Utc::now() + chrono::Duration::hours(8)).year();
    for year in [this_year, this_year + 1] {
        if specs.iter().all(|s| s.year != year) {
            let jan1 = chrono::NaiveDate::from_ymd_opt(year, 1, 1).context("1 January")?;
            specs.push(WorkCalendarSpec {
                year,
                holidays: vec![HolidayPeriod {
                    name: "元旦 (TEST CALENDAR, not a State Council notice)".into(),
                    start: jan1,
                    end: jan1,
                }],
                makeup_working_days: Vec::new(),
            });
        }
    }
    Ok(specs)
}

/// The fixture calendars plus the labelled test calendars of [`test_calendar_specs`].
pub fn test_calendars() -> anyhow::Result<Calendars> {
    Calendars::new(&test_calendar_specs()?)
}

/// A nats-server of the test's own (the one `e2e/tools/build.sh` builds; JetStream, file
/// store in a temp dir) on a free loopback port, so a test can stop and restart it
/// without disturbing the shared platform's. Used by the tenant service's outage test and
/// the disclosure platform's tests.
pub struct PrivateNats {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl PrivateNats {
    pub fn start() -> anyhow::Result<Self> {
        let mut n = Self {
            port: free_port()?,
            dir: tempfile::tempdir()?,
            child: None,
        };
        n.up()?;
        Ok(n)
    }

    /// Starts it (again) on the same port and store.
    pub fn up(&mut self) -> anyhow::Result<()> {
        let child =
            std::process::Command::new(sanxiang_testkit::platform::Tools::locate()?.nats_server)
                .args([
                    "-js",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-sd",
                ])
                .arg(self.dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()?;
        self.child = Some(child);
        wait_port(self.port, Duration::from_secs(20))
    }

    /// Kills it (SIGKILL: an outage, not a shutdown).
    pub fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.down();
    }
}

/// The chain of streams the operator builds, on a private nats-server: an agency stream
/// `SX_AG_<id>` capturing `<prefix>.>` (with a duplicate window, so message ids hold),
/// sourced by `SX_COUNTY_<county>`, sourced by `SX_CITY_<city>`, sourced by
/// `SX_PROVINCE_<province>`. Used by the disclosure platform's and the supervision
/// workspace's tests, which read the province end.
pub async fn create_aggregate_chain(
    js: &async_nats::jetstream::Context,
    prefix: &str,
    id: &str,
    (province, city, county): (&str, &str, &str),
) -> anyhow::Result<()> {
    use async_nats::jetstream::stream;
    let agency_stream = format!("SX_AG_{id}");
    js.create_stream(stream::Config {
        name: agency_stream.clone(),
        subjects: vec![format!("{prefix}.>")],
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(3600),
        ..Default::default()
    })
    .await?;
    let mut source = agency_stream;
    for aggregate in [
        format!("SX_COUNTY_{county}"),
        format!("SX_CITY_{city}"),
        format!("SX_PROVINCE_{province}"),
    ] {
        js.create_stream(stream::Config {
            name: aggregate.clone(),
            storage: stream::StorageType::File,
            sources: Some(vec![stream::Source {
                name: source.clone(),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .await?;
        source = aggregate;
    }
    Ok(())
}

pub use sanxiang_testkit::free_port;

/// Waits until something accepts connections on the loopback `port`.
pub use sanxiang_testkit::wait::port_open as wait_port;

/// One tenant on the platform: its scope (database, subject prefix) and config.
pub struct TestTenant {
    pub scope: TestScope,
    pub tenant: Tenant,
}

impl TestTenant {
    pub async fn new(platform: &'static Platform, label: &str, city: &str) -> anyhow::Result<Self> {
        let scope = TestScope::new(platform, label).await?;
        let url = scope.create_database().await?;
        let contract = TenantContract {
            subject_prefix: scope.subject_prefix.clone(),
            withdrawal_deadline_days: 1,
            ..TenantContract::new(format!("ag-{}", scope.id), PROVINCE, city, "-")
        };
        let tenant = Tenant::new(contract, url);
        Ok(Self { scope, tenant })
    }

    pub fn with_override(mut self, category: &str, days: u32) -> Self {
        self.tenant.disclosure_overrides.push(DisclosureOverride {
            category: serde_json::from_value(json!(category)).unwrap(),
            working_days: days,
            legal_basis: "某地方性法规第十条".into(),
        });
        self
    }

    /// Superuser connection to the tenant's database.
    pub async fn superuser(&self) -> anyhow::Result<sqlx::PgPool> {
        Ok(sqlx::PgPool::connect(&self.scope.platform.postgres_url(&self.scope.database)).await?)
    }
}

/// The base URL of an in-process harness (no listener).
const IN_PROCESS: &str = "http://in-process";

pub struct Harness {
    pub platform: &'static Platform,
    pub service: Option<Service>,
    /// The in-process router ([`Harness::in_process`]).
    pub router: Option<axum::Router>,
    pub http: reqwest::Client,
    pub base: String,
    pub admin: String,
    pub tenants: Vec<TestTenant>,
}

pub struct Options {
    pub nats: Option<NatsSettings>,
    pub clock: Clock,
    pub header_read_timeout: Duration,
    pub policy: Policy,
    pub scan_interval: Duration,
    /// Publish the sample matter list ([`sanxiang_testkit::tenant_api::sample_matters`]) for
    /// every tenant at start, in force since [`MATTERS_SINCE`] (default: yes). Tests of
    /// the lists themselves turn it off.
    pub matter_list: bool,
}

/// The day the harness's matter lists take effect: before any date the tests move their
/// clock to, so decisions drafted "in 2024" find their matter.
pub const MATTERS_SINCE: &str = "2020-01-01";

impl Default for Options {
    fn default() -> Self {
        Self {
            nats: None,
            clock: Clock::system(),
            header_read_timeout: Duration::from_secs(10),
            policy: Policy::default(),
            scan_interval: Duration::from_secs(3600),
            matter_list: true,
        }
    }
}

/// An expiry an hour ahead.
pub fn soon() -> u64 {
    (chrono::Utc::now().timestamp() + 3600) as u64
}

pub fn platform_nats(platform: &Platform) -> NatsSettings {
    NatsSettings {
        url: platform.nats_url(),
        user: None,
        password: None,
        creds_file: Some(platform.nats_admin_creds()),
    }
}

/// The service's settings for `tenants` under `opts`.
fn settings(tenants: &[TestTenant], opts: &Options) -> anyhow::Result<Settings> {
    let registry =
        TenantRegistry::with_tenants(tenants.iter().map(|t| t.tenant.clone()).collect())?;
    Ok(Settings {
        tenants: registry,
        tenant_source: None,
        calendars: test_calendars()?,
        calendar_source: None,
        verifier: Verifier::new().with_hs256_secret(SECRET),
        clock: opts.clock.clone(),
        pools: PoolSettings {
            max_total_connections: 20,
            per_tenant_connections: 4,
            ..Default::default()
        },
        nats: opts.nats.clone(),
        scan_interval: opts.scan_interval,
        relay_sweep: Duration::from_millis(500),
        header_read_timeout: opts.header_read_timeout,
        policy: opts.policy.clone(),
    })
}

impl Harness {
    /// The service on listeners: requests go over real HTTP.
    pub async fn start(tenants: Vec<TestTenant>, opts: Options) -> anyhow::Result<Self> {
        let settings = settings(&tenants, &opts)?;
        let api = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let service = Service::start(settings, api, admin).await?;
        let base = format!("http://{}", service.api_addr);
        let admin = format!("http://{}", service.admin_addr);
        Self::ready(tenants, opts, Some(service), None, base, admin).await
    }

    /// The middle tier: the API router alone (no listeners, NATS or background loops) on
    /// the tenants' real databases; [`Harness::call`] sends each request with `oneshot`.
    pub async fn in_process(tenants: Vec<TestTenant>, opts: Options) -> anyhow::Result<Self> {
        let router = sanxiang_tenant_service::in_process_router(settings(&tenants, &opts)?)?;
        let base = IN_PROCESS.to_string();
        Self::ready(tenants, opts, None, Some(router), base, String::new()).await
    }

    async fn ready(
        tenants: Vec<TestTenant>,
        opts: Options,
        service: Option<Service>,
        router: Option<axum::Router>,
        base: String,
        admin: String,
    ) -> anyhow::Result<Self> {
        let platform = Platform::shared()?;
        let clock = opts.clock.clone();
        let h = Self {
            platform,
            service,
            router,
            http: reqwest::Client::new(),
            base,
            admin,
            tenants,
        };
        if opts.matter_list {
            // Published "back then" (the service's clock stands at MATTERS_SINCE meanwhile),
            // so the list is in force whatever date a test moves the clock to later.
            let was = clock.fixed_at();
            let since: chrono::NaiveDate = MATTERS_SINCE.parse()?;
            clock.set(Some(
                sanxiang_domain::china_midnight(since) + chrono::Duration::hours(10),
            ));
            let published = async {
                for i in 0..h.tenants.len() {
                    h.publish_matter_list(i, None, None).await?;
                }
                anyhow::Ok(())
            }
            .await;
            clock.set(was);
            published?;
        }
        Ok(h)
    }

    /// [`publish_matter_list`]'s steps ([`sanxiang_testkit::tenant_api::publish_list`]) sent
    /// through [`Harness::call`], for the in-process harness.
    async fn publish_matters_by_calls(
        &self,
        i: usize,
        items: Option<Value>,
        effective_from: Option<String>,
    ) -> anyhow::Result<Value> {
        let t = &self.tenants[i].tenant;
        let cats: Vec<&str> = t.categories.iter().map(|c| c.code()).collect();
        let items = items.unwrap_or_else(|| {
            sanxiang_testkit::tenant_api::sample_matters(&format!("{} 执法机关", t.agency), &cats)
        });
        let admin = self.tok(i, Role::AgencyAdmin);
        let reviewer = self.list_reviewer(i);
        sanxiang_testkit::tenant_api::publish_list(
            |method, path, token, body| async move {
                let url = format!("{}{path}", self.base);
                let (s, v) = self.call(method, &url, Some(&token), body).await?;
                Ok((s.as_u16(), v))
            },
            &t.agency,
            "matters",
            (&admin, &reviewer),
            Some(&items),
            effective_from.as_deref(),
        )
        .await
    }

    /// The token of the one reviewer of tenant `i`'s lists ([`list_reviewer_token`]).
    pub fn list_reviewer(&self, i: usize) -> String {
        list_reviewer_token(&self.tenants[i].tenant)
    }

    /// Publishes a matter list for tenant `i` ([`publish_matter_list`]).
    pub async fn publish_matter_list(
        &self,
        i: usize,
        items: Option<Value>,
        effective_from: Option<String>,
    ) -> anyhow::Result<Value> {
        if self.router.is_some() {
            return self
                .publish_matters_by_calls(i, items, effective_from)
                .await;
        }
        publish_matter_list(
            self.service().api_addr.port(),
            &self.tenants[i].tenant,
            items,
            effective_from,
        )
        .await
    }

    pub fn service(&self) -> &Service {
        self.service.as_ref().expect("service running")
    }

    pub fn agency(&self, i: usize) -> &str {
        &self.tenants[i].tenant.agency
    }

    pub fn token(&self, role: Role, agency: Option<&str>) -> String {
        token_for(Claims {
            sub: format!("{}-user", role.as_str()),
            agency: agency.map(Into::into),
            role,
            city: Some(self.tenants[0].tenant.city.clone()),
            province: Some(PROVINCE.into()),
            county: None,
            exp: (chrono::Utc::now().timestamp() + 3600) as u64,
            nbf: None,
        })
    }

    /// Token of `role` in tenant `i`.
    pub fn tok(&self, i: usize, role: Role) -> String {
        self.token(role, Some(self.agency(i)))
    }

    pub fn url(&self, i: usize, path: &str) -> String {
        format!("{}/api/v1/agencies/{}{}", self.base, self.agency(i), path)
    }

    pub async fn call(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        if let Some(router) = &self.router {
            return call_router(router, method, url, token, body).await;
        }
        let mut req = match method {
            "GET" => self.http.get(url),
            "POST" => self.http.post(url),
            "PUT" => self.http.put(url),
            "DELETE" => self.http.delete(url),
            _ => anyhow::bail!("method {method}"),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.context("request")?;
        let status = resp.status();
        let text = resp.text().await?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, value))
    }

    pub async fn get(
        &self,
        i: usize,
        path: &str,
        role: Role,
    ) -> anyhow::Result<(StatusCode, Value)> {
        self.call("GET", &self.url(i, path), Some(&self.tok(i, role)), None)
            .await
    }

    pub async fn post(
        &self,
        i: usize,
        path: &str,
        role: Role,
        body: Value,
    ) -> anyhow::Result<(StatusCode, Value)> {
        self.call(
            "POST",
            &self.url(i, path),
            Some(&self.tok(i, role)),
            Some(body),
        )
        .await
    }

    /// Adds an officer (valid 2020..2030 unless given) and returns its id.
    pub async fn add_person(
        &self,
        i: usize,
        name: &str,
        role: &str,
        cert: &str,
        valid_until: &str,
    ) -> anyhow::Result<String> {
        self.add_person_q(i, name, role, cert, valid_until, role == "legal_reviewer")
            .await
    }

    pub async fn add_person_q(
        &self,
        i: usize,
        name: &str,
        role: &str,
        cert: &str,
        valid_until: &str,
        legal_qualification: bool,
    ) -> anyhow::Result<String> {
        let (s, v) = self
            .post(
                i,
                "/personnel",
                Role::AgencyAdmin,
                json!({"name": name, "unit": "执法一队", "role": role, "certificateNumber": cert,
                    "categories": ["penalty", "coercion", "licensing", "inspection"], "region": "沈阳市",
                    "validFrom": "2020-01-01", "validUntil": valid_until,
                    "legalQualification": legal_qualification}),
            )
            .await?;
        anyhow::ensure!(s == StatusCode::CREATED, "add person: {s} {v}");
        Ok(v["id"].as_str().unwrap().to_string())
    }

    /// Adds a qualified legal reviewer whose tokens carry `subject`; returns the id.
    pub async fn add_reviewer(
        &self,
        i: usize,
        name: &str,
        cert: &str,
        subject: &str,
    ) -> anyhow::Result<String> {
        let (s, v) = self
            .post(
                i,
                "/personnel",
                Role::AgencyAdmin,
                json!({"name": name, "unit": "法制科", "role": "legal_reviewer", "certificateNumber": cert,
                    "categories": ["penalty", "coercion", "licensing", "inspection"], "region": "沈阳市",
                    "validFrom": "2020-01-01", "validUntil": "2030-12-31",
                    "legalQualification": true, "subject": subject}),
            )
            .await?;
        anyhow::ensure!(s == StatusCode::CREATED, "add reviewer: {s} {v}");
        Ok(v["id"].as_str().unwrap().to_string())
    }

    /// A token of `role` in tenant `i` for the person `sub`.
    pub fn tok_as(&self, i: usize, role: Role, sub: &str) -> String {
        token_for(Claims {
            sub: sub.into(),
            agency: Some(self.agency(i).into()),
            role,
            city: Some(self.tenants[i].tenant.city.clone()),
            province: Some(PROVINCE.into()),
            county: None,
            exp: soon(),
            nbf: None,
        })
    }

    /// Publishes an issued decision: an officer asks, a second person (another agency
    /// admin) approves. Returns the decision.
    pub async fn publish(&self, i: usize, id: &str) -> anyhow::Result<Value> {
        let (s, v) = self
            .post(
                i,
                &format!("/decisions/{id}/publish"),
                Role::Officer,
                json!({}),
            )
            .await?;
        anyhow::ensure!(s == StatusCode::ACCEPTED, "publish request: {s} {v}");
        let (s, v) = self
            .call(
                "POST",
                &self.url(i, &format!("/decisions/{id}/publication/approve")),
                Some(&self.tok_as(i, Role::AgencyAdmin, "admin-2")),
                Some(json!({})),
            )
            .await?;
        anyhow::ensure!(s == StatusCode::OK, "publication approval: {s} {v}");
        Ok(v)
    }

    /// The checklist of an approving opinion.
    pub fn checklist_pass() -> Value {
        json!({"subject": "pass", "officerQualification": "pass", "procedure": "pass",
            "factsAndEvidence": "pass", "lawAndDiscretion": "pass", "authority": "pass",
            "documents": "pass", "transferToJudicialOrgans": false})
    }

    /// A checklist with issues in law and discretion.
    pub fn checklist_issue() -> Value {
        let mut c = Self::checklist_pass();
        c["lawAndDiscretion"] = json!("issue");
        c
    }

    /// Creates a draft decision and returns its id.
    pub async fn draft(&self, i: usize, body: Value) -> anyhow::Result<String> {
        let (s, v) = self.post(i, "/decisions", Role::Officer, body).await?;
        anyhow::ensure!(s == StatusCode::CREATED, "draft: {s} {v}");
        Ok(v["id"].as_str().unwrap().to_string())
    }

    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(self
            .http
            .get(format!("{}/metrics", self.admin))
            .send()
            .await?
            .text()
            .await?)
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.service.take() {
            s.stop().await;
        }
        for t in &self.tenants {
            if let Err(e) = t.scope.cleanup().await {
                eprintln!("cleanup {}: {e}", t.scope.database);
            }
        }
    }
}

/// The token of the one reviewer of `t`'s lists: the same-level justice bureau
/// (`county_supervisor` of a county agency's county, else `city_supervisor` of its city).
pub fn list_reviewer_token(t: &Tenant) -> String {
    let place = sanxiang_testkit::tenant_api::Place {
        province: &t.province,
        city: &t.city,
        county: &t.county,
    };
    sanxiang_testkit::token::hs256(SECRET, &place.justice_bureau()).expect("token")
}

/// Publishes a matter list for `t` on the tenant service at 127.0.0.1:`port` the way an
/// agency does ([`sanxiang_testkit::tenant_api::publish_matters`]: draft, submit, the justice
/// bureau approves, publish): `items`, or the sample matters of the tenant's categories;
/// from `effective_from` (default: the service's today). Returns the published version.
pub async fn publish_matter_list(
    port: u16,
    t: &Tenant,
    items: Option<Value>,
    effective_from: Option<String>,
) -> anyhow::Result<Value> {
    let cats: Vec<&str> = t.categories.iter().map(|c| c.code()).collect();
    let items = items.unwrap_or_else(|| {
        sanxiang_testkit::tenant_api::sample_matters(&format!("{} 执法机关", t.agency), &cats)
    });
    let t = t.clone();
    tokio::task::spawn_blocking(move || {
        let place = sanxiang_testkit::tenant_api::Place {
            province: &t.province,
            city: &t.city,
            county: &t.county,
        };
        sanxiang_testkit::tenant_api::publish_matters(
            port,
            SECRET,
            &t.agency,
            place,
            Some(items),
            effective_from.as_deref(),
        )
    })
    .await?
}

/// `claims` signed with the harness's [`SECRET`] by the testkit's one minter.
pub fn token_for(claims: Claims) -> String {
    sanxiang_testkit::token::hs256(SECRET, &claims).expect("claims serialize")
}

/// A penalty decision against a natural person, of the sample penalty matter.
pub fn penalty(doc: &str) -> Value {
    json!({
        "documentNumber": doc,
        "category": "penalty",
        "matter": matter("penalty"),
        "procedure": "general",
        "party": {"kind": "natural_person", "name": "张三", "idNumber": "21010219900101123X",
                  "phone": "13812345678", "address": "沈阳市和平区南京街1号"},
        "otherPersons": ["李小明"],
        "facts": "张三（住沈阳市和平区南京街1号，电话13812345678，身份证号21010219900101123X）销售过期食品，证人李小明在场。",
        "legalBasis": "《中华人民共和国食品安全法》第一百二十四条",
        "conclusion": "罚款人民币5000元"
    })
}

/// The sample matter of `category` on the harness's matter list.
pub fn matter(category: &str) -> &'static str {
    sanxiang_testkit::tenant_api::sample_matter(category)
}

/// Reads `name{...agency="a"...} value` from a metrics page.
pub fn metric(page: &str, name: &str, agency: &str) -> Option<f64> {
    page.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .find(|l| l.contains(&format!("agency=\"{agency}\"")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// One request to the in-process router, answered as [`Harness::call`] answers.
async fn call_router(
    router: &axum::Router,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, Value)> {
    use tower::ServiceExt;
    let path = url.strip_prefix(IN_PROCESS).context("an in-process URL")?;
    let mut req = axum::http::Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(axum::body::Body::from(serde_json::to_vec(&b)?))?,
        None => req.body(axum::body::Body::empty())?,
    };
    let resp = router.clone().oneshot(req).await?;
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await?;
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Ok((status, value))
}
