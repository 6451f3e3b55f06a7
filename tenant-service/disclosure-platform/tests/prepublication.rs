//! Lists published before enforcement (事前公开, issue 12) reach the province portal: a
//! county agency's service guide is returned by the county justice bureau with an opinion,
//! resubmitted, approved and published; a second version takes over at a later date and
//! the first stays retrievable at its dates; the personnel list shows valid officers only,
//! with no private field. Real tenant service, PostgreSQL, NATS stream chain, portal binary.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use sanxiang_tenant_service::auth::Role;
use serde_json::{Value, json};
use support::{Portal, Rig};

async fn list_call(
    rig: &Rig,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, Value)> {
    let h = &rig.harness;
    h.call(
        method,
        &h.url(0, &format!("/lists{path}")),
        Some(token),
        body,
    )
    .await
}

/// Draft → submit → (return → revise → submit) → approve → publish; returns the version.
async fn publish(
    rig: &Rig,
    kind: &str,
    items: Option<Value>,
    effective_from: chrono::NaiveDate,
    return_first: bool,
) -> anyhow::Result<i64> {
    let h = &rig.harness;
    let admin = h.tok(0, Role::AgencyAdmin);
    // The same-level justice bureau: the county's.
    let supervisor = h.list_reviewer(0);
    let (s, v) = list_call(
        rig,
        "POST",
        &format!("/{kind}"),
        &admin,
        items.clone().map(|i| json!({"items": i})),
    )
    .await?;
    anyhow::ensure!(s == StatusCode::CREATED, "draft: {s} {v}");
    let n = v["version"].as_i64().unwrap();
    let at = |step: &str| format!("/{kind}/versions/{n}{step}");
    let ok = |what: &str, (s, v): (StatusCode, Value)| -> anyhow::Result<()> {
        anyhow::ensure!(s == StatusCode::OK, "{what}: {s} {v}");
        Ok(())
    };
    ok(
        "submit",
        list_call(rig, "POST", &at("/submit"), &admin, None).await?,
    )?;
    if return_first {
        ok(
            "return",
            list_call(
                rig,
                "POST",
                &at("/review"),
                &supervisor,
                Some(json!({"approve": false, "opinion": "请补充收费依据"})),
            )
            .await?,
        )?;
        ok(
            "revise",
            list_call(rig, "PUT", &at(""), &admin, Some(json!({"items": items}))).await?,
        )?;
        ok(
            "resubmit",
            list_call(rig, "POST", &at("/submit"), &admin, None).await?,
        )?;
    }
    ok(
        "approve",
        list_call(
            rig,
            "POST",
            &at("/review"),
            &supervisor,
            Some(json!({"approve": true, "opinion": "同意"})),
        )
        .await?,
    )?;
    ok(
        "publish",
        list_call(
            rig,
            "POST",
            &at("/publish"),
            &admin,
            Some(json!({"effectiveFrom": effective_from})),
        )
        .await?,
    )?;
    Ok(n)
}

fn guide(time_limit: &str) -> Value {
    json!([{"name": "食品经营许可", "legalBasis": "《中华人民共和国食品安全法》第三十五条",
        "acceptingBody": "铁岭县政务服务中心市场监管窗口", "conditions": "有与经营相适应的场所",
        "materials": "申请书、营业执照", "timeLimit": time_limit, "fees": "不收费",
        "remedies": "行政复议或者行政诉讼", "officeHours": "工作日 9:00-17:00",
        "address": "铁岭县银州路1号", "phone": "024-72800000"}])
}

