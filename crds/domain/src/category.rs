//! Enforcement categories (执法类别), procedures (程序) and kinds of enforcement action.
//!
//! One enum per idea. An [`EnforcementCategory`] has two spellings, both fixed here:
//! its name (`Penalty`), used by Kubernetes objects, the operator's contract and serde;
//! and its code (`penalty`), the stable token stored in tenant databases (constrained by
//! a CHECK), used as a Prometheus label and in the tenant service's HTTP API. Reading
//! accepts either spelling and nothing else.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Enforcement category (执法类别): Licensing 行政许可, Penalty 行政处罚, Coercion 行政强制,
/// Expropriation 行政征收, Requisition 行政征用, Inspection 行政检查, Fee 行政收费,
/// Adjudication 行政裁决, Confirmation 行政确认.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
pub enum EnforcementCategory {
    /// 行政许可 (administrative licensing).
    Licensing,
    /// 行政处罚 (administrative penalty).
    Penalty,
    /// 行政强制 (administrative coercive measures).
    Coercion,
    /// 行政征收 (expropriation).
    Expropriation,
    /// 行政征用 (requisition).
    Requisition,
    /// 行政检查 (inspection).
    Inspection,
    /// 行政收费 (administrative fees).
    Fee,
    /// 行政裁决 (administrative adjudication).
    Adjudication,
    /// 行政确认 (administrative confirmation).
    Confirmation,
}

use EnforcementCategory::*;

impl EnforcementCategory {
    /// All categories, in declaration order.
    pub const ALL: [Self; 9] = [
        Licensing,
        Penalty,
        Coercion,
        Expropriation,
        Requisition,
        Inspection,
        Fee,
        Adjudication,
        Confirmation,
    ];

    /// The name used in Kubernetes objects and by serde, e.g. `Penalty`.
    pub fn as_str(self) -> &'static str {
        self.spellings().0
    }

    /// The code stored in tenant databases, used as a metric label and in the tenant
    /// service's API, e.g. `penalty`.
    pub fn code(self) -> &'static str {
        self.spellings().1
    }

    /// The Chinese legal term, e.g. 行政处罚.
    pub fn chinese_name(self) -> &'static str {
        self.spellings().2
    }

    fn spellings(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Licensing => ("Licensing", "licensing", "行政许可"),
            Penalty => ("Penalty", "penalty", "行政处罚"),
            Coercion => ("Coercion", "coercion", "行政强制"),
            Expropriation => ("Expropriation", "expropriation", "行政征收"),
            Requisition => ("Requisition", "requisition", "行政征用"),
            Inspection => ("Inspection", "inspection", "行政检查"),
            Fee => ("Fee", "fee", "行政收费"),
            Adjudication => ("Adjudication", "adjudication", "行政裁决"),
            Confirmation => ("Confirmation", "confirmation", "行政确认"),
        }
    }

    /// The category whose [`code`](Self::code) is `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The codes, comma-separated, for error messages.
    pub fn code_list() -> String {
        Self::ALL.map(Self::code).join(", ")
    }

    /// Default disclosure deadline in working days after the decision: 7 for
    /// licensing and penalty decisions, 20 for all others (辽宁省实施方案 and the other
    /// seeds; see [`crate::disclosure`]).
    pub fn default_disclosure_working_days(self) -> u32 {
        match self {
            Licensing | Penalty => 7,
            _ => 20,
        }
    }
}

impl fmt::Display for EnforcementCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string names no category.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category `{0}`, expected one of {list}", list = EnforcementCategory::code_list())]
pub struct UnknownCategory(pub String);

impl FromStr for EnforcementCategory {
    type Err = UnknownCategory;
    /// The name (`Penalty`) or the code (`penalty`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s || c.code() == s)
            .ok_or_else(|| UnknownCategory(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for EnforcementCategory {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Procedure of an enforcement action: simple (简易程序) or general (一般程序).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Procedure {
    /// 简易程序: decided on the spot.
    Simple,
    /// 一般程序: investigated, with at least two officers.
    General,
}

impl Procedure {
    /// All procedures.
    pub const ALL: [Self; 2] = [Self::Simple, Self::General];

    /// The code stored and served, e.g. `general`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simple => "simple",
            Self::General => "general",
        }
    }

    /// The Chinese term, e.g. 一般程序.
    pub fn chinese_name(self) -> &'static str {
        match self {
            Self::Simple => "简易程序",
            Self::General => "一般程序",
        }
    }

    /// The procedure whose code is `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Kinds of enforcement action; some require full-process audio/video recording.
pub const ACTION_KINDS: [&str; 9] = [
    "seizure_detention",
    "forced_demolition",
    "personal_liberty",
    "on_site_enforcement",
    "evidence_collection",
    "hearing",
    "lodged_service",
    "service_by_announcement",
    "other",
];

/// Actions that require full-process A/V recording (查封扣押财产, 强制拆除, and on-site
/// actions touching personal liberty, life, health or major property).
pub fn requires_full_av(kind: &str) -> bool {
    matches!(
        kind,
        "seizure_detention" | "forced_demolition" | "personal_liberty"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_codes_and_chinese_labels_round_trip() {
        for c in EnforcementCategory::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            let back: EnforcementCategory = serde_json::from_str(&json).unwrap();
            assert_eq!(back, c);
            let from_code: EnforcementCategory =
                serde_json::from_str(&format!("\"{}\"", c.code())).unwrap();
            assert_eq!(from_code, c);
            assert_eq!(EnforcementCategory::from_code(c.code()), Some(c));
            assert_eq!(c.code(), c.as_str().to_ascii_lowercase());
            assert!(c.chinese_name().starts_with("行政"));
        }
    }

    #[test]
    fn other_spellings_are_refused_with_the_list_of_codes() {
        for bad in ["fees", "FEE", "coercive_measure", "rocket", ""] {
            let e = bad.parse::<EnforcementCategory>().unwrap_err();
            assert!(e.to_string().starts_with("unknown category"), "{e}");
            assert!(e.to_string().contains("licensing, penalty"), "{e}");
        }
        let e = serde_json::from_str::<EnforcementCategory>("\"fees\"").unwrap_err();
        assert!(e.to_string().contains("unknown category `fees`"), "{e}");
    }

    #[test]
    fn disclosure_defaults_are_7_for_licensing_and_penalty_else_20() {
        for c in EnforcementCategory::ALL {
            let expected = if matches!(c, Licensing | Penalty) {
                7
            } else {
                20
            };
            assert_eq!(c.default_disclosure_working_days(), expected, "{c}");
        }
    }

    #[test]
    fn procedures_and_action_kinds() {
        assert_eq!(Procedure::parse("general"), Some(Procedure::General));
        assert_eq!(Procedure::parse("General"), None);
        assert_eq!(
            serde_json::to_string(&Procedure::Simple).unwrap(),
            "\"simple\""
        );
        assert_eq!(Procedure::General.chinese_name(), "一般程序");
        assert!(requires_full_av("seizure_detention"));
        assert!(!requires_full_av("hearing"));
        assert!(ACTION_KINDS.iter().all(|k| !k.is_empty()));
    }
}
