//! The events of the province stream and how they fold into records.
//!
//! Envelopes are the tenant service's outbox envelopes (`id`, `event`, `agency`,
//! `province`, `city`, `county`, `occurredAt`, `data`). Parsing is tolerant: a missing
//! optional field is simply not shown. What cannot be applied at all (not JSON, no decision
//! id, an event this version does not know) is a [`Skip`], counted and passed over.
//!
//! Folding is order-independent and idempotent, so redelivery, a rebuild and streams
//! interleaved from many cities all give the same records:
//! - the publication kept is the one with the highest `(version, envelope id)`; a
//!   disclosure is version 1, a correction carries its own `version`;
//! - a withdrawal, once seen, stays, whether it arrived before or after the disclosure;
//! - an envelope id already folded into a record changes nothing.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// What one message asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A disclosure (version 1) or a correction (its version).
    Publication {
        envelope: Uuid,
        publication: Publication,
    },
    Withdrawal {
        envelope: Uuid,
        notice: WithdrawalNotice,
    },
    Statistics {
        envelope: Uuid,
        report: StatisticsReport,
    },
    /// A list published before enforcement ([`crate::prepublication`]).
    List {
        envelope: Uuid,
        list: crate::prepublication::PublishedList,
    },
    /// The published results of a random-inspection draw ([`crate::inspection`]).
    Inspection {
        envelope: Uuid,
        results: crate::inspection::InspectionResults,
    },
}

/// Why a message was passed over; the variant is the metric label.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Skip {
    #[error("unknown event `{0}`")]
    UnknownEvent(String),
    /// An event for the supervision workspace (decision metadata, compliance, milestone
    /// reports): nothing to publish.
    #[error("supervision event `{0}`, not for the portal")]
    Supervision(String),
    #[error("malformed message: {0}")]
    Malformed(String),
}

impl Skip {
    pub fn label(&self) -> &'static str {
        match self {
            Skip::UnknownEvent(_) => "unknown_event",
            Skip::Supervision(_) => "supervision_event",
            Skip::Malformed(_) => "malformed",
        }
    }
}

/// The public, already-redacted publication of one decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Publication {
    pub id: Uuid,
    pub version: u32,
    pub document_number: String,
    pub agency: String,
    pub province: String,
    pub city: String,
    pub county: String,
    pub category: String,
    pub procedure: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_code: Option<String>,
    pub facts: String,
    pub legal_basis: String,
    pub conclusion: String,
    pub decided_on: NaiveDate,
    pub published_at: DateTime<Utc>,
    /// Whether the party is a natural person (retention may hide it sooner).
    pub natural_person: bool,
    /// Why the publication was corrected (corrections only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction_reason: Option<String>,
}

/// The public notice that a publication was withdrawn (行政处罚法 Art. 48).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalNotice {
    pub decision: Uuid,
    pub document_number: String,
    pub agency: String,
    pub city: String,
    pub county: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub withdrawn_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Annual statistics of one agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatisticsReport {
    pub agency: String,
    pub city: String,
    pub county: String,
    pub year: i32,
    /// Per category code: figure name → number.
    pub figures: Value,
    pub reported_at: DateTime<Utc>,
}

/// Everything the platform holds about one decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRecord {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication: Option<Publication>,
    /// Envelope of the publication kept (ties between equal versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication_envelope: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal: Option<WithdrawalNotice>,
    /// Every envelope folded in, sorted.
    pub envelopes: Vec<Uuid>,
}

impl DecisionRecord {
    pub fn new(id: Uuid) -> Self {
        Self {
            id,
            publication: None,
            publication_envelope: None,
            withdrawal: None,
            envelopes: Vec::new(),
        }
    }

    /// Shown in search results: published and not withdrawn.
    pub fn is_listed(&self) -> bool {
        self.publication.is_some() && self.withdrawal.is_none()
    }

