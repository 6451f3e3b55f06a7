//! The public router on an in-memory index (no NATS, no Kubernetes): what the pages and
//! the API show, and how they refuse bad input. The real-platform tests are in
//! `platform.rs`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sanxiang_disclosure::directory::{AgencyEntry, Directory, Place};
use sanxiang_disclosure::index::{SearchIndex, Writer};
use sanxiang_disclosure::ingest;
use sanxiang_disclosure::metrics::Metrics;
use sanxiang_disclosure::web::{self, AppState, WebSettings};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

const AGENCY: &str = "tieling-county-market";
const DISPLAY: &str = "铁岭县市场监督管理局";

fn credit_code() -> String {
    let first17 = "11211221MB0123456";
    let check = sanxiang_crds::credit_code::check_character(first17).unwrap();
    format!("{first17}{check}")
}

fn directory() -> Directory {
    let d = Directory::default();
    for (code, name, level, parent) in [
        ("210000", "辽宁省", "Province", None),
        ("211200", "铁岭市", "City", Some("210000")),
        ("211221", "铁岭县", "County", Some("211200")),
    ] {
        d.upsert_place(Place {
            code: code.into(),
            display_name: name.into(),
            level: level.into(),
            parent: parent.map(Into::into),
        });
    }
    d.upsert_agency(AgencyEntry {
        name: AGENCY.into(),
        display_name: DISPLAY.into(),
        credit_code: credit_code(),
        jurisdiction: "211221".into(),
        categories: vec!["penalty".into(), "licensing".into()],
    });
    d.mark_synced();
    d
}

fn envelope(id: Uuid, event: &str, data: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id, "event": event, "agency": AGENCY, "province": "210000",
        "city": "211200", "county": "211221", "occurredAt": "2026-03-03T09:00:00Z", "data": data,
    }))
    .unwrap()
}

fn publication(id: Uuid, n: u32, day: u32, facts: &str) -> Value {
    json!({
        "id": id, "documentNumber": format!("铁县市监罚〔2026〕{n}号"), "agency": AGENCY,
        "province": "210000", "city": "211200", "county": "211221", "category": "penalty",
        "procedure": "general", "target": "张三", "targetCode": "210102********123X",
        "facts": facts, "legalBasis": "《中华人民共和国食品安全法》第一百二十四条",
        "conclusion": "罚款人民币5000元", "decidedOn": format!("2026-03-{day:02}"),
        "publishedAt": "2026-03-03T09:00:00Z",
    })
}

struct Rig {
    app: axum::Router,
    index: Arc<SearchIndex>,
    writer: Writer,
    metrics: Arc<Metrics>,
    seq: u64,
}

impl Rig {
    fn new(settings: WebSettings) -> Self {
        let index = Arc::new(SearchIndex::in_memory().unwrap());
        let dir = directory();
        let d = dir.clone();
        let writer = Writer::new(
            &index,
            "SX_PROVINCE_210000",
            20_000_000,
            Box::new(move |a| d.agency(a).map(|a| a.display_name)),
        )
        .unwrap();
        let metrics = Arc::new(Metrics::new("SX_PROVINCE_210000"));
        let app = web::router(AppState::new(index.clone(), dir, metrics.clone(), settings));
        Self {
            app,
            index,
            writer,
            metrics,
            seq: 0,
        }
    }

    fn apply(&mut self, payload: &[u8]) {
        self.seq += 1;
        ingest::apply_message(
            &mut self.writer,
            &self.index,
            &self.metrics,
            payload,
            self.seq,
        )
        .unwrap();
        self.writer.commit(&self.index).unwrap();
    }

    async fn get(&self, uri: &str) -> (StatusCode, String, axum::http::HeaderMap) {
        self.get_with(uri, &[]).await
    }

    async fn get_with(
        &self,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, String, axum::http::HeaderMap) {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self
            .app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap(), headers)
    }

    async fn json(&self, uri: &str) -> (StatusCode, Value) {
        let (s, body, _) = self.get(uri).await;
        (s, serde_json::from_str(&body).unwrap_or(Value::Null))
    }
}

fn q(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).unwrap()[1..].to_string()
}

