//! Who sees what: the place a token covers, as a filter every query applies.
//!
//! The roles and their places are the tenant service's ([`sanxiang_tenant_service::auth`]):
//! a `province_supervisor` covers its province, a `city_supervisor` its city, a
//! `county_supervisor` its county (never the city-level agencies of its city); agency
//! staff (`officer`, `reviewer`, `agency_admin`) cover their own agency only, to read what
//! concerns it and to answer notices. The market regulator has no business here.
//!
//! Out-of-scope objects are answered like missing ones (404 for an id, absent from a
//! list); acting on an agency out of scope is 403, whether or not the agency exists, so
//! that a refusal never reveals which agencies are known.

use sanxiang_tenant_service::auth::{Claims, Role};
use sanxiang_tenant_service::error::ApiError;
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;

/// The place a token covers; `None` parts are not restricted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub province: Option<String>,
    pub city: Option<String>,
    pub county: Option<String>,
    pub agency: Option<String>,
    pub role: Role,
    pub subject: String,
}

impl Scope {
    /// The scope of verified `claims`, or 403 when the token covers nothing here.
    pub fn of(claims: &Claims) -> Result<Self, ApiError> {
        let missing = |claim: &str| {
            ApiError::forbidden(format!(
                "a {} token needs a '{claim}' claim here",
                claims.role.as_str()
            ))
            .with_field(claim)
        };
        let mut s = Self {
            province: claims.province.clone(),
            city: None,
            county: None,
            agency: None,
            role: claims.role,
            subject: claims.sub.clone(),
        };
        match claims.role {
            Role::ProvinceSupervisor => {
                s.province.as_ref().ok_or_else(|| missing("province"))?;
            }
            Role::CitySupervisor => {
                s.city = Some(claims.city.clone().ok_or_else(|| missing("city"))?);
            }
            Role::CountySupervisor => {
                let county = claims.county.clone().ok_or_else(|| missing("county"))?;
                if county == sanxiang_domain::NO_COUNTY {
                    return Err(missing("county"));
                }
                s.county = Some(county);
            }
            Role::Officer | Role::Reviewer | Role::AgencyAdmin => {
                s.province = None;
                s.agency = Some(claims.agency.clone().ok_or_else(|| missing("agency"))?);
            }
            Role::MarketRegulator => {
                return Err(ApiError::forbidden(
                    "the market regulator has no access to the supervision workspace",
                )
                .with_field("role"));
            }
        }
        Ok(s)
    }

    pub fn is_supervisor(&self) -> bool {
        self.agency.is_none()
    }

    /// Requires a supervisor's token for `what`.
    pub fn require_supervisor(&self, what: &str) -> Result<(), ApiError> {
        if self.is_supervisor() {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "{what} requires a supervisor's role (county, city or province); token has role {}",
            self.role.as_str()
        ))
        .with_field("role"))
    }

    /// Whether an agency at this place is covered.
    pub fn contains(&self, province: &str, city: &str, county: &str, agency: &str) -> bool {
        let ok = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        ok(&self.province, province)
            && ok(&self.city, city)
            && ok(&self.county, county)
            && ok(&self.agency, agency)
    }

    /// The SQL condition on table alias `t` (columns province, city, county, agency), with
    /// its four parameters numbered from `first`; bind them with [`Scope::bind`].
    pub fn condition(t: &str, first: usize) -> String {
        let (a, b, c, d) = (first, first + 1, first + 2, first + 3);
        format!(
            "(${a}::text IS NULL OR {t}.province = ${a}) AND (${b}::text IS NULL OR {t}.city = ${b}) \
             AND (${c}::text IS NULL OR {t}.county = ${c}) AND (${d}::text IS NULL OR {t}.agency = ${d})"
        )
    }

    /// Binds the four parameters of [`Scope::condition`].
    pub fn bind<'q, O>(
        &'q self,
        q: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> QueryAs<'q, Postgres, O, PgArguments> {
        q.bind(&self.province)
            .bind(&self.city)
            .bind(&self.county)
            .bind(&self.agency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(role: Role) -> Claims {
        Claims {
            sub: "u".into(),
            agency: Some("a".into()),
            role,
            city: Some("211200".into()),
            province: Some("210000".into()),
            county: Some("211221".into()),
            exp: 0,
            nbf: None,
        }
    }

    #[test]
    fn each_role_covers_its_place_only() {
        let city = Scope::of(&claims(Role::CitySupervisor)).unwrap();
        assert!(city.contains("210000", "211200", "211221", "x"));
        assert!(city.contains("210000", "211200", "-", "x"));
        assert!(!city.contains("210000", "210100", "210102", "x"));
        let county = Scope::of(&claims(Role::CountySupervisor)).unwrap();
        assert!(county.contains("210000", "211200", "211221", "x"));
        assert!(
            !county.contains("210000", "211200", "-", "x"),
            "not the city's own agencies"
        );
        let province = Scope::of(&claims(Role::ProvinceSupervisor)).unwrap();
        assert!(province.contains("210000", "210100", "-", "x"));
        assert!(!province.contains("220000", "220100", "-", "x"));
        let staff = Scope::of(&claims(Role::AgencyAdmin)).unwrap();
        assert!(staff.contains("210000", "211200", "211221", "a"));
        assert!(!staff.contains("210000", "211200", "211221", "b"));
        assert!(!staff.is_supervisor());
        assert!(Scope::of(&claims(Role::MarketRegulator)).is_err());
        let mut no_city = claims(Role::CitySupervisor);
        no_city.city = None;
        assert_eq!(
            Scope::of(&no_city).unwrap_err().field.as_deref(),
            Some("city")
        );
    }
}
