//! What the platform takes from the directory, applied to the decisions already indexed
//! (in memory; the real-platform run is `directory_live.rs`): each agency's own retention
//! periods in every public output, a renamed agency or place found under its new name
//! only, and random-inspection results on the agency page and in the API.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sanxiang_disclosure::directory::{AgencyEntry, Directory, Place};
use sanxiang_disclosure::index::{SearchIndex, Writer};
use sanxiang_disclosure::metrics::Metrics;
use sanxiang_disclosure::retention::Retention;
use sanxiang_disclosure::web::{self, AppState, WebSettings};
use sanxiang_disclosure::{ingest, reindex};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

/// Keeps natural persons 30 days, everything a year.
const SHORT: &str = "yinzhou-market";
/// No retention policy: keeps everything.
const KEEP: &str = "tieling-county-market";

fn credit_code(n: u32) -> String {
    let first17 = format!("11211221MB{n:07}");
    let check = sanxiang_crds::credit_code::check_character(&first17).unwrap();
    format!("{first17}{check}")
}

fn agency(name: &str, display: &str, n: u32) -> AgencyEntry {
    AgencyEntry {
        name: name.into(),
        display_name: display.into(),
        credit_code: credit_code(n),
        jurisdiction: "211221".into(),
        categories: vec!["penalty".into(), "inspection".into()],
    }
}

fn county(name: &str) -> Place {
    Place {
        code: "211221".into(),
        display_name: name.into(),
        level: "County".into(),
        parent: Some("211200".into()),
    }
}

struct Rig {
    app: axum::Router,
    index: Arc<SearchIndex>,
    writer: Writer,
    metrics: Arc<Metrics>,
    dir: Directory,
    seq: u64,
}

impl Rig {
    fn new() -> Self {
        let dir = Directory::default();
        dir.upsert_place(Place {
            code: "211200".into(),
            display_name: "铁岭市".into(),
            level: "City".into(),
            parent: Some("210000".into()),
        });
        dir.upsert_place(county("铁岭县"));
        dir.apply_agency(
            agency(SHORT, "银州区市场监督管理局", 1),
            Retention {
                publication_days: Some(365),
                natural_person_days: Some(30),
            },
        );
        dir.upsert_agency(agency(KEEP, "铁岭县市场监督管理局", 2));
        dir.mark_synced();
        let index = Arc::new(SearchIndex::in_memory().unwrap());
        let writer =
            Writer::with_directory(&index, "SX_PROVINCE_210000", 20_000_000, dir.clone()).unwrap();
        let metrics = Arc::new(Metrics::new("SX_PROVINCE_210000"));
        let app = web::router(AppState::new(
            index.clone(),
            dir.clone(),
            metrics.clone(),
            WebSettings {
                rate_limit_burst: 10_000.0,
                ..Default::default()
            },
        ));
        Self {
            app,
            index,
            writer,
            metrics,
            dir,
            seq: 0,
        }
    }

    fn apply(&mut self, agency: &str, event: &str, data: Value) {
        self.seq += 1;
        let payload = serde_json::to_vec(&json!({
            "id": Uuid::new_v4(), "event": event, "agency": agency, "province": "210000",
            "city": "211200", "county": "211221", "occurredAt": "2026-03-03T09:00:00Z", "data": data,
        }))
        .unwrap();
        self.apply_raw(&payload);
    }

