//! Unit tests of the alert builders: what each rule fires on, its labels and annotations,
//! escaping, and that the output is deterministic.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::Value;

use super::*;

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn milestones() -> Vec<MilestoneOccurrence> {
    vec![
        MilestoneOccurrence {
            plan: "shenyang-2026".into(),
            milestone: "monthly-report".into(),
            task: "月度进展报告 {{ not a template }}".into(),
            due: date("2026-12-21"),
            due_soon_from: date("2026-12-17"),
        },
        MilestoneOccurrence {
            plan: "liaoning-2019".into(),
            milestone: "summary".into(),
            task: "总结报告".into(),
            due: date("2019-11-30"),
            due_soon_from: date("2019-11-26"),
        },
    ]
}

fn spec_with(routing: &BTreeMap<String, String>, milestones: &[MilestoneOccurrence]) -> Value {
    agency_rule_spec(&AgencyAlertInput {
        agency: "tieling-market",
        display_name: "铁岭县市场监督管理局",
        agency_url: Some("https://portal.example/agencies/tieling-market"),
        existed_since: None,
        namespace: "sx-211200",
        province: "210000",
        city: "211200",
        county: "211221",
        reviewer_ratio_permille: 50,
        routing_labels: routing,
        milestones,
        annual_statistics_year: 2025,
        annual_statistics_due: date("2026-01-31"),
        runbook_base_url: "https://runbooks.example/docs/runbooks/",
    })
}

