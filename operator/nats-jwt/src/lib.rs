//! NATS decentralized authentication for Sanxiang: nats-io/jwt v2 claims ([`claims`]),
//! signing and decoding JWTs with nkeys, `.creds` files, and the accounts Sanxiang's NATS
//! runs with ([`topology`]).
//!
//! No maintained Rust crate covers the v2 claims fully, so this crate writes them field by
//! field after the Go structs; the operator's and the local platform's integration tests
//! check them against a real nats-server in operator mode. Both the operator (which mints
//! agency accounts and users) and the local platform (which creates the operator, the
//! system account and the keys at `up`, as a cluster's installer would) use it, so the
//! accounts they both write are defined once.
//!
//! Keys: an *operator identity* key signs only the operator JWT (it can stay offline); an
//! *operator signing key* signs account JWTs; one *account signing key*, listed in every
//! account JWT, signs user JWTs. Account identities are derived from the account signing
//! seed and a stable name ([`derive_account`]), so nothing per agency must be stored to
//! re-create the same account, and no account seed ever exists outside that derivation.

pub mod claims;
pub mod install;
pub mod topology;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256, Sha512_256};

pub use nkeys::{KeyPair, KeyPairType};

use claims::Claims;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("nkey: {0}")]
    Nkey(String),
    #[error("JWT: {0}")]
    Jwt(String),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<nkeys::error::Error> for Error {
    fn from(e: nkeys::error::Error) -> Self {
        Error::Nkey(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

const HEADER: &str = r#"{"typ":"JWT","alg":"ed25519-nkey"}"#;

/// Signs `claims` with `signer`: sets `iss` to the signer's public key, `iat` to `now`
/// (Unix seconds) and `jti` to the base32 SHA-512/256 of the claims data without it, as
/// `ClaimsData.doEncode` does.
pub fn encode<T: Serialize>(claims: &mut Claims<T>, signer: &KeyPair, now: i64) -> Result<String> {
    if claims.subject.is_empty() {
        return Err(Error::Jwt("subject is not set".into()));
    }
    claims.issuer = signer.public_key();
    claims.issued_at = now;
    claims.id = String::new();
    // The hash covers ClaimsData only (the Go struct without `nats`).
    let mut data = serde_json::to_value(&*claims)?;
    if let Some(map) = data.as_object_mut() {
        map.remove("nats");
    }
    let digest = Sha512_256::digest(serde_json::to_vec(&data)?);
    claims.id = data_encoding::BASE32_NOPAD.encode(&digest);
    let to_sign = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&*claims)?)
    );
    let signature = signer.sign(to_sign.as_bytes())?;
    Ok(format!("{to_sign}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// Decodes a JWT and verifies its signature against its `iss`.
pub fn decode<T: DeserializeOwned>(jwt: &str) -> Result<Claims<T>> {
    let mut parts = jwt.trim().split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Jwt("expected three dot-separated parts".into()));
    };
    let b64 = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|e| Error::Jwt(format!("base64: {e}")))
    };
    let header: serde_json::Value = serde_json::from_slice(&b64(header)?)?;
    if header["alg"] != "ed25519-nkey" {
        return Err(Error::Jwt(format!(
            "unsupported algorithm {}",
            header["alg"]
        )));
    }
    let claims: Claims<T> = serde_json::from_slice(&b64(payload)?)?;
    let issuer = KeyPair::from_public_key(&claims.issuer)?;
    let signed = &jwt.trim()[..jwt.trim().rfind('.').unwrap_or(0)];
    issuer
        .verify(signed.as_bytes(), &b64(signature)?)
        .map_err(|e| Error::Jwt(format!("signature: {e}")))?;
    Ok(claims)
}

/// A standard `.creds` file (`jwt.FormatUserConfig`): the user JWT and its nkey seed.
pub fn format_creds(user_jwt: &str, user: &KeyPair) -> Result<String> {
    let seed = user.seed()?;
    if !seed.starts_with("SU") {
        return Err(Error::Nkey("not a user seed".into()));
    }
    Ok(format!(
        "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n"
    ))
}

/// The user JWT of a `.creds` file.
pub fn creds_jwt(creds: &str) -> Option<&str> {
    let start = creds.find("-----BEGIN NATS USER JWT-----\n")? + 30;
    let end = start + creds[start..].find('\n')?;
    Some(creds[start..end].trim())
}

