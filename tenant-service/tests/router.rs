//! The middle test tier: API rules against the router alone (`oneshot`, no listener, no
//! NATS, no Kubernetes) on a real tenant database of the platform's PostgreSQL. A request
//! takes milliseconds; the cost is the tenant database, made once per test.

mod common;

use common::*;
use reqwest::StatusCode;
use sanxiang_tenant_service::auth::{Claims, Role};
use sanxiang_testkit::Platform;
use serde_json::json;

async fn one_tenant(label: &str) -> anyhow::Result<Harness> {
    let platform = Platform::shared()?;
    let t = TestTenant::new(platform, label, "210100").await?;
    Harness::in_process(vec![t], Options::default()).await
}

#[tokio::test]
async fn bad_requests_name_the_field_and_write_nothing() -> anyhow::Result<()> {
    let h = one_tenant("bad-requests").await?;
    let cases = vec![
        ("/decisions", json!({}), "documentNumber", 400),
        (
            "/decisions",
            {
                let mut b = penalty("d1");
                b["category"] = json!("bogus");
                b
            },
            "category",
            400,
        ),
        (
            "/decisions",
            {
                let mut b = penalty("d2");
                b["party"]["idNumber"] = json!("12345");
                b
            },
            "party.idNumber",
            422,
        ),
        (
            "/decisions",
            {
                let mut b = penalty("d3");
                b["party"]["phone"] = json!("12");
                b
            },
            "party.phone",
            422,
        ),
        (
            "/decisions",
            {
                let mut b = penalty("d4");
                b["facts"] = json!("  ");
                b
            },
            "facts",
            400,
        ),
        (
            "/decisions",
            {
                let mut b = penalty("d5");
                b["party"].as_object_mut().unwrap().remove("name");
                b
            },
            "party.name",
            400,
        ),
        (
            "/decisions",
            {
                let mut b = penalty("d6");
                b["procedure"] = json!(3);
                b
            },
            "procedure",
            400,
        ),
        (
            "/decisions",
            {
                let mut b = penalty("d7");
                b["actionId"] = json!("00000000-0000-0000-0000-000000000000");
                b
            },
            "actionId",
            422,
        ),
        (
            "/decisions",
            {
                let mut b = penalty("d8");
                b["surprise"] = json!(1);
                b
            },
            "surprise",
            400,
        ),
        (
            "/personnel",
            json!({"name": "王五", "unit": "u", "role": "officer", "certificateNumber": "C1",
            "categories": ["penalty"], "region": "r", "validFrom": "2026-01-01", "validUntil": "2025-01-01"}),
            "validUntil",
            422,
        ),
        (
            "/personnel",
            json!({"name": "王五", "unit": "u", "role": "chief", "certificateNumber": "C1",
            "categories": ["penalty"], "region": "r", "validFrom": "2026-01-01", "validUntil": "2027-01-01"}),
            "role",
            400,
        ),
        (
            "/personnel",
            json!({"name": "王五", "unit": "u", "role": "officer", "certificateNumber": "C1",
            "categories": [], "region": "r", "validFrom": "2026-01-01", "validUntil": "2027-01-01"}),
            "categories",
            400,
        ),
        (
            "/actions",
            json!({"title": "t", "category": "penalty", "procedure": "simple", "kind": "rocket",
            "target": "x", "officerIds": []}),
            "kind",
            400,
        ),
    ];
    for (path, body, field, status) in cases {
        let role = if path == "/personnel" {
            Role::AgencyAdmin
        } else {
            Role::Officer
        };
        let (s, v) = h.post(0, path, role, body.clone()).await?;
        assert_eq!(s.as_u16(), status, "{path} {body}: {v}");
        assert_eq!(v["field"], field, "{path} {body}: {v}");
        assert!(!v["error"].as_str().unwrap().is_empty());
    }
    let (s, v) = h.get(0, "/decisions/not-a-uuid", Role::Officer).await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("id"))
    );
    let (s, v) = h
        .get(
            0,
            "/deadlines?category=penalty&decidedOn=yesterday",
            Role::Officer,
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("decidedOn"))
    );
    let (s, v) = h.get(0, "/statistics/20x5", Role::Officer).await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("year"))
    );
    let (s, v) = h
        .call(
            "POST",
            &h.url(0, "/decisions"),
            Some(&h.tok(0, Role::Officer)),
            None,
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("body"))
    );
    // Duplicate document number: 409 naming it, the first one kept.
    h.draft(0, penalty("dup")).await?;
    let (s, v) = h
        .post(0, "/decisions", Role::Officer, penalty("dup"))
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::CONFLICT, Some("documentNumber"))
    );
    let (_, v) = h.get(0, "/decisions", Role::Officer).await?;
    assert_eq!(
        v["items"].as_array().unwrap().len(),
        1,
        "nothing else was written"
    );
    let (_, v) = h
        .get(0, "/personnel?includeInactive=true", Role::Officer)
        .await?;
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
    let (s, v) = h
        .call("GET", &format!("{}/nowhere", h.base), None, None)
        .await?;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["error"].is_string());
    let (s, v) = h
        .call("GET", &format!("{}/openapi.json", h.base), None, None)
        .await?;
    assert_eq!(s, StatusCode::OK);
    // Generated by utoipa, which writes OpenAPI 3.1 (the Python generator wrote 3.0.3).
    assert_eq!(v["openapi"], "3.1.0");
    assert!(v["paths"]["/api/v1/agencies/{agency}/decisions"]["post"].is_object());
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_draft_is_revised_field_by_field_and_frozen_once_issued() -> anyhow::Result<()> {
    let h = one_tenant("revise").await?;
    let id = h.draft(0, penalty("沈市监罚〔2026〕41号")).await?;
    let url = h.url(0, &format!("/decisions/{id}"));
    let token = h.tok(0, Role::Officer);

    let mut revised = penalty("沈市监罚〔2026〕41号");
    revised["facts"] = json!("张三销售过期食品，已责令改正。");
    revised["party"]["phone"] = json!("  ");
    revised["party"]["isMinor"] = json!(true);
    let (s, v) = h
        .call("PUT", &url, Some(&token), Some(revised.clone()))
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["facts"], "张三销售过期食品，已责令改正。");
    assert_eq!(
        v["partyPhone"],
        serde_json::Value::Null,
        "blank becomes absent: {v}"
    );
    assert_eq!(v["partyIsMinor"], true);
    assert_eq!(
        v["publishOnline"], false,
        "a minor's case is not published online: {v}"
    );
    assert_eq!(v["documentNumber"], "沈市监罚〔2026〕41号");

    // A revision naming an action that does not exist writes nothing.
    let mut bad = revised.clone();
    bad["actionId"] = json!("00000000-0000-0000-0000-000000000000");
    bad["facts"] = json!("不应写入");
    let (s, v) = h.call("PUT", &url, Some(&token), Some(bad)).await?;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "actionId");
    let (_, v) = h.get(0, &format!("/decisions/{id}"), Role::Officer).await?;
    assert_eq!(v["facts"], "张三销售过期食品，已责令改正。");

    // Issued decisions are no longer drafts.
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/issue"),
            Role::Officer,
            json!({"decidedOn": "2026-09-30"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = h.call("PUT", &url, Some(&token), Some(revised)).await?;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["field"], "status");
    Ok(())
}

