//! What hangs off a jurisdiction: the agencies under it, counted in its status when they
//! are Ready ([`agency_count`]), and what holds its deletion ([`in_use`]) — those
//! agencies, present or being deleted, and its child jurisdictions. Both read "under"
//! the same way ([`is_under`]).

use kube::ResourceExt;
use sanxiang_crds::agency::Agency;
use sanxiang_crds::conditions::{condition_type, is_condition_true};
use sanxiang_crds::jurisdiction::{Jurisdiction, JurisdictionLevel as Level};

/// Whether `agency` is under the jurisdiction `level` `code`: for a county its own, for a
/// city its own and its counties', for a province every agency of the province.
fn is_under(level: Level, code: &str, agency: &Agency) -> bool {
    let prefix = match level {
        Level::Province => code.get(..2),
        Level::City => code.get(..4),
        Level::County => Some(code),
    }
    .unwrap_or(code);
    match level {
        Level::County => agency.spec.jurisdiction == code,
        _ => agency.spec.jurisdiction.starts_with(prefix),
    }
}

/// What keeps `j` from being deleted (pure): its child jurisdictions and the agencies
/// under it, present or being deleted; `None` when nothing does.
pub fn in_use<'a>(
    j: &Jurisdiction,
    jurisdictions: impl IntoIterator<Item = &'a Jurisdiction>,
    agencies: impl IntoIterator<Item = &'a Agency>,
) -> Option<String> {
    let code = j.spec.code.as_str();
    let children: Vec<String> = jurisdictions
        .into_iter()
        .filter(|c| c.spec.parent.as_deref() == Some(code))
        .map(|c| c.name_any())
        .collect();
    let agencies: Vec<String> = agencies
        .into_iter()
        .filter(|a| is_under(j.spec.level, code, a))
        .map(|a| format!("{}/{}", a.namespace().unwrap_or_default(), a.name_any()))
        .collect();
    if children.is_empty() && agencies.is_empty() {
        return None;
    }
    let list = |what: &str, names: &[String]| {
        let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
        let more = names.len().saturating_sub(shown.len());
        format!(
            "{} {what} ({}{})",
            names.len(),
            shown.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        )
    };
    let mut held = Vec::new();
    if !agencies.is_empty() {
        held.push(list("agencies", &agencies));
    }
    if !children.is_empty() {
        held.push(list("child jurisdictions", &children));
    }
    Some(format!(
        "{:?} {code} still has {}; the deletion waits until they are deleted first \
         (an Agency's records go by its own deletionPolicy, never with its Jurisdiction)",
        j.spec.level,
        held.join(" and ")
    ))
}

/// Agencies provisioned (Ready) under a jurisdiction: for a county its own, for a city
/// its own and its counties', for a province all of its cities' (pure).
pub fn agency_count<'a>(
    level: Level,
    code: &str,
    agencies: impl IntoIterator<Item = &'a Agency>,
) -> u32 {
    let count = agencies
        .into_iter()
        .filter(|a| a.metadata.deletion_timestamp.is_none() && is_under(level, code, a))
        .filter(|a| {
            a.status
                .as_ref()
                .is_some_and(|s| is_condition_true(&s.conditions, condition_type::READY))
        })
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jurisdiction::tests::jurisdiction;
    use chrono::Utc;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use sanxiang_crds::conditions::{new_condition, reason};

    fn agency(jurisdiction: &str, ready: bool) -> Agency {
        let mut a: Agency = serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "Agency",
            "metadata": {"name": "a", "namespace": "sx-211200"},
            "spec": {"jurisdiction": jurisdiction, "displayName": "局",
                     "creditCode": "91350100M000100Y43", "categories": ["Penalty"]}
        }))
        .unwrap();
        let condition = new_condition(
            condition_type::READY,
            ready,
            reason::PROVISIONED,
            "",
            None,
            Time(Utc::now()),
        );
        a.status = Some(sanxiang_crds::agency::AgencyStatus {
            conditions: vec![condition],
            ..Default::default()
        });
        a
    }

    #[test]
    fn a_jurisdiction_is_in_use_while_agencies_or_children_remain() {
        let province = jurisdiction("Province", "210000", None);
        let city = jurisdiction("City", "211200", Some("210000"));
        let county = jurisdiction("County", "211221", Some("211200"));
        let all = [province.clone(), city.clone(), county.clone()];
        let agencies = [agency("211221", false)];
        let county_use = in_use(&county, &all, &agencies).unwrap();
        assert!(
            county_use.starts_with("County 211221 still has 1 agencies (sx-211200/a)"),
            "{county_use}"
        );
        let city_use = in_use(&city, &all, &agencies).unwrap();
        assert!(
            city_use.contains("1 agencies (sx-211200/a) and 1 child jurisdictions (j-211221)"),
            "{city_use}"
        );
        assert!(
            in_use(&province, &all, &[])
                .unwrap()
                .contains("child jurisdictions (j-211200)")
        );
        // A province-level agency holds its province, and no city.
        let provincial = [agency("210000", true)];
        assert!(
            in_use(&province, &all, &provincial)
                .unwrap()
                .starts_with("Province 210000 still has 1 agencies (sx-211200/a)")
        );
        assert_eq!(in_use(&city, &[], &provincial), None);
        assert_eq!(agency_count(Level::Province, "210000", &provincial), 1);
        assert_eq!(agency_count(Level::City, "210100", &provincial), 0);
        assert_eq!(in_use(&county, &all, &[]), None);
        assert_eq!(in_use(&county, &all, &[agency("211223", true)]), None);
    }

    #[test]
    fn agencies_count_where_they_are_ready_under_the_jurisdiction() {
        let all = [
            agency("211200", true),
            agency("211221", true),
            agency("211221", false),
            agency("211223", true),
            agency("210100", true),
        ];
        assert_eq!(agency_count(Level::County, "211221", &all), 1);
        assert_eq!(agency_count(Level::City, "211200", &all), 3);
        assert_eq!(agency_count(Level::City, "210100", &all), 1);
        assert_eq!(agency_count(Level::Province, "210000", &all), 4);
        assert_eq!(agency_count(Level::Province, "510000", &all), 0);
    }
}
