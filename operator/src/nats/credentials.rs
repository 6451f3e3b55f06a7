//! An agency's NATS credentials as kept in its Secret, and the pure decisions about them:
//! keep, mint, rotate, and which rotated-out users are revoked by now.
//!
//! The Secret holds a standard `.creds` file (`creds`: user JWT + nkey seed) that any NATS
//! client reads, the server `url`, the `subjectPrefix`, and the public keys of the
//! `account` and `user`. Two annotations keep the lifecycle: the rotation request last
//! applied ([`ROTATION_APPLIED_ANNOTATION`]) and the users rotated out, each with the time
//! its grace period ends ([`RETIRED_USERS_ANNOTATION`]); those become revocations in the
//! account JWT once due, and stay there.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

/// Label on the Secrets holding an agency's NATS credentials.
pub const NATS_SECRET_LABEL: &str = "sanxiang.io/credentials";
pub const NATS_SECRET_LABEL_VALUE: &str = "nats";
/// Set (to any new value) on an Agency to ask for new NATS credentials; the old ones
/// keep working for the grace period stated in the MessagingReady condition.
pub const ROTATE_ANNOTATION: &str = "sanxiang.io/rotate-nats-credentials";
/// On the Secret: the value of [`ROTATE_ANNOTATION`] the current credentials answer.
pub const ROTATION_APPLIED_ANNOTATION: &str = "sanxiang.io/nats-rotation-applied";
/// On the Secret: JSON object, rotated-out user public key → Unix time it is revoked.
pub const RETIRED_USERS_ANNOTATION: &str = "sanxiang.io/nats-retired-users";

/// What the Secret says about the agency's current credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stored {
    pub account: String,
    pub user: String,
    pub creds: String,
    pub rotation_applied: String,
    pub retired: BTreeMap<String, i64>,
}

impl Stored {
    pub fn from_secret(secret: &Secret) -> Option<Self> {
        let data = secret.data.as_ref()?;
        let get = |k: &str| {
            data.get(k)
                .and_then(|v| String::from_utf8(v.0.clone()).ok())
        };
        let annotations = secret.metadata.annotations.clone().unwrap_or_default();
        Some(Self {
            account: get("account")?,
            user: get("user")?,
            creds: get("creds")?,
            rotation_applied: annotations
                .get(ROTATION_APPLIED_ANNOTATION)
                .cloned()
                .unwrap_or_default(),
            retired: annotations
                .get(RETIRED_USERS_ANNOTATION)
                .and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or_default(),
        })
    }
}

/// What to do with the user of an agency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserPlan {
    /// The stored credentials stay.
    Keep,
    /// No usable credentials (first time, or the account changed): mint a user.
    Mint,
    /// Rotation asked for: mint a user and retire `old` at `revoke_at`.
    Rotate { old: String, revoke_at: i64 },
}

/// Decides from the stored credentials, the account the agency must be in and the
/// rotation requested on the Agency.
pub fn plan_user(
    stored: Option<&Stored>,
    account: &str,
    rotation_requested: &str,
    now: i64,
    grace_seconds: i64,
) -> UserPlan {
    match stored {
        Some(s) if s.account == account && s.rotation_applied == rotation_requested => {
            UserPlan::Keep
        }
        Some(s) if s.account == account => UserPlan::Rotate {
            old: s.user.clone(),
            revoke_at: now + grace_seconds,
        },
        _ => UserPlan::Mint,
    }
}

/// The revocations due at `now` (user → the time from which its JWTs are refused).
pub fn due_revocations(retired: &BTreeMap<String, i64>, now: i64) -> BTreeMap<String, i64> {
    retired
        .iter()
        .filter(|&(_, &at)| at <= now)
        .map(|(u, &at)| (u.clone(), at))
        .collect()
}

