//! The subjects the tenant service publishes on, checked before they reach NATS.
//!
//! The service holds one NATS connection per replica (not one per agency), as a user of
//! the aggregate account that NATS lets publish `sx.>` and nothing else. Within that bound
//! it is the service that keeps each agency under its own prefix: every subject is the
//! tenant's `subjectPrefix` (written by the operator from the Agency's place) plus one
//! event token, and a prefix or event that could widen it — an empty token, a wildcard,
//! whitespace — is refused here instead of being published.

/// `<prefix>.<event>`, or why it would not be one agency's concrete subject.
pub fn publish_subject(prefix: &str, event: &str) -> anyhow::Result<String> {
    let bad = |t: &str| {
        t.is_empty()
            || t.chars()
                .any(|c| matches!(c, '*' | '>') || c.is_whitespace() || c.is_control())
    };
    anyhow::ensure!(
        !prefix.split('.').any(bad),
        "subject prefix {prefix:?} has an empty, wildcard or whitespace token"
    );
    anyhow::ensure!(
        !event.contains('.') && !bad(event),
        "event {event:?} is not a single subject token"
    );
    Ok(format!("{prefix}.{event}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_concrete_subjects_under_the_prefix() {
        assert_eq!(
            publish_subject("sx.210000.210100.-.market", "disclosure").unwrap(),
            "sx.210000.210100.-.market.disclosure"
        );
        for (prefix, event) in [
            ("sx.210000.*", "disclosure"),
            ("sx.210000.>", "disclosure"),
            ("sx..market", "disclosure"),
            ("sx.a b", "disclosure"),
            ("sx.market", "a.b"),
            ("sx.market", ">"),
            ("sx.market", ""),
        ] {
            assert!(publish_subject(prefix, event).is_err(), "{prefix} {event}");
        }
    }
}
