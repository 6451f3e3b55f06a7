//! Shapes of identifiers shared by several kinds: GB/T 2260 administrative division
//! codes (defined in [`sanxiang_domain::place`]) and Kubernetes-style DNS labels.
//!
//! Written by hand instead of with a regex crate: the rules are tiny, and the same
//! rules are spelled in CEL in the schemas, so keeping both short and readable matters
//! more than generality.

pub use sanxiang_domain::place::is_division_code;

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
    fn dns_labels() {
        for ok in ["a", "report-20", "m1", &"a".repeat(63)] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }
}
