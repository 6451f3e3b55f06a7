//! Disclosure after enforcement (事后公开): within how many working days a decision is
//! published.
//!
//! Licensing and penalty decisions within 7 working days, all others within 20
//! (辽宁省实施方案, 达州市实施方案, 沈阳市 2020), unless a law says otherwise: an agency may
//! then override a category, citing that law ([`DisclosureOverride`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::category::EnforcementCategory;

/// Longest disclosure deadline an override may set, in working days.
pub const MAX_DISCLOSURE_WORKING_DAYS: u32 = 60;

/// A disclosure deadline that a law sets differently, with that law cited.
///
/// Declared on the Agency (`spec.disclosure.overrides`) and carried to the tenant
/// service in the [`crate::TenantContract`]; the schema (with its CEL rule) is the one
/// the Agency CRD embeds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.legalBasis) && size(self.legalBasis.trim()) >= 4",
        "message": "cite the legal basis (law and article) that sets this deadline",
        "fieldPath": ".legalBasis"
    }
]))]
pub struct DisclosureOverride {
    /// The category whose deadline differs.
    pub category: EnforcementCategory,
    /// Deadline in working days after the decision, 1 to 60.
    #[schemars(range(min = 1, max = 60))]
    pub working_days: u32,
    /// The law and article that set this deadline, e.g. 《某某条例》第十二条. Required:
    /// a deadline may only deviate from the default where a law says so.
    #[schemars(length(min = 4, max = 500))]
    pub legal_basis: String,
}

/// The disclosure deadline for decisions of `category`, in working days after the
/// decision: an override for the category wins, else 7 for Licensing and Penalty and 20
/// for the rest.
pub fn disclosure_working_days(
    category: EnforcementCategory,
    overrides: &[DisclosureOverride],
) -> u32 {
    overrides
        .iter()
        .find(|o| o.category == category)
        .map_or_else(
            || category.default_disclosure_working_days(),
            |o| o.working_days,
        )
}

/// The override that applies to `category`, if any (for showing its legal basis).
pub fn disclosure_override(
    category: EnforcementCategory,
    overrides: &[DisclosureOverride],
) -> Option<&DisclosureOverride> {
    overrides.iter().find(|o| o.category == category)
}

#[cfg(test)]
mod tests {
    use super::*;
    use EnforcementCategory::*;

    #[test]
    fn an_override_wins_only_for_its_category() {
        let overrides = [DisclosureOverride {
            category: Inspection,
            working_days: 5,
            legal_basis: "《某某条例》第十二条".into(),
        }];
        assert_eq!(disclosure_working_days(Inspection, &overrides), 5);
        assert_eq!(disclosure_working_days(Penalty, &overrides), 7);
        assert_eq!(disclosure_working_days(Fee, &overrides), 20);
        assert_eq!(
            disclosure_override(Inspection, &overrides).map(|o| o.legal_basis.as_str()),
            Some("《某某条例》第十二条")
        );
        assert_eq!(disclosure_override(Penalty, &overrides), None);
    }

    #[test]
    fn serialized_in_camel_case_with_the_category_name() {
        let o = DisclosureOverride {
            category: Penalty,
            working_days: 5,
            legal_basis: "《某某条例》第十二条".into(),
        };
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"category":"Penalty","workingDays":5,"legalBasis":"《某某条例》第十二条"}"#
        );
    }
}