    /// Folds a change in; false when the envelope was already folded in.
    pub fn fold(&mut self, change: &Change) -> bool {
        let envelope = change.envelope();
        if self.envelopes.binary_search(&envelope).is_ok() {
            return false;
        }
        let at = self.envelopes.partition_point(|e| *e < envelope);
        self.envelopes.insert(at, envelope);
        match change {
            Change::Publication { publication, .. } => {
                let newer = match (&self.publication, self.publication_envelope) {
                    (Some(p), Some(e)) => (publication.version, envelope) > (p.version, e),
                    _ => true,
                };
                if newer {
                    self.publication = Some(publication.clone());
                    self.publication_envelope = Some(envelope);
                }
            }
            Change::Withdrawal { notice, .. } => {
                let keep_new = self.withdrawal.as_ref().is_none_or(|w| {
                    (notice.withdrawn_at, notice.decision) < (w.withdrawn_at, w.decision)
                });
                if keep_new {
                    self.withdrawal = Some(notice.clone());
                }
            }
            Change::Statistics { .. } | Change::List { .. } | Change::Inspection { .. } => {}
        }
        true
    }
}

impl Change {
    pub fn envelope(&self) -> Uuid {
        match self {
            Change::Publication { envelope, .. }
            | Change::Withdrawal { envelope, .. }
            | Change::Statistics { envelope, .. }
            | Change::List { envelope, .. }
            | Change::Inspection { envelope, .. } => *envelope,
        }
    }

    /// The key of the record it folds into: the decision id, or `stats:<agency>:<year>`.
    pub fn key(&self) -> String {
        match self {
            Change::Publication { publication, .. } => publication.id.to_string(),
            Change::Withdrawal { notice, .. } => notice.decision.to_string(),
            Change::Statistics { report, .. } => statistics_key(&report.agency, report.year),
            Change::List { list, .. } => {
                crate::prepublication::key(&list.agency, &list.kind, list.version)
            }
            Change::Inspection { results, .. } => {
                crate::inspection::key(&results.agency, results.draw)
            }
        }
    }
}

pub fn statistics_key(agency: &str, year: i32) -> String {
    format!("stats:{agency}:{year}")
}

