//! Shapes of identifiers shared by several kinds: GB/T 2260 administrative division
//! codes and Kubernetes-style DNS labels.
//!
//! Written by hand instead of with a regex crate: the rules are tiny, and the same
//! rules are spelled in CEL in the schemas, so keeping both short and readable matters
//! more than generality.

/// A GB/T 2260 administrative division code: six ASCII digits, the first not 0,
/// e.g. `210000` (Liaoning), `210100` (Shenyang), `211221` (Tieling county).
/// The CEL spelling is `matches('^[1-9][0-9]{5}$')`.
pub fn is_division_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 6 && b[0] != b'0' && b.iter().all(u8::is_ascii_digit)
}

/// An RFC 1123 label as Kubernetes uses for names: 1 to 63 characters of `a-z`, `0-9`
/// and `-`, starting and ending with a letter or digit.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && b.first().is_some_and(ok)
        && b.last().is_some_and(ok)
        && b.iter().all(|c| ok(c) || *c == b'-')
}

/// CEL regular expression for [`is_dns_label`], for use in schemas.
pub const DNS_LABEL_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_codes() {
        for ok in ["210000", "210100", "211221", "429004", "511700"] {
            assert!(is_division_code(ok), "{ok}");
        }
        for bad in [
            "",
            "21000",
            "2100000",
            "010000",
            "21010a",
            "２１０１００",
            " 21010",
        ] {
            assert!(!is_division_code(bad), "{bad}");
        }
    }

    #[test]
    fn dns_labels() {
        for ok in ["a", "report-20", "m1", &"a".repeat(63)] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }
}
