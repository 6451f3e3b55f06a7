//! Matters and the lists published before enforcement (issue 12), on the real platform:
//! the matter list as the backbone of actions, decisions and inspections (nothing is
//! created before one is in force; review requirement, category, benchmark), the review of
//! a list by the same-level justice bureau (county or city; the market regulator for the
//! random-inspection list where configured) and by no one else, its versions and effective
//! dates, and the public personnel list (re-checked when published).

mod common;

use common::*;
use reqwest::StatusCode;
use sanxiang_domain::EnforcementCategory;
use sanxiang_tenant_service::auth::Role;
use sanxiang_testkit::Platform;
use serde_json::{Value, json};

/// A city-level market regulator without a matter list (the tests publish their own).
async fn agency(label: &str) -> anyhow::Result<Harness> {
    let t = market(label, "-").await?;
    Harness::start(vec![t], no_matter_list()).await
}

async fn market(label: &str, county: &str) -> anyhow::Result<TestTenant> {
    let platform = Platform::shared()?;
    let mut t = TestTenant::new(platform, label, "210100").await?;
    t.tenant.county = county.into();
    t.tenant.categories = vec![
        EnforcementCategory::Penalty,
        EnforcementCategory::Licensing,
        EnforcementCategory::Inspection,
    ];
    t.tenant.display_name = "沈阳市市场监督管理局".into();
    Ok(t)
}

fn no_matter_list() -> Options {
    Options {
        matter_list: false,
        ..Default::default()
    }
}

/// A food penalty matter that needs legal review and has a benchmark.
fn food_matter() -> Value {
    json!({
        "code": "CF-0012", "name": "对未取得食品经营许可从事食品经营活动的处罚",
        "category": "penalty", "procedures": ["general"],
        "legalBasis": "《中华人民共和国食品安全法》第一百二十二条",
        "exercisingSubject": "沈阳市市场监督管理局", "legalReviewRequired": true,
        "disclosureOverride": {"workingDays": 5, "legalBasis": "《辽宁省食品安全条例》第六十条"},
        "benchmark": {
            "violation": "未取得食品经营许可从事食品经营活动",
            "levels": [
                {"level": "minor", "penaltyKind": "罚款", "minYuan": 5000, "maxYuan": 20000},
                {"level": "serious", "penaltyKind": "罚款", "minYuan": 50000, "maxYuan": 100000}
            ],
            "notPunishedWhen": "初次违法且危害后果轻微并及时改正",
            "lighterWhen": "主动消除或者减轻违法行为危害后果",
            "mitigatedWhen": "受他人胁迫或者诱骗实施违法行为"
        }
    })
}

/// A licensing matter without review, recorded on full-process A/V.
fn licence_matter() -> Value {
    json!({
        "code": "XK-0001", "name": "食品经营许可", "category": "licensing",
        "procedures": ["simple", "general"], "legalBasis": "《中华人民共和国食品安全法》第三十五条",
        "exercisingSubject": "沈阳市市场监督管理局", "avRecording": "full_process"
    })
}

impl Harness {
    fn supervisor(&self) -> String {
        self.token(Role::CitySupervisor, None)
    }

    async fn list_call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        self.call(
            method,
            &self.url(0, &format!("/lists{path}")),
            Some(token),
            body,
        )
        .await
    }

    /// Drafts, submits, approves and publishes a version; returns it.
    async fn publish_list(
        &self,
        kind: &str,
        items: Option<Value>,
        effective_from: Option<&str>,
    ) -> anyhow::Result<Value> {
        let admin = self.tok(0, Role::AgencyAdmin);
        let body = items.map(|i| json!({"items": i}));
        let (s, v) = self
            .list_call("POST", &format!("/{kind}"), &admin, body)
            .await?;
        anyhow::ensure!(s == StatusCode::CREATED, "draft {kind}: {s} {v}");
        let n = v["version"].as_i64().unwrap();
        let at = |step: &str| format!("/{kind}/versions/{n}/{step}");
        let (s, v) = self.list_call("POST", &at("submit"), &admin, None).await?;
        anyhow::ensure!(s == StatusCode::OK, "submit: {s} {v}");
        let (s, v) = self
            .list_call(
                "POST",
                &at("review"),
                &self.supervisor(),
                Some(json!({"approve": true, "opinion": "同意"})),
            )
            .await?;
        anyhow::ensure!(s == StatusCode::OK, "approve: {s} {v}");
        let (s, v) = self
            .list_call(
                "POST",
                &at("publish"),
                &admin,
                Some(json!({"effectiveFrom": effective_from})),
            )
            .await?;
        anyhow::ensure!(s == StatusCode::OK, "publish: {s} {v}");
        Ok(v)
    }
}

fn today() -> chrono::NaiveDate {
    sanxiang_domain::Clock::system().today()
}

