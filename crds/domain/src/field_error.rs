//! One validation problem, named by the field that causes it.
//!
//! The CRD schemas carry CEL rules so that `kubectl apply` rejects bad objects, but the
//! operator cannot rely on them: an object may predate a rule, an old cluster may not
//! evaluate CEL, and some checks (the credit-code check digit) are too heavy for CEL.
//! The `validate_*` functions of this crate therefore repeat the rules in Rust and report
//! every problem as a [`FieldError`] whose `field` is the path an administrator would
//! edit (`spec.creditCode`, `spec.holidays[2].end`), so that conditions and events read
//! the same way as the API server's own messages.

use std::fmt;

/// A problem with one field of a custom resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldError {
    /// Path of the offending field from the object root, e.g. `spec.creditCode`.
    pub field: String,
    /// What is wrong and, where possible, what would be right.
    pub message: String,
}

impl FieldError {
    /// A problem with `field` (a path such as `spec.code`).
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Joins errors into one line, e.g. for a condition message.
pub fn join_field_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_field_first() {
        let e = FieldError::new(
            "spec.creditCode",
            "check digit is 'X' but should be 'Y' (GB 32100-2015)",
        );
        assert_eq!(
            e.to_string(),
            "spec.creditCode: check digit is 'X' but should be 'Y' (GB 32100-2015)"
        );
    }

    #[test]
    fn join_separates_with_semicolons() {
        let errs = [
            FieldError::new("spec.a", "bad"),
            FieldError::new("spec.b", "worse"),
        ];
        assert_eq!(join_field_errors(&errs), "spec.a: bad; spec.b: worse");
        assert_eq!(join_field_errors(&[]), "");
    }
}