#[tokio::test]
async fn finds_by_word_agency_name_and_document_number() {
    let mut rig = Rig::new(WebSettings::default());
    let id = Uuid::new_v4();
    rig.apply(&envelope(
        Uuid::new_v4(),
        "disclosure",
        publication(
            id,
            3,
            2,
            "张三（住***，电话138****5678）销售过期食品，证人李**在场。",
        ),
    ));
    for query in [
        format!("q={}", q("过期")),
        format!("q={}", q("过期食品")),
        format!("q={}", q(DISPLAY)),
        format!("agency={}", q(DISPLAY)),
        format!("agency={}", q("铁岭县市场")),
        format!("agency={}", credit_code()),
        format!("documentNumber={}", q("铁县市监罚〔2026〕3号")),
        format!("q={}", q("监罚〔2026〕3号")),
        "city=211200&county=211221&category=penalty&procedure=general&from=2026-03-01&to=2026-03-02".into(),
    ] {
        let (s, v) = rig.json(&format!("/api/v1/decisions?{query}")).await;
        assert_eq!(s, StatusCode::OK, "{query}: {v}");
        assert_eq!(v["total"], 1, "{query}: {v}");
        let item = &v["items"][0];
        assert_eq!(item["agency"]["displayName"], DISPLAY);
        assert_eq!(item["county"]["name"], "铁岭县");
        assert_eq!(item["category"]["name"], "行政处罚");
    }
    for query in [
        format!("q={}", q("南京街")),
        "from=2026-03-03".into(),
        "category=licensing".into(),
        format!("q={}", q("过期 许可")),
    ] {
        let (_, v) = rig.json(&format!("/api/v1/decisions?{query}")).await;
        assert_eq!(v["total"], 0, "{query}: {v}");
    }
    // Pages in Chinese.
    let (s, html, _) = rig.get(&format!("/?q={}", q("过期"))).await;
    assert_eq!(s, StatusCode::OK);
    for text in [
        DISPLAY,
        "铁岭市 铁岭县",
        "行政处罚",
        "<label for=\"q\">",
        "lang=\"zh-CN\"",
    ] {
        assert!(html.contains(text), "{text} missing from {html}");
    }
    let (s, html, _) = rig.get(&format!("/decisions/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<h1>铁县市监罚〔2026〕3号</h1>") && html.contains("一般程序"));
    let (s, html, _) = rig.get("/agencies").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<h2>铁岭市</h2>") && html.contains("<h3>铁岭县</h3>"));
}

