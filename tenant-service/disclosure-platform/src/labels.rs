//! Chinese labels for the codes that travel in events: enforcement categories and
//! procedures. One table, so it can move into the domain crate later.
//!
//! Events carry the tenant service's snake_case category names (`penalty`); the CRDs use
//! PascalCase (`Penalty`). Both are accepted; the Chinese term comes from
//! [`sanxiang_crds::EnforcementCategory::chinese_name`].

use sanxiang_crds::EnforcementCategory;

/// The category named by `code` in either spelling.
pub fn category(code: &str) -> Option<EnforcementCategory> {
    let lower = code.to_ascii_lowercase();
    EnforcementCategory::ALL
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(&lower))
        .or(match lower.as_str() {
            "fees" => Some(EnforcementCategory::Fee),
            "coercive_measure" | "coercivemeasure" => Some(EnforcementCategory::Coercion),
            _ => None,
        })
}

/// The snake_case code used in URLs and the JSON API (`penalty`, `fees`, …).
pub fn category_code(c: EnforcementCategory) -> &'static str {
    match c {
        EnforcementCategory::Licensing => "licensing",
        EnforcementCategory::Penalty => "penalty",
        EnforcementCategory::Coercion => "coercion",
        EnforcementCategory::Expropriation => "expropriation",
        EnforcementCategory::Requisition => "requisition",
        EnforcementCategory::Inspection => "inspection",
        EnforcementCategory::Fee => "fees",
        EnforcementCategory::Adjudication => "adjudication",
        EnforcementCategory::Confirmation => "confirmation",
    }
}

/// 行政处罚 for `penalty`; the code itself when unknown.
pub fn category_zh(code: &str) -> String {
    category(code).map_or_else(|| code.to_string(), |c| c.chinese_name().to_string())
}

/// Every category code, in the order of the CRDs.
pub fn category_codes() -> impl Iterator<Item = &'static str> {
    EnforcementCategory::ALL.into_iter().map(category_code)
}

/// Procedures (程序).
pub const PROCEDURES: [(&str, &str); 2] = [("simple", "简易程序"), ("general", "一般程序")];

/// 一般程序 for `general`; the code itself when unknown.
pub fn procedure_zh(code: &str) -> String {
    PROCEDURES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| code.to_string(), |(_, zh)| (*zh).to_string())
}

/// Names of the statistics figures (the tenant service's annual report keys).
pub const FIGURES: [(&str, &str); 5] = [
    ("decisions", "决定总数"),
    ("general", "一般程序"),
    ("simple", "简易程序"),
    ("published", "已公示"),
    ("revoked", "已撤销"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_and_chinese() {
        assert_eq!(category_zh("penalty"), "行政处罚");
        assert_eq!(category_zh("Penalty"), "行政处罚");
        assert_eq!(category_zh("fees"), "行政收费");
        assert_eq!(category_zh("other"), "other");
        assert_eq!(procedure_zh("general"), "一般程序");
        assert_eq!(category_codes().count(), 9);
        for code in category_codes() {
            assert_eq!(category(code).map(category_code), Some(code));
        }
    }
}