/// The user seed of a `.creds` file.
pub fn creds_seed(creds: &str) -> Option<&str> {
    let start = creds.find("-----BEGIN USER NKEY SEED-----\n")? + 31;
    let end = start + creds[start..].find('\n')?;
    Some(creds[start..end].trim())
}

/// The account key for `name`, derived from the account signing key: the same inputs
/// always give the same account, and different names give unrelated keys.
pub fn derive_account(account_signing_key: &KeyPair, name: &str) -> Result<KeyPair> {
    derive(account_signing_key, KeyPairType::Account, name)
}

/// A user key derived like [`derive_account`] (for users the platform itself runs).
pub fn derive_user(account_signing_key: &KeyPair, name: &str) -> Result<KeyPair> {
    derive(account_signing_key, KeyPairType::User, name)
}

fn derive(root: &KeyPair, kind: KeyPairType, name: &str) -> Result<KeyPair> {
    let (_, raw) = nkeys::decode_seed(&root.seed()?)?;
    let mut h = Sha256::new();
    h.update(b"sanxiang-nats-derive-v1\0");
    h.update(raw);
    h.update([0]);
    h.update(format!("{kind:?}").as_bytes());
    h.update([0]);
    h.update(name.as_bytes());
    Ok(KeyPair::new_from_raw(kind, h.finalize().into())?)
}

/// Reads a seed as written in a file or Secret (surrounding whitespace ignored).
pub fn key_from_seed(seed: &str) -> Result<KeyPair> {
    Ok(KeyPair::from_seed(seed.trim())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use claims::{GenericFields, NatsLimits, Permissions, User};

    fn user_claims(subject: &str) -> Claims<User> {
        Claims {
            audience: String::new(),
            expires: 0,
            id: String::new(),
            issued_at: 0,
            issuer: String::new(),
            name: "u".into(),
            not_before: 0,
            subject: subject.into(),
            nats: User {
                permissions: Permissions::default(),
                src: Vec::new(),
                limits: NatsLimits::unlimited(),
                bearer_token: false,
                allowed_connection_types: Vec::new(),
                issuer_account: String::new(),
                generic: GenericFields::of("user"),
            },
        }
    }

    #[test]
    fn encoded_jwts_decode_and_verify() {
        let account = KeyPair::new_account();
        let user = KeyPair::new_user();
        let mut c = user_claims(&user.public_key());
        let jwt = encode(&mut c, &account, 1_700_000_000).unwrap();
        let back: Claims<serde_json::Value> = decode(&jwt).unwrap();
        assert_eq!(back.issuer, account.public_key());
        assert_eq!(back.subject, user.public_key());
        assert_eq!(back.issued_at, 1_700_000_000);
        assert_eq!(back.nats["type"], "user");
        assert_eq!(back.nats["version"], 2);
        assert_eq!(back.nats["subs"], -1);
        assert_eq!(back.id.len(), 52, "base32 of 32 bytes without padding");
        // A tampered payload fails verification.
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let other = encode(&mut user_claims("UOTHER"), &account, 1).unwrap();
        parts[1] = other.split('.').nth(1).unwrap();
        assert!(decode::<serde_json::Value>(&parts.join(".")).is_err());
    }

    #[test]
    fn creds_files_round_trip() {
        let account = KeyPair::new_account();
        let user = KeyPair::new_user();
        let jwt = encode(&mut user_claims(&user.public_key()), &account, 1).unwrap();
        let creds = format_creds(&jwt, &user).unwrap();
        assert_eq!(creds_jwt(&creds), Some(jwt.as_str()));
        assert_eq!(creds_seed(&creds), Some(user.seed().unwrap().as_str()));
        assert!(
            format_creds(&jwt, &account).is_err(),
            "an account seed is refused"
        );
    }

    #[test]
    fn derived_keys_are_stable_and_distinct() {
        let root = KeyPair::new_account();
        let a = derive_account(&root, "ns/a").unwrap();
        assert_eq!(
            a.public_key(),
            derive_account(&root, "ns/a").unwrap().public_key()
        );
        assert_ne!(
            a.public_key(),
            derive_account(&root, "ns/b").unwrap().public_key()
        );
        assert!(a.public_key().starts_with('A'));
        assert!(
            derive_user(&root, "ns/a")
                .unwrap()
                .public_key()
                .starts_with('U')
        );
        let other_root = KeyPair::new_account();
        assert_ne!(
            a.public_key(),
            derive_account(&other_root, "ns/a").unwrap().public_key()
        );
    }
}
