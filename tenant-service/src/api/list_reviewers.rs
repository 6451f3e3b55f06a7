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
//! | either, when `--market-regulator-reviews-random-inspections` | random inspections | `market_regulator` of the agency's own county (county agency) or city (city-level agency) |
//!
//! Nobody else approves or returns: not the city's justice bureau for a county agency's
//! list (every county agency has its county's bureau, the same level), not a county
//! bureau for another county's or for a city-level agency, not the province (every
//! agency sits in a city; the province reviews no agency's list), and, when the market
//! regulator reviews random-inspection lists, not the justice bureau for those. Why one
//! and not "any of several": a list approved by whoever came first would leave no single
//! accountable reviewer, and the seeds name the same-level bureau (and, for the
//! random-inspection list, the market regulator).

use crate::auth::{Claims, Role};
use crate::error::{ApiError, ApiResult};
use crate::tenants::Tenant;
use sanxiang_domain::{ListKind, NO_COUNTY};

/// The one reviewer of a list: a role at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    pub role: Role,
    /// The county the reviewer serves; `None`: the city.
    pub county: Option<String>,
    pub city: String,
}

impl Reviewer {
    /// Who reviews `kind` for `tenant`.
    pub fn of(tenant: &Tenant, kind: ListKind, market_regulator_reviews: bool) -> Self {
        let county = (tenant.county != NO_COUNTY).then(|| tenant.county.clone());
        let role = if kind == ListKind::RandomInspections && market_regulator_reviews {
            Role::MarketRegulator
        } else if county.is_some() {
            Role::CountySupervisor
        } else {
            Role::CitySupervisor
        };
        Self {
            role,
            county,
            city: tenant.city.clone(),
        }
    }

    fn place(&self) -> String {
        match &self.county {
            Some(c) => format!("county {c}"),
            None => format!("city {}", self.city),
        }
    }

    /// Whether `claims` are this reviewer; a 403 naming `role` with who reviews if not.
    pub fn check(&self, claims: &Claims, kind: ListKind) -> ApiResult<()> {
        let same_place = match (&self.county, claims.role) {
            (Some(c), _) => claims.county.as_deref() == Some(c.as_str()),
            (None, Role::MarketRegulator) => {
                claims.county.is_none() && claims.city.as_deref() == Some(self.city.as_str())
            }
            (None, _) => claims.city.as_deref() == Some(self.city.as_str()),
        };
        if claims.role == self.role && same_place {
            return Ok(());
        }
        let theirs = match (&claims.county, &claims.city) {
            (Some(c), _) => format!(" of county {c}"),
            (None, Some(c)) => format!(" of city {c}"),
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
            city: Some(city.into()),
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
