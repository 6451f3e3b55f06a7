//! Hash chain over an action's record entries. Pure functions only.
//!
//! `hash = SHA-256(canonical(entry fields) || prev_hash)`, hex-encoded. The canonical form
//! is a length-prefixed encoding of each field (`<byte length>:<bytes>\n`), so no two
//! different entries share an encoding. The first entry's `prev_hash` is 64 zeros.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of one record entry that the hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFields<'a> {
    pub action_id: Uuid,
    pub seq: i32,
    pub kind: &'a str,
    pub title: &'a str,
    pub content: &'a str,
    pub media_sha256: Option<&'a str>,
    pub recorded_by: &'a str,
    pub recorded_at: DateTime<Utc>,
    /// When the recorded event happened, if given (covered by the hash only when present,
    /// so entries written before the field existed keep their hashes).
    pub occurred_at: Option<DateTime<Utc>>,
    pub prev_hash: &'a str,
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// True when `s` is a lowercase or uppercase hex SHA-256 digest.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn field(h: &mut Sha256, name: &str, value: &str) {
    h.update(name.as_bytes());
    h.update(b"=");
    h.update(value.len().to_string().as_bytes());
    h.update(b":");
    h.update(value.as_bytes());
    h.update(b"\n");
}

/// Computes an entry's hash.
pub fn entry_hash(e: &EntryFields<'_>) -> String {
    let mut h = Sha256::new();
    field(&mut h, "action_id", &e.action_id.to_string());
    field(&mut h, "seq", &e.seq.to_string());
    field(&mut h, "kind", e.kind);
    field(&mut h, "title", e.title);
    field(&mut h, "content", e.content);
    field(
        &mut h,
        "media_sha256",
        &e.media_sha256.unwrap_or("").to_ascii_lowercase(),
    );
    field(&mut h, "recorded_by", e.recorded_by);
    field(
        &mut h,
        "recorded_at",
        &e.recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true),
    );
    if let Some(t) = e.occurred_at {
        field(
            &mut h,
            "occurred_at",
            &t.to_rfc3339_opts(SecondsFormat::Micros, true),
        );
    }
    field(&mut h, "prev_hash", e.prev_hash);
    hex(&h.finalize())
}

/// Decodes lowercase or uppercase hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// An agency's record-signing key (Ed25519), held outside the tenant database: a rewrite
/// of the database with a recomputed chain cannot recompute the signatures.
///
/// Ed25519 rather than SM2: the signature scheme is already in the dependency tree
/// (`ed25519-dalek`, used by NATS nkeys), deterministic (no nonce to get wrong), and
/// verifiable with any standard library; SM2/SM3 can replace it behind the same key id.
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// Reads a key file: the 32-byte seed, hex-encoded.
    pub fn from_hex(text: &str) -> anyhow::Result<Self> {
        let bytes = unhex(text.trim()).ok_or_else(|| anyhow::anyhow!("key is not hex"))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("key must be 32 bytes (64 hex characters)"))?;
        Ok(Self {
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        })
    }
    /// Short id of the public key: the first 16 hex characters of its SHA-256.
    pub fn key_id(&self) -> String {
        hex(&Sha256::digest(self.key.verifying_key().as_bytes()))[..16].to_string()
    }
    pub fn public_key_hex(&self) -> String {
        hex(self.key.verifying_key().as_bytes())
    }
    /// Signs an entry hash (its hex text).
    pub fn sign(&self, entry_hash: &str) -> String {
        use ed25519_dalek::Signer;
        hex(&self.key.sign(entry_hash.as_bytes()).to_bytes())
    }
    /// Whether `signature` (hex) is this key's signature of `entry_hash`.
    pub fn verifies(&self, entry_hash: &str, signature: &str) -> bool {
        use ed25519_dalek::Verifier;
        let Some(sig) = unhex(signature).and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
            return false;
        };
        self.key
            .verifying_key()
            .verify(
                entry_hash.as_bytes(),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
            .is_ok()
    }
}

/// Truncates to microseconds, the precision PostgreSQL stores.
pub fn db_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    let micros = t.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(t)
}

/// The first broken link of a chain.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokenLink {
    pub seq: i32,
    pub reason: String,
}

/// A stored entry: its fields and the hash stored with it.
pub struct StoredEntry<'a> {
    pub fields: EntryFields<'a>,
    pub hash: &'a str,
}

