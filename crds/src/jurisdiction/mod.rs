//! `Jurisdiction`: a province, city or county, identified by its GB/T 2260
//! administrative division code, with its administrators, policies and quotas.
//!
//! The hierarchy drives everything else: a city gets a namespace where its
//! administrators manage Agency objects for the city and its counties, NATS subjects
//! and alert labels follow province → city → county, and deadlines that differ by place
//! (annual statistics by January 31 in Liaoning, January 10 in Dazhou; withdrawal of a
//! revoked decision within 3 days nationally, 1 day in Dazhou) are policies here.
//!
//! The code rules (what a province, city and county code looks like and who may be its
//! parent) are CEL rules in the schema *and* [`validate_jurisdiction`] in Rust, because
//! old clusters may not evaluate CEL and the operator must not act on a bad hierarchy.
//!
//! The policies a level sets (deadlines, reviewer ratio, retention), which Agency and
//! JurisdictionPolicy objects reuse, are their own idea in `policies`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::codes::is_division_code;
use crate::field_error::FieldError;

mod policies;

pub use policies::{
    DEFAULT_ANNUAL_STATISTICS_DUE, JurisdictionPolicies, MAX_RETENTION_DAYS,
    MIN_LEGAL_REVIEWER_RATIO_PERMILLE, validate_policies,
};
pub use sanxiang_domain::contract::{
    DEFAULT_LEGAL_REVIEWER_RATIO_PERMILLE, DEFAULT_WITHDRAWAL_DEADLINE_DAYS,
};
pub use sanxiang_domain::place::{JurisdictionLevel, allowed_parents, level_of_code};

/// A province (省), city (地级市) or county-level unit (县、县级市、区) of the platform.
///
/// Create the province first, then its cities, then their counties; the object name is
/// free, but naming it after the code (e.g. `210100`) keeps `kubectl get jur` readable.
/// The operator gives every City a namespace in which the city's administrators
/// (`administratorGroups`) manage the Agency objects of the city and its counties.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "sanxiang.io",
    version = "v1alpha1",
    kind = "Jurisdiction",
    doc = "A province, city or county by its GB/T 2260 code, with administrators and policies; see spec.",
    plural = "jurisdictions",
    shortname = "jur",
    category = "sanxiang",
    status = "JurisdictionStatus",
    printcolumn = r#"{"name":"Level","type":"string","jsonPath":".spec.level"}"#,
    printcolumn = r#"{"name":"Code","type":"string","jsonPath":".spec.code"}"#,
    printcolumn = r#"{"name":"Parent","type":"string","jsonPath":".spec.parent"}"#,
    printcolumn = r#"{"name":"Display Name","type":"string","jsonPath":".spec.displayName","priority":1}"#,
    printcolumn = r#"{"name":"Namespace","type":"string","jsonPath":".status.namespace"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Agencies","type":"integer","jsonPath":".status.agencyCount"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.level != 'Province' || size(self.code) != 6 || self.code.endsWith('0000')",
        "message": "a Province code ends in 0000, e.g. 210000",
        "fieldPath": ".code"
    },
    {
        "rule": "self.level != 'Province' || !has(self.parent)",
        "message": "a Province has no parent",
        "fieldPath": ".parent"
    },
    {
        "rule": "self.level != 'City' || size(self.code) != 6 || (self.code.endsWith('00') && !self.code.endsWith('0000'))",
        "message": "a City code ends in 00 but not 0000, e.g. 210100",
        "fieldPath": ".code"
    },
    {
        "rule": "self.level != 'City' || size(self.code) != 6 || (has(self.parent) && self.parent == self.code.substring(0, 2) + '0000')",
        "message": "the parent of a City must be its province: the first two digits of its code followed by 0000",
        "messageExpression": "'the parent of City ' + self.code + ' must be its province ' + self.code.substring(0, 2) + '0000'",
        "fieldPath": ".parent"
    },
    {
        "rule": "self.level != 'County' || size(self.code) != 6 || !self.code.endsWith('00')",
        "message": "a County code does not end in 00, e.g. 211221",
        "fieldPath": ".code"
    },
    {
        "rule": "self.level != 'County' || size(self.code) != 6 || (has(self.parent) && (self.parent == self.code.substring(0, 4) + '00' || (self.code.substring(2, 4) == '90' && self.parent == self.code.substring(0, 2) + '0000')))",
        "message": "the parent of a County must be its city (first four digits followed by 00), or its province for a province-administered unit (middle digits 90)",
        "messageExpression": "'the parent of County ' + self.code + ' must be its city ' + self.code.substring(0, 4) + '00' + (self.code.substring(2, 4) == '90' ? ' or its province ' + self.code.substring(0, 2) + '0000' : '')",
        "fieldPath": ".parent"
    }
]))]
pub struct JurisdictionSpec {
    /// Province, City or County. County covers every county-level unit (县, 县级市,
    /// 市辖区, 旗). Cannot be changed after creation.
    #[schemars(extend("x-kubernetes-validations" = [
        { "rule": "self == oldSelf", "message": "is immutable: delete and recreate the Jurisdiction" }
    ]))]
    pub level: JurisdictionLevel,

    /// GB/T 2260 administrative division code, 6 digits: 210000 Liaoning (Province),
    /// 210100 Shenyang (City), 211221 Tieling county (County). Cannot be changed after
    /// creation.
    #[schemars(
        length(max = 6),
        extend("x-kubernetes-validations" = [
            {
                "rule": "self.matches('^[1-9][0-9]{5}$')",
                "message": "must be a 6-digit GB/T 2260 administrative division code such as 210100"
            },
            { "rule": "self == oldSelf", "message": "is immutable: delete and recreate the Jurisdiction" }
        ])
    )]
    pub code: String,

    /// Code of the parent jurisdiction: none for a Province; the province (xx0000) for a
    /// City; the city (xxxx00) for a County, or the province for a county-level unit the
    /// province administers directly (codes xx90xx, e.g. 429004 under 420000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 6),
        extend("x-kubernetes-validations" = [
            {
                "rule": "self.matches('^[1-9][0-9]{5}$')",
                "message": "must be a 6-digit GB/T 2260 administrative division code such as 210000"
            }
        ])
    )]
    pub parent: Option<String>,

    /// Name shown to people, e.g. 沈阳市.
    #[schemars(length(min = 1, max = 64))]
    pub display_name: String,

    /// Groups (as your cluster's authentication reports them) whose members administer
    /// this jurisdiction. For a City the operator lets them manage Agency objects in the
    /// city's namespace; they get no other rights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 32),
        inner(length(min = 1, max = 253)),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub administrator_groups: Vec<String>,

    /// Rules that differ by place. Omitted fields take the national/provincial defaults.
    #[serde(default)]
    pub policies: JurisdictionPolicies,

    /// Limits on what this jurisdiction may create.
    #[serde(default)]
    pub quota: JurisdictionQuota,
}

