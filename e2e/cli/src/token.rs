//! `sanxiang-local token` and the demo's tokens: bearer tokens the local tenant service
//! accepts, signed with the platform's HS256 key by the testkit's one minter
//! ([`sanxiang_testkit::token`]).

use std::fs;
use std::time::Duration;

use anyhow::{Context, Result};

use sanxiang_testkit::Platform;
use sanxiang_testkit::token;

/// The HS256 key the local tenant service accepts (`sanxiang-local token`, the demo).
pub fn dev_key(p: &Platform) -> Result<Vec<u8>> {
    fs::read(p.state_dir.join("jwt-hs256.key"))
        .context("no tenant-service key yet: run `make up` first")
}

/// A bearer token for the dev tenant service (HS256 with the platform's secret), valid for
/// 12 hours: `role` is officer, reviewer, agency_admin, city_supervisor or
/// province_supervisor.
pub fn dev_token(
    p: &Platform,
    agency: Option<&str>,
    role: &str,
    city: Option<&str>,
) -> Result<String> {
    dev_token_in(p, agency, role, city, None)
}

/// [`dev_token`] with a county too (county_supervisor, a county's market_regulator).
pub fn dev_token_in(
    p: &Platform,
    agency: Option<&str>,
    role: &str,
    city: Option<&str>,
    county: Option<&str>,
) -> Result<String> {
    let mut claims = serde_json::json!({"sub": format!("dev-{role}"), "role": role,
        "exp": token::expires_in(Duration::from_secs(12 * 3600)), "province": "210000"});
    for (name, value) in [("agency", agency), ("city", city), ("county", county)] {
        if let Some(v) = value {
            claims[name] = v.into();
        }
    }
    token::hs256(&dev_key(p)?, &claims)
}
