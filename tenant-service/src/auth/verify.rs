//! Verification of a bearer token: its signature (static HS256 secret or PEM public key
//! for local runs and tests, the OpenID Connect issuer's keys otherwise), and the
//! lifetime and clock checks every kind of token passes. A refusal is always 401 with a
//! message saying what is wrong with the token, never a 500.

use std::path::Path;
use std::sync::Arc;

use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};

use super::Claims;
use super::oidc::{Oidc, OidcSettings};
use crate::error::ApiError;

/// Default longest accepted token lifetime (`exp` at most this far in the future).
pub const DEFAULT_MAX_TOKEN_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(24 * 3600);

/// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
pub(super) const LEEWAY: u64 = 30;

/// Verifies tokens: those carrying an `iss` against the configured OpenID Connect issuer
/// ([`super::oidc`]), those without one against the static keys (HS256 secret or PEM public
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
pub(super) fn decode_error_message(e: &jsonwebtoken::errors::Error) -> String {
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
pub(super) fn check_times(
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

#[cfg(test)]
mod tests {
    use super::super::Role;
    use super::super::fixtures::claims;
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
}