/// Parses one message body.
pub fn parse(payload: &[u8]) -> Result<Change, Skip> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|e| Skip::Malformed(format!("not JSON: {e}")))?;
    let envelope = uuid_at(&v, "id").ok_or_else(|| Skip::Malformed("no envelope id".into()))?;
    let event = str_at(&v, "event").unwrap_or_default();
    let data = v.get("data").cloned().unwrap_or(Value::Null);
    let occurred = time_at(&v, "occurredAt").unwrap_or_else(Utc::now);
    let place = |key: &str| {
        str_at(&data, key)
            .or_else(|| str_at(&v, key))
            .unwrap_or_default()
    };
    match event.as_str() {
        "disclosure" | "correction" => {
            let id = uuid_at(&data, "id")
                .ok_or_else(|| Skip::Malformed(format!("{event} without data.id")))?;
            let published_at = time_at(&data, "publishedAt").unwrap_or(occurred);
            let version = match event.as_str() {
                "disclosure" => data
                    .get("version")
                    .and_then(Value::as_u64)
                    .map_or(1, |n| n.clamp(1, u64::from(u32::MAX)) as u32),
                _ => data
                    .get("version")
                    .and_then(Value::as_u64)
                    .map(|n| n.clamp(1, u64::from(u32::MAX)) as u32)
                    .ok_or_else(|| Skip::Malformed("correction without version".into()))?,
            };
            let target_code = str_at(&data, "targetCode").filter(|s| !s.is_empty());
            let natural_person = match str_at(&data, "partyKind").as_deref() {
                Some("organisation") => false,
                Some(_) => true,
                // Older publications do not say: an organisation is published with its
                // valid unified social credit code, a person with a masked ID number.
                None => target_code
                    .as_deref()
                    .is_none_or(|c| sanxiang_crds::credit_code::validate_credit_code(c).is_err()),
            };
            let publication = Publication {
                id,
                version,
                document_number: str_at(&data, "documentNumber").unwrap_or_default(),
                agency: place("agency"),
                province: place("province"),
                city: place("city"),
                county: place("county"),
                category: str_at(&data, "category").unwrap_or_default(),
                procedure: str_at(&data, "procedure").unwrap_or_default(),
                target: str_at(&data, "target").unwrap_or_default(),
                target_code,
                facts: str_at(&data, "facts").unwrap_or_default(),
                legal_basis: str_at(&data, "legalBasis").unwrap_or_default(),
                conclusion: str_at(&data, "conclusion").unwrap_or_default(),
                decided_on: str_at(&data, "decidedOn")
                    .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
                    .unwrap_or_else(|| published_at.date_naive()),
                published_at,
                natural_person,
                correction_reason: (event == "correction")
                    .then(|| str_at(&data, "reason"))
                    .flatten(),
            };
            Ok(Change::Publication {
                envelope,
                publication,
            })
        }
        "withdrawal" => {
            let decision = uuid_at(&data, "id")
                .ok_or_else(|| Skip::Malformed("withdrawal without data.id".into()))?;
            Ok(Change::Withdrawal {
                envelope,
                notice: WithdrawalNotice {
                    decision,
                    document_number: str_at(&data, "documentNumber").unwrap_or_default(),
                    agency: place("agency"),
                    city: place("city"),
                    county: place("county"),
                    reason: str_at(&data, "reason").filter(|s| !s.trim().is_empty()),
                    withdrawn_at: time_at(&data, "withdrawnAt").unwrap_or(occurred),
                    revoked_at: time_at(&data, "revokedAt"),
                },
            })
        }
        "statistics" => {
            let year = data
                .get("year")
                .and_then(Value::as_i64)
                .and_then(|y| i32::try_from(y).ok())
                .ok_or_else(|| Skip::Malformed("statistics without year".into()))?;
            Ok(Change::Statistics {
                envelope,
                report: StatisticsReport {
                    agency: place("agency"),
                    city: place("city"),
                    county: place("county"),
                    year,
                    figures: data.get("figures").cloned().unwrap_or(Value::Null),
                    reported_at: time_at(&data, "reportedAt").unwrap_or(occurred),
                },
            })
        }
        "list_publication" => crate::prepublication::parse(envelope, &data, place, occurred),
        "inspection_results" => crate::inspection::parse(envelope, &data, place, occurred),
        e @ ("decision_metadata" | "compliance" | "milestone_report") => {
            Err(Skip::Supervision(e.to_string()))
        }
        other => Err(Skip::UnknownEvent(other.to_string())),
    }
}