/// Limits on what a jurisdiction may create.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JurisdictionQuota {
    /// Most Agency objects the operator provisions for this jurisdiction (for a City:
    /// the city and its counties). Agencies beyond it stay not Ready with reason
    /// QuotaExceeded. Omit for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_agencies: Option<u32>,
}

/// What the operator set up for the jurisdiction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JurisdictionStatus {
    /// `Ready` is True when the hierarchy is valid and, for a City, its namespace and
    /// RBAC exist; otherwise the reason and message say what to fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// For a City: the namespace where its administrators manage Agency objects; for a
    /// Province: the namespace of its province-level agencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Number of Agency objects provisioned (Ready) under this jurisdiction: its own, and
    /// for a city its counties', for a province its cities'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency_count: Option<u32>,
}

/// Checks a Jurisdiction spec the way its schema and CEL rules do.
pub fn validate_jurisdiction(spec: &JurisdictionSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let code = spec.code.as_str();
    if !is_division_code(code) {
        errors.push(FieldError::new(
            "spec.code",
            format!(
                "{code:?} is not a 6-digit GB/T 2260 administrative division code such as 210100"
            ),
        ));
    } else {
        let shape = match spec.level {
            JurisdictionLevel::Province if !code.ends_with("0000") => {
                Some("a Province code ends in 0000, e.g. 210000")
            }
            JurisdictionLevel::City if !code.ends_with("00") || code.ends_with("0000") => {
                Some("a City code ends in 00 but not 0000, e.g. 210100")
            }
            JurisdictionLevel::County if code.ends_with("00") => {
                Some("a County code does not end in 00, e.g. 211221")
            }
            _ => None,
        };
        if let Some(message) = shape {
            errors.push(FieldError::new("spec.code", format!("{code}: {message}")));
        }
    }
    match (&spec.parent, spec.level) {
        (Some(p), _) if !is_division_code(p) => errors.push(FieldError::new(
            "spec.parent",
            format!("{p:?} is not a 6-digit GB/T 2260 administrative division code such as 210000"),
        )),
        (Some(_), JurisdictionLevel::Province) => {
            errors.push(FieldError::new("spec.parent", "a Province has no parent"))
        }
        (parent, level) if level != JurisdictionLevel::Province && is_division_code(code) => {
            let allowed = allowed_parents(level, code);
            if !parent.as_ref().is_some_and(|p| allowed.contains(p)) {
                let what = match level {
                    JurisdictionLevel::City => "its province",
                    _ if allowed.len() > 1 => {
                        "its city or, as a province-administered unit, its province"
                    }
                    _ => "its city",
                };
                errors.push(FieldError::new(
                    "spec.parent",
                    format!(
                        "the parent of {level:?} {code} must be {what}: {}",
                        allowed.join(" or ")
                    ),
                ));
            }
        }
        _ => {}
    }
    if spec.display_name.trim().is_empty() {
        errors.push(FieldError::new("spec.displayName", "must not be empty"));
    } else if spec.display_name.chars().count() > 64 {
        errors.push(FieldError::new(
            "spec.displayName",
            "must be at most 64 characters",
        ));
    }
    for (i, g) in spec.administrator_groups.iter().enumerate() {
        if g.trim().is_empty() {
            errors.push(FieldError::new(
                format!("spec.administratorGroups[{i}]"),
                "must not be empty",
            ));
        } else if spec.administrator_groups[..i].contains(g) {
            errors.push(FieldError::new(
                format!("spec.administratorGroups[{i}]"),
                format!("{g:?} is listed twice"),
            ));
        }
    }
    errors.extend(validate_policies(&spec.policies));
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::month_day::MonthDay;
    use JurisdictionLevel::*;
    use sanxiang_domain::policy::PolicyValues;

    fn jur(level: JurisdictionLevel, code: &str, parent: Option<&str>) -> JurisdictionSpec {
        JurisdictionSpec {
            level,
            code: code.into(),
            parent: parent.map(Into::into),
            display_name: "沈阳市".into(),
            administrator_groups: vec!["sanxiang:city:210100".into()],
            policies: JurisdictionPolicies::default(),
            quota: JurisdictionQuota::default(),
        }
    }

    fn fields(spec: &JurisdictionSpec) -> Vec<String> {
        validate_jurisdiction(spec)
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn good_hierarchy() {
        for spec in [
            jur(Province, "210000", None),
            jur(City, "210100", Some("210000")),
            jur(City, "511700", Some("510000")),
            jur(County, "211221", Some("211200")),
            jur(County, "429004", Some("420000")), // 仙桃市, province-administered
            jur(County, "429004", Some("429000")),
        ] {
            assert_eq!(validate_jurisdiction(&spec), vec![], "{spec:?}");
        }
    }

    #[test]
    fn code_must_be_six_digits() {
        for bad in ["", "21010", "2101000", "010000", "21O100"] {
            assert_eq!(
                fields(&jur(City, bad, Some("210000"))),
                ["spec.code"],
                "{bad}"
            );
        }
    }

    #[test]
    fn province_rules() {
        assert_eq!(fields(&jur(Province, "210100", None)), ["spec.code"]);
        let e = validate_jurisdiction(&jur(Province, "210000", Some("100000")));
        assert_eq!(
            e,
            vec![FieldError::new("spec.parent", "a Province has no parent")]
        );
    }

    #[test]
    fn city_rules() {
        assert_eq!(fields(&jur(City, "210000", Some("210000"))), ["spec.code"]);
        assert_eq!(fields(&jur(City, "210101", Some("210000"))), ["spec.code"]);
        assert_eq!(fields(&jur(City, "210100", None)), ["spec.parent"]);
        let e = validate_jurisdiction(&jur(City, "210100", Some("220000")));
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].to_string(),
            "spec.parent: the parent of City 210100 must be its province: 210000"
        );
    }

    #[test]
    fn county_rules() {
        assert_eq!(
            fields(&jur(County, "211200", Some("211200"))),
            ["spec.code"]
        );
        assert_eq!(fields(&jur(County, "211221", None)), ["spec.parent"]);
        // A county's parent is its city, not its province…
        let e = validate_jurisdiction(&jur(County, "211221", Some("210000")));
        assert_eq!(
            e[0].to_string(),
            "spec.parent: the parent of County 211221 must be its city: 211200"
        );
        // …unless it is province-administered (middle digits 90).
        let e = validate_jurisdiction(&jur(County, "429004", Some("429900")));
        assert_eq!(e[0].field, "spec.parent");
        assert!(e[0].message.ends_with("429000 or 420000"), "{}", e[0]);
        assert_eq!(
            fields(&jur(County, "211221", Some("21120"))),
            ["spec.parent"]
        );
    }

    #[test]
    fn other_fields() {
        let mut s = jur(City, "210100", Some("210000"));
        s.display_name = "市".repeat(65);
        assert_eq!(fields(&s), ["spec.displayName"]);
        s.display_name = "".into();
        s.administrator_groups = vec!["a".into(), "".into(), "a".into()];
        s.policies.legal_reviewer_ratio_permille = Some(0);
        s.policies.annual_statistics_due = Some(MonthDay::new(1, 32));
        s.policies.withdrawal_deadline_days = Some(4);
        assert_eq!(
            fields(&s),
            [
                "spec.displayName",
                "spec.administratorGroups[1]",
                "spec.administratorGroups[2]",
                "spec.policies.legalReviewerRatioPermille",
                "spec.policies.annualStatisticsDue.day",
                "spec.policies.withdrawalDeadlineDays",
            ]
        );
        s.policies.withdrawal_deadline_days = Some(0);
        s.policies.legal_reviewer_ratio_permille = Some(1001);
        s.policies.annual_statistics_due = Some(MonthDay::new(2, 1));
        assert!(fields(&s).contains(&"spec.policies.annualStatisticsDue.month".to_string()));
        assert!(fields(&s).contains(&"spec.policies.withdrawalDeadlineDays".to_string()));
        assert!(fields(&s).contains(&"spec.policies.legalReviewerRatioPermille".to_string()));
    }

    #[test]
    fn retention_is_optional_bounded_and_shorter_for_natural_persons() {
        let mut s = jur(City, "210100", Some("210000"));
        assert!(fields(&s).is_empty());
        s.policies.publication_retention_days = Some(1825);
        s.policies.natural_person_retention_days = Some(730);
        assert!(fields(&s).is_empty());
        s.policies.natural_person_retention_days = Some(3650);
        assert_eq!(fields(&s), ["spec.policies.naturalPersonRetentionDays"]);
        s.policies.publication_retention_days = Some(0);
        s.policies.natural_person_retention_days = None;
        assert_eq!(fields(&s), ["spec.policies.publicationRetentionDays"]);
    }

    #[test]
    fn policies_default_when_omitted() {
        let spec: JurisdictionSpec = serde_yaml::from_str(
            "level: City\ncode: '511700'\nparent: '510000'\ndisplayName: 达州市\npolicies:\n  annualStatisticsDue: {month: 1, day: 10}\n  withdrawalDeadlineDays: 1\n",
        )
        .unwrap();
        assert_eq!(
            spec.policies.legal_reviewer_ratio_permille, None,
            "inherited"
        );
        assert_eq!(
            spec.policies.annual_statistics_due,
            Some(MonthDay::new(1, 10))
        );
        assert_eq!(spec.policies.withdrawal_deadline_days, Some(1));
        assert_eq!(spec.quota.max_agencies, None);
        assert!(validate_jurisdiction(&spec).is_empty());
        assert_eq!(spec.policies.values().annual_statistics_due, Some((1, 10)));

        let liaoning: JurisdictionSpec =
            serde_yaml::from_str("level: Province\ncode: '210000'\ndisplayName: 辽宁省\n").unwrap();
        assert_eq!(liaoning.policies, JurisdictionPolicies::default());
        assert_eq!(liaoning.policies.values(), PolicyValues::default());
    }

    #[test]
    fn a_ratio_below_the_national_floor_names_the_field() {
        let mut s = jur(City, "210100", Some("210000"));
        s.policies.legal_reviewer_ratio_permille = Some(30);
        let e = validate_jurisdiction(&s);
        assert_eq!(e.len(), 1);
        assert!(
            e[0].to_string()
                .starts_with("spec.policies.legalReviewerRatioPermille: 30 is outside 50..=1000"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn level_and_parents_from_codes() {
        assert_eq!(level_of_code("210000"), Some(Province));
        assert_eq!(level_of_code("210100"), Some(City));
        assert_eq!(level_of_code("211221"), Some(County));
        assert_eq!(level_of_code("x"), None);
        assert_eq!(allowed_parents(City, "210100"), ["210000"]);
        assert_eq!(allowed_parents(County, "429004"), ["429000", "420000"]);
        assert_eq!(allowed_parents(Province, "210000"), Vec::<String>::new());
        assert_eq!(allowed_parents(County, "bad"), Vec::<String>::new());
    }
}
