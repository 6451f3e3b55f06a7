//! Roles and tenant scope from an identity provider's groups.
//!
//! Providers mint groups, not Sanxiang's `role`/`agency` claims. A province names its
//! groups with one prefix (default `sx`):
//!
//! | group                                   | role                  | scope              |
//! |-----------------------------------------|-----------------------|--------------------|
//! | `sx:<agency>:officer`                   | `officer`             | that agency        |
//! | `sx:<agency>:reviewer`                  | `reviewer`            | that agency        |
//! | `sx:<agency>:agency_admin`              | `agency_admin`        | that agency        |
//! | `sx:city_supervisor:<city code>`        | `city_supervisor`     | that city's agencies, read-only |
//! | `sx:county_supervisor:<county code>`    | `county_supervisor`   | that county's agencies, read-only |
//! | `sx:province_supervisor:<province code>`| `province_supervisor` | the province, read-only |
//! | `sx:market_regulator:<city or county code>` | `market_regulator` | that place's agencies' lists, read-only |
//!
//! Codes are GB/T 2260: a province's ends in `0000`, a city's in `00`, a county's in
//! neither; the city and province of a county follow from its code.
//!
//! Agency names are Kubernetes names (no `_`), so `city_supervisor` can never be an agency.
//! Groups without the prefix belong to other applications and are ignored. A token's
//! groups must map to exactly one Sanxiang role: the API checks one role per request, and
//! picking one of several silently would grant what the person did not ask for.

use super::Role;
use crate::error::ApiError;

/// How provider claims become a role and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMapping {
    /// Dotted path of the claim holding the groups (`groups`, or `ext.groups`).
    pub claim: String,
    /// Prefix of Sanxiang's groups, without the trailing `:`.
    pub prefix: String,
}

impl Default for GroupMapping {
    fn default() -> Self {
        Self {
            claim: "groups".into(),
            prefix: "sx".into(),
        }
    }
}

/// The role and scope one group grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    pub agency: Option<String>,
    pub city: Option<String>,
    pub county: Option<String>,
    pub province: Option<String>,
}