fn str_at(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn uuid_at(v: &Value, key: &str) -> Option<Uuid> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

fn time_at(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DECISION: &str = "0b9c8a44-3a4e-4b9b-9f44-2f0d0b7e1a01";

    fn envelope(id: u128, event: &str, data: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "id": Uuid::from_u128(id), "event": event, "agency": "tieling-market",
            "province": "210000", "city": "211200", "county": "211221",
            "occurredAt": "2026-03-02T08:00:00Z", "data": data,
        }))
        .unwrap()
    }

    fn disclosure(id: u128, version: Option<u64>, facts: &str) -> Change {
        let mut data = json!({
            "id": DECISION, "documentNumber": "铁县市监罚〔2026〕3号", "agency": "tieling-market",
            "province": "210000", "city": "211200", "county": "211221", "category": "penalty",
            "procedure": "general", "target": "张三", "targetCode": "210102********123X",
            "facts": facts, "legalBasis": "《食品安全法》", "conclusion": "罚款5000元",
            "decidedOn": "2026-03-02", "publishedAt": "2026-03-03T09:00:00Z",
        });
        let event = match version {
            Some(v) => {
                data["version"] = json!(v);
                "correction"
            }
            None => "disclosure",
        };
        parse(&envelope(id, event, data)).unwrap()
    }

    fn withdrawal(id: u128) -> Change {
        parse(&envelope(
            id,
            "withdrawal",
            json!({"id": DECISION, "documentNumber": "铁县市监罚〔2026〕3号",
                   "reason": "行政复议决定撤销", "withdrawnAt": "2026-03-05T10:00:00Z"}),
        ))
        .unwrap()
    }

    fn fold_all(changes: &[&Change]) -> DecisionRecord {
        let mut r = DecisionRecord::new(Uuid::parse_str(DECISION).unwrap());
        for c in changes {
            r.fold(c);
        }
        r
    }

    #[test]
    fn disclosure_is_version_one_and_a_person_without_kind() {
        let Change::Publication { publication, .. } = disclosure(1, None, "事实") else {
            panic!()
        };
        assert_eq!(publication.version, 1);
        assert!(publication.natural_person);
        assert_eq!(publication.decided_on.to_string(), "2026-03-02");
        let first17 = "91210100MA0Y12345";
        let check = sanxiang_crds::credit_code::check_character(first17).unwrap();
        let party = |code: String| {
            let org = envelope(2, "disclosure", json!({"id": DECISION, "targetCode": code}));
            let Ok(Change::Publication { publication, .. }) = parse(&org) else {
                panic!()
            };
            publication
        };
        let org = party(format!("{first17}{check}"));
        assert!(!org.natural_person);
        assert_eq!(org.city, "211200", "place falls back to the envelope");
        // A wrong check digit: treated as a person (hidden sooner, never exposed longer).
        let wrong = if check == '0' { '1' } else { '0' };
        assert!(party(format!("{first17}{wrong}")).natural_person);
    }

    #[test]
    fn any_order_gives_the_same_record() {
        let (d, c2, c3, w) = (
            disclosure(10, None, "原文"),
            disclosure(11, Some(2), "更正二"),
            disclosure(12, Some(3), "更正三"),
            withdrawal(13),
        );
        let orders: [[&Change; 4]; 4] = [
            [&d, &c2, &c3, &w],
            [&w, &c3, &d, &c2],
            [&c3, &w, &c2, &d],
            [&c2, &d, &w, &c3],
        ];
        let first = fold_all(&orders[0]);
        assert_eq!(first.publication.as_ref().unwrap().facts, "更正三");
        assert!(first.withdrawal.is_some() && !first.is_listed());
        for o in &orders[1..] {
            assert_eq!(fold_all(o), first);
        }
    }

    #[test]
    fn withdrawal_before_disclosure_still_wins_and_redelivery_is_a_no_op() {
        let (d, w) = (disclosure(20, None, "事实"), withdrawal(21));
        let mut r = fold_all(&[&w]);
        assert!(!r.is_listed());
        assert!(r.fold(&d));
        assert!(!r.is_listed(), "the earlier withdrawal still holds");
        let before = r.clone();
        assert!(!r.fold(&d), "same envelope again");
        assert!(!r.fold(&w));
        assert_eq!(r, before);
        let notice = r.withdrawal.unwrap();
        assert_eq!(notice.reason.as_deref(), Some("行政复议决定撤销"));
    }

    #[test]
    fn lower_correction_does_not_undo_a_higher_one() {
        let (c3, c2) = (disclosure(30, Some(3), "三"), disclosure(31, Some(2), "二"));
        let r = fold_all(&[&c3, &c2]);
        assert_eq!(r.publication.unwrap().version, 3);
    }

    #[test]
    fn skips_name_what_is_wrong() {
        assert_eq!(
            parse(&envelope(1, "audit", json!({}))),
            Err(Skip::UnknownEvent("audit".into()))
        );
        assert_eq!(parse(b"{").unwrap_err().label(), "malformed");
        assert_eq!(
            parse(br#"{"event":"disclosure"}"#),
            Err(Skip::Malformed("no envelope id".into()))
        );
        assert!(matches!(
            parse(&envelope(1, "correction", json!({"id": DECISION}))),
            Err(Skip::Malformed(_))
        ));
        let Ok(Change::Statistics { report, .. }) = parse(&envelope(
            5,
            "statistics",
            json!({"year": 2025, "figures": {"penalty": {"decisions": 3}}}),
        )) else {
            panic!()
        };
        assert_eq!(
            (report.agency.as_str(), report.year),
            ("tieling-market", 2025)
        );
    }
}
