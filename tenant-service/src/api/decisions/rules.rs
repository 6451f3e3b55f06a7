//! The rules a draft must meet before it is stored, none of which needs the database:
//! field limits, the party's identifiers, the offline basis, and what makes it major.

use super::model::DecisionInput;
use crate::api::matters::Resolved;
use crate::api::{bounded, optional_text, text};
use crate::error::{ApiError, ApiResult};
use crate::redaction::{self, PartyKind};
use chrono::NaiveDate;

/// The review requirement of a matter of the matter list (the 法制审核目录 itself).
pub fn matter_requires_review(m: Option<&sanxiang_domain::Matter>) -> Option<String> {
    m.filter(|m| m.legal_review_required)
        .map(|m| format!("matter:{}", m.code.trim()))
}

pub(super) fn major_reasons(input: &DecisionInput, resolved: &Resolved) -> Vec<String> {
    let mut r = Vec::new();
    r.extend(matter_requires_review(Some(resolved.matter())));
    let c = &input.major_criteria;
    for (on, name) in [
        (c.hearing_held, "hearing_held"),
        (c.major_public_interest, "major_public_interest"),
        (c.major_social_impact, "major_social_impact"),
        (c.major_rights, "major_rights"),
        (c.complex, "complex"),
    ] {
        if on {
            r.push(name.to_string());
        }
    }
    r
}

/// Most natural persons a decision may name besides the party.
pub const MAX_OTHER_PERSONS: usize = 50;

pub(super) fn validate(input: &DecisionInput) -> ApiResult<()> {
    text(&input.document_number, "documentNumber", 128)?;
    text(&input.party.name, "party.name", 256)?;
    text(&input.facts, "facts", 20_000)?;
    text(&input.legal_basis, "legalBasis", 4_000)?;
    text(&input.conclusion, "conclusion", 4_000)?;
    let p = &input.party;
    for (value, field, max) in [
        (&p.id_number, "party.idNumber", 32),
        (&p.phone, "party.phone", 32),
        (&p.address, "party.address", 256),
        (&input.matter, "matter", 64),
        (&input.not_online_basis, "notOnlineBasis", 1_000),
    ] {
        if let Some(v) = value {
            optional_text(v, field, max)?;
        }
    }
    bounded(&input.other_persons, "otherPersons", MAX_OTHER_PERSONS)?;
    if input.involves_secrets
        && !input.publish_after_processing
        && input
            .not_online_basis
            .as_deref()
            .is_none_or(|b| b.trim().is_empty())
    {
        return Err(ApiError::unprocessable(
            "notOnlineBasis",
            "a decision kept offline because it involves secrets or privacy needs notOnlineBasis, \
             the legal basis for not publishing (or publishAfterProcessing to publish it redacted)",
        ));
    }
    if let Some(id) = p.id_number.as_deref().filter(|s| !s.trim().is_empty()) {
        let normalized = redaction::normalize(id);
        let id = normalized.trim();
        match p.kind {
            PartyKind::NaturalPerson => {
                if redaction::classify(id) != Some(redaction::TokenKind::IdNumber) {
                    return Err(ApiError::unprocessable(
                        "party.idNumber",
                        "party.idNumber is not a valid resident ID number (18 characters with a valid birth date)",
                    ));
                }
            }
            PartyKind::Organisation => {
                if let Err(e) = sanxiang_domain::validate_credit_code(id) {
                    return Err(ApiError::unprocessable(
                        "party.idNumber",
                        format!(
                            "party.idNumber of an organisation must be its unified social credit code: {e}"
                        ),
                    ));
                }
            }
        }
    }
    if let Some(phone) = p.phone.as_deref().filter(|s| !s.trim().is_empty())
        && !matches!(
            redaction::classify(&redaction::normalize(phone.trim()).replace([' ', '-'], "")),
            Some(redaction::TokenKind::Mobile | redaction::TokenKind::Landline)
        )
    {
        return Err(ApiError::unprocessable(
            "party.phone",
            "party.phone is not a mobile or landline number",
        ));
    }
    if p.is_minor && p.kind == PartyKind::Organisation {
        return Err(ApiError::unprocessable(
            "party.isMinor",
            "only a natural person can be a minor",
        ));
    }
    for (i, n) in input.other_persons.iter().enumerate() {
        text(n, &format!("otherPersons[{i}]"), 64)?;
    }
    Ok(())
}

/// The party is a minor: as declared, or as its ID number says on `on`.
pub(super) fn party_is_minor(input: &DecisionInput, on: NaiveDate) -> bool {
    input.party.is_minor
        || (input.party.kind == PartyKind::NaturalPerson
            && input
                .party
                .id_number
                .as_deref()
                .is_some_and(|id| redaction::minor_on(id, on)))
}

pub(super) fn discretion_json(input: &DecisionInput) -> Option<serde_json::Value> {
    input
        .discretion
        .as_ref()
        .and_then(|d| serde_json::to_value(d).ok())
}