/// The Secret's data.
pub fn secret_data(
    url: &str,
    subject_prefix: &str,
    account: &str,
    user: &str,
    creds: &str,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("url".into(), url.into()),
        ("subjectPrefix".into(), subject_prefix.into()),
        ("account".into(), account.into()),
        ("user".into(), user.into()),
        ("creds".into(), creds.into()),
    ])
}

/// The Secret's annotations.
pub fn secret_annotations(
    rotation_applied: &str,
    retired: &BTreeMap<String, i64>,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        (ROTATION_APPLIED_ANNOTATION.into(), rotation_applied.into()),
        (
            RETIRED_USERS_ANNOTATION.into(),
            serde_json::to_string(retired).expect("a map of strings to numbers"),
        ),
    ])
}

/// Why `name` cannot be one token of a NATS subject, if it cannot: `.` would split it,
/// `*` and `>` are wildcards, whitespace ends a subject.
pub fn subject_token_error(field: &str, name: &str) -> Option<String> {
    if name.is_empty() {
        return Some(format!("{field}: must not be empty"));
    }
    name.chars()
        .find(|c| matches!(c, '.' | '*' | '>') || c.is_whitespace() || c.is_control())
        .map(|c| {
            format!(
                "{field}: {name:?} contains {c:?}, which NATS subjects cannot carry in one \
                 token (the agency's subjects are sx.<province>.<city>.<county>.<name>); use \
                 letters, digits and '-'"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(account: &str, rotation: &str) -> Stored {
        Stored {
            account: account.into(),
            user: "UOLD".into(),
            creds: "c".into(),
            rotation_applied: rotation.into(),
            retired: BTreeMap::new(),
        }
    }

    #[test]
    fn users_are_kept_minted_or_rotated() {
        assert_eq!(plan_user(None, "A1", "", 100, 300), UserPlan::Mint);
        assert_eq!(
            plan_user(Some(&stored("A1", "")), "A1", "", 100, 300),
            UserPlan::Keep
        );
        assert_eq!(
            plan_user(Some(&stored("A0", "")), "A1", "", 100, 300),
            UserPlan::Mint,
            "another account (a new Agency of the same name) gets a new user"
        );
        assert_eq!(
            plan_user(Some(&stored("A1", "")), "A1", "2026-12-01", 100, 300),
            UserPlan::Rotate {
                old: "UOLD".into(),
                revoke_at: 400
            }
        );
    }

    #[test]
    fn only_due_retirements_are_revocations() {
        let retired = BTreeMap::from([("U1".to_string(), 100), ("U2".to_string(), 200)]);
        assert_eq!(
            due_revocations(&retired, 150),
            BTreeMap::from([("U1".to_string(), 100)])
        );
        assert_eq!(due_revocations(&retired, 200).len(), 2);
    }

    #[test]
    fn names_that_would_split_a_subject_are_refused() {
        for bad in ["adv-q.x", "a*", "a>", "a b", "a\tb", ""] {
            let e = subject_token_error("metadata.name", bad);
            assert!(
                e.as_deref()
                    .is_some_and(|m| m.starts_with("metadata.name: ")),
                "{bad:?}"
            );
        }
        assert_eq!(
            subject_token_error("metadata.name", "shenyang-market"),
            None
        );
    }

    #[test]
    fn secrets_round_trip() {
        let retired = BTreeMap::from([("U1".to_string(), 5)]);
        let secret = Secret {
            metadata: kube::api::ObjectMeta {
                annotations: Some(secret_annotations("r1", &retired)),
                ..Default::default()
            },
            data: Some(
                secret_data("nats://x", "sx.1.2.3.a", "A1", "U2", "CREDS")
                    .into_iter()
                    .map(|(k, v)| (k, k8s_openapi::ByteString(v.into_bytes())))
                    .collect(),
            ),
            ..Default::default()
        };
        let s = Stored::from_secret(&secret).unwrap();
        assert_eq!(
            s,
            Stored {
                account: "A1".into(),
                user: "U2".into(),
                creds: "CREDS".into(),
                rotation_applied: "r1".into(),
                retired,
            }
        );
    }
}