#[tokio::test]
async fn decisions_take_review_requirement_category_and_benchmark_from_the_matter()
-> anyhow::Result<()> {
    let h = agency("matters").await?;
    // A matter outside the Agency's categories is refused, naming the item's field.
    let mut coercion = licence_matter();
    coercion["code"] = json!("QZ-1");
    coercion["category"] = json!("coercion");
    let (s, v) = h
        .list_call(
            "POST",
            "/matters",
            &h.tok(0, Role::AgencyAdmin),
            Some(json!({"items": [food_matter(), coercion]})),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("items[1].category")),
        "{v}"
    );
    h.publish_list(
        "matters",
        Some(json!([food_matter(), licence_matter()])),
        None,
    )
    .await?;

    // No matter, or a matter not on the effective list: 422 naming `matter`.
    let mut body = penalty("沈市监罚〔2026〕501号");
    body.as_object_mut().unwrap().remove("matter");
    let (s, v) = h.post(0, "/decisions", Role::Officer, body).await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("matter")),
        "{v}"
    );
    let mut body = penalty("沈市监罚〔2026〕502号");
    body["matter"] = json!("CF-9999");
    let (s, v) = h.post(0, "/decisions", Role::Officer, body).await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("matter")),
        "{v}"
    );
    assert!(v["error"].as_str().unwrap().contains("CF-9999"), "{v}");
    // A category that contradicts the matter's is refused; without it the matter's is used.
    let mut body = penalty("沈市监罚〔2026〕503号");
    body["matter"] = json!("XK-0001");
    let (s, v) = h.post(0, "/decisions", Role::Officer, body).await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("category")),
        "{v}"
    );

    // The benchmark: a fine above the minor level's range without 说明理由 is refused.
    let mut body = penalty("沈市监罚〔2026〕504号");
    body.as_object_mut().unwrap().remove("category");
    body["matter"] = json!("cf-0012");
    body["discretion"] =
        json!({"circumstanceLevel": "minor", "penaltyKind": "罚款", "amountYuan": 30000});
    let (s, v) = h.post(0, "/decisions", Role::Officer, body.clone()).await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("discretion.statementOfReasons")
        ),
        "{v}"
    );
    // 从轻 within the range needs reasons too.
    let mut lighter = body.clone();
    lighter["discretion"] = json!({"circumstanceLevel": "minor", "penaltyKind": "罚款",
        "amountYuan": 6000, "applied": "lighter"});
    let (s, v) = h.post(0, "/decisions", Role::Officer, lighter).await?;
    assert_eq!(
        v["field"].as_str(),
        Some("discretion.statementOfReasons"),
        "{s} {v}"
    );
    // A penalty matter with a benchmark needs the discretion at all.
    let mut bare = body.clone();
    bare.as_object_mut().unwrap().remove("discretion");
    let (s, v) = h.post(0, "/decisions", Role::Officer, bare).await?;
    assert_eq!(v["field"].as_str(), Some("discretion"), "{s} {v}");
    // With reasons it is drafted; category comes from the matter.
    body["discretion"]["statementOfReasons"] =
        json!("经营规模较大、违法所得较多，依法在基准之上处罚");
    let (s, d) = h.post(0, "/decisions", Role::Officer, body).await?;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(d["category"], "penalty");
    assert_eq!(d["matterVersion"], 1);
    assert!(d["major"].as_bool().unwrap(), "{d}");
    let id = d["id"].as_str().unwrap();

    // The officer ticked no criterion, but the matter requires review: no issue without it.
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/issue"),
            Role::Officer,
            json!({}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::CONFLICT, Some("review")),
        "{v}"
    );
    assert!(
        v["error"].as_str().unwrap().contains("matter:CF-0012"),
        "{v}"
    );
    // Even a decision drafted before the flag was known is caught at issue: the reasons
    // come from the matter now.
    let me = h.add_reviewer(0, "孙审", "SY-R01", "reviewer-user").await?;
    let r = |step: &str| format!("/decisions/{id}/review/{step}");
    let (s, v) = h
        .post(0, &r("submit"), Role::Officer, json!({"opinion": "请审核"}))
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The legal review shows the benchmark next to the decision's discretion.
    let (s, review) = h
        .get(0, &format!("/decisions/{id}/review"), Role::Reviewer)
        .await?;
    assert_eq!(s, StatusCode::OK, "{review}");
    let m = &review["matter"];
    assert_eq!(m["code"], "CF-0012", "{review}");
    assert_eq!(m["benchmark"]["levels"][0]["maxYuan"], 20000, "{review}");
    assert_eq!(m["discretion"]["amountYuan"], 30000);
    assert!(
        m["reasonsRequiredFor"][0]
            .as_str()
            .unwrap()
            .contains("outside"),
        "{review}"
    );
    let (s, v) = h
        .post(
            0,
            &r("opinion"),
            Role::Reviewer,
            json!({"outcome": "approve", "opinion": "同意", "reviewerId": me,
                   "checklist": Harness::checklist_pass()}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/issue"),
            Role::Officer,
            json!({}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The matter's disclosure deadline (5 working days) replaces the category's 7.
    assert_eq!(v["disclosureDays"], 5, "{v}");

    // Actions: the matter's A/V rule applies whatever the kind.
    let officer_a = h
        .add_person(0, "赵一", "officer", "SY-A001", "2030-12-31")
        .await?;
    let officer_b = h
        .add_person(0, "钱二", "officer", "SY-A002", "2030-12-31")
        .await?;
    let (s, v) = h
        .post(
            0,
            "/actions",
            Role::Officer,
            json!({"title": "许可现场核查", "procedure": "general", "kind": "other",
                   "matter": "XK-0001", "target": "某餐饮店", "officerIds": [officer_a, officer_b]}),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["category"], "licensing");
    assert_eq!(v["requiresFullAv"], true, "{v}");
    let (s, v) = h
        .post(
            0,
            "/actions",
            Role::Officer,
            json!({"title": "x", "procedure": "general", "kind": "other", "category": "penalty",
                   "target": "某餐饮店", "officerIds": [officer_a, officer_b]}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("matter")),
        "{v}"
    );
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_list_is_returned_resubmitted_approved_published_and_kept_by_date() -> anyhow::Result<()>
{
    let h = agency("listreview").await?;
    let admin = h.tok(0, Role::AgencyAdmin);
    let guide = json!({"name": "食品经营许可", "legalBasis": "《食品安全法》第三十五条",
        "acceptingBody": "沈阳市市场监督管理局政务服务窗口", "conditions": "有与经营相适应的场所",
        "materials": "申请书、营业执照", "timeLimit": "10个工作日", "fees": "不收费",
        "remedies": "行政复议或者行政诉讼", "officeHours": "工作日 9:00-17:00",
        "address": "沈阳市和平区政务服务中心", "phone": "024-12345"});
    // A guide without its phone: refused naming the field.
    let mut bad = guide.clone();
    bad["phone"] = json!("");
    let (s, v) = h
        .list_call(
            "POST",
            "/service_guides",
            &admin,
            Some(json!({"items": [bad]})),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("items[0].phone")),
        "{v}"
    );
    let (s, v) = h
        .list_call(
            "POST",
            "/service_guides",
            &admin,
            Some(json!({"items": [guide]})),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["version"].as_i64(), v["status"].as_str()),
        (Some(1), Some("draft"))
    );
    // A second draft while one is open: refused.
    let (s, v) = h
        .list_call(
            "POST",
            "/service_guides",
            &admin,
            Some(json!({"items": [guide]})),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::CONFLICT, Some("status"))
    );
    let v1 = |step: &str| format!("/service_guides/versions/1{step}");
    // Not reviewed before it is submitted, and never by the agency itself.
    let (s, _) = h
        .list_call(
            "POST",
            &v1("/review"),
            &h.supervisor(),
            Some(json!({"approve": true})),
        )
        .await?;
    assert_eq!(s, StatusCode::CONFLICT);
    h.list_call("POST", &v1("/submit"), &admin, None).await?;
    let (s, v) = h
        .list_call(
            "POST",
            &v1("/review"),
            &admin,
            Some(json!({"approve": true})),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("role"))
    );
    // Returning needs an opinion; with one the version is returned.
    let (s, v) = h
        .list_call(
            "POST",
            &v1("/review"),
            &h.supervisor(),
            Some(json!({"approve": false})),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("opinion"))
    );
    let (s, v) = h
        .list_call(
            "POST",
            &v1("/review"),
            &h.supervisor(),
            Some(json!({"approve": false, "opinion": "收费依据不明，请补充"})),
        )
        .await?;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("returned")),
        "{v}"
    );
    // Not published unless approved.
    let (s, _) = h.list_call("POST", &v1("/publish"), &admin, None).await?;
    assert_eq!(s, StatusCode::CONFLICT);
    let mut revised = guide.clone();
    revised["fees"] = json!("不收费（《行政许可法》第五十八条）");
    let (s, v) = h
        .list_call("PUT", &v1(""), &admin, Some(json!({"items": [revised]})))
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    h.list_call("POST", &v1("/submit"), &admin, None).await?;
    let (s, v) = h
        .list_call(
            "POST",
            &v1("/review"),
            &h.supervisor(),
            Some(json!({"approve": true, "opinion": "同意"})),
        )
        .await?;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("approved"))
    );
    // Once submitted its items are frozen.
    let (s, _) = h
        .list_call("PUT", &v1(""), &admin, Some(json!({"items": [guide]})))
        .await?;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = h.list_call("POST", &v1("/publish"), &admin, None).await?;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("published")),
        "{v}"
    );
    let first_day = today();
    assert_eq!(v["effectiveFrom"], json!(first_day));
    // History: every step, with the opinion and who took it.
    let (_, v) = h.list_call("GET", &v1(""), &admin, None).await?;
    let steps: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "draft", "submit", "return", "revise", "submit", "approve", "publish"
        ]
    );
    assert_eq!(v["steps"][2]["opinion"], "收费依据不明，请补充");
    assert_eq!(v["steps"][2]["role"], "city_supervisor");

    // Version 2 applies from a later date; version 1 stays the one in force until then.
    let later = first_day + chrono::Days::new(30);
    let mut v2 = guide.clone();
    v2["timeLimit"] = json!("5个工作日");
    let (s, v) = h
        .list_call(
            "POST",
            "/service_guides",
            &admin,
            Some(json!({"items": [v2]})),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let n = |step: &str| format!("/service_guides/versions/2{step}");
    h.list_call("POST", &n("/submit"), &admin, None).await?;
    h.list_call(
        "POST",
        &n("/review"),
        &h.supervisor(),
        Some(json!({"approve": true})),
    )
    .await?;
    // Not before the version in force.
    let (s, v) = h
        .list_call(
            "POST",
            &n("/publish"),
            &admin,
            Some(json!({"effectiveFrom": first_day})),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("effectiveFrom")),
        "{v}"
    );
    let (s, v) = h
        .list_call(
            "POST",
            &n("/publish"),
            &admin,
            Some(json!({"effectiveFrom": later})),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    for (on, version, time_limit) in [(first_day, 1, "10个工作日"), (later, 2, "5个工作日")]
    {
        let (s, v) = h
            .list_call("GET", &format!("/service_guides?on={on}"), &admin, None)
            .await?;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["effective"]["version"], version, "{on}: {v}");
        assert_eq!(v["effective"]["items"][0]["timeLimit"], time_limit);
    }
    let (_, v) = h
        .list_call(
            "GET",
            &format!("/service_guides?on={}", first_day - chrono::Days::new(1)),
            &admin,
            None,
        )
        .await?;
    assert!(v["effective"].is_null(), "nothing was in force before: {v}");
    assert_eq!(v["versions"].as_array().unwrap().len(), 2);
    // Published versions cannot be changed underneath, even by the database owner's DML.
    let db = h.tenants[0].superuser().await?;
    let e = sqlx::query(
        "UPDATE list_versions SET items = '[]' WHERE kind = 'service_guides' AND version = 1",
    )
    .execute(&db)
    .await
    .unwrap_err();
    assert!(e.to_string().contains("frozen"), "{e}");
    // Each publication went to the outbox for the province's platform.
    let events: Vec<(String, Value)> = sqlx::query_as(
        "SELECT event, payload FROM outbox WHERE event = 'list_publication' ORDER BY seq",
    )
    .fetch_all(&db)
    .await?;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].1["data"]["version"], 2);
    assert_eq!(events[1].1["data"]["effectiveFrom"], json!(later));
    db.close().await;
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_personnel_list_holds_valid_active_officers_and_no_private_field() -> anyhow::Result<()>
{
    let h = agency("people").await?;
    h.add_person(0, "赵一", "officer", "SY-P001", "2030-12-31")
        .await?;
    h.add_person(0, "钱二", "officer", "SY-P002", "2021-12-31")
        .await?;
    let gone = h
        .add_person(0, "孙三", "officer", "SY-P003", "2030-12-31")
        .await?;
    h.add_reviewer(0, "李审", "SY-R009", "reviewer-9").await?;
    let (s, v) = h
        .call(
            "DELETE",
            &h.url(0, &format!("/personnel/{gone}")),
            Some(&h.tok(0, Role::AgencyAdmin)),
            None,
        )
        .await?;
    assert!(s.is_success(), "{s} {v}");
    // The agency cannot write the personnel list: it comes from the records.
    let (s, v) = h
        .list_call(
            "POST",
            "/personnel",
            &h.tok(0, Role::AgencyAdmin),
            Some(json!({"items": [{"name": "假人"}]})),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("items"))
    );
    let v = h.publish_list("personnel", None, None).await?;
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["name"], "赵一");
    let mut keys: Vec<&str> = items[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "categories",
            "certificateNumber",
            "name",
            "position",
            "region",
            "unit"
        ]
    );
    // The subject list is the Agency object.
    let v = h.publish_list("subjects", None, None).await?;
    assert_eq!(v["items"][0]["name"], "沈阳市市场监督管理局", "{v}");
    assert_eq!(v["items"][0]["categories"][0], "Penalty");
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_random_draw_re_run_from_its_seed_gives_the_same_draw_and_results_are_published()
-> anyhow::Result<()> {
    let h = agency("draws").await?;
    let item = json!({"code": "SJ-001", "name": "食品经营者监督抽查", "matter": "JC-0001",
        "inspector": "沈阳市市场监督管理局",
        "legalBasis": "《中华人民共和国食品安全法》第一百一十条", "targets": "辖区内食品经营者",
        "content": "许可证照、进货查验记录", "ratioPermille": 200, "inspectorsPerTarget": 2,
        "method": "现场检查", "frequency": "每年一次"});
    // No draw before the list is in force.
    let (s, v) = h
        .post(
            0,
            "/inspection-draws",
            Role::AgencyAdmin,
            json!({"item": "SJ-001"}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("item")),
        "{v}"
    );
    // Items whose matter is not an inspection matter of the matter list in force.
    let mut not_listed = item.clone();
    not_listed["code"] = json!("SJ-002");
    not_listed["matter"] = json!("JC-9999");
    let mut penalty_matter = item.clone();
    penalty_matter["code"] = json!("SJ-003");
    penalty_matter["matter"] = json!(matter("penalty"));
    h.publish_list(
        "random_inspections",
        Some(json!([item, not_listed, penalty_matter])),
        None,
    )
    .await?;
    for (i, name) in ["赵一", "钱二", "孙三", "李四"].iter().enumerate() {
        h.add_person(0, name, "officer", &format!("SY-D00{i}"), "2030-12-31")
            .await?;
    }
    h.publish_list("personnel", None, None).await?;
    for (code, n) in [("SJ-002", 0), ("SJ-003", 0)]
        .into_iter()
        .chain((0..10).map(|n| ("SJ-001", n)))
    {
        let (s, v) = h
            .post(
                0,
                "/inspection-targets",
                Role::AgencyAdmin,
                json!({"item": code, "name": format!("沈阳某食品店{n}号")}),
            )
            .await?;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // Inspections are actions of the item's matter: no draw while no matter list is in
    // force, nor for an item whose matter is not on it or is no inspection matter.
    let draw = |item: &str| json!({"item": item, "seed": 7u64});
    let (s, v) = h
        .post(0, "/inspection-draws", Role::AgencyAdmin, draw("SJ-001"))
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("item")),
        "{v}"
    );
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("must be published first"),
        "{v}"
    );
    h.publish_matter_list(0, None, None).await?;
    for (item, says) in [("SJ-002", "JC-9999"), ("SJ-003", "category")] {
        let (s, v) = h
            .post(0, "/inspection-draws", Role::AgencyAdmin, draw(item))
            .await?;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("item")),
            "{v}"
        );
        assert!(v["error"].as_str().unwrap().contains(says), "{item}: {v}");
    }
    let (s, d) = h
        .post(
            0,
            "/inspection-draws",
            Role::AgencyAdmin,
            json!({"item": "sj-001", "seed": 20260302u64}),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(d["seed"], "20260302");
    let drawn = d["draw"].as_array().unwrap();
    assert_eq!(drawn.len(), 2, "20% of 10 targets: {d}");
    for x in drawn {
        assert_eq!(x["inspectors"].as_array().unwrap().len(), 2);
        // Each inspection is recorded as an enforcement action with its inspectors.
        let (s, a) = h
            .get(
                0,
                &format!("/actions/{}", x["actionId"].as_str().unwrap()),
                Role::Officer,
            )
            .await?;
        assert_eq!(s, StatusCode::OK, "{a}");
        assert_eq!(a["category"], "inspection");
        assert_eq!(a["officerIds"].as_array().unwrap().len(), 2);
    }
    let db = h.tenants[0].superuser().await?;
    let drawn_matters: Vec<(Option<String>, Option<i32>)> =
        sqlx::query_as("SELECT matter, matter_version FROM actions ORDER BY id")
            .fetch_all(&db)
            .await?;
    assert_eq!(
        drawn_matters,
        vec![(Some("JC-0001".to_string()), Some(1)); 2],
        "each inspection is an action of the item's matter"
    );
    let id = d["id"].as_str().unwrap();
    // A supervisor re-runs the draw from the record: the same targets and inspectors.
    let (s, v) = h
        .call(
            "GET",
            &h.url(0, &format!("/inspection-draws/{id}/verify")),
            Some(&h.supervisor()),
            None,
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["matches"], true, "{v}");
    for (a, b) in v["rerun"].as_array().unwrap().iter().zip(drawn) {
        assert_eq!(a["target"], b["target"]);
        assert_eq!(a["inspectors"], b["inspectors"]);
    }
    // The recorded draw cannot be altered, even by the database owner.
    let e = sqlx::query("UPDATE inspection_draws SET seed = '1'")
        .execute(&db)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("recorded"), "{e}");
    // Results: one per drawn target, then published through the outbox.
    let (s, v) = h
        .post(
            0,
            &format!("/inspection-draws/{id}/results"),
            Role::AgencyAdmin,
            json!({"results": [{"target": drawn[0]["target"], "outcome": "未发现问题"}]}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("results")),
        "{v}"
    );
    let results: Vec<Value> = drawn
        .iter()
        .map(|x| json!({"target": x["target"], "outcome": "发现问题：负责人李小明（电话 139 1234 5678）未公示证照", "handling": "责令限期整改"}))
        .collect();
    let (s, v) = h
        .post(
            0,
            &format!("/inspection-draws/{id}/results"),
            Role::AgencyAdmin,
            json!({"results": results}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    let events: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE event = 'inspection_results' ORDER BY seq",
    )
    .fetch_all(&db)
    .await?;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["results"][0]["handling"], "责令限期整改");
    // What goes upward is redacted: the person named in the outcome and their phone are
    // masked, the finding stays.
    let outcome = events[0]["data"]["results"][0]["outcome"].as_str().unwrap();
    assert!(outcome.starts_with("发现问题"), "{outcome}");
    assert!(outcome.contains("未公示证照"), "{outcome}");
    assert!(!outcome.contains("李小明"), "{outcome}");
    assert!(!outcome.contains("1234 5678"), "{outcome}");
    assert!(
        events[0]["data"]["results"][0]["target"]
            .as_str()
            .unwrap()
            .starts_with("沈阳某食品店")
    );
    let (s, _) = h
        .post(
            0,
            &format!("/inspection-draws/{id}/results"),
            Role::AgencyAdmin,
            json!({"results": results}),
        )
        .await?;
    assert_eq!(s, StatusCode::CONFLICT, "published once");
    db.close().await;
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn nothing_is_created_before_a_matter_list_is_in_force() -> anyhow::Result<()> {
    let h = agency("nolist").await?;
    let a = h
        .add_person(0, "赵一", "officer", "SY-N001", "2030-12-31")
        .await?;
    let b = h
        .add_person(0, "钱二", "officer", "SY-N002", "2030-12-31")
        .await?;
    let action = json!({"title": "现场检查", "category": "inspection", "matter": matter("inspection"),
        "procedure": "general", "kind": "other", "target": "某餐饮店", "officerIds": [a, b]});
    // A decision or action stating its own category is not enough: no fallback.
    for (path, body) in [
        ("/decisions", penalty("沈市监罚〔2026〕601号")),
        ("/actions", action.clone()),
    ] {
        let (s, v) = h.post(0, path, Role::Officer, body).await?;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("matter")),
            "{path}: {v}"
        );
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .contains("a matter list must be published first"),
            "{v}"
        );
    }
    let db = h.tenants[0].superuser().await?;
    let written: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM decisions) + (SELECT count(*) FROM actions)",
    )
    .fetch_one(&db)
    .await?;
    assert_eq!(written, 0);
    // Once the justice bureau has approved and the agency published its list, the same
    // requests go through, and the list is the review catalogue: M-001 requires review
    // although the agency has no other catalogue.
    h.publish_matter_list(0, None, None).await?;
    let (s, v) = h
        .post(
            0,
            "/decisions",
            Role::Officer,
            penalty("沈市监罚〔2026〕601号"),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["matterVersion"].as_i64(), v["major"].as_bool()),
        (Some(1), Some(false))
    );
    let (s, v) = h.post(0, "/actions", Role::Officer, action).await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mut major = penalty("沈市监罚〔2026〕602号");
    major["matter"] = json!(sanxiang_testkit::tenant_api::REVIEWED_PENALTY);
    let (s, v) = h.post(0, "/decisions", Role::Officer, major).await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["majorReasons"], json!(["matter:M-001"]), "{v}");
    db.close().await;
    h.stop().await;
    Ok(())
}

