//! What verified claims may reach: agency staff their own agency, supervisors the
//! agencies of their place (read-only), the market regulator only lists. The scope rule
//! ([`covers`]) is defined once here and reused by the supervision workspace. A token that
//! may not see an agency gets 403 whether or not the agency exists.

use super::{Claims, Role};
use crate::error::ApiError;
use crate::tenants::Tenant;

/// Read or write access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// Reading (and reviewing) the agency's lists published before enforcement: a read
    /// that the market regulator may also make.
    Lists,
}

/// Whether a supervising role's place covers tenant `t`. A province-level agency (city
/// `-`, [`sanxiang_domain::NO_CITY`]) is in no city's or county's scope: only the
/// province's supervisors see it.
fn in_scope(claims: &Claims, t: &Tenant) -> bool {
    covers(claims, &t.province, &t.city, &t.county)
}

/// The scope rule, defined once for the tenant service and the supervision workspace:
/// whether the place of `claims` covers an agency in `province`, `city` and `county`
/// (GB/T 2260 codes, county `-` for a city-level agency, city and county `-` for a
/// province-level one, which only the province's supervisors cover). A province supervisor covers
/// its province; a city supervisor its city; a county supervisor its county, never the
/// city-level agencies of its city; the market regulator its county, or its city when
/// it has no county. A province claim, when present, must match too. Agency staff cover
/// no place: they reach their own agency by name.
pub fn covers(claims: &Claims, province: &str, city: &str, county: &str) -> bool {
    let in_province = claims.province.as_deref().is_none_or(|p| p == province);
    let in_city = || city != sanxiang_domain::NO_CITY && claims.city.as_deref() == Some(city);
    let in_county = |c: &str| c != sanxiang_domain::NO_COUNTY && c == county;
    match claims.role {
        Role::ProvinceSupervisor => claims.province.as_deref() == Some(province),
        Role::CitySupervisor => in_province && in_city(),
        Role::CountySupervisor => in_province && claims.county.as_deref().is_some_and(in_county),
        Role::MarketRegulator => {
            in_province
                && match claims.county.as_deref() {
                    Some(c) => in_county(c),
                    None => in_city(),
                }
        }
        Role::Officer | Role::Reviewer | Role::AgencyAdmin => false,
    }
}

/// Whether `claims` may reach `agency` (given the tenant if it exists).
pub fn authorize(
    claims: &Claims,
    agency: &str,
    tenant: Option<&Tenant>,
    access: Access,
) -> Result<(), ApiError> {
    let denied = || ApiError::forbidden(format!("this token may not access agency '{agency}'"));
    match claims.role {
        Role::Officer | Role::Reviewer | Role::AgencyAdmin => {
            if claims.agency.as_deref() != Some(agency) {
                return Err(denied());
            }
            if tenant.is_none() {
                return Err(ApiError::not_found(format!(
                    "agency '{agency}' is not served here"
                )));
            }
            Ok(())
        }
        Role::CitySupervisor
        | Role::CountySupervisor
        | Role::ProvinceSupervisor
        | Role::MarketRegulator => {
            let Some(t) = tenant else {
                return Err(denied());
            };
            if !in_scope(claims, t) {
                return Err(denied());
            }
            if claims.role == Role::MarketRegulator && access != Access::Lists {
                return Err(ApiError::forbidden(
                    "the market regulator reads an agency's lists published before enforcement, nothing else",
                ));
            }
            if access == Access::Write {
                return Err(ApiError::forbidden("supervisors have read-only access"));
            }
            Ok(())
        }
    }
}

/// Requires one of `roles` for an action.
pub fn require_role(claims: &Claims, roles: &[Role], what: &str) -> Result<(), ApiError> {
    if roles.contains(&claims.role) {
        return Ok(());
    }
    let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
    Err(ApiError::forbidden(format!(
        "{what} requires role {}; token has role {}",
        names.join(" or "),
        claims.role.as_str()
    ))
    .with_field("role"))
}
#[cfg(test)]
mod tests {
    use super::super::fixtures::claims;
    use super::*;

    fn tenant(agency: &str, city: &str) -> Tenant {
        let mut contract = sanxiang_domain::TenantContract::new(agency, "210000", city, "-");
        contract.subject_prefix = "sx".into();
        Tenant::new(contract, "x")
    }
    #[test]
    fn tenancy() {
        let a = tenant("a", "210100");
        let b = tenant("b", "211200");
        let officer = claims(Role::Officer, Some("a"));
        assert!(authorize(&officer, "a", Some(&a), Access::Write).is_ok());
        assert_eq!(
            authorize(&officer, "b", Some(&b), Access::Read)
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(
            authorize(&officer, "zz", None, Access::Read)
                .unwrap_err()
                .status,
            403
        );
        let city = claims(Role::CitySupervisor, None);
        assert!(authorize(&city, "a", Some(&a), Access::Read).is_ok());
        assert_eq!(
            authorize(&city, "a", Some(&a), Access::Write)
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(
            authorize(&city, "b", Some(&b), Access::Read)
                .unwrap_err()
                .status,
            403
        );
        let prov = claims(Role::ProvinceSupervisor, None);
        assert!(authorize(&prov, "b", Some(&b), Access::Read).is_ok());
        // A county's justice bureau reads its county's agencies, not the city's own.
        let mut c = tenant("c", "210100");
        c.county = "210102".into();
        let mut county = claims(Role::CountySupervisor, None);
        county.county = Some("210102".into());
        assert!(authorize(&county, "c", Some(&c), Access::Read).is_ok());
        assert_eq!(
            authorize(&county, "a", Some(&a), Access::Read)
                .unwrap_err()
                .status,
            403
        );
        assert!(authorize(&city, "c", Some(&c), Access::Read).is_ok());
        // The market regulator reads lists only.
        let mut market = claims(Role::MarketRegulator, None);
        market.county = Some("210102".into());
        assert!(authorize(&market, "c", Some(&c), Access::Lists).is_ok());
        assert_eq!(
            authorize(&market, "c", Some(&c), Access::Read)
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(
            authorize(&market, "a", Some(&a), Access::Lists)
                .unwrap_err()
                .status,
            403
        );
        assert!(require_role(&officer, &[Role::Reviewer], "opinion").is_err());
    }

    #[test]
    fn a_province_level_agency_is_the_provinces_to_supervise_only() {
        let p = tenant("ln-market", sanxiang_domain::NO_CITY);
        let prov = claims(Role::ProvinceSupervisor, None);
        assert!(authorize(&prov, "ln-market", Some(&p), Access::Read).is_ok());
        let mut other = claims(Role::ProvinceSupervisor, None);
        other.province = Some("510000".into());
        assert_eq!(
            authorize(&other, "ln-market", Some(&p), Access::Read)
                .unwrap_err()
                .status,
            403
        );
        // No city supervisor, even one whose token names no city or the "-" token.
        for city in [Some("210100"), Some("-"), None] {
            let mut c = claims(Role::CitySupervisor, None);
            c.city = city.map(String::from);
            assert_eq!(
                authorize(&c, "ln-market", Some(&p), Access::Read)
                    .unwrap_err()
                    .status,
                403,
                "{city:?}"
            );
        }
        let mut county = claims(Role::CountySupervisor, None);
        county.county = Some("-".into());
        assert!(authorize(&county, "ln-market", Some(&p), Access::Read).is_err());
        let mut market = claims(Role::MarketRegulator, None);
        market.city = Some("-".into());
        assert!(authorize(&market, "ln-market", Some(&p), Access::Lists).is_err());
    }
}