fn rules(spec: &Value) -> Vec<&Value> {
    spec["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect()
}

#[test]
fn shanghai_midnight_is_utc_minus_eight_hours() {
    // 2026-12-21T00:00+08:00 = 2026-12-20T16:00Z.
    assert_eq!(shanghai_midnight(date("2026-12-21")), 1_797_782_400);
    assert_eq!(shanghai_midnight(date("1970-01-02")), 86_400 - 8 * 3600);
    assert_eq!(end_of_day(date("2026-12-21")), 1_797_782_400 + 86_400);
}

#[test]
fn label_values_are_escaped_for_promql() {
    assert_eq!(promql_string(r#"a"b\c"#), r#""a\"b\\c""#);
    assert_eq!(promql_string("x\ny"), r#""x\ny""#);
    let tricky = MilestoneOccurrence {
        plan: "p\"} or vector(1) #".into(),
        milestone: "m\\".into(),
        task: "t".into(),
        due: date("2026-01-05"),
        due_soon_from: date("2026-01-01"),
    };
    let spec = spec_with(&BTreeMap::new(), &[tricky]);
    let expr = rules(&spec)[4]["expr"].as_str().unwrap().to_string();
    assert!(expr.contains(r#"plan="p\"} or vector(1) #""#), "{expr}");
    assert!(expr.contains(r#"milestone="m\\""#), "{expr}");
}

#[test]
fn every_agency_alert_is_generated_with_labels_and_annotations() {
    let spec = spec_with(&BTreeMap::new(), &milestones());
    let names = alert_names(&spec);
    for alert in AGENCY_ALERTS {
        assert!(
            names.iter().any(|n| n == alert),
            "{alert} missing in {names:?}"
        );
    }
    for rule in rules(&spec) {
        let labels = &rule["labels"];
        assert!(["critical", "warning", "info"].contains(&labels["severity"].as_str().unwrap()));
        assert_eq!(labels["province"], "210000");
        assert_eq!(labels["city"], "211200");
        assert_eq!(labels["county"], "211221");
        assert_eq!(labels["agency"], "tieling-market");
        assert_eq!(labels["namespace"], "sx-211200");
        let a = &rule["annotations"];
        assert!(a["summary"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(a["description"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(
            a["runbook_url"],
            format!(
                "https://runbooks.example/docs/runbooks/{}.md",
                rule["alert"].as_str().unwrap()
            )
        );
    }
}

#[test]
fn reviewer_ratio_compares_integers_and_needs_officers() {
    let spec = spec_with(&BTreeMap::new(), &[]);
    let rule = rules(&spec)
        .into_iter()
        .find(|r| r["alert"] == "SanxiangReviewerRatioBelowPolicy")
        .unwrap();
    let expr = rule["expr"].as_str().unwrap();
    assert!(expr.contains("(sanxiang_legal_reviewers{province=\"210000\", city=\"211200\", county=\"211221\", agency=\"tieling-market\"}) * 1000 < 50 * "), "{expr}");
    assert!(expr.contains("sanxiang_officers{province=\"210000\", city=\"211200\", county=\"211221\", agency=\"tieling-market\"} > 0"), "{expr}");
    assert_eq!(rule["for"], "15m");
    assert!(
        rule["annotations"]["description"]
            .as_str()
            .unwrap()
            .contains("at least 5.0%")
    );
}

#[test]
fn milestones_become_due_soon_and_missed_rules_at_shanghai_midnight() {
    let spec = spec_with(&BTreeMap::new(), &milestones());
    let groups = spec["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(
        groups[1]["name"],
        "sanxiang.milestones.sx-211200.tieling-market"
    );
    let rs = groups[1]["rules"].as_array().unwrap();
    // Sorted by plan: liaoning-2019 before shenyang-2026.
    assert_eq!(rs[0]["labels"]["plan"], "liaoning-2019");
    let monthly = &rs[2];
    assert_eq!(monthly["alert"], "SanxiangMilestoneDueSoon");
    assert_eq!(monthly["labels"]["due"], "2026-12-21");
    let soon = shanghai_midnight(date("2026-12-17"));
    let passed = shanghai_midnight(date("2026-12-22"));
    assert_eq!(
        monthly["expr"],
        format!(
            "vector(time()) >= {soon} < {passed} unless on() (sanxiang_milestone_completed{{province=\"210000\", city=\"211200\", county=\"211221\", agency=\"tieling-market\", plan=\"shenyang-2026\", milestone=\"monthly-report\", due=\"2026-12-21\"}} == 1)"
        )
    );
    assert_eq!(rs[3]["alert"], "SanxiangMilestoneMissed");
    assert!(
        rs[3]["expr"]
            .as_str()
            .unwrap()
            .starts_with(&format!("vector(time()) >= {passed} unless on()"))
    );
    // A literal "{{" in the task text is not a template action.
    assert!(
        monthly["annotations"]["description"]
            .as_str()
            .unwrap()
            .contains("{{ \"{{\" }} not a template }}")
    );
}

#[test]
fn no_milestones_means_no_milestone_group() {
    let spec = spec_with(&BTreeMap::new(), &[]);
    assert_eq!(spec["groups"].as_array().unwrap().len(), 1);
}

#[test]
fn output_is_deterministic_whatever_the_input_order() {
    let mut reversed = milestones();
    reversed.reverse();
    let a = spec_with(&BTreeMap::new(), &milestones());
    let b = spec_with(&BTreeMap::new(), &reversed);
    assert_eq!(a, b);
    assert_eq!(to_yaml(&a), to_yaml(&b));
}

#[test]
fn routing_labels_are_added_but_cannot_override_identity() {
    let routing = BTreeMap::from([
        ("team".to_string(), "market-supervision".to_string()),
        ("agency".to_string(), "someone-else".to_string()),
        ("severity".to_string(), "none".to_string()),
        ("bad-name".to_string(), "x".to_string()),
    ]);
    let spec = spec_with(&routing, &milestones());
    for rule in rules(&spec) {
        assert_eq!(rule["labels"]["team"], "market-supervision");
        assert_eq!(rule["labels"]["agency"], "tieling-market");
        assert_ne!(rule["labels"]["severity"], "none");
        assert!(rule["labels"].get("bad-name").is_none());
    }
}

#[test]
fn global_rules_cover_every_global_alert() {
    let spec = global_rule_groups("https://sanxiang.example/docs/runbooks");
    assert_eq!(alert_names(&spec), GLOBAL_ALERTS);
    for rule in rules(&spec) {
        assert!(
            rule["annotations"]["runbook_url"]
                .as_str()
                .unwrap()
                .starts_with("https://sanxiang.example/docs/runbooks/Sanxiang")
        );
    }
}

#[test]
fn alerts_name_the_agency_and_link_its_page() {
    let spec = spec_with(&BTreeMap::new(), &[]);
    let overdue = rules(&spec)
        .into_iter()
        .find(|r| r["alert"] == "SanxiangDisclosureOverdue")
        .unwrap();
    assert_eq!(overdue["labels"]["agency_name"], "铁岭县市场监督管理局");
    let a = &overdue["annotations"];
    assert_eq!(
        a["summary"],
        "铁岭县市场监督管理局: {{ $value | humanize }} enforcement decision(s) past their disclosure deadline."
    );
    assert!(
        a["description"].as_str().unwrap().contains(
            "{{ with query `max by (province, city, county, agency) (sanxiang_disclosures_oldest_overdue_due_date{province=\"210000\", city=\"211200\", county=\"211221\", agency=\"tieling-market\"}) > 0` }}"
        ),
        "{a}"
    );
    assert_eq!(
        a["agency_url"],
        "https://portal.example/agencies/tieling-market"
    );
}

#[test]
fn a_fresh_agency_owes_nothing_from_before_it_existed() {
    let routing = BTreeMap::new();
    let ms = milestones();
    let input = |since: Option<NaiveDate>| AgencyAlertInput {
        agency: "tieling-market",
        display_name: "铁岭县市场监督管理局",
        agency_url: None,
        existed_since: since,
        namespace: "sx-211200",
        province: "210000",
        city: "211200",
        county: "211221",
        reviewer_ratio_permille: 50,
        routing_labels: &routing,
        milestones: &ms,
        annual_statistics_year: 2025,
        annual_statistics_due: date("2026-01-31"),
        runbook_base_url: "https://runbooks.example/docs/runbooks/",
    };
    // Created in 2026: the 2025 statistics and the 2019 milestone are not its duty.
    let fresh = agency_rule_spec(&input(Some(date("2026-03-02"))));
    let names = alert_names(&fresh);
    assert!(
        !names.iter().any(|n| n == "SanxiangAnnualStatisticsMissing"),
        "{names:?}"
    );
    let dues: Vec<_> = rules(&fresh)
        .iter()
        .filter_map(|r| r["labels"]["due"].as_str().map(str::to_string))
        .collect();
    assert_eq!(dues, ["2026-12-21", "2026-12-21"]);
    // Created during 2025 (or unknown): it owes 2025's statistics.
    for since in [Some(date("2025-12-31")), None] {
        let names = alert_names(&agency_rule_spec(&input(since)));
        assert!(names.iter().any(|n| n == "SanxiangAnnualStatisticsMissing"));
    }
    // An occurrence due on the day of creation still counts.
    let same_day = agency_rule_spec(&input(Some(date("2019-11-30"))));
    assert_eq!(alert_names(&same_day).len(), 4 + 4);
}

#[test]
fn yaml_round_trips() {
    let spec = spec_with(&BTreeMap::new(), &milestones());
    let back: Value = serde_yaml::from_str(&to_yaml(&spec)).unwrap();
    assert_eq!(back, spec);
}
