//! How long a publication stays online: each agency's own retention periods.
//!
//! The operator writes every Agency's `status.effectivePolicies`, inherited province →
//! city → county (`sanxiang_domain::policy`): `publicationRetentionDays` (every item) and
//! `naturalPersonRetentionDays` (items whose party is a natural person, never longer than
//! the first). Absent means kept online. The platform applies the agency's own periods:
//! the moment an item leaves public output is written into the index with the item
//! ([`Retention::hide_after`]), so a search excludes expired items with one range clause
//! whatever the number of agencies and policies, and time passing needs no reindexing.
//! When an agency's periods change, its items are rewritten ([`crate::reindex`]).
//!
//! Withdrawal notices are not subject to retention: 行政处罚法 Art. 48 wants the public
//! told that a decision was withdrawn, so a withdrawn decision keeps its notice.
//!
//! The platform-wide `--natural-person-retention-days` flag stays as an additional cap
//! applied at query time (a level may only tighten, never loosen, what an agency keeps).

use chrono::{DateTime, Duration, Utc};
use sanxiang_crds::EffectivePolicies;

use crate::event::{DecisionRecord, Publication};

/// An agency's retention periods in days (`None`: kept online).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Retention {
    pub publication_days: Option<u32>,
    pub natural_person_days: Option<u32>,
}

impl Retention {
    /// Kept online (no policy, or an agency the directory does not know).
    pub const KEEP: Retention = Retention {
        publication_days: None,
        natural_person_days: None,
    };

    /// The periods of an Agency's `status.effectivePolicies` (absent: kept).
    pub fn from_policies(p: Option<&EffectivePolicies>) -> Self {
        Self {
            publication_days: p
                .and_then(|p| p.publication_retention_days.as_ref())
                .map(|v| v.value),
            natural_person_days: p
                .and_then(|p| p.natural_person_retention_days.as_ref())
                .map(|v| v.value),
        }
    }

    /// When the publication leaves public output (`None`: never). A natural person's item
    /// goes at the earlier of its two periods.
    pub fn hide_after(&self, p: &Publication) -> Option<DateTime<Utc>> {
        let after = |days: Option<u32>| days.map(|d| p.published_at + Duration::days(i64::from(d)));
        let all = after(self.publication_days);
        let person = if p.natural_person {
            after(self.natural_person_days)
        } else {
            None
        };
        match (all, person) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether retention hides this record at `now`. A withdrawn decision never: its
    /// withdrawal notice stays (行政处罚法 Art. 48).
    pub fn hides(&self, r: &DecisionRecord, now: DateTime<Utc>) -> bool {
        if r.withdrawal.is_some() {
            return false;
        }
        r.publication
            .as_ref()
            .and_then(|p| self.hide_after(p))
            .is_some_and(|t| t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use sanxiang_crds::{MonthDay, PolicyValue};
    use uuid::Uuid;

    fn publication(person: bool, published: &str) -> Publication {
        Publication {
            id: Uuid::nil(),
            version: 1,
            document_number: "铁县市监罚〔2026〕1号".into(),
            agency: "a".into(),
            province: "210000".into(),
            city: "211200".into(),
            county: "211221".into(),
            category: "penalty".into(),
            procedure: "general".into(),
            target: "张三".into(),
            target_code: None,
            facts: String::new(),
            legal_basis: String::new(),
            conclusion: String::new(),
            decided_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            published_at: DateTime::parse_from_rfc3339(published).unwrap().to_utc(),
            natural_person: person,
            correction_reason: None,
        }
    }

    fn policies(all: Option<u32>, persons: Option<u32>) -> EffectivePolicies {
        let v = |value: u32| PolicyValue {
            value,
            source: "City 211200".into(),
        };
        EffectivePolicies {
            withdrawal_deadline_days: v(3),
            legal_reviewer_ratio_permille: v(50),
            annual_statistics_due: PolicyValue {
                value: MonthDay::new(1, 31),
                source: "National".into(),
            },
            publication_retention_days: all.map(v),
            natural_person_retention_days: persons.map(v),
        }
    }

    #[test]
    fn no_policy_keeps_everything() {
        let r = Retention::from_policies(None);
        assert_eq!(r, Retention::KEEP);
        assert_eq!(
            r.hide_after(&publication(true, "2000-01-01T00:00:00Z")),
            None
        );
        let r = Retention::from_policies(Some(&policies(None, None)));
        assert_eq!(r, Retention::KEEP);
    }

    #[test]
    fn persons_go_at_the_earlier_period_organisations_at_the_publication_period() {
        let r = Retention::from_policies(Some(&policies(Some(365), Some(30))));
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert_eq!(
            r.hide_after(&publication(true, "2026-03-01T00:00:00Z")),
            Some(t("2026-03-31T00:00:00Z"))
        );
        assert_eq!(
            r.hide_after(&publication(false, "2026-03-01T00:00:00Z")),
            Some(t("2027-03-01T00:00:00Z"))
        );
        // Only a natural-person period: organisations stay.
        let persons_only = Retention::from_policies(Some(&policies(None, Some(30))));
        assert_eq!(
            persons_only.hide_after(&publication(false, "2026-03-01T00:00:00Z")),
            None
        );
    }

    #[test]
    fn a_withdrawal_notice_is_never_hidden() {
        let r = Retention {
            publication_days: Some(1),
            natural_person_days: Some(1),
        };
        let p = publication(true, "2020-01-01T00:00:00Z");
        let mut rec = DecisionRecord::new(Uuid::nil());
        rec.publication = Some(p);
        let now = Utc::now();
        assert!(r.hides(&rec, now));
        rec.withdrawal = Some(crate::event::WithdrawalNotice {
            decision: Uuid::nil(),
            document_number: String::new(),
            agency: "a".into(),
            city: "211200".into(),
            county: "211221".into(),
            reason: Some("撤销".into()),
            withdrawn_at: now,
            revoked_at: None,
        });
        assert!(!r.hides(&rec, now));
    }
}
