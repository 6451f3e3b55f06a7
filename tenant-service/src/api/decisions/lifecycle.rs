//! A decision's lifecycle as a typed state machine. Pure.
//!
//! ```text
//!          issue               revoke
//!  draft ────────► issued ─────────────► revoked ──withdraw──► (withdrawn_at set)
//!    │               │ publish / correct (stays issued)
//!    └─close (review closed)──► closed
//! ```
//! The database keeps the status as text under a CHECK constraint
//! (`draft|issued|revoked|closed`); the handlers ask [`DecisionStatus::require`] whether a
//! step is allowed instead of comparing strings, and the 409 names the `status` field.

use crate::error::{ApiError, ApiResult};

/// Where a decision stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionStatus {
    Draft,
    Issued,
    Revoked,
    Closed,
}

/// What a handler wants to do to a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionStep {
    Revise,
    Issue,
    Publish,
    Revoke,
    Withdraw,
    /// The review was closed: the draft is closed with it.
    Close,
}

impl DecisionStatus {
    pub const ALL: [Self; 4] = [Self::Draft, Self::Issued, Self::Revoked, Self::Closed];

    /// The code stored in `decisions.status` and served.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Issued => "issued",
            Self::Revoked => "revoked",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The status a step leaves the decision in, or `None` if the step is not allowed here.
    pub fn after(self, step: DecisionStep) -> Option<Self> {
        use DecisionStatus::*;
        use DecisionStep::*;
        match (self, step) {
            (Draft, Revise) => Some(Draft),
            (Draft, Issue) => Some(Issued),
            (Draft, Close) => Some(Closed),
            (Issued, Publish) => Some(Issued),
            (Issued, Revoke) => Some(Revoked),
            (Revoked, Withdraw) => Some(Revoked),
            _ => None,
        }
    }

    /// The stored status `stored` permits `step`, or a 409 naming `status` that says which
    /// status the step needs.
    pub fn require(stored: &str, step: DecisionStep) -> ApiResult<Self> {
        let allowed = Self::parse(stored).and_then(|s| s.after(step).map(|_| s));
        allowed.ok_or_else(|| {
            let message = match step {
                DecisionStep::Revise => {
                    format!("decision is {stored}, only a draft can be revised")
                }
                DecisionStep::Issue => format!("decision is {stored}, only a draft can be issued"),
                DecisionStep::Close => format!("decision is {stored}, only a draft can be closed"),
                DecisionStep::Publish => {
                    format!("decision is {stored}, only an issued decision can be published")
                }
                DecisionStep::Revoke => {
                    format!("decision is {stored}, only an issued decision can be revoked")
                }
                DecisionStep::Withdraw => {
                    "only a revoked decision is withdrawn; revoke it first".to_string()
                }
            };
            ApiError::conflict("status", message)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::DecisionStatus::*;
    use super::DecisionStep::*;
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in DecisionStatus::ALL {
            assert_eq!(DecisionStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DecisionStatus::parse("Draft"), None);
    }

    #[test]
    fn only_a_draft_is_revised_issued_or_closed() {
        for step in [Revise, Issue, Close] {
            assert!(Draft.after(step).is_some());
            for s in [Issued, Revoked, Closed] {
                assert_eq!(s.after(step), None, "{s:?} {step:?}");
            }
        }
        assert_eq!(Draft.after(Issue), Some(Issued));
        assert_eq!(Draft.after(Close), Some(Closed));
    }

    #[test]
    fn only_an_issued_decision_is_published_or_revoked_and_only_a_revoked_one_withdrawn() {
        assert_eq!(Issued.after(Publish), Some(Issued));
        assert_eq!(Issued.after(Revoke), Some(Revoked));
        assert_eq!(Revoked.after(Withdraw), Some(Revoked));
        for s in [Draft, Revoked, Closed] {
            assert_eq!(s.after(Publish), None);
            assert_eq!(s.after(Revoke), None);
        }
        for s in [Draft, Issued, Closed] {
            assert_eq!(s.after(Withdraw), None);
        }
    }

    #[test]
    fn a_refused_step_is_a_409_naming_status_and_the_status_it_needs() {
        let e = DecisionStatus::require("issued", Revise).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::CONFLICT);
        assert_eq!(e.field.as_deref(), Some("status"));
        assert_eq!(e.error, "decision is issued, only a draft can be revised");
        let e = DecisionStatus::require("draft", Revoke).unwrap_err();
        assert_eq!(
            e.error,
            "decision is draft, only an issued decision can be revoked"
        );
        assert_eq!(DecisionStatus::require("draft", Issue).unwrap(), Draft);
        // An unknown stored status (impossible under the CHECK constraint) permits nothing.
        assert!(DecisionStatus::require("bogus", Issue).is_err());
    }
}
