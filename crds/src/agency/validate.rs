//! The checks the operator makes on an Agency spec before it acts: the schema's and CEL
//! rules again (old clusters, objects stored before a rule existed) plus what CEL cannot
//! say, the credit code's check digit. Each error names the field.

use crate::codes::{is_division_code, is_dns_label};
use crate::credit_code::validate_credit_code;
use crate::field_error::FieldError;
use crate::jurisdiction::validate_policies;

use super::alerting::is_prometheus_label_name;
use super::{
    AgencySpec, MAX_ALERT_LABELS, MAX_DISCLOSURE_WORKING_DAYS, MAX_REVIEW_CATALOG,
    RESERVED_ALERT_LABELS,
};

/// Checks an Agency spec the way its schema and CEL rules do, plus the credit-code
/// check digit.
pub fn validate_agency(spec: &AgencySpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let j = &spec.jurisdiction;
    if !is_division_code(j) {
        errors.push(FieldError::new(
            "spec.jurisdiction",
            format!(
                "{j:?} must be the 6-digit GB/T 2260 code of a city (e.g. 210100), a county (e.g. 211221) or, for a province-level agency, the province (e.g. 210000)"
            ),
        ));
    }
    if spec.display_name.trim().is_empty() {
        errors.push(FieldError::new("spec.displayName", "must not be empty"));
    } else if spec.display_name.chars().count() > 128 {
        errors.push(FieldError::new(
            "spec.displayName",
            "must be at most 128 characters",
        ));
    }
    if let Err(e) = validate_credit_code(&spec.credit_code) {
        errors.push(FieldError::new("spec.creditCode", e.to_string()));
    }
    if spec.categories.is_empty() {
        errors.push(FieldError::new(
            "spec.categories",
            "list at least one enforcement category",
        ));
    }
    for (i, c) in spec.categories.iter().enumerate() {
        if spec.categories[..i].contains(c) {
            errors.push(FieldError::new(
                format!("spec.categories[{i}]"),
                format!("{c} is listed twice"),
            ));
        }
    }
    if !is_dns_label(&spec.database.server) {
        errors.push(FieldError::new(
            "spec.database.server",
            format!(
                "{:?} must be a server name: lower-case letters, digits and '-'",
                spec.database.server
            ),
        ));
    }
    for (i, o) in spec.disclosure.overrides.iter().enumerate() {
        let field = format!("spec.disclosure.overrides[{i}]");
        if spec.disclosure.overrides[..i]
            .iter()
            .any(|p| p.category == o.category)
        {
            errors.push(FieldError::new(
                format!("{field}.category"),
                format!("{} already has an override", o.category),
            ));
        }
        if !spec.categories.contains(&o.category) {
            errors.push(FieldError::new(
                format!("{field}.category"),
                format!("{} is not one of spec.categories", o.category),
            ));
        }
        if !(1..=MAX_DISCLOSURE_WORKING_DAYS).contains(&o.working_days) {
            errors.push(FieldError::new(
                format!("{field}.workingDays"),
                format!(
                    "{} is outside 1..={MAX_DISCLOSURE_WORKING_DAYS}",
                    o.working_days
                ),
            ));
        }
        if o.legal_basis.trim().chars().count() < 4 {
            errors.push(FieldError::new(
                format!("{field}.legalBasis"),
                "cite the legal basis (law and article) that sets this deadline",
            ));
        }
    }
    if spec.review_catalog.len() > MAX_REVIEW_CATALOG {
        errors.push(FieldError::new(
            "spec.reviewCatalog",
            format!("at most {MAX_REVIEW_CATALOG} matters"),
        ));
    }
    for (i, m) in spec.review_catalog.iter().enumerate() {
        let field = format!("spec.reviewCatalog[{i}]");
        if m.is_empty()
            || m.chars().count() > 64
            || m.contains(',')
            || m.contains(char::is_whitespace)
        {
            errors.push(FieldError::new(
                field,
                format!(
                    "{m:?} must be a matter code of 1 to 64 characters without commas or spaces"
                ),
            ));
        } else if spec.review_catalog[..i].contains(m) {
            errors.push(FieldError::new(field, format!("{m} is listed twice")));
        }
    }
    if spec.policies.annual_statistics_due.is_some() {
        errors.push(FieldError::new(
            "spec.policies.annualStatisticsDue",
            "is set for a city or county (JurisdictionPolicy), not for one agency: statistics are compiled per jurisdiction on one day",
        ));
    }
    errors.extend(validate_policies(&spec.policies));
    let labels = &spec.alerting.labels;
    if labels.len() > MAX_ALERT_LABELS {
        errors.push(FieldError::new(
            "spec.alerting.labels",
            format!("at most {MAX_ALERT_LABELS} labels"),
        ));
    }
    for (k, v) in labels {
        let field = format!("spec.alerting.labels[{k}]");
        if RESERVED_ALERT_LABELS.contains(&k.as_str()) {
            errors.push(FieldError::new(
                field,
                "is set by the operator and may not be overridden",
            ));
        } else if !is_prometheus_label_name(k) || k.len() > 63 {
            errors.push(FieldError::new(
                field,
                "is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __, at most 63 characters)",
            ));
        } else if v.chars().count() > 256 {
            errors.push(FieldError::new(
                field,
                "value is longer than 256 characters",
            ));
        }
    }
    errors
}
