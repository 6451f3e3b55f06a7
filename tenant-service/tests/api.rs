//! The tenant service on the real platform: PostgreSQL databases per tenant, real HTTP.

mod common;

use common::*;
use reqwest::StatusCode;
use sanxiang_tenant_service::auth::Role;
use sanxiang_tenant_service::scan;
use sanxiang_testkit::Platform;
use serde_json::json;

async fn one_tenant(label: &str) -> anyhow::Result<Harness> {
    let platform = Platform::shared()?;
    let t = TestTenant::new(platform, label, "210100").await?;
    Harness::start(vec![t], Options::default()).await
}

#[tokio::test]
async fn working_day_deadlines_follow_the_2025_and_2026_calendars() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let t = TestTenant::new(platform, "deadlines", "210100")
        .await?
        .with_override("coercion", 5);
    let h = Harness::start(vec![t], Options::default()).await?;
    let cases = [
        // (category, decided on, due) — hand-counted from the State Council notices.
        ("penalty", "2026-09-30", "2026-10-15"), // 国庆 1–7 Oct, Sat 10 Oct make-up day
        ("penalty", "2026-02-13", "2026-03-02"), // Sat 14 Feb make-up, 春节 15–23 Feb, Sat 28 Feb make-up
        ("licensing", "2025-01-24", "2025-02-10"), // Sun 26 Jan make-up, 春节 28 Jan–4 Feb, Sat 8 Feb
        ("penalty", "2025-09-26", "2025-10-13"),   // Sun 28 Sep make-up, 国庆 1–8 Oct, Sat 11 Oct
        ("inspection", "2025-12-25", "2026-01-23"), // 20 days across the year: 元旦 1–3 Jan, Sun 4 Jan
        ("coercion", "2026-04-30", "2026-05-11"), // agency override 5: 劳动节 1–5 May, Sat 9 May make-up
    ];
    for (category, decided, due) in cases {
        let (s, v) = h
            .get(
                0,
                &format!("/deadlines?category={category}&decidedOn={decided}"),
                Role::Officer,
            )
            .await?;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["disclosureDue"], due, "{category} decided {decided}: {v}");
    }
    // The same through issuing a decision.
    let id = h.draft(0, penalty("沈市监罚〔2026〕1号")).await?;
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/issue"),
            Role::Officer,
            json!({"decidedOn": "2026-09-30"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["disclosureDue"], "2026-10-15");
    assert_eq!(v["disclosureDays"], 7);

    // A year without a WorkCalendar never blocks work (issue 9; this used to be a 422): the
    // decision is issued and recorded, its due date is pending and says on what, and the
    // gauge says so.
    let (s, v) = h
        .get(
            0,
            "/deadlines?category=penalty&decidedOn=2024-12-30",
            Role::Officer,
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["disclosureDue"], "pending: no calendar for 2024", "{v}");
    let id = h.draft(0, penalty("沈市监罚〔2024〕9号")).await?;
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/issue"),
            Role::Officer,
            json!({"decidedOn": "2024-06-03"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "issued");
    assert_eq!(v["disclosureDue"], "pending: no calendar for 2024", "{v}");
    let page = h.metrics().await?;
    assert_eq!(
        metric(&page, "sanxiang_calendar_missing_year", h.agency(0)),
        Some(1.0),
        "{page}"
    );
    // The moment 2024 is loaded the due date is computed. (A test calendar: only 元旦.)
    let st = h.service().state.clone();
    let mut specs = test_calendar_specs()?;
    specs.push(serde_yaml::from_str(
        "year: 2024\nholidays: [{name: 元旦, start: 2024-01-01, end: 2024-01-01}]\n",
    )?);
    st.calendars.replace(&specs)?;
    let tenant = st.tenants.get(h.agency(0)).unwrap();
    assert_eq!(
        sanxiang_tenant_service::deadlines::resolve_pending(&st, &tenant).await?,
        0
    );
    let (_, v) = h.get(0, &format!("/decisions/{id}"), Role::Officer).await?;
    assert_eq!(v["disclosureDue"], "2024-06-12", "{v}");
    // The supervision workspace learns the date now, not at the decision's next change:
    // the resolution pushed the decision's metadata, once.
    let tenant0 = &h.tenants[0];
    let pushed = |id: String| async move {
        let pool = tenant0.superuser().await?;
        let rows: Vec<(serde_json::Value,)> = sqlx::query_as(
            "SELECT payload FROM outbox WHERE event = 'decision_metadata' \
             AND payload->'data'->>'decisionId' = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&pool)
        .await?;
        pool.close().await;
        anyhow::Ok(
            rows.into_iter()
                .map(|(p,)| p["data"].clone())
                .collect::<Vec<_>>(),
        )
    };
    let events = pushed(id.to_string()).await?;
    let (issued, dated) = (&events[0], events.last().expect("an event"));
    assert_eq!(issued["disclosureDuePendingYear"], 2024, "{events:?}");
    assert_eq!(dated["disclosureDue"], "2024-06-12", "{events:?}");
    assert!(dated["disclosureDuePendingYear"].is_null(), "{dated}");
    assert_eq!(events.len(), 2, "{events:?}");
    // Resolving again (every scan does) neither writes nor pushes.
    sanxiang_tenant_service::deadlines::resolve_pending(&st, &tenant).await?;
    assert_eq!(pushed(id.to_string()).await?.len(), 2);
    let c = scan::scan_tenant(&st, &tenant).await?;
    // Overdue: the one issued in 2024 and the one due 2026-10-15, neither disclosed.
    assert_eq!(
        c.disclosures_overdue, 2,
        "issued in 2024 and 2026-09-30, not disclosed"
    );
    let page = h.metrics().await?;
    assert_eq!(
        metric(&page, "sanxiang_calendar_missing_year", h.agency(0)),
        Some(0.0),
        "{page}"
    );
    h.stop().await;
    Ok(())
}

/// Unrelayed outbox rows by event.
async fn backlog(h: &Harness) -> anyhow::Result<std::collections::BTreeMap<String, i64>> {
    let pool = h.tenants[0].superuser().await?;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT event, count(*) FROM outbox WHERE relayed_at IS NULL GROUP BY event",
    )
    .fetch_all(&pool)
    .await?;
    pool.close().await;
    Ok(rows.into_iter().collect())
}

/// Rows of the events the disclosure platform publishes (not the supervision workspace's).
fn public(b: &std::collections::BTreeMap<String, i64>) -> i64 {
    const SUPERVISION: [&str; 3] = ["decision_metadata", "compliance", "milestone_report"];
    b.iter()
        .filter(|(e, _)| !SUPERVISION.contains(&e.as_str()))
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test]
async fn gauges_follow_the_test_clock() -> anyhow::Result<()> {
    let h = one_tenant("gauges").await?;
    let st = h.service().state.clone();
    // The harness's matter list was published already: its event waits in the outbox too.
    let c = scan::scan_tenant(&st, &st.tenants.get(h.agency(0)).unwrap()).await?;
    // (The supervision workspace's compliance counts wait there too: counted apart.)
    let b = backlog(&h).await?;
    let setup = public(&b);
    assert_eq!(setup, 1, "the matter list's publication: {b:?}");
    assert!(c.outbox_backlog >= setup, "{b:?}");
    st.clock.set(Some("2026-03-03T02:00:00Z".parse()?));
    h.add_person(0, "赵一", "officer", "SY-0001", "2030-12-31")
        .await?;
    h.add_person(0, "钱二", "officer", "SY-0002", "2025-12-31")
        .await?; // expired
    h.add_person(0, "孙三", "legal_reviewer", "SY-R01", "2030-12-31")
        .await?;
    let id = h.draft(0, penalty("沈市监罚〔2026〕2号")).await?;
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/issue"),
            Role::Officer,
            json!({"decidedOn": "2026-03-02"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["disclosureDue"], "2026-03-11");
    let tenant = st.tenants.get(h.agency(0)).unwrap();
    let c = scan::scan_tenant(&st, &tenant).await?;
    assert_eq!((c.disclosures_overdue, c.disclosures_due_soon), (0, 0));
    assert_eq!((c.officers, c.legal_reviewers), (1, 1));
    // Two working days before the due date: due soon.
    st.clock.set(Some("2026-03-09T02:00:00Z".parse()?));
    let c = scan::scan_tenant(&st, &tenant).await?;
    assert_eq!((c.disclosures_overdue, c.disclosures_due_soon), (0, 1));
    // The day after: overdue.
    st.clock.set(Some("2026-03-12T02:00:00Z".parse()?));
    let c = scan::scan_tenant(&st, &tenant).await?;
    assert_eq!((c.disclosures_overdue, c.disclosures_due_soon), (1, 0));
    let page = h.metrics().await?;
    assert_eq!(
        metric(&page, "sanxiang_disclosures_overdue", h.agency(0)),
        Some(1.0)
    );
    assert_eq!(metric(&page, "sanxiang_officers", h.agency(0)), Some(1.0));
    assert_eq!(
        metric(&page, "sanxiang_legal_reviewers", h.agency(0)),
        Some(1.0)
    );
    assert_eq!(
        metric(&page, "sanxiang_annual_statistics_reported", h.agency(0)),
        Some(0.0)
    );
    assert!(
        page.contains("sanxiang_decisions_issued_total{agency=\""),
        "{page}"
    );
    // Publishing clears it; no NATS here, so the outbox backlog grows.
    h.publish(0, &id).await?;
    let c = scan::scan_tenant(&st, &tenant).await?;
    assert_eq!(c.disclosures_overdue, 0);
    // Besides the publication, the supervision workspace's events wait too: the
    // decision's metadata at issue and at disclosure, and the compliance counts.
    let b = backlog(&h).await?;
    assert_eq!(public(&b), setup + 1, "{b:?}");
    assert_eq!(b.get("decision_metadata"), Some(&2), "{b:?}");
    assert!(b.get("compliance").is_some_and(|n| *n >= 1), "{b:?}");
    // Revoke: the publication is withdrawn with it (issue 11: it used to stay online until
    // a second call, and the withdrawal limit ran meanwhile).
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/revoke"),
            Role::Officer,
            json!({"reason": "复议撤销"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["withdrawalReason"], "复议撤销");
    assert!(v["withdrawnAt"].is_string(), "{v}");
    st.clock.set(Some("2026-03-14T02:00:00Z".parse()?));
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/withdraw"),
            Role::Officer,
            json!({}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::CONFLICT, Some("withdrawnAt")),
        "{v}"
    );
    let c = scan::scan_tenant(&st, &tenant).await?;
    assert_eq!(c.withdrawals_overdue, 0);
    let b = backlog(&h).await?;
    assert_eq!(public(&b), setup + 2, "{b:?}");
    assert_eq!(
        b.get("decision_metadata"),
        Some(&4),
        "revoked, then withdrawn: {b:?}"
    );
    // Annual statistics of last year (2025): zero everywhere, gauge flips to 1.
    let (s, v) = h
        .post(0, "/statistics/2025", Role::AgencyAdmin, json!({}))
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["figures"]["penalty"]["decisions"], 0);
    assert_eq!(v["figures"]["requisition"]["decisions"], 0);
    let (s, v) = h
        .post(0, "/statistics/2025", Role::AgencyAdmin, json!({}))
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::CONFLICT, Some("year"))
    );
    let c = scan::scan_tenant(&st, &tenant).await?;
    assert!(c.annual_reported);
    // Supervision milestones reported done are exported for the operator's alerts.
    let ms = json!({"plan": "shenyang-2026", "milestone": "monthly-report", "due": "2026-03-20", "note": "已报送"});
    let (s, v) = h
        .post(0, "/milestones", Role::AgencyAdmin, ms.clone())
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = h.post(0, "/milestones", Role::AgencyAdmin, ms).await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::CONFLICT, Some("due"))
    );
    let (s, v) = h
        .post(
            0,
            "/milestones",
            Role::AgencyAdmin,
            json!({"plan": "a b", "milestone": "m", "due": "2026-03-20"}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("plan"))
    );
    let page = h.metrics().await?;
    let line = page
        .lines()
        .find(|l| l.starts_with("sanxiang_milestone_completed{") && l.contains(h.agency(0)))
        .unwrap_or_else(|| panic!("{page}"));
    assert!(
        line.contains("plan=\"shenyang-2026\"")
            && line.contains("due=\"2026-03-20\"")
            && line.ends_with(" 1"),
        "{line}"
    );
    let b = backlog(&h).await?;
    assert_eq!(public(&b), setup + 3, "{b:?}");
    assert_eq!(b.get("milestone_report"), Some(&1), "{b:?}");
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn major_decisions_wait_for_an_approving_legal_review() -> anyhow::Result<()> {
    let h = one_tenant("review-gate").await?;
    let reviewer = h.add_reviewer(0, "孙审", "SY-R01", "reviewer-user").await?;
    let unqualified = h
        .add_person_q(0, "吴审", "legal_reviewer", "SY-R02", "2030-12-31", false)
        .await?;
    let officer = h
        .add_person(0, "赵一", "officer", "SY-0001", "2030-12-31")
        .await?;
    let mut body = penalty("沈市监罚〔2026〕10号");
    body["majorCriteria"] = json!({"hearingHeld": true});
    let id = h.draft(0, body).await?;
    let (_, v) = h.get(0, &format!("/decisions/{id}"), Role::Officer).await?;
    assert_eq!(v["major"], true);
    assert_eq!(v["majorReasons"], json!(["hearing_held"]));
    let issue = format!("/decisions/{id}/issue");
    let (s, v) = h
        .post(0, &issue, Role::Officer, json!({"decidedOn": "2026-03-02"}))
        .await?;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["field"], "review");
    let r = |step: &str| format!("/decisions/{id}/review/{step}");
    let (s, _) = h
        .post(
            0,
            &r("submit"),
            Role::Officer,
            json!({"opinion": "材料齐全，请审核"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK);
    // Only a reviewer gives an opinion.
    let (s, v) = h
        .post(
            0,
            &r("opinion"),
            Role::Officer,
            json!({"outcome": "approve", "opinion": "同意", "reviewerId": reviewer, "checklist": Harness::checklist_pass()}),
        )
        .await?;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["field"], "role");
    // The opinion is given by a listed legal reviewer; penalties need the qualification.
    for (who, why) in [
        (&officer, "not a current legal reviewer"),
        (&unqualified, "qualification"),
    ] {
        let (s, v) = h
            .post(
                0,
                &r("opinion"),
                Role::Reviewer,
                json!({"outcome": "approve", "opinion": "同意", "reviewerId": who, "checklist": Harness::checklist_pass()}),
            )
            .await?;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("reviewerId")),
            "{v}"
        );
        assert!(v["error"].as_str().unwrap().contains(why), "{v}");
    }
    let (s, _) = h
        .post(
            0,
            &r("opinion"),
            Role::Reviewer,
            json!({"outcome": "issues_found", "opinion": "裁量基准适用不当", "reviewerId": reviewer, "checklist": Harness::checklist_issue()}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h
        .post(0, &issue, Role::Officer, json!({"decidedOn": "2026-03-02"}))
        .await?;
    assert_eq!(s, StatusCode::CONFLICT);
    // The handling unit disagrees: the units negotiate first (issue 11: it used to jump
    // to collective discussion), then, failing agreement, collective discussion.
    let (s, v) = h
        .post(
            0,
            &r("disagree"),
            Role::Officer,
            json!({"opinion": "承办机构认为裁量适当"}),
        )
        .await?;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("negotiation"))
    );
    let (s, _) = h
        .post(
            0,
            &r("collective-decision"),
            Role::AgencyAdmin,
            json!({"outcome": "approve", "opinion": "x"}),
        )
        .await?;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = h
        .post(
            0,
            &r("negotiation"),
            Role::Officer,
            json!({"outcome": "failed", "opinion": "协商未达成一致"}),
        )
        .await?;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("collective_discussion")),
        "{v}"
    );
    let (s, _) = h
        .post(0, &issue, Role::Officer, json!({"decidedOn": "2026-03-02"}))
        .await?;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = h
        .post(
            0,
            &r("collective-decision"),
            Role::Officer,
            json!({"outcome": "approve", "opinion": "x"}),
        )
        .await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = h
        .post(
            0,
            &r("collective-decision"),
            Role::AgencyAdmin,
            json!({"outcome": "approve", "opinion": "集体讨论决定：维持"}),
        )
        .await?;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("decided_approve")),
        "{v}"
    );
    let steps: Vec<_> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        steps,
        [
            "submit",
            "issues_found",
            "disagree",
            "negotiation_failed",
            "collective_approve"
        ]
    );
    assert_eq!(v["steps"][1]["reviewerId"], json!(reviewer));
    assert_eq!(v["steps"][1]["actor"], "reviewer-user");
    assert_eq!(v["steps"][1]["opinion"], "裁量基准适用不当");
    let (s, v) = h
        .post(0, &issue, Role::Officer, json!({"decidedOn": "2026-03-02"}))
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Catalog matter: issues found, resubmitted, approved.
    let mut body = penalty("沈市监罚〔2026〕11号");
    body["matter"] = json!(sanxiang_testkit::tenant_api::REVIEWED_PENALTY);
    let id = h.draft(0, body).await?;
    let r = |step: &str| format!("/decisions/{id}/review/{step}");
    h.post(0, &r("submit"), Role::Officer, json!({"opinion": "请审核"}))
        .await?;
    h.post(
        0,
        &r("opinion"),
        Role::Reviewer,
        json!({"outcome": "issues_found", "opinion": "证据不足", "reviewerId": reviewer, "checklist": Harness::checklist_issue()}),
    )
    .await?;
    let (s, v) = h
        .post(
            0,
            &r("opinion"),
            Role::Reviewer,
            json!({"outcome": "approve", "opinion": "同意", "reviewerId": reviewer, "checklist": Harness::checklist_pass()}),
        )
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::CONFLICT, Some("status"))
    );
    let (s, v) = h
        .post(
            0,
            &r("resubmit"),
            Role::Officer,
            json!({"opinion": "已补充证据"}),
        )
        .await?;
    assert_eq!((s, v["round"].as_i64()), (StatusCode::OK, Some(2)));
    let st = h.service().state.clone();
    let c = scan::scan_tenant(&st, &st.tenants.get(h.agency(0)).unwrap()).await?;
    assert_eq!(c.reviews_pending, 1);
    h.post(
        0,
        &r("opinion"),
        Role::Reviewer,
        json!({"outcome": "approve", "opinion": "同意", "reviewerId": reviewer, "checklist": Harness::checklist_pass()}),
    )
    .await?;
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/issue"),
            Role::Officer,
            json!({"decidedOn": "2026-03-02"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A non-major decision needs no review.
    let id = h.draft(0, penalty("沈市监罚〔2026〕12号")).await?;
    let (s, _) = h
        .post(
            0,
            &format!("/decisions/{id}/issue"),
            Role::Officer,
            json!({"decidedOn": "2026-03-02"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK);
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn publication_is_redacted_and_withdrawn() -> anyhow::Result<()> {
    let h = one_tenant("redaction").await?;
    let id = h.draft(0, penalty("沈市监罚〔2026〕20号")).await?;
    h.post(
        0,
        &format!("/decisions/{id}/issue"),
        Role::Officer,
        json!({"decidedOn": "2026-03-02"}),
    )
    .await?;
    let v = h.publish(0, &id).await?;
    let p = &v["publication"];
    assert_eq!(p["version"], 1);
    assert_eq!(v["publicationApprovedBy"], "admin-2");
    assert_eq!(p["target"], "张三");
    assert_eq!(p["targetCode"], "210102********123X");
    assert_eq!(
        p["facts"],
        "张三（住***，电话138****5678，身份证号210102********123X）销售过期食品，证人李**在场。"
    );
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
        (StatusCode::CONFLICT, Some("publishedAt"))
    );

    // Minors' cases are not published online.
    let mut minor = penalty("沈市监罚〔2026〕21号");
    minor["party"]["isMinor"] = json!(true);
    let mid = h.draft(0, minor).await?;
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

    // An organisation keeps its name and credit code.
    let org = json!({
        "documentNumber": "沈市监许〔2026〕5号", "category": "licensing", "matter": matter("licensing"), "procedure": "general",
        "party": {"kind": "organisation", "name": "沈阳某某食品有限公司", "idNumber": "91210100MA0Y12345M"},
        "facts": "申请食品经营许可", "legalBasis": "《食品经营许可和备案管理办法》", "conclusion": "准予许可"
    });
    let oid = h.draft(0, org).await?;
    h.post(
        0,
        &format!("/decisions/{oid}/issue"),
        Role::Officer,
        json!({"decidedOn": "2026-03-03"}),
    )
    .await?;
    h.publish(0, &oid).await?;

    // There is no public search here: the public reads the province's disclosure platform
    // (tenant-service/disclosure-platform), so anonymous traffic never reaches an agency's
    // database.
    let (s, _) = h
        .call(
            "GET",
            &format!("{}/api/v1/public/decisions", h.base),
            None,
            None,
        )
        .await?;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Revocation takes it down at once (no second call).
    let (s, v) = h
        .post(
            0,
            &format!("/decisions/{id}/revoke"),
            Role::Officer,
            json!({"reason": "行政复议决定撤销"}),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["withdrawalReason"], "行政复议决定撤销");
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn record_chain_is_append_only_and_tampering_is_named() -> anyhow::Result<()> {
    let h = one_tenant("record").await?;
    let good = h
        .add_person(0, "赵一", "officer", "SY-1001", "2030-12-31")
        .await?;
    let good2 = h
        .add_person(0, "周二", "officer", "SY-1002", "2030-12-31")
        .await?;
    let expired = h
        .add_person(0, "钱二", "officer", "SY-1003", "2025-12-31")
        .await?;
    let action = |officers: Vec<&str>| {
        json!({"title": "查封过期食品", "category": "coercion", "matter": matter("coercion"), "procedure": "general",
               "kind": "seizure_detention", "target": "沈阳某某超市", "startedOn": "2026-03-02",
               "officerIds": officers})
    };
    let (s, v) = h
        .post(0, "/actions", Role::Officer, action(vec![&good, &expired]))
        .await?;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "officerIds[1]");
    assert!(v["error"].as_str().unwrap().contains("钱二"), "{v}");
    let (s, v) = h
        .post(0, "/actions", Role::Officer, action(vec![&good]))
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("officerIds"))
    );
    let (s, v) = h
        .post(0, "/actions", Role::Officer, action(vec![&good, &good2]))
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["requiresFullAv"], true);
    assert_eq!(v["avMissing"], true);
    let aid = v["id"].as_str().unwrap().to_string();
    let rec = format!("/actions/{aid}/record");
    for (kind, title, extra) in [
        ("event", "到达现场", json!({})),
        (
            "text",
            "查封决定书",
            json!({"content": "决定查封过期食品20箱"}),
        ),
        (
            "av",
            "执法记录仪视频",
            json!({"mediaSha256": "AB".repeat(32)}),
        ),
        (
            "text",
            "查封清单",
            json!({"content": "过期食品20箱，已封存"}),
        ),
    ] {
        let mut b = json!({"kind": kind, "title": title});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (s, v) = h.post(0, &rec, Role::Officer, b).await?;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = h
        .post(0, &rec, Role::Officer, json!({"kind": "av", "title": "x"}))
        .await?;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("mediaSha256"))
    );
    let (_, v) = h.get(0, &format!("/actions/{aid}"), Role::Officer).await?;
    assert_eq!(v["avMissing"], false);
    assert_eq!(v["recordEntries"], 4);
    let (_, v) = h.get(0, &format!("{rec}/verify"), Role::Officer).await?;
    assert_eq!(v["intact"], true, "{v}");
    assert_eq!(v["entries"], 4);

    // The tenant's own role cannot change or delete entries: it holds no UPDATE or DELETE
    // on them (nor may it disable the trigger); for the owner, the trigger refuses.
    let own = sqlx::PgPool::connect(&h.tenants[0].tenant.database_url).await?;
    for sql in [
        "UPDATE record_entries SET content = 'x' WHERE seq = 2",
        "DELETE FROM record_entries",
        "ALTER TABLE record_entries DISABLE TRIGGER record_entries_append_only",
    ] {
        let err = sqlx::query(sql).execute(&own).await.unwrap_err();
        let db = err.as_database_error().expect("refused by the server");
        assert_eq!(db.code().as_deref(), Some("42501"), "{sql}: {err}");
        assert!(
            err.to_string()
                .contains("permission denied for table record_entries")
                || err
                    .to_string()
                    .contains("must be owner of table record_entries"),
            "{sql}: {err}"
        );
    }
    own.close().await;
    let owner = h.tenants[0].superuser().await?;
    for sql in [
        "UPDATE record_entries SET content = 'x' WHERE seq = 2",
        "DELETE FROM record_entries",
    ] {
        let mut tx = owner.begin().await?;
        sqlx::query(&format!(
            "SET LOCAL ROLE {}",
            h.tenants[0].scope.owner_role()
        ))
        .execute(&mut *tx)
        .await?;
        let err = sqlx::query(sql).execute(&mut *tx).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        tx.rollback().await?;
    }
    owner.close().await;

    // A superuser bypasses the trigger and edits entry 2: the check names it.
    let su = h.tenants[0].superuser().await?;
    sqlx::query("ALTER TABLE record_entries DISABLE TRIGGER record_entries_append_only")
        .execute(&su)
        .await?;
    sqlx::query("UPDATE record_entries SET content = '决定查封过期食品2箱' WHERE seq = 2")
        .execute(&su)
        .await?;
    sqlx::query("ALTER TABLE record_entries ENABLE TRIGGER record_entries_append_only")
        .execute(&su)
        .await?;
    su.close().await;
    let (_, v) = h.get(0, &format!("{rec}/verify"), Role::Reviewer).await?;
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["firstBrokenLink"]["seq"], 2, "{v}");

    // Every read of the record was logged, by whom.
    let (_, v) = h
        .get(0, &format!("{rec}?purpose=案卷评查"), Role::Officer)
        .await?;
    assert_eq!(v["intact"], false);
    let (_, v) = h
        .get(0, &format!("/actions/{aid}/access-log"), Role::AgencyAdmin)
        .await?;
    let log: Vec<_> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["purpose"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(log, ["verify", "verify", "案卷评查"]);
    assert_eq!(v["items"][1]["accessedBy"], "reviewer-user");
    // Concurrent appends serialise on the action: the chain stays intact and gap-free.
    let (_, v) = h
        .post(0, "/actions", Role::Officer, action(vec![&good, &good2]))
        .await?;
    let aid2 = v["id"].as_str().unwrap().to_string();
    let rec2 = format!("/actions/{aid2}/record");
    let results = futures::future::join_all((0..20).map(|i| {
        h.post(
            0,
            &rec2,
            Role::Officer,
            json!({"kind": "event", "title": format!("事件{i}")}),
        )
    }))
    .await;
    for r in results {
        assert_eq!(r?.0, StatusCode::CREATED);
    }
    let (_, v) = h.get(0, &format!("{rec2}/verify"), Role::Officer).await?;
    assert_eq!(
        (v["intact"].as_bool(), v["entries"].as_i64()),
        (Some(true), Some(20)),
        "{v}"
    );
    // Gauge: this action has its A/V; a new seizure without A/V is a gap.
    h.post(0, "/actions", Role::Officer, action(vec![&good, &good2]))
        .await?;
    let st = h.service().state.clone();
    let c = scan::scan_tenant(&st, &st.tenants.get(h.agency(0)).unwrap()).await?;
    assert_eq!(c.av_gaps, 2);
    h.stop().await;
    Ok(())
}