impl GroupMapping {
    /// The one grant of a token's claims, or a 403 naming the claim and the rule.
    pub fn grant(&self, claims: &serde_json::Value) -> Result<Grant, ApiError> {
        let groups = self.groups(claims)?;
        let mut grants = Vec::new();
        let mut unrecognised = Vec::new();
        for g in &groups {
            let Some(rest) = g
                .strip_prefix(self.prefix.as_str())
                .and_then(|r| r.strip_prefix(':'))
            else {
                continue;
            };
            match parse(rest) {
                Some(grant) => grants.push((g.clone(), grant)),
                None => unrecognised.push(g.clone()),
            }
        }
        match grants.len() {
            1 => Ok(grants.remove(0).1),
            0 => Err(ApiError::forbidden(format!(
                "the token's '{claim}' claim holds no Sanxiang group (expected {p}:<agency>:officer|reviewer|agency_admin, \
                 {p}:city_supervisor:<city code>, {p}:county_supervisor:<county code>, \
                 {p}:province_supervisor:<province code> or {p}:market_regulator:<city or county code>){bad}",
                claim = self.claim,
                p = self.prefix,
                bad = if unrecognised.is_empty() {
                    String::new()
                } else {
                    format!("; not recognised: {}", unrecognised.join(", "))
                }
            ))
            .with_field(self.claim.clone())),
            _ => Err(ApiError::forbidden(format!(
                "the token's '{}' claim maps to {} Sanxiang roles ({}); a token must carry exactly one",
                self.claim,
                grants.len(),
                grants
                    .iter()
                    .map(|(g, _)| g.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .with_field(self.claim.clone())),
        }
    }

    fn groups(&self, claims: &serde_json::Value) -> Result<Vec<String>, ApiError> {
        let mut value = claims;
        for part in self.claim.split('.') {
            match value.get(part) {
                Some(v) => value = v,
                None => {
                    return Err(ApiError::forbidden(format!(
                        "the token has no '{}' claim: the identity provider must send the user's groups",
                        self.claim
                    ))
                    .with_field(self.claim.clone()));
                }
            }
        }
        let bad = || {
            ApiError::forbidden(format!(
                "the token's '{}' claim must be a list of strings",
                self.claim
            ))
            .with_field(self.claim.clone())
        };
        match value {
            serde_json::Value::String(s) => Ok(vec![s.clone()]),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
                .collect(),
            _ => Err(bad()),
        }
    }
}

fn parse(rest: &str) -> Option<Grant> {
    let (head, tail) = rest.split_once(':')?;
    let code = |s: &str| s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit());
    let county_code = |s: &str| code(s) && !s.ends_with("00");
    // GB/T 2260: a code's first two digits are its province, its first four its city.
    let place = |role: Role, county: Option<&str>, city: &str| Grant {
        role,
        agency: None,
        city: Some(format!("{}00", &city[..4])),
        county: county.map(Into::into),
        province: Some(format!("{}0000", &city[..2])),
    };
    match head {
        "city_supervisor" if code(tail) => Some(Grant {
            city: Some(tail.into()),
            ..place(Role::CitySupervisor, None, tail)
        }),
        "county_supervisor" if county_code(tail) => {
            Some(place(Role::CountySupervisor, Some(tail), tail))
        }
        "market_regulator" if county_code(tail) => {
            Some(place(Role::MarketRegulator, Some(tail), tail))
        }
        "market_regulator" if code(tail) && !tail.ends_with("0000") => {
            Some(place(Role::MarketRegulator, None, tail))
        }
        "province_supervisor" if code(tail) && tail.ends_with("0000") => Some(Grant {
            role: Role::ProvinceSupervisor,
            agency: None,
            city: None,
            county: None,
            province: Some(tail.into()),
        }),
        agency if is_agency_name(agency) => {
            let role = match tail {
                "officer" => Role::Officer,
                "reviewer" => Role::Reviewer,
                "agency_admin" => Role::AgencyAdmin,
                _ => return None,
            };
            Some(Grant {
                role,
                agency: Some(agency.into()),
                city: None,
                county: None,
                province: None,
            })
        }
        _ => None,
    }
}

/// A Kubernetes object name (RFC 1123 label), as Agency names are.
fn is_agency_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_map_to_one_role() {
        let m = GroupMapping::default();
        let g = m
            .grant(&json!({"groups": ["staff", "sx:shenyang-amr:officer"]}))
            .unwrap();
        assert_eq!(g.role, Role::Officer);
        assert_eq!(g.agency.as_deref(), Some("shenyang-amr"));
        let g = m
            .grant(&json!({"groups": ["sx:city_supervisor:210100"]}))
            .unwrap();
        assert_eq!(g.role, Role::CitySupervisor);
        assert_eq!(g.province.as_deref(), Some("210000"));
        let g = m
            .grant(&json!({"groups": "sx:province_supervisor:210000"}))
            .unwrap();
        assert_eq!(g.role, Role::ProvinceSupervisor);
        let g = m
            .grant(&json!({"groups": ["sx:county_supervisor:211221"]}))
            .unwrap();
        assert_eq!(g.role, Role::CountySupervisor);
        assert_eq!(
            (
                g.county.as_deref(),
                g.city.as_deref(),
                g.province.as_deref()
            ),
            (Some("211221"), Some("211200"), Some("210000"))
        );
        let g = m
            .grant(&json!({"groups": ["sx:market_regulator:211200"]}))
            .unwrap();
        assert_eq!(
            (g.role, g.county.as_deref(), g.city.as_deref()),
            (Role::MarketRegulator, None, Some("211200"))
        );
        let g = m
            .grant(&json!({"groups": ["sx:market_regulator:211221"]}))
            .unwrap();
        assert_eq!(g.county.as_deref(), Some("211221"));
        // A city's code is no county, a province's no market regulator's place.
        assert!(
            m.grant(&json!({"groups": ["sx:county_supervisor:211200"]}))
                .is_err()
        );
        assert!(
            m.grant(&json!({"groups": ["sx:market_regulator:210000"]}))
                .is_err()
        );
    }

    #[test]
    fn nested_claim_path() {
        let m = GroupMapping {
            claim: "ext.roles".into(),
            prefix: "lnzf".into(),
        };
        let g = m
            .grant(&json!({"ext": {"roles": ["lnzf:a:reviewer"]}}))
            .unwrap();
        assert_eq!(g.role, Role::Reviewer);
        let e = m.grant(&json!({"roles": []})).unwrap_err();
        assert!(e.error.contains("no 'ext.roles' claim"), "{}", e.error);
    }

    #[test]
    fn unknown_missing_and_ambiguous_groups_are_refused_with_the_rule() {
        let m = GroupMapping::default();
        let e = m
            .grant(&json!({"groups": ["sx:a:boss", "sx:city_supervisor:21"]}))
            .unwrap_err();
        assert_eq!(e.status, 403);
        assert!(e.error.contains("holds no Sanxiang group"), "{}", e.error);
        assert!(
            e.error
                .contains("not recognised: sx:a:boss, sx:city_supervisor:21"),
            "{}",
            e.error
        );
        let e = m.grant(&json!({"sub": "x"})).unwrap_err();
        assert!(e.error.contains("no 'groups' claim"), "{}", e.error);
        let e = m.grant(&json!({"groups": [1]})).unwrap_err();
        assert!(e.error.contains("list of strings"), "{}", e.error);
        let e = m
            .grant(&json!({"groups": ["sx:a:officer", "sx:a:agency_admin"]}))
            .unwrap_err();
        assert!(e.error.contains("maps to 2 Sanxiang roles"), "{}", e.error);
        // Another prefix is another application's.
        assert!(m.grant(&json!({"groups": ["sxx:a:officer"]})).is_err());
        // Not an agency name.
        assert!(m.grant(&json!({"groups": ["sx:A_b:officer"]})).is_err());
    }
}
