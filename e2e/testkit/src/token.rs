//! The one token minter of the tests, the benchmarks and `sanxiang-local token`.
//!
//! Why one: the tenant service and the supervision workspace accept HS256 bearer tokens
//! signed with a shared secret (besides the OIDC provider's RS256 ones), and every test
//! that calls their API needs such a token. Whatever the claims' shape — a JSON object, the
//! tenant service's typed `Claims` — they are signed the same way here, with an expiry
//! added when the claims carry none, so a change to how tokens are signed is made once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;

/// How long a token minted without an `exp` claim stays valid.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// The `exp` claim of a token valid for `ttl` from now (seconds since the Unix epoch).
pub fn expires_in(ttl: Duration) -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |now| now.as_secs())
        + ttl.as_secs()
}

/// Signs `claims` with HS256 and `secret`. Claims that serialize to a JSON object without
/// an `exp` get one [`DEFAULT_TTL`] from now; an `exp` present (even a past one, to test
/// refusal) is kept as it is.
pub fn hs256(secret: &[u8], claims: &impl Serialize) -> Result<String> {
    let mut claims = serde_json::to_value(claims).context("serializing the token's claims")?;
    if let Some(object) = claims.as_object_mut() {
        object
            .entry("exp")
            .or_insert_with(|| json!(expires_in(DEFAULT_TTL)));
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .context("signing the token")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(token: &str, secret: &[u8]) -> serde_json::Value {
        let mut validation = jsonwebtoken::Validation::default();
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        jsonwebtoken::decode::<serde_json::Value>(
            token,
            &jsonwebtoken::DecodingKey::from_secret(secret),
            &validation,
        )
        .expect("a token this module signed")
        .claims
    }

    #[test]
    fn adds_an_expiry_only_where_there_is_none() {
        let t = hs256(b"k", &json!({"sub": "a"})).unwrap();
        let exp = decode(&t, b"k")["exp"].as_u64().unwrap();
        assert!(exp >= expires_in(DEFAULT_TTL) - 5 && exp <= expires_in(DEFAULT_TTL));
        let t = hs256(b"k", &json!({"sub": "a", "exp": 7})).unwrap();
        assert_eq!(decode(&t, b"k")["exp"], 7);
    }

    #[test]
    fn another_key_does_not_verify() {
        let t = hs256(b"right", &json!({"sub": "a"})).unwrap();
        let mut validation = jsonwebtoken::Validation::default();
        validation.required_spec_claims.clear();
        assert!(
            jsonwebtoken::decode::<serde_json::Value>(
                &t,
                &jsonwebtoken::DecodingKey::from_secret(b"wrong"),
                &validation
            )
            .is_err()
        );
    }
}
