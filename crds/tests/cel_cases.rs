//! The sample objects of `tests/cel/cases.yaml` carry the verdict kube-apiserver gives
//! them (checked by `tools/celcheck` with the real apiextensions-apiserver code). This
//! test holds the Rust `validate_*` functions to the same verdicts and field names, so
//! the operator never accepts what the API server would reject, or the reverse, except
//! where a case says so (`rustValid`: checks that CEL cannot do).

use sanxiang_crds::{
    Agency, FieldError, Jurisdiction, JurisdictionPolicy, SupervisionPlan, WorkCalendar,
    validate_agency, validate_jurisdiction, validate_jurisdiction_policy, validate_plan,
    validate_work_calendar,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    crd: String,
    name: String,
    valid: bool,
    #[serde(default)]
    expect: Vec<String>,
    object: serde_yaml::Value,
    #[serde(default)]
    old: Option<serde_yaml::Value>,
    #[serde(default)]
    rust_valid: Option<bool>,
}

/// `Ok(errors)` from the Rust validation, or `Err` when the object does not even
/// deserialize (an unknown enum value, a missing required field, an impossible date).
fn check<K: DeserializeOwned>(
    object: &serde_yaml::Value,
    validate: impl Fn(&K) -> Vec<FieldError>,
) -> Result<Vec<FieldError>, String> {
    serde_yaml::from_value::<K>(object.clone())
        .map(|k| validate(&k))
        .map_err(|e| e.to_string())
}

fn rust_verdict(case: &Case) -> Result<Vec<FieldError>, String> {
    match case.crd.as_str() {
        "workcalendars" => check(&case.object, |c: &WorkCalendar| {
            validate_work_calendar(&c.spec)
        }),
        "jurisdictions" => check(&case.object, |j: &Jurisdiction| {
            validate_jurisdiction(&j.spec)
        }),
        "agencies" => check(&case.object, |a: &Agency| validate_agency(&a.spec)),
        "supervisionplans" => check(&case.object, |p: &SupervisionPlan| validate_plan(&p.spec)),
        "jurisdictionpolicies" => check(&case.object, |p: &JurisdictionPolicy| {
            validate_jurisdiction_policy(p.metadata.name.as_deref().unwrap_or_default(), &p.spec)
        }),
        other => panic!("case {}: unknown crd {other}", case.name),
    }
}

#[test]
fn rust_validation_agrees_with_the_api_server() {
    let cases: Vec<Case> =
        serde_yaml::from_str(include_str!("cel/cases.yaml")).expect("cases.yaml parses");
    assert!(cases.len() > 40, "cases.yaml lost its cases");
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for case in &cases {
        if case.old.is_some() {
            continue; // transition rules (immutability) only exist on the API server
        }
        checked += 1;
        let want_valid = case.rust_valid.unwrap_or(case.valid);
        match rust_verdict(case) {
            Ok(errors) => {
                if errors.is_empty() != want_valid {
                    disagreements.push(format!(
                        "{}: expected {}, Rust says {:?}",
                        case.name,
                        if want_valid { "valid" } else { "invalid" },
                        errors.iter().map(ToString::to_string).collect::<Vec<_>>()
                    ));
                    continue;
                }
                // Every field the API server names must be named by Rust too (unless Rust
                // accepts the case on purpose).
                let expect = if want_valid {
                    &[][..]
                } else {
                    &case.expect[..]
                };
                for field in expect
                    .iter()
                    .filter(|e| e.starts_with("spec") || e.starts_with("metadata."))
                {
                    if !errors.iter().any(|e| e.field.starts_with(field.as_str())) {
                        disagreements.push(format!(
                            "{}: no Rust error under {field}; Rust says {:?}",
                            case.name,
                            errors.iter().map(ToString::to_string).collect::<Vec<_>>()
                        ));
                    }
                }
            }
            Err(e) if want_valid => disagreements.push(format!(
                "{}: valid, but Rust cannot read it: {e}",
                case.name
            )),
            Err(_) => {} // rejected before validation: agrees
        }
    }
    assert!(checked > 30);
    assert!(
        disagreements.is_empty(),
        "Rust validation disagrees with the CRD schema:\n  {}",
        disagreements.join("\n  ")
    );
}