#[tokio::test]
async fn withdrawal_hides_and_leaves_a_notice_in_any_order() {
    let mut rig = Rig::new(WebSettings::default());
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let withdrawal = |id: Uuid| {
        envelope(
            Uuid::new_v4(),
            "withdrawal",
            json!({"id": id, "documentNumber": "铁县市监罚〔2026〕9号", "reason": "行政复议决定撤销",
                   "withdrawnAt": "2026-03-05T02:00:00Z"}),
        )
    };
    // a: disclosure then withdrawal; b: withdrawal first.
    rig.apply(&envelope(
        Uuid::new_v4(),
        "disclosure",
        publication(a, 8, 2, "销售过期食品"),
    ));
    rig.apply(&withdrawal(a));
    rig.apply(&withdrawal(b));
    let disclosure_b = envelope(
        Uuid::new_v4(),
        "disclosure",
        publication(b, 9, 2, "销售过期食品"),
    );
    rig.apply(&disclosure_b);
    rig.apply(&disclosure_b); // redelivered
    let (_, v) = rig
        .json(&format!("/api/v1/decisions?q={}", q("过期")))
        .await;
    assert_eq!(v["total"], 0, "{v}");
    let (s, v) = rig.json(&format!("/api/v1/decisions/{b}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["withdrawal"]["reason"], "行政复议决定撤销");
    assert!(
        v.get("facts").is_none(),
        "a withdrawn decision shows only its notice: {v}"
    );
    let (_, html, _) = rig.get(&format!("/decisions/{b}")).await;
    assert!(
        html.contains("撤回公告")
            && html.contains("2026年03月05日")
            && html.contains("行政复议决定撤销")
    );
    let (_, v) = rig.json("/api/v1/withdrawals").await;
    assert_eq!(v["total"], 2);
    assert_eq!(rig.metrics.duplicates.get(), 1);
}

#[tokio::test]
async fn corrections_statistics_and_unknown_events() {
    let mut rig = Rig::new(WebSettings::default());
    let id = Uuid::new_v4();
    let mut corrected = publication(id, 4, 2, "更正后的事实：销售变质食品");
    corrected["version"] = json!(2);
    corrected["reason"] = json!("更正笔误");
    rig.apply(&envelope(Uuid::new_v4(), "correction", corrected));
    rig.apply(&envelope(
        Uuid::new_v4(),
        "disclosure",
        publication(id, 4, 2, "原始事实"),
    ));
    rig.apply(&envelope(Uuid::new_v4(), "audit_trail", json!({})));
    rig.apply(b"not json");
    rig.apply(&envelope(
        Uuid::new_v4(),
        "statistics",
        json!({"year": 2025, "reportedAt": "2026-01-10T00:00:00Z",
               "figures": {"penalty": {"decisions": 12, "general": 10, "simple": 2, "published": 11, "revoked": 1}}}),
    ));
    let (_, v) = rig.json(&format!("/api/v1/decisions/{id}")).await;
    assert_eq!(
        (v["version"].clone(), v["facts"].clone()),
        (json!(2), json!("更正后的事实：销售变质食品"))
    );
    assert_eq!(v["correctionReason"], "更正笔误");
    let (_, v) = rig
        .json(&format!("/api/v1/decisions?q={}", q("原始事实")))
        .await;
    assert_eq!(v["total"], 0, "the replaced text is no longer searchable");
    let skipped = rig.metrics.render();
    assert!(skipped.contains("sanxiang_disclosure_events_skipped_total{reason=\"unknown_event\",stream=\"SX_PROVINCE_210000\"} 1"), "{skipped}");
    assert!(skipped.contains("reason=\"malformed\""));
    let (_, v) = rig.json(&format!("/api/v1/agencies/{AGENCY}")).await;
    assert_eq!(v["statistics"][0]["year"], 2025);
    assert_eq!(v["statistics"][0]["figures"]["penalty"]["decisions"], 12);
    let (_, html, _) = rig.get(&format!("/agencies/{AGENCY}")).await;
    assert!(
        html.contains("2025年度行政执法数据") && html.contains("<td>12</td>"),
        "{html}"
    );
}

#[tokio::test]
async fn keyset_pages_reach_every_item_once() {
    let mut rig = Rig::new(WebSettings::default());
    let mut ids = Vec::new();
    for n in 0..47u32 {
        let id = Uuid::new_v4();
        ids.push(id.to_string());
        // Several per day, so ties on the date are crossed by pages.
        rig.seq += 1;
        let p = envelope(
            Uuid::new_v4(),
            "disclosure",
            publication(id, n, 1 + n % 5, "销售过期食品"),
        );
        ingest::apply_message(&mut rig.writer, &rig.index, &rig.metrics, &p, rig.seq).unwrap();
    }
    rig.writer.commit(&rig.index).unwrap();
    for sort in ["newest", "relevance"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut last_date = "9999".to_string();
        loop {
            let mut uri = format!("/api/v1/decisions?q={}&sort={sort}&limit=10", q("过期"));
            if let Some(c) = &cursor {
                uri.push_str(&format!("&cursor={c}"));
            }
            let (s, v) = rig.json(&uri).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            for item in v["items"].as_array().unwrap() {
                seen.push(item["id"].as_str().unwrap().to_string());
                let date = item["decidedOn"].as_str().unwrap().to_string();
                if sort == "newest" {
                    assert!(date <= last_date, "newest first");
                    last_date = date;
                }
            }
            match v["next"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 47, "{sort}: every item once");
        assert_eq!(seen.len(), 47, "{sort}: no item twice");
    }
}

#[tokio::test]
async fn bad_parameters_are_named_in_chinese() {
    let rig = Rig::new(WebSettings::default());
    let long = "罚".repeat(101);
    for (uri, param) in [
        ("/api/v1/decisions?from=2026-13-01".to_string(), "from"),
        (
            "/api/v1/decisions?from=2026-03-02&to=2026-03-01".into(),
            "to",
        ),
        ("/api/v1/decisions?category=bogus".into(), "category"),
        ("/api/v1/decisions?city=2101".into(), "city"),
        ("/api/v1/decisions?limit=1000".into(), "limit"),
        ("/api/v1/decisions?cursor=xyz".into(), "cursor"),
        ("/api/v1/decisions?party=123".into(), "party"),
        ("/api/v1/decisions?sort=oldest".into(), "sort"),
        ("/api/v1/decisions?color=red".into(), "color"),
        ("/api/v1/decisions?q=a&q=b".into(), "q"),
        (format!("/api/v1/decisions?q={}", q(&long)), "q"),
        ("/api/v1/withdrawals?limit=0".into(), "limit"),
    ] {
        let (s, v) = rig.json(&uri).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert_eq!(v["parameter"], param, "{uri}: {v}");
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .starts_with(&format!("参数 {param} 无效")),
            "{v}"
        );
    }
    let (s, html, headers) = rig.get("/?category=bogus").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("参数 category 无效") && html.contains("<code>category</code>"),
        "{html}"
    );
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let (s, v) = rig.json("/api/v1/nothing").await;
    assert_eq!(
        (s, v["status"].clone()),
        (StatusCode::NOT_FOUND, json!(404))
    );
    let (s, _, _) = rig.get(&format!("/decisions/{}", Uuid::new_v4())).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = rig.get("/decisions/not-a-uuid").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rate_limit_etag_cors_and_retention() {
    let mut rig = Rig::new(WebSettings {
        rate_limit_per_second: 1.0,
        rate_limit_burst: 5.0,
        cors_origins: vec!["https://www.ln.gov.cn".into()],
        natural_person_retention_days: Some(30),
        ..Default::default()
    });
    // A person's publication from 2026-03-03 is past 30 days by now (the tests run later);
    // an organisation's stays.
    let (person, org) = (Uuid::new_v4(), Uuid::new_v4());
    rig.apply(&envelope(
        Uuid::new_v4(),
        "disclosure",
        publication(person, 1, 2, "销售过期食品"),
    ));
    let mut o = publication(org, 2, 2, "销售过期食品");
    o["target"] = json!("铁岭某某食品有限公司");
    o["targetCode"] = json!(credit_code());
    rig.apply(&envelope(Uuid::new_v4(), "disclosure", o));
    let (_, v) = rig.json("/api/v1/decisions").await;
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["items"][0]["id"], org.to_string());
    let (s, _, _) = rig.get(&format!("/decisions/{person}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, _, headers) = rig
        .get_with("/api/v1/decisions", &[("origin", "https://www.ln.gov.cn")])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://www.ln.gov.cn"
    );
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=10");
    let (s, body, _) = rig
        .get_with("/api/v1/decisions", &[("if-none-match", &etag)])
        .await;
    assert_eq!((s, body.as_str()), (StatusCode::NOT_MODIFIED, ""));
    let (_, _, headers) = rig
        .get_with("/api/v1/decisions", &[("origin", "https://evil.example")])
        .await;
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    // Burst of 5 used up by now (5 requests above): refused with 429 in Chinese.
    let (s, v) = rig.json("/api/v1/decisions").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(v["error"].as_str().unwrap().contains("请求过于频繁"));
    let (s, html, headers) = rig.get("/").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(html.contains("请求过于频繁") && headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn openapi_lists_exactly_the_routed_api() {
    let rig = Rig::new(WebSettings::default());
    let (s, doc) = rig.json("/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths.len(), web::openapi::PATHS.len());
    for p in web::openapi::PATHS {
        assert!(doc["paths"].get(p).is_some(), "{p}");
        let concrete = p
            .replace("{id}", &Uuid::new_v4().to_string())
            .replace("{name}", AGENCY);
        let (s, v) = rig.json(&concrete).await;
        assert!(
            s == StatusCode::OK || s == StatusCode::NOT_FOUND && v["status"] == 404,
            "{p}: {s}"
        );
        assert_ne!(
            v["error"], "没有这个接口。",
            "{p} is documented but not routed"
        );
    }
    // Generated from the handlers: operation ids unique, every answer of the API (not the
    // document itself) typed, every error a Problem; served as committed.
    let mut ids = std::collections::BTreeSet::new();
    for (p, item) in doc["paths"].as_object().unwrap() {
        let op = &item["get"];
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{p}"));
        assert!(ids.insert(id.to_string()), "{p}: operation id {id} twice");
        let ok = &op["responses"]["200"]["content"]["application/json"]["schema"];
        if p != "/api/v1/openapi.json" {
            assert!(ok["$ref"].is_string(), "{p}: 200 {ok}");
        }
        for (status, r) in op["responses"].as_object().unwrap() {
            if !["200", "304"].contains(&status.as_str()) {
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{p} {status}"
                );
            }
        }
    }
    let (_, served, headers) = rig.get("/api/v1/openapi.json").await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        served,
        include_str!("../openapi.json"),
        "run `cargo xtask generate`"
    );
}

/// Newest-first pages are searched in windows of days (1, 2, 4 … days from the newest,
/// then the rest at once): pages through the boundaries of windows, filtered or not,
/// give every match once, exactly in the order of the sort key.
#[tokio::test]
async fn newest_pages_cross_day_windows_in_key_order() {
    let mut rig = Rig::new(WebSettings {
        rate_limit_burst: 10_000.0,
        ..Default::default()
    });
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let mut docs = Vec::new();
    for n in 0..90u32 {
        let id = Uuid::new_v4();
        // Clusters on a few days near the newest, gaps of weeks, a long tail of years.
        let offset = match n % 3 {
            0 => 1100 - (n % 4),
            1 => 1100 - (n * 7) % 130,
            _ => (n * n * 13) % 1100,
        };
        let day = start + chrono::Duration::days(i64::from(offset));
        let facts = if n % 2 == 0 {
            "销售过期食品"
        } else {
            "超限超载运输"
        };
        let mut p = publication(id, n, 1, facts);
        p["decidedOn"] = json!(day.to_string());
        rig.seq += 1;
        let e = envelope(Uuid::new_v4(), "disclosure", p);
        ingest::apply_message(&mut rig.writer, &rig.index, &rig.metrics, &e, rig.seq).unwrap();
        docs.push((sanxiang_disclosure::index::sort_key(day, id), id, day, n));
    }
    rig.writer.commit(&rig.index).unwrap();
    docs.sort_by_key(|d| std::cmp::Reverse(d.0));
    let from = start + chrono::Duration::days(900);
    let to = start + chrono::Duration::days(1098);
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            String::new(),
            docs.iter().map(|d| d.1.to_string()).collect(),
        ),
        (
            format!("q={}&", q("过期")),
            docs.iter()
                .filter(|d| d.3 % 2 == 0)
                .map(|d| d.1.to_string())
                .collect(),
        ),
        (
            format!("from={from}&to={to}&"),
            docs.iter()
                .filter(|d| (from..=to).contains(&d.2))
                .map(|d| d.1.to_string())
                .collect(),
        ),
    ];
    for (filter, expected) in cases {
        assert!(expected.len() > 10, "{filter}: a few pages");
        for limit in [3, 7] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut uri = format!("/api/v1/decisions?{filter}limit={limit}");
                if let Some(c) = &cursor {
                    uri.push_str(&format!("&cursor={c}"));
                }
                let (s, v) = rig.json(&uri).await;
                assert_eq!(s, StatusCode::OK, "{v}");
                if cursor.is_none() {
                    assert_eq!(v["total"], expected.len(), "{filter}: {v}");
                    assert_eq!(v["totalExact"], true, "{filter}: {v}");
                }
                for item in v["items"].as_array().unwrap() {
                    seen.push(item["id"].as_str().unwrap().to_string());
                }
                match v["next"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
            }
            assert_eq!(
                seen, expected,
                "{filter} limit {limit}: key order, each once"
            );
        }
    }
}

