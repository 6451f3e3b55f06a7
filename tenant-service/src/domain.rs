//! Domain vocabulary: enforcement categories, procedures, roles of personnel.

use sanxiang_crds::agency::EnforcementCategory;
use serde::{Deserialize, Serialize};

/// Enforcement category (执法类别).
///
/// Serialized in snake_case (`penalty`); also read in the CRDs' PascalCase (`Penalty`, `Fee`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 行政许可
    Licensing,
    /// 行政处罚
    Penalty,
    /// 行政强制
    Coercion,
    /// 行政征收
    Expropriation,
    /// 行政征用
    Requisition,
    /// 行政检查
    Inspection,
    /// 行政收费
    Fees,
    /// 行政裁决
    Adjudication,
    /// 行政确认
    Confirmation,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::Licensing,
        Category::Penalty,
        Category::Coercion,
        Category::Expropriation,
        Category::Requisition,
        Category::Inspection,
        Category::Fees,
        Category::Adjudication,
        Category::Confirmation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Licensing => "licensing",
            Category::Penalty => "penalty",
            Category::Coercion => "coercion",
            Category::Expropriation => "expropriation",
            Category::Requisition => "requisition",
            Category::Inspection => "inspection",
            Category::Fees => "fees",
            Category::Adjudication => "adjudication",
            Category::Confirmation => "confirmation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Accepted spellings in configuration: snake_case, camelCase/PascalCase.
    pub fn parse_loose(s: &str) -> Option<Self> {
        let lower = s.to_ascii_lowercase();
        Self::parse(&lower).or(match lower.as_str() {
            "coercivemeasure" | "coercive_measure" | "coercive" => Some(Category::Coercion),
            "fee" => Some(Category::Fees),
            _ => None,
        })
    }

    /// Statutory disclosure period: 7 working days for licensing and penalty, 20 otherwise.
    pub fn default_disclosure_days(self) -> u32 {
        EnforcementCategory::from(self).default_disclosure_working_days()
    }
}

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Category::parse_loose(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown category `{s}`, expected one of {}",
                category_names()
            ))
        })
    }
}

impl From<Category> for EnforcementCategory {
    fn from(c: Category) -> Self {
        match c {
            Category::Licensing => EnforcementCategory::Licensing,
            Category::Penalty => EnforcementCategory::Penalty,
            Category::Coercion => EnforcementCategory::Coercion,
            Category::Expropriation => EnforcementCategory::Expropriation,
            Category::Requisition => EnforcementCategory::Requisition,
            Category::Inspection => EnforcementCategory::Inspection,
            Category::Fees => EnforcementCategory::Fee,
            Category::Adjudication => EnforcementCategory::Adjudication,
            Category::Confirmation => EnforcementCategory::Confirmation,
        }
    }
}

pub fn category_names() -> String {
    Category::ALL
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Procedure (简易程序 / 一般程序).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Procedure {
    Simple,
    General,
}

impl Procedure {
    pub fn as_str(self) -> &'static str {
        match self {
            Procedure::Simple => "simple",
            Procedure::General => "general",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "simple" => Some(Self::Simple),
            "general" => Some(Self::General),
            _ => None,
        }
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
    fn disclosure_defaults() {
        assert_eq!(Category::Licensing.default_disclosure_days(), 7);
        assert_eq!(Category::Penalty.default_disclosure_days(), 7);
        assert_eq!(Category::Inspection.default_disclosure_days(), 20);
        assert_eq!(Category::parse_loose("Penalty"), Some(Category::Penalty));
        let c: Category = serde_json::from_str("\"Fee\"").unwrap();
        assert_eq!(c, Category::Fees);
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"fees\"");
        assert!(serde_json::from_str::<Category>("\"rocket\"").is_err());
        assert!(requires_full_av("seizure_detention"));
        assert!(!requires_full_av("hearing"));
    }
}