#[tokio::test]
async fn tokens_never_cross_tenants() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let a = TestTenant::new(platform, "tenancy-a", "210100").await?;
    let b = TestTenant::new(platform, "tenancy-b", "211200").await?;
    let h = Harness::in_process(vec![a, b], Options::default()).await?;
    let id_b = h.draft(1, penalty("铁市监罚〔2026〕1号")).await?;
    let token_a = h.tok(0, Role::AgencyAdmin);
    for path in ["/decisions", &format!("/decisions/{id_b}"), "/personnel"] {
        let (s, v) = h.call("GET", &h.url(1, path), Some(&token_a), None).await?;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {v}");
        assert!(
            v["error"].as_str().unwrap().contains("may not access"),
            "{v}"
        );
    }
    let (s, _) = h
        .call(
            "POST",
            &h.url(1, "/decisions"),
            Some(&token_a),
            Some(penalty("x")),
        )
        .await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Same answer for an agency that does not exist: no existence leak.
    let (s, _) = h
        .call(
            "GET",
            &format!("{}/api/v1/agencies/nope/decisions", h.base),
            Some(&token_a),
            None,
        )
        .await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Missing, malformed, expired, wrongly signed tokens: 401 with a JSON error.
    let (s, v) = h.call("GET", &h.url(0, "/decisions"), None, None).await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Authorization"))
    );
    let (s, _) = h
        .call("GET", &h.url(0, "/decisions"), Some("garbage"), None)
        .await?;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let expired = token_for(Claims {
        sub: "u".into(),
        agency: Some(h.agency(0).into()),
        role: Role::Officer,
        city: None,
        province: None,
        county: None,
        exp: 1_000_000,
        nbf: None,
    });
    let (s, v) = h
        .call("GET", &h.url(0, "/decisions"), Some(&expired), None)
        .await?;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token expired"))
    );
    let forged = sanxiang_testkit::token::hs256(
        b"not-the-secret-at-all",
        &Claims {
            exp: soon(),
            ..serde_json::from_value(
                json!({"sub":"u","role":"officer","agency":h.agency(1),"exp":0}),
            )?
        },
    )?;
    let (s, _) = h
        .call("GET", &h.url(1, "/decisions"), Some(&forged), None)
        .await?;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Supervisors read within their city/province, never write.
    let city_a = token_for(Claims {
        sub: "sup".into(),
        agency: None,
        role: Role::CitySupervisor,
        city: Some("210100".into()),
        province: Some(PROVINCE.into()),
        county: None,
        exp: soon(),
        nbf: None,
    });
    let (s, _) = h
        .call("GET", &h.url(0, "/decisions"), Some(&city_a), None)
        .await?;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h
        .call("GET", &h.url(1, "/decisions"), Some(&city_a), None)
        .await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = h
        .call(
            "POST",
            &h.url(0, "/decisions"),
            Some(&city_a),
            Some(penalty("y")),
        )
        .await?;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let province = token_for(Claims {
        sub: "prov".into(),
        agency: None,
        role: Role::ProvinceSupervisor,
        city: None,
        province: Some(PROVINCE.into()),
        county: None,
        exp: soon(),
        nbf: None,
    });
    let (s, v) = h
        .call(
            "GET",
            &h.url(1, &format!("/decisions/{id_b}")),
            Some(&province),
            None,
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_duplicate_is_a_409_naming_its_field_and_the_first_stays() -> anyhow::Result<()> {
    let h = one_tenant("duplicates").await?;
    let person = |cert: &str, subject: &str| {
        json!({"name": "赵一", "unit": "执法一队", "role": "officer", "certificateNumber": cert,
            "categories": ["penalty"], "region": "沈阳市", "validFrom": "2020-01-01",
            "validUntil": "2030-12-31", "subject": subject})
    };
    let (s, v) = h
        .post(
            0,
            "/personnel",
            Role::AgencyAdmin,
            person("SY-D001", "zhao"),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    for (body, field) in [
        (person("SY-D001", "qian"), "certificateNumber"),
        (person("SY-D002", "zhao"), "subject"),
    ] {
        let (s, v) = h.post(0, "/personnel", Role::AgencyAdmin, body).await?;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::CONFLICT, Some(field)),
            "{v}"
        );
    }
    let (_, v) = h.get(0, "/personnel", Role::Officer).await?;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    h.stop().await;
    Ok(())
}