#[tokio::test(flavor = "multi_thread")]
async fn reviewed_lists_reach_the_portal_by_version_and_date() -> anyhow::Result<()> {
    let rig = Rig::new("lists").await?;
    let index = tempfile::tempdir()?;
    let portal = Portal::start(&rig, index.path())?;
    let agency = rig.harness.agency(0).to_string();
    let today = sanxiang_domain::Clock::system().today();
    let later = today + chrono::Days::new(20);

    publish(
        &rig,
        "service_guides",
        Some(guide("10个工作日")),
        today,
        true,
    )
    .await?;
    publish(
        &rig,
        "service_guides",
        Some(guide("5个工作日")),
        later,
        false,
    )
    .await?;
    // Personnel: a valid officer, one whose certificate expired, a legal reviewer.
    let h = &rig.harness;
    h.add_person(0, "赵一", "officer", "TL-P001", "2030-12-31")
        .await?;
    h.add_person(0, "钱二", "officer", "TL-P002", "2021-12-31")
        .await?;
    h.add_reviewer(0, "李审", "TL-R001", "reviewer-1").await?;
    publish(&rig, "personnel", None, today, false).await?;

    let api = |on: chrono::NaiveDate| portal.url(&format!("/api/v1/agencies/{agency}?on={on}"));
    let took = Rig::eventually("lists on the portal", Duration::from_secs(15), || async {
        let (s, v) = rig.get_json(&api(today)).await?;
        // The harness's matter list, the service guides and the personnel list.
        Ok(s == 200 && v["prepublication"]["lists"].as_array().map(Vec::len) == Some(3))
    })
    .await?;
    println!("lists visible on the province portal after {took:?}");
    let (_, v) = rig.get_json(&api(today)).await?;
    let lists = v["prepublication"]["lists"].as_array().unwrap();
    let guides = lists
        .iter()
        .find(|l| l["kind"] == "service_guides")
        .unwrap();
    assert_eq!(guides["effective"]["version"], 1, "{v}");
    assert_eq!(guides["effective"]["effectiveFrom"], json!(today));
    assert_eq!(guides["effective"]["items"][0]["timeLimit"], "10个工作日");
    assert_eq!(guides["versions"][0]["supersededOn"], json!(later));
    // At the later date the second version is in force; the first stays at its dates.
    let (_, v) = rig.get_json(&api(later)).await?;
    let guides = v["prepublication"]["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "service_guides")
        .unwrap()
        .clone();
    assert_eq!(guides["effective"]["version"], 2);
    assert_eq!(guides["effective"]["items"][0]["timeLimit"], "5个工作日");

    // The personnel list: the valid officer only, six public fields.
    let (_, v) = rig.get_json(&api(today)).await?;
    let people = v["prepublication"]["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "personnel")
        .unwrap()
        .clone();
    let items = people["effective"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{people}");
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

    // The agency's page: the 事前公开 section with version and effective date, and the
    // earlier version by its date.
    let (s, html) = rig
        .get_text(&portal.url(&format!("/agencies/{agency}")))
        .await?;
    assert_eq!(s, 200);
    assert!(
        html.contains("事前公开") && html.contains("服务指南"),
        "{html}"
    );
    assert!(
        html.contains(&format!("第 1 版，自 {today} 起施行")),
        "{html}"
    );
    assert!(html.contains("执法人员清单") && html.contains("TL-P001"));
    assert!(
        !html.contains("TL-P002") && !html.contains("李审"),
        "{html}"
    );
    let (_, html) = rig
        .get_text(&portal.url(&format!("/agencies/{agency}?on={later}")))
        .await?;
    assert!(
        html.contains(&format!("第 2 版，自 {later} 起施行")) && html.contains("5个工作日"),
        "{html}"
    );
    let (s, v) = rig
        .get_json(&portal.url(&format!("/api/v1/agencies/{agency}?on=2026-13-01")))
        .await?;
    assert_eq!((s, v["parameter"].as_str()), (400, Some("on")), "{v}");
    drop(portal);
    rig.cleanup().await
}

/// Random-inspection results (双随机 抽查情况及查处结果) reach the agency's page on the
/// province portal with the item named from its published list, and nothing of the draw
/// that is not public (seed, candidate pools, inspectors).
#[tokio::test(flavor = "multi_thread")]
async fn random_inspection_results_reach_the_agency_page() -> anyhow::Result<()> {
    let rig = Rig::new("inspections").await?;
    let index = tempfile::tempdir()?;
    let portal = Portal::start(&rig, index.path())?;
    let agency = rig.harness.agency(0).to_string();
    let today = sanxiang_domain::Clock::system().today();
    let h = &rig.harness;
    // The item's matter is the harness's inspection matter (JC-0001), on the matter list
    // in force: an inspection is an action of a listed matter.
    let item = json!({"code": "SJ-001", "name": "食品经营者监督抽查", "matter": "JC-0001",
        "inspector": "铁岭县市场监督管理局",
        "legalBasis": "《中华人民共和国食品安全法》第一百一十条", "targets": "辖区内食品经营者",
        "content": "许可证照、进货查验记录", "ratioPermille": 200, "inspectorsPerTarget": 2,
        "method": "现场检查", "frequency": "每年一次"});
    publish(
        &rig,
        "random_inspections",
        Some(json!([item])),
        today,
        false,
    )
    .await?;
    for (i, name) in ["赵一", "钱二", "孙三"].iter().enumerate() {
        h.add_person(0, name, "officer", &format!("TL-D00{i}"), "2030-12-31")
            .await?;
    }
    publish(&rig, "personnel", None, today, false).await?;
    for n in 0..10 {
        let (s, v) = h
            .post(
                0,
                "/inspection-targets",
                Role::AgencyAdmin,
                json!({"item": "SJ-001", "name": format!("铁岭某食品店{n}号")}),
            )
            .await?;
        anyhow::ensure!(s == StatusCode::CREATED, "target: {s} {v}");
    }
    let (s, d) = h
        .post(
            0,
            "/inspection-draws",
            Role::AgencyAdmin,
            json!({"item": "SJ-001", "seed": 20260302u64}),
        )
        .await?;
    anyhow::ensure!(s == StatusCode::CREATED, "draw: {s} {d}");
    let drawn = d["draw"].as_array().unwrap().clone();
    let results: Vec<Value> = drawn
        .iter()
        .map(|x| json!({"target": x["target"], "outcome": "发现问题", "handling": "责令限期整改"}))
        .collect();
    let (s, v) = h
        .post(
            0,
            &format!("/inspection-draws/{}/results", d["id"].as_str().unwrap()),
            Role::AgencyAdmin,
            json!({"results": results}),
        )
        .await?;
    anyhow::ensure!(s == StatusCode::OK, "results: {s} {v}");

    let api = portal.url(&format!("/api/v1/agencies/{agency}"));
    let took = Rig::eventually("results on the portal", Duration::from_secs(15), || async {
        let (s, v) = rig.get_json(&api).await?;
        Ok(s == 200 && v["inspections"].as_array().map(Vec::len) == Some(1))
    })
    .await?;
    println!("inspection results visible on the province portal after {took:?}");
    let (_, v) = rig.get_json(&api).await?;
    let shown = &v["inspections"][0];
    assert_eq!(shown["draw"], d["id"]);
    assert_eq!(shown["itemName"], "食品经营者监督抽查");
    assert_eq!(
        (shown["listVersion"].clone(), shown["targetPool"].clone()),
        (json!(1), json!(10))
    );
    let rows = shown["results"].as_array().unwrap();
    assert_eq!(rows.len(), drawn.len(), "{shown}");
    for (row, x) in rows.iter().zip(&drawn) {
        assert_eq!(row["target"], x["targetName"]);
        assert_eq!(row["handling"], "责令限期整改");
    }
    let text = shown.to_string();
    for private in [
        "20260302",
        "赵一",
        "钱二",
        "孙三",
        "TL-D00",
        "seed",
        "inspectors",
    ] {
        assert!(!text.contains(private), "{private} on the portal: {text}");
    }
    for x in &drawn {
        for person in x["inspectors"].as_array().unwrap() {
            assert!(
                !text.contains(person.as_str().unwrap()),
                "inspector id shown"
            );
        }
    }
    let (s, html) = rig
        .get_text(&portal.url(&format!("/agencies/{agency}")))
        .await?;
    assert_eq!(s, 200);
    assert!(
        html.contains("双随机抽查情况及查处结果")
            && html.contains("<h3>食品经营者监督抽查</h3>")
            && html.contains("从 10 个检查对象中随机抽取 2 个")
            && html.contains(drawn[0]["targetName"].as_str().unwrap()),
        "{html}"
    );
    assert!(!html.contains("20260302"), "{html}");
    drop(portal);
    rig.cleanup().await
}
