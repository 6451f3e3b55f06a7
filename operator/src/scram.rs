//! SCRAM-SHA-256 password verifiers, computed by the operator (issue 10).
//!
//! `CREATE ROLE … PASSWORD 'secret'` makes PostgreSQL hash the password itself: 4,096
//! rounds of PBKDF2-HMAC-SHA-256 in the server process, inside the reconcile's
//! transaction, on the one server every agency shares. PostgreSQL also accepts the
//! finished verifier in place of the password (`PASSWORD 'SCRAM-SHA-256$4096:…'`) and
//! stores it as given, so the operator — which scales out, unlike the database — computes
//! it. The verifier is what PostgreSQL would store (RFC 5802/7677, PostgreSQL's
//! `scram_build_secret`): the same iteration count (PostgreSQL 15's fixed 4096) and salt
//! length, so logging in costs the same.
//!
//! PostgreSQL normalises a password with SASLprep before hashing; for printable ASCII
//! that is the identity, which is all [`verifier`] handles: any other password is left
//! to the server (`None`), which never happens for the generated ones. A malformed
//! verifier would be taken as a plain password, so the format is pinned by a unit test and
//! every test that logs in as an agency's role proves the real server accepts it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// PostgreSQL 15's iteration count (`SCRAM_DEFAULT_ITERATIONS`).
pub const ITERATIONS: u32 = 4096;
/// PostgreSQL's salt length (`SCRAM_DEFAULT_SALT_LEN`).
const SALT_LEN: usize = 16;

/// The verifier of `password` with a fresh random salt, or `None` when the password is
/// not printable ASCII (SASLprep would change it; the server then hashes it).
pub fn verifier(password: &str) -> Option<String> {
    let mut salt = [0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    verifier_with_salt(password, &salt)
}

/// [`verifier`] with a given salt (pure).
pub fn verifier_with_salt(password: &str, salt: &[u8]) -> Option<String> {
    if password.is_empty() || !password.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    let salted = salted_password(password.as_bytes(), salt, ITERATIONS);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac(&salted, b"Server Key");
    Some(format!(
        "SCRAM-SHA-256${ITERATIONS}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key),
        STANDARD.encode(server_key)
    ))
}

/// `Hi(password, salt, i)` of RFC 5802: PBKDF2-HMAC-SHA-256 with one block.
fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mac = Hmac::<Sha256>::new_from_slice(password).expect("HMAC takes any key length");
    let mut first = mac.clone();
    first.update(salt);
    first.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = first.finalize().into_bytes().into();
    let mut result = u;
    for _ in 1..iterations {
        let mut next = mac.clone();
        next.update(&u);
        u = next.finalize().into_bytes().into();
        for (r, x) in result.iter_mut().zip(u) {
            *r ^= x;
        }
    }
    result
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_matches_the_rfc_7677_example() {
        // RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==,
        // 4096 rounds. The RFC prints the exchange, not the keys; the server's final
        // message `v=` is HMAC(ServerKey, AuthMessage), checked here from our ServerKey.
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let v = verifier_with_salt("pencil", &salt).unwrap();
        let (head, keys) = v.rsplit_once('$').unwrap();
        assert_eq!(head, "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==");
        let (_, server_key) = keys.split_once(':').unwrap();
        let server_key = STANDARD.decode(server_key).unwrap();
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
             r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
             c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        assert_eq!(
            STANDARD.encode(hmac(&server_key, auth_message.as_bytes())),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn only_printable_ascii_is_hashed_here() {
        assert!(verifier("Abc123xyz").is_some());
        assert!(verifier("pässwort").is_none(), "SASLprep may change it");
        assert!(verifier("tab\there").is_none());
        assert!(verifier("").is_none());
        let a = verifier("same").unwrap();
        assert_ne!(a, verifier("same").unwrap(), "a fresh salt each time");
    }
}
