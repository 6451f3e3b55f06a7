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

use crate::error::ApiError;
use crate::tenants::Tenant;
use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

pub mod groups;
pub mod oidc;

pub use groups::GroupMapping;
pub use oidc::{Oidc, OidcSettings};

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

/// Default longest accepted token lifetime (`exp` at most this far in the future).
pub const DEFAULT_MAX_TOKEN_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(24 * 3600);

/// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY: u64 = 30;

/// Verifies tokens: those carrying an `iss` against the configured OpenID Connect issuer
/// ([`oidc`]), those without one against the static keys (HS256 secret or PEM public
/// key, for local runs and tests, with `role`/`agency` claims minted by Sanxiang's tools).
#[derive(Clone)]
pub struct Verifier {
    keys: Vec<(DecodingKey, Vec<Algorithm>)>,
    oidc: Option<Arc<Oidc>>,
    max_lifetime: std::time::Duration,
}

impl Verifier {
    pub fn new() -> Self {
        Self {
            keys: Vec::new(),
            oidc: None,
            max_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
        }
    }
    /// Refuses tokens whose `exp` lies further than `max` in the future: a stolen
    /// long-lived token would otherwise open the agency for years.
    pub fn with_max_lifetime(mut self, max: std::time::Duration) -> Self {
        self.max_lifetime = max;
        self
    }
    pub fn with_hs256_secret(mut self, secret: &[u8]) -> Self {
        self.keys
            .push((DecodingKey::from_secret(secret), vec![Algorithm::HS256]));
        self
    }
    /// Accepts the tokens of an OpenID Connect provider.
    pub fn with_oidc(mut self, oidc: Oidc) -> Self {
        self.oidc = Some(Arc::new(oidc));
        self
    }
    pub fn oidc(&self) -> Option<&Oidc> {
        self.oidc.as_deref()
    }
    /// Adds a PEM public key: Ed25519 (EdDSA) or RSA (RS256/384/512).
    pub fn with_public_key_pem(mut self, pem: &[u8]) -> anyhow::Result<Self> {
        if let Ok(k) = DecodingKey::from_ed_pem(pem) {
            self.keys.push((k, vec![Algorithm::EdDSA]));
            return Ok(self);
        }
        if let Ok(k) = DecodingKey::from_rsa_pem(pem) {
            self.keys.push((
                k,
                vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512],
            ));
            return Ok(self);
        }
        anyhow::bail!("public key is neither an Ed25519 nor an RSA PEM public key")
    }
    pub fn from_files(
        hs256: Option<&Path>,
        public: Option<&Path>,
        oidc: Option<OidcSettings>,
    ) -> anyhow::Result<Self> {
        let mut v = Self::new();
        if let Some(p) = hs256 {
            let s = std::fs::read(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            let trimmed = String::from_utf8_lossy(&s).trim().as_bytes().to_vec();
            anyhow::ensure!(
                trimmed.len() >= 16,
                "HS256 secret must be at least 16 bytes"
            );
            v = v.with_hs256_secret(&trimmed);
        }
        if let Some(p) = public {
            let s = std::fs::read(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            v = v.with_public_key_pem(&s)?;
        }
        if let Some(settings) = oidc {
            v = v.with_oidc(Oidc::new(settings)?);
        }
        anyhow::ensure!(
            !v.keys.is_empty() || v.oidc.is_some(),
            "no JWT key configured (--oidc-issuer, --jwt-hs256-secret-file or --jwt-public-key-file)"
        );
        Ok(v)
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let unauthorized = |m: String| ApiError::unauthorized(m).with_field("Authorization");
        let header =
            decode_header(token).map_err(|_| unauthorized("malformed bearer token".to_string()))?;
        // The unverified `iss` only chooses the verification path (and names a foreign
        // issuer in the refusal); nothing in the payload is trusted before the signature.
        let issuer = unverified_issuer(token, header.alg)?;
        match (issuer, &self.oidc) {
            (Some(iss), Some(oidc)) if iss == oidc.issuer() => {
                return oidc.verify(token, &header, self.max_lifetime).await;
            }
            (Some(iss), Some(oidc)) => {
                return Err(unauthorized(format!(
                    "token issuer '{iss}' is not the accepted issuer '{}'",
                    oidc.issuer()
                )));
            }
            (Some(iss), None) => {
                return Err(unauthorized(format!(
                    "token issuer '{iss}' is not accepted: no OpenID Connect issuer is configured"
                )));
            }
            (None, _) if self.keys.is_empty() => {
                return Err(unauthorized(
                    "token has no issuer (iss); only the identity provider's tokens are accepted"
                        .to_string(),
                ));
            }
            (None, _) => {}
        }
        let mut last_err = None;
        for (key, algs) in &self.keys {
            if !algs.contains(&header.alg) {
                continue;
            }
            let mut validation = Validation::new(header.alg);
            validation.leeway = LEEWAY;
            validation.validate_aud = false;
            validation.validate_nbf = true;
            validation.set_required_spec_claims(&["exp", "sub"]);
            match decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    let c = data.claims;
                    check_times(c.exp, c.nbf, None, self.max_lifetime)?;
                    return Ok(c);
                }
                Err(e) => last_err = Some(e),
            }
        }
        let msg = match &last_err {
            None => format!("token algorithm {:?} is not accepted", header.alg),
            Some(e) => decode_error_message(e),
        };
        Err(unauthorized(msg))
    }

    /// Extracts and verifies the bearer token of a request.
    pub async fn from_headers(&self, headers: &HeaderMap) -> Result<Claims, ApiError> {
        let value = headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized("missing bearer token").with_field("Authorization")
            })?;
        let value = value.to_str().map_err(|_| {
            ApiError::unauthorized("malformed Authorization header").with_field("Authorization")
        })?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized("Authorization must be 'Bearer <token>'")
                    .with_field("Authorization")
            })?;
        self.verify(token.trim()).await
    }
}

