//! OpenID Connect: tokens of one configured issuer, verified with the keys its discovery
//! document points to.
//!
//! The issuer's `/.well-known/openid-configuration` names its `jwks_uri`; the keys found
//! there are cached by `kid`. A token naming a `kid` the cache does not hold makes the
//! verifier fetch the keys again (the provider rotated them), at most once per
//! `refetch_min_interval`, so a stream of tokens with made-up `kid`s cannot turn the
//! service into a load generator against the provider. The cache is also refreshed when
//! older than `cache_ttl`, which drops keys the provider withdrew; a failed fetch keeps the
//! keys already known.
//!
//! Checked on every token: an asymmetric algorithm agreeing with its key, the signature,
//! `iss` (exactly the configured issuer), `aud` (contains the configured audience),
//! `exp`/`nbf`/`iat` with the service's clock skew and longest lifetime, and the groups
//! mapping to one role ([`super::groups`]).

use super::Claims;
use super::groups::GroupMapping;
use super::verify::{LEEWAY, check_times, decode_error_message};
use crate::error::ApiError;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation, decode};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Algorithms accepted from a provider: asymmetric only (an HMAC key would have to be
/// shared with every service, and `none` is never a signature).
const ACCEPTED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Where the provider is and what its tokens must say.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The issuer URL, exactly as the provider writes it in `iss`.
    pub issuer: String,
    /// The audience the tokens must be issued for (this API).
    pub audience: String,
    pub mapping: GroupMapping,
    pub refetch_min_interval: Duration,
    pub cache_ttl: Duration,
    /// Extra CA certificates (PEM) to trust for the provider's TLS.
    pub ca_pem: Option<Vec<u8>>,
}

impl OidcSettings {
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            mapping: GroupMapping::default(),
            refetch_min_interval: Duration::from_secs(30),
            cache_ttl: Duration::from_secs(600),
            ca_pem: None,
        }
    }
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
    fetches: u64,
    last_error: Option<String>,
}

/// Verifies tokens of one issuer.
pub struct Oidc {
    settings: OidcSettings,
    http: reqwest::Client,
    // Held across a fetch: concurrent requests with an unknown kid wait for one fetch
    // instead of each starting their own.
    cache: tokio::sync::Mutex<KeyCache>,
}

