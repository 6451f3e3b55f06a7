//! Who reviews an agency's lists before they are published (事前公开): the same-level
//! justice bureau, and for the random-inspection list the market regulator where the
//! province has it so.
//!
//! The rule is one reviewer per list, fixed by the agency's place and the list's kind:
//!
//! | agency               | list                   | reviewer                                   |
//! |----------------------|------------------------|--------------------------------------------|
//! | county agency        | any                    | `county_supervisor` of that county         |
//! | city-level agency    | any                    | `city_supervisor` of that city             |
//! | province-level agency (city `-`) | any        | `province_supervisor` of that province     |
//! | county or city-level, when `--market-regulator-reviews-random-inspections` | random inspections | `market_regulator` of the agency's own county (county agency) or city (city-level agency) |
//!
//! Nobody else approves or returns: not the city's justice bureau for a county agency's
//! list (every county agency has its county's bureau, the same level), not a county
//! bureau for another county's or for a city-level agency, not the province for an
//! agency of a city or county, and, when the market regulator reviews random-inspection
//! lists, not the justice bureau for those. A province-level agency's lists, the
//! random-inspection list included, go to the province's justice bureau: the roles have
//! no provincial market regulator (`market_regulator` is granted for a city or a county).
//! Why one and not "any of several": a list approved by whoever came first would leave no
//! single accountable reviewer, and the seeds name the same-level bureau (and, for the
//! random-inspection list, the market regulator).

use crate::auth::{Claims, Role};
use crate::error::{ApiError, ApiResult};
use crate::tenants::Tenant;
use sanxiang_domain::{ListKind, NO_CITY, NO_COUNTY};

/// The one reviewer of a list: a role at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    pub role: Role,
    pub place: ReviewPlace,
}

/// Where the reviewer serves: the agency's own level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewPlace {
    County(String),
    City(String),
    Province(String),
}

impl Reviewer {
    /// Who reviews `kind` for `tenant`.
    pub fn of(tenant: &Tenant, kind: ListKind, market_regulator_reviews: bool) -> Self {
        let place = if tenant.city == NO_CITY {
            ReviewPlace::Province(tenant.province.clone())
        } else if tenant.county == NO_COUNTY {
            ReviewPlace::City(tenant.city.clone())
        } else {
            ReviewPlace::County(tenant.county.clone())
        };
        let role = match place {
            ReviewPlace::Province(_) => Role::ProvinceSupervisor,
            _ if kind == ListKind::RandomInspections && market_regulator_reviews => {
                Role::MarketRegulator
            }
            ReviewPlace::County(_) => Role::CountySupervisor,
            ReviewPlace::City(_) => Role::CitySupervisor,
        };
        Self { role, place }
    }

    fn place(&self) -> String {
        match &self.place {
            ReviewPlace::County(c) => format!("county {c}"),
            ReviewPlace::City(c) => format!("city {c}"),
            ReviewPlace::Province(p) => format!("province {p}"),
        }
    }