/// The `iss` of a token, read without checking its signature.
fn unverified_issuer(token: &str, alg: Algorithm) -> Result<Option<String>, ApiError> {
    let mut v = Validation::new(alg);
    v.insecure_disable_signature_validation();
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let data =
        decode::<serde_json::Value>(token, &DecodingKey::from_secret(&[]), &v).map_err(|_| {
            ApiError::unauthorized("malformed bearer token").with_field("Authorization")
        })?;
    Ok(data
        .claims
        .get("iss")
        .and_then(|i| i.as_str())
        .map(str::to_string))
}

/// A refusal message for a token jsonwebtoken rejected.
fn decode_error_message(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "token expired".to_string(),
        ErrorKind::ImmatureSignature => "token is not valid yet (nbf is in the future)".to_string(),
        ErrorKind::InvalidSignature => "token signature is invalid".to_string(),
        ErrorKind::InvalidIssuer => "token issuer is not the accepted issuer".to_string(),
        ErrorKind::MissingRequiredClaim(c) => format!("token has no '{c}' claim"),
        ErrorKind::Json(_) => "token claims are invalid (need sub, role, exp)".to_string(),
        _ => "token is invalid".to_string(),
    }
}

/// The longest lifetime and clock checks shared by every kind of token: `exp` at most
/// `max` ahead (and, with `iat`, at most `max` after issue), `nbf` and `iat` not ahead.
fn check_times(
    exp: u64,
    nbf: Option<u64>,
    iat: Option<u64>,
    max: std::time::Duration,
) -> Result<(), ApiError> {
    let unauthorized = |m: String| ApiError::unauthorized(m).with_field("Authorization");
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let max = max.as_secs();
    let too_long = || {
        unauthorized(format!(
            "token expires too far in the future (the longest accepted lifetime is {max} s)"
        ))
    };
    if exp > now.saturating_add(max).saturating_add(LEEWAY) {
        return Err(too_long());
    }
    if iat.is_some_and(|iat| exp.saturating_sub(iat) > max.saturating_add(LEEWAY)) {
        return Err(too_long());
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(LEEWAY)) {
        return Err(unauthorized(
            "token is not valid yet (nbf is in the future)".to_string(),
        ));
    }
    if iat.is_some_and(|iat| iat > now.saturating_add(LEEWAY)) {
        return Err(unauthorized(
            "token is issued in the future (iat)".to_string(),
        ));
    }
    Ok(())
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

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
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};

    fn token(claims: &Claims, secret: &[u8]) -> String {
        encode(
            &Header::default(),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    fn claims(role: Role, agency: Option<&str>) -> Claims {
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

    fn tenant(agency: &str, city: &str) -> Tenant {
        let mut contract = sanxiang_domain::TenantContract::new(agency, "210000", city, "-");
        contract.subject_prefix = "sx".into();
        Tenant::new(contract, "x")
    }

    #[tokio::test]
    async fn verify_tokens() {
        let secret = b"0123456789abcdef0123";
        let v = Verifier::new().with_hs256_secret(secret);
        let c = claims(Role::Officer, Some("a"));
        assert_eq!(v.verify(&token(&c, secret)).await.unwrap(), c);
        let err = v
            .verify(&token(&c, b"another-secret-xxxxx"))
            .await
            .unwrap_err();
        assert_eq!(err.status, 401);
        let mut expired = c.clone();
        expired.exp = 1000;
        assert_eq!(
            v.verify(&token(&expired, secret)).await.unwrap_err().error,
            "token expired"
        );
        assert_eq!(v.verify("garbage").await.unwrap_err().status, 401);
    }

    #[tokio::test]
    async fn far_future_exp_and_future_nbf_are_refused() {
        let secret = b"0123456789abcdef0123";
        let v = Verifier::new()
            .with_hs256_secret(secret)
            .with_max_lifetime(std::time::Duration::from_secs(3600));
        let mut c = claims(Role::Officer, Some("a"));
        // exp in the year 3000
        c.exp = 32_503_680_000;
        let e = v.verify(&token(&c, secret)).await.unwrap_err();
        assert_eq!(e.status, 401);
        assert!(e.error.contains("too far in the future"), "{}", e.error);
        // nbf an hour ahead
        let mut c = claims(Role::Officer, Some("a"));
        c.nbf = Some((chrono::Utc::now().timestamp() + 3600) as u64);
        let e = v.verify(&token(&c, secret)).await.unwrap_err();
        assert!(e.error.contains("not valid yet"), "{}", e.error);
        // nbf in the past and exp within the lifetime: accepted
        c.nbf = Some((chrono::Utc::now().timestamp() - 10) as u64);
        assert!(v.verify(&token(&c, secret)).await.is_ok());
    }

    // A throw-away Ed25519 key pair, for this test only.
    const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIGxyvkkgNfqzkW4QjHLDpj100E2oa+HzUjW+OR6IWnPp
-----END PRIVATE KEY-----
";
    const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAlV+wHi2HRDL87coSaRIxTjCZ+aCW8JThRO4+7We28dM=
-----END PUBLIC KEY-----
";

    #[tokio::test]
    async fn eddsa_public_key_and_hs256_side_by_side() {
        let v = Verifier::new()
            .with_hs256_secret(b"0123456789abcdef0123")
            .with_public_key_pem(ED_PUBLIC.as_bytes())
            .unwrap();
        let c = claims(Role::ProvinceSupervisor, None);
        let t = encode(
            &Header::new(Algorithm::EdDSA),
            &c,
            &EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(v.verify(&t).await.unwrap(), c);
        assert_eq!(
            v.verify(&token(&c, b"0123456789abcdef0123")).await.unwrap(),
            c
        );
        // An EdDSA token is not accepted by an HS256-only verifier.
        let hs_only = Verifier::new().with_hs256_secret(b"0123456789abcdef0123");
        assert!(
            hs_only
                .verify(&t)
                .await
                .unwrap_err()
                .error
                .contains("not accepted")
        );
        assert!(Verifier::new().with_public_key_pem(b"not a key").is_err());
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