/// Verifies a chain in `seq` order; returns the first broken link.
pub fn verify<'a>(entries: impl IntoIterator<Item = StoredEntry<'a>>) -> Result<usize, BrokenLink> {
    let mut prev = GENESIS.to_string();
    let mut count = 0usize;
    for (i, e) in entries.into_iter().enumerate() {
        let expected_seq = i as i32 + 1;
        let seq = e.fields.seq;
        if seq != expected_seq {
            return Err(BrokenLink {
                seq: expected_seq,
                reason: format!("entry {expected_seq} is missing (found {seq} instead)"),
            });
        }
        if e.fields.prev_hash != prev {
            return Err(BrokenLink {
                seq,
                reason: format!("prev_hash does not match the hash of entry {}", seq - 1),
            });
        }
        let computed = entry_hash(&e.fields);
        if computed != e.hash {
            return Err(BrokenLink {
                seq,
                reason: "stored hash does not match the entry's content".to_string(),
            });
        }
        prev = computed;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i32) -> Vec<(String, String, String)> {
        // (content, prev, hash)
        let id = Uuid::nil();
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap();
        let mut prev = GENESIS.to_string();
        let mut out = vec![];
        for seq in 1..=n {
            let content = format!("entry {seq}");
            let h = entry_hash(&EntryFields {
                action_id: id,
                seq,
                kind: "text",
                title: "t",
                content: &content,
                media_sha256: None,
                recorded_by: "u",
                recorded_at: at,
                occurred_at: None,
                prev_hash: &prev,
            });
            out.push((content, prev.clone(), h.clone()));
            prev = h;
        }
        out
    }

    fn stored(c: &[(String, String, String)]) -> Vec<StoredEntry<'_>> {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap();
        c.iter()
            .enumerate()
            .map(|(i, (content, prev, hash))| StoredEntry {
                fields: EntryFields {
                    action_id: Uuid::nil(),
                    seq: i as i32 + 1,
                    kind: "text",
                    title: "t",
                    content,
                    media_sha256: None,
                    recorded_by: "u",
                    recorded_at: at,
                    occurred_at: None,
                    prev_hash: prev,
                },
                hash,
            })
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify(stored(&c)), Ok(5));
        assert_eq!(verify(Vec::new()), Ok(0));
    }

    #[test]
    fn tampered_content_is_found() {
        let mut c = chain(5);
        c[2].0 = "changed".into();
        assert_eq!(verify(stored(&c)).unwrap_err().seq, 3);
    }

    #[test]
    fn rehashed_entry_breaks_the_next_link() {
        let mut c = chain(5);
        c[1].2 = "f".repeat(64);
        // entry 2's own hash is wrong
        assert_eq!(verify(stored(&c)).unwrap_err().seq, 2);
    }

    #[test]
    fn missing_entry_is_found() {
        let mut c = chain(4);
        c.remove(1);
        let err = verify(stored(&c)).unwrap_err();
        assert_eq!(err.seq, 2);
    }

    #[test]
    fn signatures_need_the_key() {
        let k = SigningKey::from_hex(&"11".repeat(32)).unwrap();
        let other = SigningKey::from_hex(&"22".repeat(32)).unwrap();
        let h = "ab".repeat(32);
        let sig = k.sign(&h);
        assert!(k.verifies(&h, &sig));
        assert!(!other.verifies(&h, &sig));
        assert!(!k.verifies(&"cd".repeat(32), &sig));
        assert!(!k.verifies(&h, "zz"));
        assert_eq!(k.key_id().len(), 16);
        assert!(SigningKey::from_hex("abc").is_err());
    }

    #[test]
    fn occurred_at_is_covered_when_present() {
        let at = DateTime::from_timestamp(0, 0).unwrap();
        let a = EntryFields {
            action_id: Uuid::nil(),
            seq: 1,
            kind: "text",
            title: "t",
            content: "c",
            media_sha256: None,
            recorded_by: "u",
            recorded_at: at,
            occurred_at: None,
            prev_hash: GENESIS,
        };
        let b = EntryFields {
            occurred_at: Some(at),
            ..a.clone()
        };
        assert_ne!(entry_hash(&a), entry_hash(&b));
    }

    #[test]
    fn encoding_is_unambiguous() {
        let at = DateTime::from_timestamp(0, 0).unwrap();
        let a = EntryFields {
            action_id: Uuid::nil(),
            seq: 1,
            kind: "text",
            title: "ab",
            content: "c",
            media_sha256: None,
            recorded_by: "u",
            recorded_at: at,
            occurred_at: None,
            prev_hash: GENESIS,
        };
        let b = EntryFields {
            title: "a",
            content: "bc",
            ..a.clone()
        };
        assert_ne!(entry_hash(&a), entry_hash(&b));
    }
}