/// Past the counting limit the first page says "more than" instead of counting on.
#[tokio::test]
async fn counts_stop_at_the_limit_and_say_more_than() {
    let mut rig = Rig::new(WebSettings {
        count_limit: 3,
        ..Default::default()
    });
    for n in 0..5u32 {
        let p = publication(Uuid::new_v4(), n, 1 + n, "销售过期食品");
        rig.apply(&envelope(Uuid::new_v4(), "disclosure", p));
    }
    let (_, v) = rig.json("/api/v1/decisions?limit=2").await;
    assert_eq!(
        (v["total"].clone(), v["totalExact"].clone()),
        (json!(3), json!(false)),
        "{v}"
    );
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let (_, v) = rig
        .json(&format!(
            "/api/v1/decisions?limit=2&cursor={}",
            v["next"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        (v["total"].clone(), v["totalExact"].clone()),
        (Value::Null, Value::Null),
        "{v}"
    );
    // At the limit or under it the count is exact.
    let (_, v) = rig.json("/api/v1/decisions?from=2026-03-03").await;
    assert_eq!(
        (v["total"].clone(), v["totalExact"].clone()),
        (json!(3), json!(true)),
        "{v}"
    );
    let (_, html, _) = rig.get(&format!("/?q={}", q("过期"))).await;
    assert!(html.contains("超过 3 条，可添加条件缩小范围"), "{html}");
    let (_, html, _) = rig.get("/?from=2026-03-04").await;
    assert!(html.contains("共 2 条"), "{html}");
}