    /// Whether `claims` are this reviewer; a 403 naming `role` with who reviews if not.
    pub fn check(&self, claims: &Claims, kind: ListKind) -> ApiResult<()> {
        let is = |claim: &Option<String>, code: &str| claim.as_deref() == Some(code);
        let same_place = match &self.place {
            ReviewPlace::County(c) => is(&claims.county, c),
            // A county's market regulator is not its city's.
            ReviewPlace::City(c) => claims.county.is_none() && is(&claims.city, c),
            ReviewPlace::Province(p) => {
                claims.county.is_none() && claims.city.is_none() && is(&claims.province, p)
            }
        };
        if claims.role == self.role && same_place {
            return Ok(());
        }
        let theirs = match (&claims.county, &claims.city, &claims.province) {
            (Some(c), _, _) => format!(" of county {c}"),
            (None, Some(c), _) => format!(" of city {c}"),
            (None, None, Some(p)) => format!(" of province {p}"),
            _ => String::new(),
        };
        Err(ApiError::forbidden(format!(
            "the {} of an agency of {} is reviewed by role {} of {} (the same level); \
             this token is {}{theirs}",
            kind.chinese_name(),
            self.place(),
            self.role.as_str(),
            self.place(),
            claims.role.as_str(),
        ))
        .with_field("role"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sanxiang_domain::TenantContract;

    fn tenant(city: &str, county: &str) -> Tenant {
        Tenant::new(TenantContract::new("a", "210000", city, county), "x")
    }

    fn claims(role: Role, city: &str, county: Option<&str>) -> Claims {
        Claims {
            sub: "s".into(),
            agency: None,
            role,
            city: (!city.is_empty()).then(|| city.into()),
            province: Some("210000".into()),
            county: county.map(Into::into),
            exp: 0,
            nbf: None,
        }
    }

    #[test]
    fn the_same_level_reviews_and_no_one_else() {
        let county = tenant("211200", "211221");
        let city = tenant("211200", NO_COUNTY);
        let m = ListKind::Matters;
        let r = Reviewer::of(&county, m, false);
        assert!(
            r.check(&claims(Role::CountySupervisor, "211200", Some("211221")), m)
                .is_ok()
        );
        for wrong in [
            claims(Role::CountySupervisor, "211200", Some("211223")),
            claims(Role::CitySupervisor, "211200", None),
            claims(Role::ProvinceSupervisor, "211200", None),
            claims(Role::MarketRegulator, "211200", Some("211221")),
        ] {
            let e = r.check(&wrong, m).unwrap_err();
            assert_eq!((e.status.as_u16(), e.field.as_deref()), (403, Some("role")));
            assert!(
                e.error.contains("county_supervisor of county 211221"),
                "{}",
                e.error
            );
        }
        let r = Reviewer::of(&city, m, false);
        assert!(
            r.check(&claims(Role::CitySupervisor, "211200", None), m)
                .is_ok()
        );
        assert!(
            r.check(&claims(Role::CitySupervisor, "210100", None), m)
                .is_err()
        );
        assert!(
            r.check(&claims(Role::CountySupervisor, "211200", Some("211221")), m)
                .is_err()
        );
    }

    #[test]
    fn a_province_level_agencys_lists_go_to_the_province() {
        let province = tenant(NO_CITY, NO_COUNTY);
        for (kind, market_regulator_reviews) in [
            (ListKind::Matters, false),
            (ListKind::RandomInspections, true),
        ] {
            let r = Reviewer::of(&province, kind, market_regulator_reviews);
            assert_eq!(r.role, Role::ProvinceSupervisor);
            assert!(
                r.check(&claims(Role::ProvinceSupervisor, "", None), kind)
                    .is_ok()
            );
            for wrong in [
                claims(Role::CitySupervisor, "211200", None),
                claims(Role::MarketRegulator, "211200", None),
                // A province supervisor of another province.
                Claims {
                    province: Some("220000".into()),
                    ..claims(Role::ProvinceSupervisor, "", None)
                },
            ] {
                let e = r.check(&wrong, kind).unwrap_err();
                assert!(
                    e.error.contains("province_supervisor of province 210000"),
                    "{}",
                    e.error
                );
            }
        }
        // And the province reviews no list of an agency of a city.
        let city = tenant("211200", NO_COUNTY);
        assert!(
            Reviewer::of(&city, ListKind::Matters, false)
                .check(
                    &claims(Role::ProvinceSupervisor, "", None),
                    ListKind::Matters
                )
                .is_err()
        );
    }

    #[test]
    fn the_market_regulator_reviews_random_inspection_lists_where_configured() {
        let ri = ListKind::RandomInspections;
        let city = tenant("211200", NO_COUNTY);
        let county = tenant("211200", "211221");
        // Not configured: the justice bureau, as for every list.
        assert_eq!(Reviewer::of(&city, ri, false).role, Role::CitySupervisor);
        let r = Reviewer::of(&city, ri, true);
        assert!(
            r.check(&claims(Role::MarketRegulator, "211200", None), ri)
                .is_ok()
        );
        assert!(
            r.check(&claims(Role::CitySupervisor, "211200", None), ri)
                .is_err()
        );
        // A county's market regulator is not the city's, nor the other way round.
        assert!(
            r.check(&claims(Role::MarketRegulator, "211200", Some("211221")), ri)
                .is_err()
        );
        let r = Reviewer::of(&county, ri, true);
        assert!(
            r.check(&claims(Role::MarketRegulator, "211200", Some("211221")), ri)
                .is_ok()
        );
        assert!(
            r.check(&claims(Role::MarketRegulator, "211200", None), ri)
                .is_err()
        );
        // Other lists stay with the justice bureau.
        assert_eq!(
            Reviewer::of(&county, ListKind::Matters, true).role,
            Role::CountySupervisor
        );
    }
}
