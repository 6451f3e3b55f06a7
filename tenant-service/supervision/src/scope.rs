//! Who sees what: the place a token covers, as a filter every query applies.
//!
//! The rule is the tenant service's, defined once in [`covers`]: a `province_supervisor`
//! covers its province, a `city_supervisor` its city, a `county_supervisor` its county
//! (never the city-level agencies of its city); agency staff (`officer`, `reviewer`,
//! `agency_admin`) cover their own agency only, to read what concerns it and to answer
//! notices. The market regulator has no business here. Queries filter in SQL with the
//! place parameters [`Scope::of`] derives from the claims ([`Scope::condition`]); a unit
//! test checks that the filter and the rule agree on a table of places.
//!
//! Out-of-scope objects are answered like missing ones (404 for an id, absent from a
//! list); acting on an agency out of scope is 403, whether or not the agency exists, so
//! that a refusal never reveals which agencies are known.
//!
//! A query filtered by scope is built at run time ([`Scope::condition`] pastes the filter,
//! [`Scope::bind`] its parameters), so `sqlx::query!` cannot check it at compile time:
//! notices (one, list), inspections (list), milestones (list), case-file reviews
//! (candidates, list, cases, scoring) and agencies (list, decision search). Every other
//! statement is checked at compile time (offline data in `.sqlx/`, `cargo xtask generate`),
//! except three not converted yet: the gauges' query (`metrics.rs`) and the two lookups
//! built from a column-list constant (`CAMPAIGN` in `api/reviews.rs`, `AGENCY_SELECT` in
//! `api/agencies.rs`).

use sanxiang_tenant_service::auth::{Claims, Role, covers};
use sanxiang_tenant_service::error::ApiError;
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;

/// The place a token covers, as the SQL filter's parameters: `None` parts are not
/// restricted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub province: Option<String>,
    pub city: Option<String>,
    pub county: Option<String>,
    pub agency: Option<String>,
    pub role: Role,
    pub subject: String,
    /// The verified claims, for the rule itself ([`covers`]).
    pub claims: Claims,
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
            claims: claims.clone(),
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

    /// Whether an agency at this place is covered: staff their own agency, supervisors by
    /// the tenant service's rule ([`covers`]).
    pub fn contains(&self, province: &str, city: &str, county: &str, agency: &str) -> bool {
        match &self.agency {
            Some(own) => own == agency,
            None => covers(&self.claims, province, city, county),
        }
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

    /// What [`Scope::condition`] asks of PostgreSQL: each bound parameter equal, a NULL
    /// one unrestricted.
    fn sql_filter(s: &Scope, place: [&str; 4]) -> bool {
        [&s.province, &s.city, &s.county, &s.agency]
            .iter()
            .zip(place)
            .all(|(want, have)| want.as_deref().is_none_or(|w| w == have))
    }

    #[test]
    fn the_sql_filter_and_the_rule_agree() {
        let places = [
            ["210000", "211200", "211221", "a"],
            ["210000", "211200", "211221", "b"],
            ["210000", "211200", "211223", "a"],
            ["210000", "211200", "-", "a"],
            ["210000", "210100", "210102", "a"],
            ["210000", "210100", "-", "b"],
            ["220000", "211200", "211221", "a"],
            ["220000", "220100", "-", "a"],
        ];
        let mut tokens = Vec::new();
        for role in [
            Role::ProvinceSupervisor,
            Role::CitySupervisor,
            Role::CountySupervisor,
            Role::AgencyAdmin,
            Role::Officer,
            Role::Reviewer,
        ] {
            let c = claims(role);
            let mut no_province = c.clone();
            no_province.province = None;
            let mut no_county = c.clone();
            no_county.county = None;
            tokens.extend([c, no_province, no_county]);
        }
        let mut compared = 0;
        for t in &tokens {
            let Ok(scope) = Scope::of(t) else {
                continue;
            };
            for p in places {
                assert_eq!(
                    scope.contains(p[0], p[1], p[2], p[3]),
                    sql_filter(&scope, p),
                    "{:?} (province {:?}, county {:?}) at {p:?}",
                    t.role,
                    t.province,
                    t.county
                );
                compared += 1;
            }
        }
        assert!(compared >= 100, "{compared}");
    }
}
