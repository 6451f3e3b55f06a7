//! Keeping what the index took from the directory current, without a rebuild.
//!
//! A decision is indexed with its agency's official name and place names (so it is found
//! by them) and the moment its agency's retention hides it ([`crate::retention`]). Both
//! come from the Agency and Jurisdiction objects, which change: 铁岭县 becomes 铁岭区, a
//! bureau is renamed, a city shortens its retention. Each decision therefore also carries
//! the *fingerprint* of what it was indexed with ([`IndexedAgency::fingerprint`]).
//!
//! When the directory marks an agency stale (any change to it or its places, and every
//! agency at start-up), the stream follower runs a [`round`]: per stale agency, one query
//! finds its decisions whose fingerprint differs from the directory's, and rewrites them
//! from their stored records. An agency already current costs one query that finds
//! nothing; a renamed one is rewritten once. Rounds have a budget so a large agency does
//! not hold back fresh events: what is left stays stale for the next round, and the
//! query naturally resumes where the last one stopped. Rewrites commit with the stream
//! position unchanged, so a crash mid-way only repeats the check.

use sha2::{Digest, Sha256};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{TantivyDocument, Term};

use crate::index::{IndexError, KIND_DECISION, SearchIndex, Writer};
use crate::retention::Retention;

/// What the index holds about an agency besides its decisions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexedAgency {
    /// Official name, then city and county names: indexed as searchable text.
    pub names: Vec<String>,
    pub retention: Retention,
}

impl IndexedAgency {
    /// Kept online, no names (an agency the directory does not know).
    pub fn unknown() -> Self {
        Self::default()
    }

    /// A stable digest of all of it (stored with each decision as a u64 term).
    pub fn fingerprint(&self) -> u64 {
        let mut h = Sha256::new();
        for n in &self.names {
            h.update(n.as_bytes());
            h.update([0x1f]);
        }
        let days = |d: Option<u32>| d.map_or(-1, i64::from);
        h.update(days(self.retention.publication_days).to_le_bytes());
        h.update(days(self.retention.natural_person_days).to_le_bytes());
        let d = h.finalize();
        u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
    }
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Agencies checked.
    pub checked: usize,
    /// Decisions rewritten.
    pub rewritten: usize,
    /// The budget ran out: call again.
    pub more: bool,
}

/// Checks the directory's stale agencies and rewrites their decisions indexed with
/// something else, at most `budget` of them; commits when it rewrote any. A writer
/// without a directory has nothing to check.
pub fn round(writer: &mut Writer, index: &SearchIndex, budget: usize) -> Result<Round, IndexError> {
    let Some(dir) = writer.directory().cloned() else {
        return Ok(Round::default());
    };
    let f = &index.fields;
    let mut out = Round::default();
    let mut stale = dir.take_stale().into_iter();
    let searcher = index.reader.searcher();
    for agency in stale.by_ref() {
        out.checked += 1;
        let expected = dir.indexed(&agency).fingerprint();
        let term = |field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        let query = BooleanQuery::new(vec![
            (Occur::Must, term(f.kind, KIND_DECISION)),
            (Occur::Must, term(f.agency, &agency)),
            (
                Occur::MustNot,
                Box::new(TermQuery::new(
                    Term::from_field_u64(f.agency_fp, expected),
                    IndexRecordOption::Basic,
                )),
            ),
        ]);
        let left = budget.saturating_sub(out.rewritten).max(1);
        let hits = searcher.search(&query, &TopDocs::with_limit(left).order_by_score())?;
        for (_, addr) in &hits {
            let doc: TantivyDocument = searcher.doc(*addr)?;
            let key = doc
                .get_first(f.key)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let stored = index.stored_of(&doc)?;
            writer.rewrite(index, &key, stored)?;
            out.rewritten += 1;
        }
        if hits.len() >= left {
            // Not finished (or exactly finished): check it again next round.
            dir.mark_stale(Some(&agency));
            out.more = true;
            break;
        }
    }
    if out.more {
        for rest in stale {
            dir.mark_stale(Some(&rest));
        }
    }
    if out.rewritten > 0 {
        writer.commit(index)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_changes_with_a_name_or_a_period_only() {
        let a = IndexedAgency {
            names: vec![
                "铁岭县市场监督管理局".into(),
                "铁岭市".into(),
                "铁岭县".into(),
            ],
            retention: Retention::KEEP,
        };
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
        let mut renamed = a.clone();
        renamed.names[2] = "铁岭区".into();
        assert_ne!(a.fingerprint(), renamed.fingerprint());
        let mut shorter = a.clone();
        shorter.retention.natural_person_days = Some(30);
        assert_ne!(a.fingerprint(), shorter.fingerprint());
        let mut other = a.clone();
        other.retention.publication_days = Some(30);
        assert_ne!(shorter.fingerprint(), other.fingerprint());
        // Names are separated, so moving a character across a boundary is a change.
        let split = IndexedAgency {
            names: vec!["ab".into(), "c".into()],
            ..Default::default()
        };
        let moved = IndexedAgency {
            names: vec!["a".into(), "bc".into()],
            ..Default::default()
        };
        assert_ne!(split.fingerprint(), moved.fingerprint());
    }
}