/// A token of a supervising `role` at a place (`county` `-`: the city's).
fn place_token(role: Role, city: &str, county: &str) -> String {
    token_for(sanxiang_tenant_service::auth::Claims {
        sub: format!("{}-{city}-{county}", role.as_str()),
        agency: None,
        role,
        city: Some(city.into()),
        province: Some(PROVINCE.into()),
        county: (county != "-").then(|| county.to_string()),
        exp: soon(),
        nbf: None,
    })
}

#[tokio::test]
async fn only_the_same_level_reviewer_approves_a_list() -> anyhow::Result<()> {
    // Tenant 0: a county agency of 210102 (和平区); tenant 1: a city-level agency of 210100.
    // The province has the market regulator review random-inspection lists.
    let county = market("rev-county", "210102").await?;
    let city = market("rev-city", "-").await?;
    let mut opts = no_matter_list();
    opts.policy.market_regulator_reviews_random_inspections = true;
    let h = Harness::start(vec![county, city], opts).await?;
    let guide = json!([{"name": "食品经营许可", "legalBasis": "《食品安全法》第三十五条",
        "acceptingBody": "政务服务窗口", "conditions": "有经营场所", "materials": "申请书",
        "timeLimit": "10个工作日", "fees": "不收费", "remedies": "行政复议或者行政诉讼",
        "officeHours": "工作日 9:00-17:00", "address": "沈阳市和平区", "phone": "024-12345"}]);
    let inspection = json!([{"code": "SJ-001", "name": "食品经营者监督抽查", "matter": "JC-0001",
        "inspector": "沈阳市和平区市场监督管理局", "legalBasis": "《食品安全法》第一百一十条",
        "targets": "辖区内食品经营者", "content": "许可证照", "ratioPermille": 200,
        "inspectorsPerTarget": 2, "method": "现场检查", "frequency": "每年一次"}]);
    // Submits a version of `kind` for tenant `i`; returns the review path.
    let hr = &h;
    let submitted = move |i: usize, kind: &'static str, items: Value| {
        let h = hr;
        async move {
            let admin = h.tok(i, Role::AgencyAdmin);
            let url = |p: &str| h.url(i, &format!("/lists/{kind}{p}"));
            let (s, v) = h
                .call(
                    "POST",
                    &url(""),
                    Some(&admin),
                    Some(json!({"items": items})),
                )
                .await?;
            anyhow::ensure!(s == StatusCode::CREATED, "{v}");
            let n = v["version"].as_i64().unwrap();
            let (s, v) = h
                .call(
                    "POST",
                    &url(&format!("/versions/{n}/submit")),
                    Some(&admin),
                    None,
                )
                .await?;
            anyhow::ensure!(s == StatusCode::OK, "{v}");
            anyhow::Ok(url(&format!("/versions/{n}/review")))
        }
    };
    let approve = || Some(json!({"approve": true, "opinion": "同意"}));
    // `token` approves the version under review at `review`.
    let approves = move |review: &str, token: &str| {
        let (review, token) = (review.to_string(), token.to_string());
        async move {
            let (s, v) = hr.call("POST", &review, Some(&token), approve()).await?;
            anyhow::ensure!(
                s == StatusCode::OK && v["status"] == "approved",
                "{review}: {s} {v}"
            );
            anyhow::Ok(())
        }
    };
    let county_bureau = place_token(Role::CountySupervisor, "210100", "210102");
    let other_county = place_token(Role::CountySupervisor, "210100", "210103");
    let city_bureau = place_token(Role::CitySupervisor, "210100", "-");
    let province = place_token(Role::ProvinceSupervisor, "210100", "-");
    let county_market = place_token(Role::MarketRegulator, "210100", "210102");
    let city_market = place_token(Role::MarketRegulator, "210100", "-");

    // The county agency's service guides: its county's justice bureau and no one else.
    let review = submitted(0, "service_guides", guide.clone()).await?;
    for (who, token, field) in [
        ("another county's bureau", &other_county, None),
        ("the city's bureau", &city_bureau, Some("role")),
        ("the province", &province, Some("role")),
        ("the market regulator", &county_market, Some("role")),
    ] {
        let (s, v) = h.call("POST", &review, Some(token), approve()).await?;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::FORBIDDEN, field),
            "{who}: {v}"
        );
    }
    let (s, v) = h
        .call("POST", &review, Some(&city_bureau), approve())
        .await?;
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("county_supervisor of county 210102"),
        "the refusal says who reviews: {s} {v}"
    );
    approves(&review, &county_bureau).await?;

    // The city-level agency's: the city's bureau, not a county's.
    let review = submitted(1, "service_guides", guide.clone()).await?;
    let (s, _) = h
        .call("POST", &review, Some(&county_bureau), approve())
        .await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    approves(&review, &city_bureau).await?;

    // Random-inspection lists go to the market regulator of the same place instead.
    let review = submitted(0, "random_inspections", inspection.clone()).await?;
    for token in [&county_bureau, &city_market] {
        let (s, v) = h.call("POST", &review, Some(token), approve()).await?;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::FORBIDDEN, Some("role")),
            "{v}"
        );
    }
    approves(&review, &county_market).await?;
    let (_, v) = h
        .call(
            "GET",
            &review.replace("/review", ""),
            Some(&county_market),
            None,
        )
        .await?;
    assert_eq!(v["steps"][2]["role"], "market_regulator", "{v}");
    let review = submitted(1, "random_inspections", inspection).await?;
    approves(&review, &city_market).await?;
    // The market regulator reads lists, and nothing else of the agency.
    let (s, _) = h
        .call(
            "GET",
            &h.url(0, "/lists/random_inspections"),
            Some(&county_market),
            None,
        )
        .await?;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h
        .call("GET", &h.url(0, "/decisions"), Some(&county_market), None)
        .await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Other lists stay with the justice bureau.
    let review = submitted(
        0,
        "supervision_matters",
        json!([{"code": "JG-1", "name": "食品经营监管",
        "category": "inspection", "subject": "和平区市场监督管理局", "legalBasis": "《食品安全法》",
        "content": "食品经营者", "method": "现场检查"}]),
    )
    .await?;
    let (s, _) = h
        .call("POST", &review, Some(&county_market), approve())
        .await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = h
        .call("POST", &review, Some(&county_bureau), approve())
        .await?;
    assert_eq!(s, StatusCode::OK);
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_officer_who_leaves_or_lapses_before_publication_is_not_published() -> anyhow::Result<()>
{
    let h = agency("people-later").await?;
    let admin = h.tok(0, Role::AgencyAdmin);
    let in_5 = today() + chrono::Days::new(5);
    let (in_3, in_10) = (
        today() + chrono::Days::new(3),
        today() + chrono::Days::new(10),
    );
    h.add_person(0, "赵一", "officer", "SY-L001", "2030-12-31")
        .await?;
    let qian = h
        .add_person(0, "钱二", "officer", "SY-L002", "2030-12-31")
        .await?;
    let sun = h
        .add_person(0, "孙三", "officer", "SY-L003", "2030-12-31")
        .await?;
    // Drafted, submitted and approved with three valid officers ...
    let (s, v) = h.list_call("POST", "/personnel", &admin, None).await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 3, "{v}");
    let index = |v: &Value, name: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .position(|p| p["name"] == name)
            .unwrap()
    };
    let first_bad = index(&v, "孙三").min(index(&v, "钱二"));
    let at = |step: &str| format!("/personnel/versions/1{step}");
    h.list_call("POST", &at("/submit"), &admin, None).await?;
    let (s, _) = h
        .list_call(
            "POST",
            &at("/review"),
            &h.supervisor(),
            Some(json!({"approve": true})),
        )
        .await?;
    assert_eq!(s, StatusCode::OK);
    // ... then 孙三 leaves and 钱二's certificate is cut short.
    let (s, _) = h
        .call(
            "DELETE",
            &h.url(0, &format!("/personnel/{sun}")),
            Some(&admin),
            None,
        )
        .await?;
    assert!(s.is_success());
    let (s, v) = h
        .call(
            "PUT",
            &h.url(0, &format!("/personnel/{qian}")),
            Some(&admin),
            Some(
                json!({"name": "钱二", "unit": "执法一队", "role": "officer",
                "certificateNumber": "SY-L002", "categories": ["penalty"], "region": "沈阳市",
                "validFrom": "2020-01-01", "validUntil": in_5, "legalQualification": false}),
            ),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Publication re-checks the list: refused, naming the first item and every reason.
    let publish = |on: chrono::NaiveDate| Some(json!({"effectiveFrom": on}));
    let (s, v) = h
        .list_call("POST", &at("/publish"), &admin, publish(in_10))
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(format!("items[{first_bad}]").as_str())
        ),
        "{v}"
    );
    let e = v["error"].as_str().unwrap();
    assert!(e.contains("孙三 (certificate SY-L003) has left"), "{e}");
    assert!(
        e.contains(&format!("钱二 (certificate SY-L002) is valid 2020-01-01 to {in_5}, not on {in_10} (the effective date)")),
        "{e}"
    );
    // Revising retakes the records (the approval lapses): 赵一 and 钱二, reviewed again.
    let (s, v) = h.list_call("PUT", &at(""), &admin, Some(json!({}))).await?;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("draft")),
        "{v}"
    );
    let mut names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let qian_at = index(&v, "钱二");
    names.sort();
    assert_eq!(names, ["赵一", "钱二"]);
    h.list_call("POST", &at("/submit"), &admin, None).await?;
    h.list_call(
        "POST",
        &at("/review"),
        &h.supervisor(),
        Some(json!({"approve": true})),
    )
    .await?;
    // 钱二 is not valid on the 10th day: still refused for then; published from the 3rd.
    let (s, v) = h
        .list_call("POST", &at("/publish"), &admin, publish(in_10))
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(format!("items[{qian_at}]").as_str())
        ),
        "{v}"
    );
    let (s, v) = h
        .list_call("POST", &at("/publish"), &admin, publish(in_3))
        .await?;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("published")),
        "{v}"
    );
    let (_, v) = h
        .list_call("GET", &format!("/personnel?on={in_3}"), &admin, None)
        .await?;
    assert_eq!(v["effective"]["items"].as_array().unwrap().len(), 2, "{v}");
    let (_, v) = h.list_call("GET", &at(""), &admin, None).await?;
    let steps: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "draft", "submit", "approve", "revise", "submit", "approve", "publish"
        ]
    );
    h.stop().await;
    Ok(())
}
