//! `JurisdictionPolicy`: the policies a city's administrators set themselves, for their
//! city or one of its counties, as an object in the city namespace `sx-<city code>`.
//!
//! Why a separate, namespaced kind: Jurisdictions are cluster-scoped and provincial IT's
//! (they carry administrator groups and quotas), and Kubernetes RBAC cannot hand a city
//! one field of one cluster-scoped object. A namespaced object can be granted by the
//! city's Role, and admission compares its `spec.jurisdiction` with the namespace's city.
//!
//! The values are the same type as `Jurisdiction.spec.policies` ([`JurisdictionPolicies`]),
//! and they only tighten: the object is the layer right after its Jurisdiction in the
//! inheritance national → province → city (Jurisdiction, then this object) → county
//! (likewise), so provincial IT's values stay its bound (see
//! `sanxiang_domain::policy::inherit`). One object per jurisdiction: its name is fixed,
//! `policy-<code>` ([`policy_object_name`]).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::codes::is_division_code;
use crate::field_error::FieldError;
use crate::jurisdiction::{JurisdictionPolicies, validate_policies};

/// Prefix of every JurisdictionPolicy's name: `policy-<spec.jurisdiction>`.
pub const POLICY_OBJECT_PREFIX: &str = "policy-";

/// The only name a JurisdictionPolicy for `code` may have, e.g. `policy-511700`.
pub fn policy_object_name(code: &str) -> String {
    format!("{POLICY_OBJECT_PREFIX}{code}")
}

/// A city's own tightening of the policies of the city or one of its counties.
///
/// Lives in the city's namespace and is named `policy-<spec.jurisdiction>`; the city's
/// administrators create and edit it (Role `sanxiang-agency-admin`), and admission
/// refuses one that names the province, another city or another city's county. Its
/// values only tighten what provincial IT set in the Jurisdictions above and in the
/// Jurisdiction itself; a looser value is not obeyed and `PoliciesValid` says so.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "sanxiang.io",
    version = "v1alpha1",
    kind = "JurisdictionPolicy",
    doc = "A city's own policies for the city or one of its counties (name policy-<code>); see spec.",
    namespaced,
    plural = "jurisdictionpolicies",
    shortname = "jpol",
    category = "sanxiang",
    status = "JurisdictionPolicyStatus",
    printcolumn = r#"{"name":"Jurisdiction","type":"string","jsonPath":".spec.jurisdiction"}"#,
    printcolumn = r#"{"name":"Withdrawal Days","type":"integer","jsonPath":".spec.policies.withdrawalDeadlineDays"}"#,
    printcolumn = r#"{"name":"Statistics Due Day","type":"integer","jsonPath":".spec.policies.annualStatisticsDue.day","description":"the day in January"}"#,
    printcolumn = r#"{"name":"Reviewer Ratio","type":"integer","jsonPath":".spec.policies.legalReviewerRatioPermille","priority":1}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Within Bounds","type":"string","jsonPath":".status.conditions[?(@.type==\"PoliciesValid\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct JurisdictionPolicySpec {
    /// GB/T 2260 code of the city whose namespace this is, or of one of its counties.
    /// Not a province: the province's policies are provincial IT's, in its Jurisdiction.
    /// The object's name must be `policy-<this code>`, so it cannot be changed.
    #[schemars(
        length(max = 6),
        extend("x-kubernetes-validations" = [
            {
                "rule": "self.matches('^[1-9][0-9]{5}$')",
                "message": "must be the 6-digit GB/T 2260 code of the city or one of its counties, such as 511700"
            },
            {
                "rule": "!self.endsWith('0000')",
                "message": "is a province: a JurisdictionPolicy sets a city's or county's policies; the province's are set by provincial IT in its Jurisdiction"
            }
        ])
    )]
    pub jurisdiction: String,

    /// The values this city tightens for `jurisdiction`, as in `Jurisdiction.spec.policies`
    /// and with the same national bounds; omitted fields inherit. Each value may only
    /// tighten the one in force above it — the province's and the Jurisdiction's own
    /// (provincial IT's), and for a county the city's (Jurisdiction and object) — or it
    /// is not obeyed and `PoliciesValid` is False naming the field.
    #[serde(default)]
    pub policies: JurisdictionPolicies,
}

/// What the operator found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JurisdictionPolicyStatus {
    /// `Ready`: the object is in force for its jurisdiction (False: the reason names what
    /// to fix, e.g. JurisdictionMismatch). `PoliciesValid`: every value tightens the
    /// bound above it (False, reason PolicyLoosened: the message names each field that
    /// does not, which is not obeyed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Checks a JurisdictionPolicy the way its schema and CEL rules do (the name rule sits on
/// the object root, so the name is passed in).
pub fn validate_jurisdiction_policy(name: &str, spec: &JurisdictionPolicySpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let code = spec.jurisdiction.as_str();
    if !is_division_code(code) {
        errors.push(FieldError::new(
            "spec.jurisdiction",
            format!("{code:?} must be the 6-digit GB/T 2260 code of the city or one of its counties, such as 511700"),
        ));
    } else if code.ends_with("0000") {
        errors.push(FieldError::new(
            "spec.jurisdiction",
            format!("{code} is a province: a JurisdictionPolicy sets a city's or county's policies; the province's are set by provincial IT in its Jurisdiction"),
        ));
    }
    if name != policy_object_name(code) {
        errors.push(FieldError::new(
            "metadata.name",
            format!("{name:?}: a JurisdictionPolicy is named after its jurisdiction, {POLICY_OBJECT_PREFIX}<spec.jurisdiction> ({}), so that a jurisdiction has one", policy_object_name(code)),
        ));
    }
    errors.extend(validate_policies(&spec.policies));
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(yaml: &str) -> Vec<String> {
        let p: JurisdictionPolicy = serde_yaml::from_str(yaml).unwrap();
        validate_jurisdiction_policy(&p.metadata.name.unwrap(), &p.spec)
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn dazhou_sets_its_own_rules() {
        let yaml = "apiVersion: sanxiang.io/v1alpha1\nkind: JurisdictionPolicy\n\
                    metadata: {name: policy-511700, namespace: sx-511700}\n\
                    spec:\n  jurisdiction: '511700'\n  policies:\n    withdrawalDeadlineDays: 1\n    \
                    annualStatisticsDue: {month: 1, day: 10}\n";
        assert!(fields(yaml).is_empty());
        let p: JurisdictionPolicy = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(p.spec.policies.values().withdrawal_deadline_days, Some(1));
    }

    #[test]
    fn the_name_follows_the_code_and_the_province_is_not_a_citys() {
        let bad_name = "metadata: {name: dazhou}\nspec: {jurisdiction: '511700'}\n";
        assert_eq!(
            fields(&format!(
                "apiVersion: sanxiang.io/v1alpha1\nkind: JurisdictionPolicy\n{bad_name}"
            )),
            ["metadata.name"]
        );
        let province = "metadata: {name: policy-510000}\nspec: {jurisdiction: '510000'}\n";
        assert_eq!(
            fields(&format!(
                "apiVersion: sanxiang.io/v1alpha1\nkind: JurisdictionPolicy\n{province}"
            )),
            ["spec.jurisdiction"]
        );
        let loose = "metadata: {name: policy-511700}\nspec: {jurisdiction: '511700', policies: {withdrawalDeadlineDays: 4}}\n";
        assert_eq!(
            fields(&format!(
                "apiVersion: sanxiang.io/v1alpha1\nkind: JurisdictionPolicy\n{loose}"
            )),
            ["spec.policies.withdrawalDeadlineDays"]
        );
    }
}
