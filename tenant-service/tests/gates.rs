//! The gates of the three systems cannot be walked around (issue 11), on the real platform:
//! the legal review as a state machine, disclosure exemptions with a basis and approval,
//! publication approval and correction, records (times, A/V, signatures, anchors,
//! supervised reads), statistics versions and the withdrawal that follows revocation.

mod common;

use common::*;
use reqwest::StatusCode;
use sanxiang_tenant_service::auth::Role;
use sanxiang_tenant_service::scan;
use sanxiang_tenant_service::state::Policy;
use sanxiang_testkit::Platform;
use serde_json::{Value, json};

async fn one_tenant(label: &str, opts: Options) -> anyhow::Result<Harness> {
    let platform = Platform::shared()?;
    let t = TestTenant::new(platform, label, "210100").await?;
    Harness::start(vec![t], opts).await
}

fn steps(v: &Value) -> Vec<String> {
    v["steps"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["step"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The events the test's own steps enqueued (not the harness's matter-list publication).
async fn outbox_events(h: &Harness) -> anyhow::Result<Vec<(String, Value)>> {
    let db = h.tenants[0].superuser().await?;
    let rows: Vec<(String, Value)> = sqlx::query_as(
        "SELECT event, payload FROM outbox WHERE event <> 'list_publication' ORDER BY seq",
    )
    .fetch_all(&db)
    .await?;
    db.close().await;
    Ok(rows)
}

#[tokio::test]
async fn the_review_gate_cannot_be_walked_around() -> anyhow::Result<()> {
    let h = one_tenant("gate", Options::default()).await?;
    let me = h.add_reviewer(0, "孙审", "SY-R01", "reviewer-user").await?;
    let other = h.add_reviewer(0, "周审", "SY-R02", "someone-else").await?;
    let opinion = |outcome: &str, who: &str, checklist: Value| json!({"outcome": outcome, "opinion": "审核意见", "reviewerId": who, "checklist": checklist});
    // A major decision whose review found issues: the officer drops the criteria and
    // issues it. It stays major, and the issue is refused.
    let mut body = penalty("沈市监罚〔2026〕30号");
    body["majorCriteria"] = json!({"hearingHeld": true});
    let id = h.draft(0, body).await?;
    let r = |step: &str| format!("/decisions/{id}/review/{step}");
    h.post(0, &r("submit"), Role::Officer, json!({"opinion": "请审核"}))
        .await?;
    // A reviewer token naming another person's reviewerId: refused.
    let (s, v) = h
        .post(
            0,
            &r("opinion"),
            Role::Reviewer,
            opinion("approve", &other, Harness::checklist_pass()),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("reviewerId")),
        "{v}"
    );
    // A checklist that contradicts the outcome: refused.
    let (s, v) = h
        .post(
            0,
            &r("opinion"),
            Role::Reviewer,
            opinion("approve", &me, Harness::checklist_issue()),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("checklist")),
        "{v}"
    );
    let (s, v) = h
        .post(
            0,
            &r("opinion"),
            Role::Reviewer,
            opinion("issues_found", &me, Harness::checklist_issue()),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["steps"][1]["reviewerId"],
        json!(me),
        "the reviewer is stored"
    );
    assert_eq!(v["steps"][1]["checklist"]["lawAndDiscretion"], "issue");
    let mut revised = penalty("沈市监罚〔2026〕30号");
    revised["facts"] = json!("张三销售过期食品，货值较小。");
    let (s, v) = h
        .call(
            "PUT",
            &h.url(0, &format!("/decisions/{id}")),
            Some(&h.tok(0, Role::Officer)),
            Some(revised),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["major"].as_bool(), v["majorReasons"].clone()),
        (Some(true), json!(["hearing_held"]))
    );
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/issue"),
            Role::Officer,
            json!({"decidedOn": "2026-03-02"}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::CONFLICT, Some("review")),
        "{v}"
    );
    // Disagreement: negotiation first; then collective discussion; a reject sends the
    // draft back (revisable, resubmittable) or closes it.
    h.post(
        0,
        &r("disagree"),
        Role::Officer,
        json!({"opinion": "不同意"}),
    )
    .await?;
    let (s, v) = h
        .post(
            0,
            &r("negotiation"),
            Role::Officer,
            json!({"outcome": "failed", "opinion": "未达成一致"}),
        )
        .await?;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("collective_discussion")),
        "{v}"
    );
    let (s, v) = h
        .post(
            0,
            &r("collective-decision"),
            Role::AgencyAdmin,
            json!({"outcome": "reject", "opinion": "不予通过"}),
        )
        .await?;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("decided_reject")),
        "{v}"
    );
    let mut again = penalty("沈市监罚〔2026〕30号");
    again["facts"] = json!("张三销售过期食品，已补充证据。");
    let (s, v) = h
        .call(
            "PUT",
            &h.url(0, &format!("/decisions/{id}")),
            Some(&h.tok(0, Role::Officer)),
            Some(again),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "a rejected draft can be revised: {v}");
    let (s, v) = h
        .post(
            0,
            &r("resubmit"),
            Role::Officer,
            json!({"opinion": "已修改"}),
        )
        .await?;
    assert_eq!((s, v["round"].as_i64()), (StatusCode::OK, Some(2)), "{v}");
    // Every round's draft is kept.
    let versions = v["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{v}");
    assert!(
        versions[0]["content"]["facts"]
            .as_str()
            .unwrap()
            .contains("证人李小明")
    );
    assert_eq!(
        versions[1]["content"]["facts"],
        "张三销售过期食品，已补充证据。"
    );
    assert!(v["opinionDue"].is_string(), "{v}");
    // Transfer to judicial organs, then close: the draft can never be issued.
    let mut transfer = Harness::checklist_issue();
    transfer["transferToJudicialOrgans"] = json!(true);
    let (s, v) = h
        .post(
            0,
            &r("opinion"),
            Role::Reviewer,
            opinion("transfer", &me, transfer),
        )
        .await?;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("transferred")),
        "{v}"
    );
    let (s, v) = h
        .post(
            0,
            &r("close"),
            Role::Officer,
            json!({"opinion": "移送公安机关"}),
        )
        .await?;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("closed")),
        "{v}"
    );
    let (_, d) = h.get(0, &format!("/decisions/{id}"), Role::Officer).await?;
    assert_eq!(d["status"], "closed");
    assert_eq!(
        steps(&v),
        [
            "submit",
            "issues_found",
            "disagree",
            "negotiation_failed",
            "collective_reject",
            "resubmit",
            "transfer",
            "close"
        ]
    );

    // A review-required matter (the matter list is the review catalogue) written in
    // another case is still that matter: no issue without review. The legal office may clear it as not major, with its reason.
    let mut body = penalty("沈市监罚〔2026〕31号");
    body["matter"] = json!(" m-001 ");
    let id = h.draft(0, body).await?;
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/issue"),
            Role::Officer,
            json!({"decidedOn": "2026-03-02"}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::CONFLICT, Some("review")),
        "{v}"
    );
    h.post(
        0,
        &format!("/decisions/{id}/review/submit"),
        Role::Officer,
        json!({"opinion": "请审核"}),
    )
    .await?;
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/review/opinion"),
            Role::Reviewer,
            opinion("not_major", &me, Harness::checklist_pass()),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(steps(&v), ["submit", "approve", "clear_major"]);
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/issue"),
            Role::Officer,
            json!({"decidedOn": "2026-03-02"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["major"], false);

    // The review time limit: late opinions are counted for the alert.
    let id = h.draft(0, penalty("沈市监罚〔2026〕32号")).await?;
    h.post(
        0,
        &format!("/decisions/{id}/review/submit"),
        Role::Officer,
        json!({"opinion": "请审核"}),
    )
    .await?;
    let st = h.service().state.clone();
    let tenant = st.tenants.get(h.agency(0)).unwrap();
    let c = scan::scan_tenant(&st, &tenant).await?;
    assert_eq!(c.reviews_overdue, 0);
    st.clock
        .set(Some(chrono::Utc::now() + chrono::Duration::days(30)));
    let c = scan::scan_tenant(&st, &tenant).await?;
    assert_eq!((c.reviews_overdue, c.reviews_pending), (1, 1));
    let page = h.metrics().await?;
    assert_eq!(
        metric(&page, "sanxiang_reviews_overdue", h.agency(0)),
        Some(1.0)
    );
    st.clock.set(None);
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn publication_needs_a_second_person_and_redaction_holds() -> anyhow::Result<()> {
    let h = one_tenant("publish", Options::default()).await?;
    let mut body = penalty("沈市监罚〔2026〕40号");
    body["facts"] = json!(
        "张三（住和平区南京街1号，电话139 1234 5678，邮箱zhangsan@example.com，身份证号２１０１０２１９９００１０１１２３Ｘ）\
         驾驶辽A·12345销售过期食品，证人李小明在场，店员王大力称其不知情。"
    );
    body["party"]["phone"] = json!("13912345678");
    let id = h.draft(0, body).await?;
    h.post(
        0,
        &format!("/decisions/{id}/issue"),
        Role::Officer,
        json!({"decidedOn": "2026-03-02"}),
    )
    .await?;
    let (s, v) = h
        .get(
            0,
            &format!("/decisions/{id}/publication/preview"),
            Role::Officer,
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    let facts = v["preview"]["facts"].as_str().unwrap().to_string();
    for raw in [
        "1234 5678",
        "12345678",
        "zhangsan",
        "example.com",
        "１９９０",
        "19900101",
        "南京街",
        "12345",
        "小明",
        "大力",
    ] {
        assert!(!facts.contains(raw), "{raw} in {facts}");
    }
    // Requested by the officer, approved by another person; not by the same one.
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/publish"),
            Role::AgencyAdmin,
            json!({}),
        )
        .await?;
    assert_eq!(
        (s, v["publishedAt"].is_null()),
        (StatusCode::ACCEPTED, true),
        "{v}"
    );
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/publication/approve"),
            Role::AgencyAdmin,
            json!({}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("sub")),
        "{v}"
    );
    let (s, _) = h
        .post(
            0,
            &format!("/decisions/{id}/publication/approve"),
            Role::Officer,
            json!({}),
        )
        .await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = h
        .call(
            "POST",
            &h.url(0, &format!("/decisions/{id}/publication/approve")),
            Some(&h.tok_as(0, Role::AgencyAdmin, "admin-2")),
            None,
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["publication"]["version"], 1);
    assert_eq!(v["publication"]["facts"], json!(facts));
    // A correction is a new version, pushed as a `correction` event.
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/publication/correct"),
            Role::AgencyAdmin,
            json!({"reason": "结论表述有误", "conclusion": "罚款人民币3000元"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["publicationVersion"].as_i64(),
            v["publication"]["version"].as_i64()
        ),
        (Some(2), Some(2))
    );
    let events = outbox_events(&h).await?;
    // The supervision workspace's events ride along (`upward`): the decision's metadata
    // at issue and at disclosure (a correction changes nothing supervisors track), and
    // the compliance counts. The portal's are the publication and its correction.
    let supervision = ["decision_metadata", "compliance", "milestone_report"];
    let published: Vec<&(String, Value)> = events
        .iter()
        .filter(|e| !supervision.contains(&e.0.as_str()))
        .collect();
    let kinds: Vec<&str> = published.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(kinds, ["disclosure", "correction"]);
    assert_eq!(published[0].1["data"]["version"], 1);
    assert_eq!(published[1].1["data"]["version"], 2);
    assert_eq!(published[1].1["data"]["conclusion"], "罚款人民币3000元");
    assert_eq!(published[1].1["data"]["correctionReason"], "结论表述有误");
    let metadata: Vec<i64> = events
        .iter()
        .filter(|e| e.0 == "decision_metadata")
        .filter_map(|e| e.1["data"]["version"].as_i64())
        .collect();
    assert_eq!(metadata, [1, 2], "issue, disclosure");
    // No recorded personal value in any pushed event (supervision events included).
    let all = serde_json::to_string(&events)?;
    for raw in [
        "13912345678",
        "1234 5678",
        "21010219900101123X",
        "南京街",
        "李小明",
        "zhangsan@",
    ] {
        assert!(!all.contains(raw), "{raw} pushed upward: {all}");
    }

    // A party born less than 18 years before the decision is not published online,
    // whether or not anybody ticked isMinor.
    let mut minor = penalty("沈市监罚〔2026〕41号");
    minor["party"]["idNumber"] = json!("210102201205011234");
    let mid = h.draft(0, minor).await?;
    let (_, v) = h
        .get(0, &format!("/decisions/{mid}"), Role::Officer)
        .await?;
    assert_eq!(
        (v["partyIsMinor"].as_bool(), v["publishOnline"].as_bool()),
        (Some(true), Some(false))
    );
    h.post(
        0,
        &format!("/decisions/{mid}/issue"),
        Role::Officer,
        json!({"decidedOn": "2026-03-02"}),
    )
    .await?;
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{mid}/publish"),
            Role::Officer,
            json!({}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("partyIsMinor")),
        "{v}"
    );
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn not_publishing_needs_a_basis_and_the_admins_approval() -> anyhow::Result<()> {
    let h = one_tenant("exempt", Options::default()).await?;
    let st = h.service().state.clone();
    let tenant = st.tenants.get(h.agency(0)).unwrap();
    let mut body = penalty("沈市监罚〔2026〕50号");
    body["involvesSecrets"] = json!(true);
    let (s, v) = h.post(0, "/decisions", Role::Officer, body.clone()).await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("notOnlineBasis")),
        "{v}"
    );
    body["notOnlineBasis"] = json!("《中华人民共和国保守国家秘密法》第二条");
    let id = h.draft(0, body).await?;
    h.post(
        0,
        &format!("/decisions/{id}/issue"),
        Role::Officer,
        json!({"decidedOn": "2026-03-02"}),
    )
    .await?;
    // Until the admin approves, it stays in the overdue counts.
    st.clock.set(Some("2026-03-20T02:00:00Z".parse()?));
    let c = scan::scan_tenant(&st, &tenant).await?;
    assert_eq!(c.disclosures_overdue, 1);
    let ex = format!("/decisions/{id}/exemption");
    let (s, _) = h
        .post(0, &ex, Role::Officer, json!({"opinion": "同意"}))
        .await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = h
        .post(
            0,
            &ex,
            Role::AgencyAdmin,
            json!({"opinion": "依据充分，同意不予公开"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["notOnlineApprovedBy"].as_str(),
            v["publishOnline"].as_bool()
        ),
        (Some("agency_admin-user"), Some(false))
    );
    let c = scan::scan_tenant(&st, &tenant).await?;
    assert_eq!(c.disclosures_overdue, 0);
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/publish"),
            Role::Officer,
            json!({}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::CONFLICT, Some("involvesSecrets")),
        "{v}"
    );
    // Supervisors see it as exempted, with the basis.
    let (s, v) = h
        .get(0, "/decisions?exempted=true", Role::CitySupervisor)
        .await?;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["items"][0]["notOnlineBasis"],
        "《中华人民共和国保守国家秘密法》第二条"
    );
    // "Publish after processing": published, redacted.
    let mut body = penalty("沈市监罚〔2026〕51号");
    body["involvesSecrets"] = json!(true);
    body["publishAfterProcessing"] = json!(true);
    let id = h.draft(0, body).await?;
    h.post(
        0,
        &format!("/decisions/{id}/issue"),
        Role::Officer,
        json!({"decidedOn": "2026-03-02"}),
    )
    .await?;
    let v = h.publish(0, &id).await?;
    assert!(v["publishedAt"].is_string(), "{v}");
    st.clock.set(None);
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn records_hold_times_signatures_anchors_and_supervised_reads() -> anyhow::Result<()> {
    let keys = tempfile::tempdir()?;
    let platform = Platform::shared()?;
    let t = TestTenant::new(platform, "records", "210100").await?;
    std::fs::write(
        keys.path().join(format!("{}.key", t.tenant.agency)),
        "42".repeat(32),
    )?;
    let h = Harness::start(
        vec![t],
        Options {
            policy: Policy {
                signing_key_dir: Some(keys.path().to_path_buf()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await?;
    let a = h
        .add_person(0, "赵一", "officer", "SY-3001", "2030-12-31")
        .await?;
    let b = h
        .add_person(0, "周二", "officer", "SY-3002", "2030-12-31")
        .await?;
    let (s, v) = h
        .post(0, "/actions", Role::Officer, json!({"title": "调查询问", "category": "penalty", "matter": matter("penalty"), "procedure": "general",
            "kind": "evidence_collection", "target": "张三", "startedOn": "2026-03-02", "officerIds": [a, b],
            "involvesSecretsOrPrivacy": true}))
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let action = v["id"].as_str().unwrap().to_string();
    let rec = format!("/actions/{action}/record");
    // The event of 3 Nov entered later keeps its own time.
    let (s, v) = h
        .post(
            0,
            &rec,
            Role::Officer,
            json!({"kind": "text", "title": "询问笔录", "content": "……",
            "occurredAt": "2025-11-03T02:00:00Z"}),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["occurredAt"], "2025-11-03T02:00:00Z");
    assert!(v["signature"].is_string() && v["keyId"].is_string(), "{v}");
    // A/V of a matter involving secrets or privacy: refused.
    let (s, v) = h
        .post(
            0,
            &rec,
            Role::Officer,
            json!({"kind": "av", "title": "录像", "mediaSha256": "ab".repeat(32)}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kind")),
        "{v}"
    );
    let (s, v) = h
        .post(
            0,
            &rec,
            Role::Officer,
            json!({"kind": "event", "title": "送达"}),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Each new head is anchored upward.
    let events = outbox_events(&h).await?;
    let anchors: Vec<&Value> = events
        .iter()
        .filter(|e| e.0 == "anchor")
        .map(|e| &e.1["data"])
        .collect();
    assert_eq!(anchors.len(), 2);
    let head = anchors[1].clone();
    assert_eq!(head["sequence"], 2);
    let verify = |q: String| format!("/actions/{action}/record/verify{q}");
    let anchor_q = format!(
        "?anchorHash={}&anchorSequence=2",
        head["headHash"].as_str().unwrap()
    );
    let (_, v) = h
        .get(0, &verify(anchor_q.clone()), Role::CitySupervisor)
        .await?;
    assert_eq!(
        (v["intact"].as_bool(), v["signed"].as_i64()),
        (Some(true), Some(2)),
        "{v}"
    );
    // The database's own role deletes the last entry: the chain that is left verifies,
    // only the anchor kept upward shows the loss.
    let su = h.tenants[0].superuser().await?;
    let aid = uuid::Uuid::parse_str(&action)?;
    let mut tx = su.begin().await?;
    sqlx::query("ALTER TABLE record_entries DISABLE TRIGGER record_entries_append_only")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM record_entries WHERE action_id = $1 AND seq = 2")
        .bind(aid)
        .execute(&mut *tx)
        .await?;
    sqlx::query("ALTER TABLE record_entries ENABLE TRIGGER record_entries_append_only")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let (_, v) = h.get(0, &verify(String::new()), Role::Officer).await?;
    assert_eq!(v["intact"], true, "{v}");
    let (_, v) = h.get(0, &verify(anchor_q), Role::Officer).await?;
    assert_eq!(v["intact"], false, "{v}");
    assert!(
        v["firstBrokenLink"]["reason"]
            .as_str()
            .unwrap()
            .contains("anchor"),
        "{v}"
    );
    // It rewrites an entry and recomputes the chain: the signature (key outside the
    // database) catches it.
    type Row = (
        String,
        String,
        Option<String>,
        String,
        chrono::DateTime<chrono::Utc>,
        Option<chrono::DateTime<chrono::Utc>>,
    );
    let row: Row = sqlx::query_as(
        "SELECT kind, title, media_sha256, recorded_by, recorded_at, occurred_at FROM record_entries \
         WHERE action_id = $1 AND seq = 1",
    )
    .bind(aid)
    .fetch_one(&su)
    .await?;
    use sanxiang_tenant_service::hashchain::{EntryFields, GENESIS, entry_hash};
    let forged = entry_hash(&EntryFields {
        action_id: aid,
        seq: 1,
        kind: &row.0,
        title: &row.1,
        content: "篡改后的笔录",
        media_sha256: row.2.as_deref(),
        recorded_by: &row.3,
        recorded_at: row.4,
        occurred_at: row.5,
        prev_hash: GENESIS,
    });
    let mut tx = su.begin().await?;
    sqlx::query("ALTER TABLE record_entries DISABLE TRIGGER record_entries_append_only")
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE record_entries SET content = '篡改后的笔录', hash = $2 WHERE action_id = $1 AND seq = 1")
        .bind(aid)
        .bind(&forged)
        .execute(&mut *tx)
        .await?;
    sqlx::query("ALTER TABLE record_entries ENABLE TRIGGER record_entries_append_only")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let (_, v) = h.get(0, &verify(String::new()), Role::Officer).await?;
    assert_eq!(v["intact"], false, "{v}");
    assert!(
        v["firstBrokenLink"]["reason"]
            .as_str()
            .unwrap()
            .contains("signature"),
        "{v}"
    );

    // Supervisors' reads of full decisions are logged and counted.
    let id = h.draft(0, penalty("沈市监罚〔2026〕60号")).await?;
    let (s, _) = h
        .get(
            0,
            &format!("/decisions/{id}?purpose=案卷评查"),
            Role::CitySupervisor,
        )
        .await?;
    assert_eq!(s, StatusCode::OK);
    h.get(0, "/decisions", Role::ProvinceSupervisor).await?;
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM decision_access_log WHERE decision_id = $1")
            .bind(uuid::Uuid::parse_str(&id)?)
            .fetch_one(&su)
            .await?;
    assert_eq!(n, 2);
    let page = h.metrics().await?;
    assert_eq!(
        metric(
            &page,
            "sanxiang_supervisor_decision_reads_total",
            h.agency(0)
        ),
        Some(2.0)
    );
    su.close().await;
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn statistics_and_withdrawal_follow_the_rules() -> anyhow::Result<()> {
    let h = one_tenant("stats", Options::default()).await?;
    let st = h.service().state.clone();
    // Figures sent are never ignored: manual entries with their source.
    let (s, v) = h
        .post(
            0,
            "/statistics/2025",
            Role::AgencyAdmin,
            json!({"manual": {"penalty": {"decisions": 12, "general": 10, "simple": 2}}}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("source")),
        "{v}"
    );
    let (s, v) = h
        .post(
            0,
            "/statistics/2025",
            Role::AgencyAdmin,
            json!({"figures": {"penalty": 3}}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("figures")),
        "{v}"
    );
    let (s, v) = h
        .post(
            0,
            "/statistics/2025",
            Role::AgencyAdmin,
            json!({"manual": {"penalty": {"decisions": 12, "general": 10, "simple": 2}},
            "source": "纸质案卷台账（2025年1-11月）"}),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["figures"]["penalty"]["decisions"], 12);
    // Only the six mandatory categories (and held ones) are shown.
    let shown: Vec<&String> = v["figures"].as_object().unwrap().keys().collect();
    assert!(
        !shown.iter().any(|c| *c == "fees" || *c == "adjudication"),
        "{shown:?}"
    );
    assert!(shown.iter().any(|c| *c == "requisition"));
    let (s, _) = h
        .post(0, "/statistics/2025", Role::AgencyAdmin, json!({}))
        .await?;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = h
        .post(
            0,
            "/statistics/2025",
            Role::AgencyAdmin,
            json!({"manual": {"penalty": {"decisions": 13, "general": 11, "simple": 2}},
            "source": "纸质案卷台账", "correctionReason": "漏统计一件"}),
        )
        .await?;
    assert_eq!(
        (s, v["version"].as_i64()),
        (StatusCode::CREATED, Some(2)),
        "{v}"
    );
    let (_, v) = h.get(0, "/statistics/2025", Role::CitySupervisor).await?;
    assert_eq!(
        (v["version"].as_i64(), v["versions"].as_i64()),
        (Some(2), Some(2))
    );
    // Due 2026-01-31, a Saturday: moved to Monday 2026-02-02.
    assert_eq!(v["due"], "2026-02-02");

    // Withdrawal: limit in working days (行政处罚法 Art. 48 + 85), reason kept and pushed.
    st.clock.set(Some("2026-03-06T02:00:00Z".parse()?)); // a Friday
    let id = h.draft(0, penalty("沈市监罚〔2026〕70号")).await?;
    h.post(
        0,
        &format!("/decisions/{id}/issue"),
        Role::Officer,
        json!({"decidedOn": "2026-03-02"}),
    )
    .await?;
    h.publish(0, &id).await?;
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/revoke"),
            Role::Officer,
            json!({"reason": "行政复议撤销", "effectiveAt": "2026-03-07T02:00:00Z"}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("effectiveAt")),
        "future effect: {v}"
    );
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/revoke"),
            Role::Officer,
            json!({"reason": "行政复议撤销"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    // 1 working day after Friday 6 March: Monday 9 March, end of day (CST).
    assert_eq!(v["withdrawalDue"], "2026-03-09T15:59:59Z");
    assert_eq!(v["withdrawalReason"], "行政复议撤销");
    let events = outbox_events(&h).await?;
    let w = events
        .iter()
        .find(|e| e.0 == "withdrawal")
        .expect("withdrawal event");
    assert_eq!(w.1["data"]["reason"], "行政复议撤销");
    assert_eq!(w.1["data"]["withdrawnAt"], "2026-03-06T02:00:00Z");
    assert_eq!(w.1["data"]["withinDeadline"], true);
    st.clock.set(None);
    h.stop().await;
    Ok(())
}
