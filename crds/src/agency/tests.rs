//! Unit tests of the Agency kind: defaults, validation naming each field, and that the
//! generated schema agrees with the Rust rules.

use std::collections::BTreeMap;

use super::*;
use crate::month_day::MonthDay;
use EnforcementCategory::*;

fn agency() -> AgencySpec {
    serde_yaml::from_str(
        "jurisdiction: '210100'\n\
         displayName: 沈阳市市场监督管理局\n\
         creditCode: 91350100M000100Y43\n\
         categories: [Licensing, Penalty, Inspection]\n",
    )
    .unwrap()
}

fn fields(spec: &AgencySpec) -> Vec<String> {
    validate_agency(spec).into_iter().map(|e| e.field).collect()
}

fn basis() -> String {
    "《某某条例》第十二条".into()
}

#[test]
fn defaults_when_omitted() {
    let a = agency();
    assert_eq!(a.database.server, "default");
    assert_eq!(a.database.deletion_policy, DeletionPolicy::Retain);
    assert!(a.disclosure.overrides.is_empty());
    assert!(a.alerting.labels.is_empty());
    assert_eq!(a.messaging, MessagingSpec::default());
    assert_eq!(a.messaging.max_message_bytes, 262_144);
    assert_eq!(validate_agency(&a), vec![]);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["database"]["deletionPolicy"], "Retain");
    assert_eq!(json["categories"][1], "Penalty");
}

#[test]
fn jurisdiction_is_a_division_code_a_province_included() {
    let mut a = agency();
    // A province's code: a province-level agency (placed by admission and the operator).
    for ok in ["210100", "211221", "210000"] {
        a.jurisdiction = ok.into();
        assert!(fields(&a).is_empty(), "{ok}");
    }
    for bad in ["2101", "abcdef", "", "021000"] {
        a.jurisdiction = bad.into();
        assert_eq!(fields(&a), ["spec.jurisdiction"], "{bad}");
    }
}

#[test]
fn credit_code_errors_name_the_field_and_the_digit() {
    let mut a = agency();
    a.credit_code = "91350100M000100Y42".into();
    let e = validate_agency(&a);
    assert_eq!(
        e.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["spec.creditCode: check digit is '2' but should be '3' (GB 32100-2015)"]
    );
    a.credit_code = "91350100M000100Y4".into();
    assert_eq!(fields(&a), ["spec.creditCode"]);
}

#[test]
fn display_name_and_categories() {
    let mut a = agency();
    a.display_name = "  ".into();
    a.categories = vec![];
    assert_eq!(fields(&a), ["spec.displayName", "spec.categories"]);
    a.display_name = "局".repeat(129);
    a.categories = vec![Penalty];
    assert_eq!(fields(&a), ["spec.displayName"]);
    a.display_name = "局".repeat(128);
    assert!(fields(&a).is_empty());
    a.categories = vec![Penalty, Fee, Penalty];
    assert_eq!(fields(&a), ["spec.categories[2]"]);
}

#[test]
fn database_server_must_be_a_name() {
    let mut a = agency();
    a.database.server = "Main_DB".into();
    assert_eq!(fields(&a), ["spec.database.server"]);
    a.database.server = "pg-2".into();
    assert!(fields(&a).is_empty());
}

#[test]
fn disclosure_overrides() {
    let mut a = agency();
    let o = |category, working_days, legal_basis: &str| DisclosureOverride {
        category,
        working_days,
        legal_basis: legal_basis.into(),
    };
    a.disclosure.overrides = vec![o(Penalty, 5, &basis())];
    assert!(fields(&a).is_empty());
    a.disclosure.overrides = vec![
        o(Penalty, 0, &basis()),
        o(Penalty, 61, "  依据 "),
        o(Fee, 10, &basis()),
    ];
    assert_eq!(
        fields(&a),
        [
            "spec.disclosure.overrides[0].workingDays",
            "spec.disclosure.overrides[1].category",
            "spec.disclosure.overrides[1].workingDays",
            "spec.disclosure.overrides[1].legalBasis",
            "spec.disclosure.overrides[2].category",
        ]
    );
}

#[test]
fn disclosure_deadline_defaults_and_overrides() {
    assert_eq!(disclosure_working_days(Licensing, &[]), 7);
    assert_eq!(disclosure_working_days(Penalty, &[]), 7);
    for c in [
        Coercion,
        Expropriation,
        Requisition,
        Inspection,
        Fee,
        Adjudication,
        Confirmation,
    ] {
        assert_eq!(disclosure_working_days(c, &[]), 20, "{c}");
    }
    let overrides = [DisclosureOverride {
        category: Inspection,
        working_days: 5,
        legal_basis: basis(),
    }];
    assert_eq!(disclosure_working_days(Inspection, &overrides), 5);
    assert_eq!(disclosure_working_days(Penalty, &overrides), 7);
}

