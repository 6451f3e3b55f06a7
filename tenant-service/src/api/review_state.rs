//! The legal-review gate as a typed state machine (重大执法决定法制审核). Pure.
//!
//! ```text
//!            submit                 opinion: approve                      
//!  (none) ──────────► submitted ─────────────────────────────────► approved ──► issue
//!                      │  ▲  opinion: issues_found                            
//!                      │  └────────────┐  opinion: transfer ──► transferred ──close──► closed
//!                      ▼               │
//!                 issues_found ──resubmit (new round)──► resubmitted (= submitted)
//!                      │  ▲
//!             disagree │  │ negotiation: revise
//!                      ▼  │
//!                 negotiation ──negotiation: issues withdrawn (reviewer)──► approved
//!                      │
//!                      └─negotiation: failed──► collective_discussion
//!                                 collective: approve ──► decided_approve ──► issue
//!                                 collective: reject  ──► decided_reject ──resubmit──► resubmitted
//!                                                                       └─close────► closed
//! ```
//! The draft may be revised only in `issues_found` and `decided_reject` (and before review);
//! it may be closed from `issues_found`, `transferred` and `decided_reject`. Only
//! `approved` and `decided_approve` permit issuing.

/// Where a review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewState {
    Submitted,
    Approved,
    IssuesFound,
    Resubmitted,
    Negotiation,
    CollectiveDiscussion,
    DecidedApprove,
    DecidedReject,
    Transferred,
    Closed,
}

/// What someone does to a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewAction {
    OpinionApprove,
    OpinionIssuesFound,
    OpinionTransfer,
    Resubmit,
    Disagree,
    NegotiationRevise,
    NegotiationIssuesWithdrawn,
    NegotiationFailed,
    CollectiveApprove,
    CollectiveReject,
    Close,
}

impl ReviewAction {
    /// The step's name in `review_steps`.
    pub fn step(self) -> &'static str {
        match self {
            Self::OpinionApprove => "approve",
            Self::OpinionIssuesFound => "issues_found",
            Self::OpinionTransfer => "transfer",
            Self::Resubmit => "resubmit",
            Self::Disagree => "disagree",
            Self::NegotiationRevise => "negotiation_revise",
            Self::NegotiationIssuesWithdrawn => "negotiation_issues_withdrawn",
            Self::NegotiationFailed => "negotiation_failed",
            Self::CollectiveApprove => "collective_approve",
            Self::CollectiveReject => "collective_reject",
            Self::Close => "close",
        }
    }
}

impl ReviewState {
    pub const ALL: [ReviewState; 10] = [
        Self::Submitted,
        Self::Approved,
        Self::IssuesFound,
        Self::Resubmitted,
        Self::Negotiation,
        Self::CollectiveDiscussion,
        Self::DecidedApprove,
        Self::DecidedReject,
        Self::Transferred,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::IssuesFound => "issues_found",
            Self::Resubmitted => "resubmitted",
            Self::Negotiation => "negotiation",
            Self::CollectiveDiscussion => "collective_discussion",
            Self::DecidedApprove => "decided_approve",
            Self::DecidedReject => "decided_reject",
            Self::Transferred => "transferred",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The state after `action`, or `None` when the action is not allowed now.
    pub fn next(self, action: ReviewAction) -> Option<ReviewState> {
        use ReviewAction as A;
        use ReviewState as S;
        Some(match (self, action) {
            (S::Submitted | S::Resubmitted, A::OpinionApprove) => S::Approved,
            (S::Submitted | S::Resubmitted, A::OpinionIssuesFound) => S::IssuesFound,
            (S::Submitted | S::Resubmitted, A::OpinionTransfer) => S::Transferred,
            (S::IssuesFound | S::DecidedReject, A::Resubmit) => S::Resubmitted,
            (S::IssuesFound, A::Disagree) => S::Negotiation,
            (S::Negotiation, A::NegotiationRevise) => S::IssuesFound,
            (S::Negotiation, A::NegotiationIssuesWithdrawn) => S::Approved,
            (S::Negotiation, A::NegotiationFailed) => S::CollectiveDiscussion,
            (S::CollectiveDiscussion, A::CollectiveApprove) => S::DecidedApprove,
            (S::CollectiveDiscussion, A::CollectiveReject) => S::DecidedReject,
            (S::IssuesFound | S::Transferred | S::DecidedReject, A::Close) => S::Closed,
            _ => return None,
        })
    }

    /// The states from which `action` is allowed (for error messages).
    pub fn allowed_from(action: ReviewAction) -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|s| s.next(action).is_some())
            .map(Self::as_str)
            .collect()
    }

    /// Whether the decision may be issued.
    pub fn permits_issue(self) -> bool {
        matches!(self, Self::Approved | Self::DecidedApprove)
    }

    /// Whether the handling unit may revise the draft.
    pub fn draft_may_be_revised(self) -> bool {
        matches!(self, Self::IssuesFound | Self::DecidedReject)
    }

    /// Whether the review waits for the legal office's opinion (the review time limit runs).
    pub fn awaits_opinion(self) -> bool {
        matches!(self, Self::Submitted | Self::Resubmitted)
    }

    /// Whether the review waits for anyone (counted in `sanxiang_reviews_pending`).
    pub fn pending(self) -> bool {
        matches!(
            self,
            Self::Submitted | Self::Resubmitted | Self::Negotiation | Self::CollectiveDiscussion
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReviewAction as A;
    use ReviewState as S;

    #[test]
    fn the_gate_cannot_be_walked_around() {
        // Issues found: issue impossible; disagreement goes to negotiation first.
        assert!(!S::IssuesFound.permits_issue());
        assert_eq!(S::IssuesFound.next(A::Disagree), Some(S::Negotiation));
        assert_eq!(S::IssuesFound.next(A::CollectiveApprove), None);
        assert_eq!(
            S::Negotiation.next(A::NegotiationFailed),
            Some(S::CollectiveDiscussion)
        );
        // A reject sends back or closes.
        assert_eq!(S::DecidedReject.next(A::Resubmit), Some(S::Resubmitted));
        assert_eq!(S::DecidedReject.next(A::Close), Some(S::Closed));
        assert!(S::DecidedReject.draft_may_be_revised());
        // Approved cannot be revised, and nothing reopens a closed review.
        assert!(!S::Approved.draft_may_be_revised());
        for a in [
            A::OpinionApprove,
            A::Resubmit,
            A::Disagree,
            A::CollectiveApprove,
            A::Close,
        ] {
            assert_eq!(S::Closed.next(a), None);
        }
        // Only approvals permit issuing.
        let issuable: Vec<_> = S::ALL.into_iter().filter(|s| s.permits_issue()).collect();
        assert_eq!(issuable, vec![S::Approved, S::DecidedApprove]);
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        assert_eq!(S::allowed_from(A::Disagree), vec!["issues_found"]);
    }
}