impl Oidc {
    pub fn new(settings: OidcSettings) -> anyhow::Result<Self> {
        anyhow::ensure!(
            settings.issuer.starts_with("https://") || settings.issuer.starts_with("http://"),
            "OIDC issuer {:?} must be an http(s) URL",
            settings.issuer
        );
        anyhow::ensure!(!settings.audience.is_empty(), "OIDC audience is empty");
        let mut http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = &settings.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                http = http.add_root_certificate(cert);
            }
        }
        Ok(Self {
            settings,
            http: http.build()?,
            cache: tokio::sync::Mutex::new(KeyCache::default()),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// How many times the keys were fetched (for tests of the rate limit).
    pub async fn fetches(&self) -> u64 {
        self.cache.lock().await.fetches
    }

    /// Verifies `token` (whose unverified `iss` is this issuer) and maps it to [`Claims`].
    pub async fn verify(
        &self,
        token: &str,
        header: &Header,
        max_lifetime: Duration,
    ) -> Result<Claims, ApiError> {
        let unauthorized = |m: String| ApiError::unauthorized(m).with_field("Authorization");
        if !ACCEPTED.contains(&header.alg) {
            return Err(unauthorized(format!(
                "token algorithm {:?} is not accepted from the identity provider (asymmetric signatures only)",
                header.alg
            )));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| unauthorized("token header names no signing key (kid)".to_string()))?;
        let (key, alg) = self.key(kid).await?;
        if alg != header.alg {
            return Err(unauthorized(format!(
                "token algorithm {:?} does not match its key '{kid}' ({alg:?})",
                header.alg
            )));
        }
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY;
        validation.set_issuer(&[&self.settings.issuer]);
        validation.validate_aud = false; // checked below, with a message naming it
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        let data = decode::<serde_json::Value>(token, &key, &validation)
            .map_err(|e| unauthorized(decode_error_message(&e)))?;
        let claims = data.claims;
        self.check_audience(&claims)?;
        let number = |name: &str| claims.get(name).and_then(serde_json::Value::as_u64);
        let exp = number("exp").ok_or_else(|| unauthorized("token exp is not a number".into()))?;
        check_times(exp, number("nbf"), number("iat"), max_lifetime)?;
        let sub = claims
            .get("sub")
            .and_then(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| unauthorized("token sub is missing or empty".into()))?;
        let grant = self.settings.mapping.grant(&claims)?;
        Ok(Claims {
            sub: sub.to_string(),
            agency: grant.agency,
            role: grant.role,
            city: grant.city,
            province: grant.province,
            county: grant.county,
            exp,
            nbf: number("nbf"),
        })
    }

    fn check_audience(&self, claims: &serde_json::Value) -> Result<(), ApiError> {
        let want = self.settings.audience.as_str();
        let got: Vec<&str> = match claims.get("aud") {
            Some(serde_json::Value::String(s)) => vec![s.as_str()],
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        };
        if got.contains(&want) {
            return Ok(());
        }
        Err(ApiError::unauthorized(format!(
            "token audience [{}] does not include '{want}': the token was issued for another application",
            got.join(", ")
        ))
        .with_field("Authorization"))
    }

    async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), ApiError> {
        let mut cache = self.cache.lock().await;
        let may_fetch = |c: &KeyCache| {
            c.attempted_at
                .is_none_or(|t| t.elapsed() >= self.settings.refetch_min_interval)
        };
        let stale = cache
            .fetched_at
            .is_none_or(|t| t.elapsed() >= self.settings.cache_ttl);
        let known = cache.keys.contains_key(kid);
        if (stale || !known) && may_fetch(&cache) {
            // A failed fetch keeps the keys already known; the error is reported below
            // only when the token's key is not among them.
            self.refresh(&mut cache).await;
        }
        if let Some(k) = cache.keys.get(kid) {
            return Ok(k.clone());
        }
        if cache.fetched_at.is_none() {
            return Err(ApiError::unavailable(format!(
                "the identity provider's signing keys could not be fetched from {}: {}",
                self.settings.issuer,
                cache.last_error.as_deref().unwrap_or("not tried yet")
            )));
        }
        Err(ApiError::unauthorized(format!(
            "token signing key '{kid}' is not among the issuer's keys (keys are fetched again at most every {} s)",
            self.settings.refetch_min_interval.as_secs()
        ))
        .with_field("Authorization"))
    }

    async fn refresh(&self, cache: &mut KeyCache) {
        cache.attempted_at = Some(Instant::now());
        cache.fetches += 1;
        match self.fetch_keys().await {
            Ok(keys) => {
                tracing::info!(issuer = %self.settings.issuer, keys = keys.len(), "fetched the identity provider's signing keys");
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
                cache.last_error = None;
            }
            Err(e) => {
                tracing::warn!(issuer = %self.settings.issuer, error = %e, "fetching the identity provider's signing keys failed");
                cache.last_error = Some(e);
            }
        }
    }

    async fn fetch_keys(&self) -> Result<HashMap<String, (DecodingKey, Algorithm)>, String> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let discovery = self.get_json(&discovery_url).await?;
        let issuer = discovery.get("issuer").and_then(|v| v.as_str());
        if issuer != Some(self.settings.issuer.as_str()) {
            return Err(format!(
                "{discovery_url} names issuer {issuer:?}, not the configured {:?}",
                self.settings.issuer
            ));
        }
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("{discovery_url} has no jwks_uri"))?;
        let jwks = self.get_json(jwks_uri).await?;
        let entries = jwks
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or_else(|| format!("{jwks_uri} has no 'keys' list"))?;
        let mut keys = HashMap::new();
        for entry in entries {
            // Keys this verifier cannot use (encryption keys, unknown types) are skipped,
            // not fatal: the provider may publish more than signing keys.
            let Ok(jwk) = serde_json::from_value::<Jwk>(entry.clone()) else {
                continue;
            };
            if let Some((kid, key)) = usable(&jwk) {
                keys.insert(kid, key);
            }
        }
        if keys.is_empty() {
            return Err(format!("{jwks_uri} holds no usable signing key"));
        }
        Ok(keys)
    }

    async fn get_json(&self, url: &str) -> Result<serde_json::Value, String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", response.status()));
        }
        response
            .json()
            .await
            .map_err(|e| format!("GET {url}: not JSON: {e}"))
    }
}

/// A signing key of the set with its `kid` and algorithm (from `alg`, else from the key type).
fn usable(jwk: &Jwk) -> Option<(String, (DecodingKey, Algorithm))> {
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    let kid = jwk.common.key_id.clone()?;
    let alg = match jwk.common.key_algorithm {
        Some(a) => Algorithm::from_str(&a.to_string()).ok()?,
        None => match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => {
                Algorithm::ES384
            }
            AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
            _ => return None,
        },
    };
    if !ACCEPTED.contains(&alg) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((kid, (key, alg)))
}