#[test]
fn review_catalog_holds_matter_codes() {
    let mut a = agency();
    a.review_catalog = vec!["M-001".into(), "沈市监-许可-3".into()];
    assert!(fields(&a).is_empty());
    a.review_catalog = vec![
        "".into(),
        "M 1".into(),
        "M,2".into(),
        "M-001".into(),
        "M-001".into(),
    ];
    assert_eq!(
        fields(&a),
        [
            "spec.reviewCatalog[0]",
            "spec.reviewCatalog[1]",
            "spec.reviewCatalog[2]",
            "spec.reviewCatalog[4]",
        ]
    );
}

#[test]
fn alert_labels() {
    let mut a = agency();
    a.alerting.labels = BTreeMap::from([("team".into(), "market".into())]);
    assert!(fields(&a).is_empty());
    a.alerting.labels = BTreeMap::from([
        ("agency".into(), "x".into()),
        ("1bad".into(), "x".into()),
        ("__meta".into(), "x".into()),
        ("ok".into(), "v".repeat(257)),
    ]);
    assert_eq!(
        fields(&a),
        [
            "spec.alerting.labels[1bad]",
            "spec.alerting.labels[__meta]",
            "spec.alerting.labels[agency]",
            "spec.alerting.labels[ok]",
        ]
    );
    a.alerting.labels = (0..17).map(|i| (format!("l{i}"), "v".into())).collect();
    assert_eq!(fields(&a), ["spec.alerting.labels"]);
}

#[test]
fn the_cel_rule_reserves_the_same_alert_labels() {
    use kube::CustomResourceExt;
    let crd = serde_json::to_value(Agency::crd()).unwrap();
    let labels = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["alerting"]["properties"]["labels"];
    let rules = labels["x-kubernetes-validations"].as_array().unwrap();
    let quoted: String = RESERVED_ALERT_LABELS
        .iter()
        .map(|l| format!("'{l}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let reserved = rules
        .iter()
        .find(|r| r["rule"].as_str().unwrap().contains("exists"))
        .unwrap();
    assert!(
        reserved["rule"].as_str().unwrap().contains(&quoted),
        "{reserved}"
    );
    assert!(
        reserved["messageExpression"]
            .as_str()
            .unwrap()
            .contains(&quoted),
        "{reserved}"
    );
}

#[test]
fn an_agency_sets_its_own_policies_but_not_the_statistics_day() {
    let mut a: AgencySpec = serde_yaml::from_str(
        "jurisdiction: '210100'\n\
         displayName: 沈阳市市场监督管理局\n\
         creditCode: 91350100M000100Y43\n\
         categories: [Penalty]\n\
         policies: {publicationRetentionDays: 365, naturalPersonRetentionDays: 180}\n",
    )
    .unwrap();
    assert!(fields(&a).is_empty());
    assert_eq!(a.policies.values().publication_retention_days, Some(365));
    a.policies.natural_person_retention_days = Some(400);
    a.policies.withdrawal_deadline_days = Some(4);
    a.policies.annual_statistics_due = Some(MonthDay::new(1, 10));
    assert_eq!(
        fields(&a),
        [
            "spec.policies.annualStatisticsDue",
            "spec.policies.withdrawalDeadlineDays",
            "spec.policies.naturalPersonRetentionDays",
        ]
    );
    // Omitted, the field is not serialized (existing manifests round-trip).
    let json = serde_json::to_value(agency()).unwrap();
    assert!(json.get("policies").is_none(), "{json}");
}

#[test]
fn categories_round_trip_in_pascal_case() {
    for c in EnforcementCategory::ALL {
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, format!("\"{}\"", c.as_str()));
        assert_eq!(
            serde_json::from_str::<EnforcementCategory>(&json).unwrap(),
            c
        );
        assert!(!c.chinese_name().is_empty());
    }
    // Rust reads the storage code too (the tenant service's spelling), but the
    // schema admits only the names in Kubernetes objects.
    assert_eq!(
        serde_json::from_str::<EnforcementCategory>("\"penalty\"").unwrap(),
        Penalty
    );
    assert!(serde_json::from_str::<EnforcementCategory>("\"fees\"").is_err());
    use kube::CustomResourceExt;
    let crd = serde_json::to_value(Agency::crd()).unwrap();
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["categories"]["items"];
    let names: Vec<&str> = schema["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        EnforcementCategory::ALL.map(EnforcementCategory::as_str)
    );
}
