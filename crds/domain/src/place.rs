//! Places: GB/T 2260 administrative division codes (行政区划代码), the level a code
//! denotes, who may be its parent, and the Chinese names of the sample provinces.
//!
//! A code is six digits: two for the province, two for the city, two for the county.
//! `210000` is Liaoning, `210100` Shenyang, `211221` Tieling county. Province-administered
//! county-level units have middle digits `90` (e.g. 429004 Xiantao under Hubei).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A GB/T 2260 administrative division code: six ASCII digits, the first not 0,
/// e.g. `210000` (Liaoning), `210100` (Shenyang), `211221` (Tieling county).
/// The CEL spelling is `matches('^[1-9][0-9]{5}$')`.
pub fn is_division_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 6 && b[0] != b'0' && b.iter().all(u8::is_ascii_digit)
}

/// Level of a jurisdiction in the administrative hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum JurisdictionLevel {
    /// 省级: province, autonomous region or municipality.
    Province,
    /// 地级: prefecture-level city.
    City,
    /// 县级: county, county-level city or district.
    County,
}

/// The level a well-formed code denotes by its shape: `xx0000` Province, `xxxx00` City,
/// anything else County. `None` when `code` is not a division code.
pub fn level_of_code(code: &str) -> Option<JurisdictionLevel> {
    if !is_division_code(code) {
        None
    } else if code.ends_with("0000") {
        Some(JurisdictionLevel::Province)
    } else if code.ends_with("00") {
        Some(JurisdictionLevel::City)
    } else {
        Some(JurisdictionLevel::County)
    }
}

/// Codes that may be the parent of a jurisdiction of `level` with `code` (empty for a
/// Province or a malformed code).
pub fn allowed_parents(level: JurisdictionLevel, code: &str) -> Vec<String> {
    if !is_division_code(code) {
        return vec![];
    }
    let province = format!("{}0000", &code[..2]);
    match level {
        JurisdictionLevel::Province => vec![],
        JurisdictionLevel::City => vec![province],
        JurisdictionLevel::County => {
            let mut parents = vec![format!("{}00", &code[..4])];
            if &code[2..4] == "90" {
                parents.push(province);
            }
            parents
        }
    }
}

/// Chinese names of the places in the seeds: Liaoning province with its 14 cities and
/// the districts and counties of Shenyang and Tieling, and Sichuan with Dazhou. Other
/// codes are valid but unnamed here (their Jurisdiction's `displayName` names them).
const PLACE_NAMES: &[(&str, &str)] = &[
    ("210000", "辽宁省"),
    ("210100", "沈阳市"),
    ("210102", "和平区"),
    ("210103", "沈河区"),
    ("210104", "大东区"),
    ("210105", "皇姑区"),
    ("210106", "铁西区"),
    ("210111", "苏家屯区"),
    ("210112", "浑南区"),
    ("210113", "沈北新区"),
    ("210114", "于洪区"),
    ("210115", "辽中区"),
    ("210123", "康平县"),
    ("210124", "法库县"),
    ("210181", "新民市"),
    ("210200", "大连市"),
    ("210300", "鞍山市"),
    ("210400", "抚顺市"),
    ("210500", "本溪市"),
    ("210600", "丹东市"),
    ("210700", "锦州市"),
    ("210800", "营口市"),
    ("210900", "阜新市"),
    ("211000", "辽阳市"),
    ("211100", "盘锦市"),
    ("211200", "铁岭市"),
    ("211202", "银州区"),
    ("211204", "清河区"),
    ("211221", "铁岭县"),
    ("211223", "西丰县"),
    ("211224", "昌图县"),
    ("211281", "调兵山市"),
    ("211282", "开原市"),
    ("211300", "朝阳市"),
    ("211400", "葫芦岛市"),
    ("510000", "四川省"),
    ("511700", "达州市"),
];

/// The Chinese name of a place in the seeds, e.g. `place_name("211200") == Some("铁岭市")`.
pub fn place_name(code: &str) -> Option<&'static str> {
    PLACE_NAMES
        .binary_search_by_key(&code, |(c, _)| c)
        .ok()
        .map(|i| PLACE_NAMES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_codes() {
        for ok in ["210000", "210100", "211221", "429004", "511700"] {
            assert!(is_division_code(ok), "{ok}");
        }
        for bad in [
            "",
            "21000",
            "2100000",
            "010000",
            "21010a",
            "２１０１００",
            " 21010",
        ] {
            assert!(!is_division_code(bad), "{bad}");
        }
    }

    #[test]
    fn levels_and_parents() {
        use JurisdictionLevel::*;
        assert_eq!(level_of_code("210000"), Some(Province));
        assert_eq!(level_of_code("210100"), Some(City));
        assert_eq!(level_of_code("211221"), Some(County));
        assert_eq!(level_of_code("21"), None);
        assert_eq!(allowed_parents(County, "211221"), ["211200"]);
        assert_eq!(allowed_parents(County, "429004"), ["429000", "420000"]);
        assert_eq!(allowed_parents(City, "210100"), ["210000"]);
        assert!(allowed_parents(Province, "210000").is_empty());
    }

    #[test]
    fn names_are_sorted_valid_and_consistent_with_levels() {
        assert!(PLACE_NAMES.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
        for (code, name) in PLACE_NAMES {
            let suffix = match level_of_code(code) {
                Some(JurisdictionLevel::Province) => "省",
                Some(JurisdictionLevel::City) => "市",
                Some(JurisdictionLevel::County) => "",
                None => panic!("{code} is not a division code"),
            };
            assert!(name.ends_with(suffix), "{code} {name}");
        }
        assert_eq!(place_name("211200"), Some("铁岭市"));
        assert_eq!(place_name("210102"), Some("和平区"));
        assert_eq!(place_name("999900"), None);
    }
}
