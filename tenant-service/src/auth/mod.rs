//! Bearer-token authentication (JWT) and tenant authorization.
//!
//! Tokens come from the province's OpenID Connect provider ([`oidc`], roles from its
//! groups by [`groups`]) or, for local runs and tests, from a static key.
//!
//! Access rules:
//! - `officer`, `reviewer`, `agency_admin` tokens carry `agency` and reach only that agency;
//! - `city_supervisor` (claims `province`, `city`), `county_supervisor` (`province`,
//!   `city`, `county`) and `province_supervisor` (`province`) read, never write, the
//!   agencies of their city, county or province; each level's justice bureau also reviews
//!   the lists its own level's agencies publish ([`crate::api::lists`]);
//! - `market_regulator` (`province`, `city`, and `county` for a county's) reads only the
//!   lists of the agencies of its place ([`Access::Lists`]), to review random-inspection
//!   lists where the province has them reviewed by the market regulator;
//! - a token that may not see an agency gets **403**, whether or not the agency exists,
//!   so that a 403 never reveals which agencies are configured; 404 is returned for an
//!   unknown agency only to supervisors whose scope would include it.
//!
//! Split by idea: the token's content ([`Role`], [`Claims`]) is here; `verify` checks a
//! bearer token's signature, issuer and times; `access` decides what verified claims may
//! reach (the scope rule); [`oidc`] and [`groups`] read the province's provider.

use serde::{Deserialize, Serialize};

mod access;
pub mod groups;
pub mod oidc;
mod verify;

pub use access::{Access, authorize, covers, require_role};
pub use groups::GroupMapping;
pub use oidc::{Oidc, OidcSettings};
pub use verify::{DEFAULT_MAX_TOKEN_LIFETIME, Verifier};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Officer,
    Reviewer,
    AgencyAdmin,
    CitySupervisor,
    /// The justice bureau of a county (区县司法局): reads its county's agencies and
    /// reviews their lists.
    CountySupervisor,
    ProvinceSupervisor,
    /// The market regulator of a city or county (市场监管部门): reviews random-inspection
    /// lists where configured; reads agencies' lists, nothing else.
    MarketRegulator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Reviewer => "reviewer",
            Role::AgencyAdmin => "agency_admin",
            Role::CitySupervisor => "city_supervisor",
            Role::CountySupervisor => "county_supervisor",
            Role::ProvinceSupervisor => "province_supervisor",
            Role::MarketRegulator => "market_regulator",
        }
    }
    /// Read-only roles outside the agency (their reads of records are logged).
    pub fn is_supervisor(self) -> bool {
        matches!(
            self,
            Role::CitySupervisor
                | Role::CountySupervisor
                | Role::ProvinceSupervisor
                | Role::MarketRegulator
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// GB/T 2260 code of the county (county supervisors, a county's market regulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county: Option<String>,
    pub exp: u64,
    /// Not before (seconds since the epoch): a token is refused until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// Claims of an agency-or-supervisor token valid for ten minutes, shared by the tests of
/// verification and of access.
#[cfg(test)]
mod fixtures {
    use super::{Claims, Role};

    pub(super) fn claims(role: Role, agency: Option<&str>) -> Claims {
        Claims {
            sub: "u1".into(),
            agency: agency.map(Into::into),
            role,
            city: Some("210100".into()),
            province: Some("210000".into()),
            county: None,
            exp: (chrono::Utc::now().timestamp() + 600) as u64,
            nbf: None,
        }
    }
}