    fn apply_raw(&mut self, payload: &[u8]) {
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

    /// What the stream follower does when the directory wakes it.
    fn follow_directory(&mut self) -> reindex::Round {
        let mut total = reindex::Round::default();
        loop {
            let r = reindex::round(&mut self.writer, &self.index, 3).unwrap();
            total.checked += r.checked;
            total.rewritten += r.rewritten;
            if !r.more {
                return total;
            }
        }
    }

    async fn get(&self, uri: &str) -> (StatusCode, String) {
        let res = self
            .app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn json(&self, uri: &str) -> (StatusCode, Value) {
        let (s, body) = self.get(uri).await;
        (s, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    async fn total(&self, query: &str) -> u64 {
        let (s, v) = self.json(&format!("/api/v1/decisions?{query}")).await;
        assert_eq!(s, StatusCode::OK, "{query}: {v}");
        v["total"].as_u64().unwrap()
    }
}

fn q(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).unwrap()[1..].to_string()
}

/// A disclosure published `days_ago` days ago, of a person or (with a valid credit code)
/// an organisation.
fn publication(id: Uuid, agency: &str, n: u32, person: bool, days_ago: i64) -> Value {
    let published = chrono::Utc::now() - chrono::Duration::days(days_ago);
    json!({
        "id": id, "documentNumber": format!("铁县市监罚〔2026〕{n}号"), "agency": agency,
        "category": "penalty", "procedure": "general",
        "target": if person { "张三" } else { "铁岭某某食品有限公司" },
        "targetCode": if person { "210102********123X".to_string() } else { credit_code(90 + n) },
        "partyKind": if person { "natural_person" } else { "organisation" },
        "facts": "销售过期食品", "legalBasis": "《中华人民共和国食品安全法》第一百二十四条",
        "conclusion": "罚款人民币5000元", "decidedOn": published.date_naive().to_string(),
        "publishedAt": published.to_rfc3339(),
    })
}

#[tokio::test]
async fn each_agency_keeps_its_items_for_its_own_periods_in_every_output() {
    let mut rig = Rig::new();
    let ids: Vec<Uuid> = (0..6).map(|_| Uuid::new_v4()).collect();
    // SHORT: a person 60 days ago (past 30), a person 5 days ago, an organisation 60 days
    // ago (within a year), an organisation 400 days ago (past a year).
    rig.apply(SHORT, "disclosure", publication(ids[0], SHORT, 1, true, 60));
    rig.apply(SHORT, "disclosure", publication(ids[1], SHORT, 2, true, 5));
    rig.apply(
        SHORT,
        "disclosure",
        publication(ids[2], SHORT, 3, false, 60),
    );
    rig.apply(
        SHORT,
        "disclosure",
        publication(ids[3], SHORT, 4, false, 400),
    );
    // KEEP: the same old person's item stays.
    rig.apply(KEEP, "disclosure", publication(ids[4], KEEP, 5, true, 400));
    // A withdrawn old person's decision of SHORT: the notice stays (Art. 48).
    rig.apply(SHORT, "disclosure", publication(ids[5], SHORT, 6, true, 90));
    rig.apply(
        SHORT,
        "withdrawal",
        json!({"id": ids[5], "documentNumber": "铁县市监罚〔2026〕6号", "reason": "行政复议决定撤销",
               "withdrawnAt": "2026-03-05T02:00:00Z"}),
    );
    let shown = [ids[1], ids[2], ids[4]];
    let hidden = [ids[0], ids[3]];

    // Search hits and counts, JSON and HTML.
    assert_eq!(rig.total("").await, 3);
    assert_eq!(rig.total(&format!("q={}", q("过期"))).await, 3);
    assert_eq!(rig.total(&format!("q={}", q("张三"))).await, 2);
    assert_eq!(rig.total(&format!("agency={SHORT}")).await, 2);
    assert_eq!(
        rig.total(&format!("documentNumber={}", q("铁县市监罚〔2026〕1号")))
            .await,
        0
    );
    let (_, v) = rig.json("/api/v1/decisions?limit=100").await;
    let listed: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    for id in shown {
        assert!(listed.contains(&id.to_string().as_str()), "{id} shown");
    }
    let (_, html) = rig.get(&format!("/?q={}", q("过期"))).await;
    assert!(html.contains("共 3 条"), "{html}");
    // Detail pages and the API.
    for id in hidden {
        let (s, _) = rig.get(&format!("/decisions/{id}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{id} hidden");
        let (s, _) = rig.json(&format!("/api/v1/decisions/{id}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    for id in shown {
        let (s, v) = rig.json(&format!("/api/v1/decisions/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{id}: {v}");
    }
    let (s, v) = rig.json(&format!("/api/v1/decisions/{}", ids[5])).await;
    assert_eq!(s, StatusCode::OK, "the withdrawal notice stays: {v}");
    assert_eq!(v["withdrawal"]["reason"], "行政复议决定撤销");
    let (_, v) = rig.json("/api/v1/withdrawals").await;
    assert_eq!(v["total"], 1);
    // The agency page and its count.
    let (_, v) = rig.json(&format!("/api/v1/agencies/{SHORT}")).await;
    assert_eq!(v["decisions"], 2, "{v}");
    let (_, html) = rig.get(&format!("/agencies/{SHORT}")).await;
    assert!(
        html.contains("共 2 条") && !html.contains("铁县市监罚〔2026〕1号"),
        "{html}"
    );
    let (_, v) = rig.json(&format!("/api/v1/agencies/{KEEP}")).await;
    assert_eq!(v["decisions"], 1);

    // The city lifts the natural-person period (policies only tighten downwards, but a
    // city may drop its own): the person's item is back once the follower has run.
    rig.dir.set_retention(
        SHORT,
        Retention {
            publication_days: Some(365),
            natural_person_days: None,
        },
    );
    let round = rig.follow_directory();
    assert_eq!(round.rewritten, 5, "every decision of the agency, once");
    assert_eq!(rig.total(&format!("agency={SHORT}")).await, 3);
    let (s, _) = rig.json(&format!("/api/v1/decisions/{}", ids[0])).await;
    assert_eq!(s, StatusCode::OK);
    // Nothing changed since: a second pass rewrites nothing.
    rig.dir.mark_stale(None);
    assert_eq!(rig.follow_directory().rewritten, 0);
    // The province shortens the period for everything to 10 days.
    rig.dir.set_retention(
        SHORT,
        Retention {
            publication_days: Some(10),
            natural_person_days: None,
        },
    );
    assert_eq!(rig.follow_directory().rewritten, 5);
    assert_eq!(rig.total(&format!("agency={SHORT}")).await, 1);
    assert_eq!(
        rig.total(&format!("agency={KEEP}")).await,
        1,
        "another agency's own"
    );
}

#[tokio::test]
async fn a_renamed_agency_or_place_is_found_under_its_new_name_only() {
    let mut rig = Rig::new();
    let id = Uuid::new_v4();
    rig.apply(KEEP, "disclosure", publication(id, KEEP, 1, false, 3));
    assert_eq!(
        rig.total(&format!("q={}", q("铁岭县市场监督管理局"))).await,
        1
    );
    assert_eq!(rig.total(&format!("q={}", q("铁岭县"))).await, 1);

    rig.dir
        .upsert_agency(agency(KEEP, "铁岭区市场监管综合执法局", 2));
    let round = rig.follow_directory();
    assert_eq!((round.checked, round.rewritten), (1, 1));
    assert_eq!(
        rig.total(&format!("q={}", q("市场监管综合执法局"))).await,
        1
    );
    assert_eq!(
        rig.total(&format!("q={}", q("铁岭县市场监督管理局"))).await,
        0
    );
    assert_eq!(
        rig.total(&format!("agency={}", q("市场监督管理局"))).await,
        0
    );
    let (_, v) = rig.json(&format!("/api/v1/decisions/{id}")).await;
    assert_eq!(v["agency"]["displayName"], "铁岭区市场监管综合执法局");
    // The county's name is indexed with its agencies' decisions too.
    assert_eq!(rig.total(&format!("q={}", q("铁岭县"))).await, 1);

    // 撤县设区: the county becomes a district.
    rig.dir.upsert_place(county("铁岭区"));
    let round = rig.follow_directory();
    assert_eq!(round.rewritten, 1, "{round:?}");
    assert_eq!(rig.total(&format!("q={}", q("铁岭区"))).await, 1);
    assert_eq!(rig.total(&format!("q={}", q("铁岭县"))).await, 0);
    let (_, v) = rig.json(&format!("/api/v1/decisions/{id}")).await;
    assert_eq!(v["county"]["name"], "铁岭区");
}

#[tokio::test]
async fn inspection_results_are_shown_once_with_public_fields_only() {
    let mut rig = Rig::new();
    let draw = Uuid::new_v4();
    rig.apply(
        KEEP,
        "list_publication",
        json!({"kind": "random_inspections", "version": 1, "effectiveFrom": "2026-03-01",
               "items": [{"code": "SJ-001", "name": "食品经营者监督抽查", "inspector": "铁岭县市场监督管理局",
                          "legalBasis": "《中华人民共和国食品安全法》第一百一十条", "targets": "辖区内食品经营者",
                          "content": "许可证照", "ratioPermille": 200, "inspectorsPerTarget": 2,
                          "method": "现场检查", "frequency": "每年一次"}]}),
    );
    let results = serde_json::to_vec(&json!({
        "id": Uuid::new_v4(), "event": "inspection_results", "agency": KEEP, "province": "210000",
        "city": "211200", "county": "211221", "occurredAt": "2026-03-05T02:00:00Z",
        "data": {"draw": draw, "item": "SJ-001", "listVersion": 1, "seed": "20260302",
                 "targetPool": 10, "publishedAt": "2026-03-05T02:00:00Z",
                 "inspectors": ["赵一", "钱二"],
                 "results": [{"target": "铁岭某食品店1号", "outcome": "发现问题", "handling": "责令限期整改"},
                             {"target": "铁岭某食品店2号", "outcome": "未发现问题", "handling": ""}]},
    }))
    .unwrap();
    rig.apply_raw(&results);
    rig.apply_raw(&results); // redelivered
    assert_eq!(rig.metrics.duplicates.get(), 1);
    let applied = rig.metrics.render();
    assert!(
        applied.contains("events_applied_total{event=\"inspection_results\""),
        "{applied}"
    );
    assert!(!applied.contains("unknown_event"), "no longer skipped");

    let (s, v) = rig.json(&format!("/api/v1/agencies/{KEEP}")).await;
    assert_eq!(s, StatusCode::OK);
    let shown = &v["inspections"];
    assert_eq!(shown.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(shown[0]["itemName"], "食品经营者监督抽查");
    assert_eq!(shown[0]["targetPool"], 10);
    assert_eq!(shown[0]["results"][0]["handling"], "责令限期整改");
    let text = shown.to_string();
    for private in ["20260302", "赵一", "钱二", "seed", "inspectors"] {
        assert!(!text.contains(private), "{private} shown: {text}");
    }
    let (_, html) = rig.get(&format!("/agencies/{KEEP}")).await;
    assert!(
        html.contains("双随机抽查情况及查处结果")
            && html.contains("<h3>食品经营者监督抽查</h3>")
            && html.contains(
                "<th scope=\"row\">铁岭某食品店1号</th><td>发现问题</td><td>责令限期整改</td>"
            )
            && html.contains("从 10 个检查对象中随机抽取 2 个"),
        "{html}"
    );
    assert!(!html.contains("赵一") && !html.contains("20260302"));
    // Documented in the OpenAPI document.
    let (_, doc) = rig.json("/api/v1/openapi.json").await;
    assert!(doc["components"]["schemas"]["InspectionResults"].is_object());
}
