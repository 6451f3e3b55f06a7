//! Newest-first pages without sorting every match.
//!
//! A page of the newest decisions is the `limit` highest sort keys among the matches.
//! Ranking every match costs a sort-key read per match: a million for the unfiltered home
//! page, tens of thousands for 罚款 in one city over two years, however short the page.
//! The sort key starts with the decision date ([`crate::index::sort_key`]), so every match
//! of a later day comes before every match of an earlier one. The page is therefore
//! searched in windows of days from the newest down (1 day, then 2, 4, … days), each
//! window joined to the query through the `decided` postings of its days (a few hundred
//! documents a day at province scale: the clause that drives the intersection), and the
//! search stops as soon as the page is full. Sparse queries, which fill no page within
//! [`WINDOWS`] windows, search what is left below the windows in one go, as a plain
//! query (cheap for them: their other clauses are selective); so does a first page whose
//! matches were all counted (an agency's page): they are few.
//!
//! Windows partition the days and follow the key order, so the page is exactly the one a
//! search of every match gives: same items, same order, the same cursor (the last key).

use std::ops::Bound;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, Searcher, SegmentReader, Term};

use crate::search::sort_keys;

/// Windows tried before the rest is searched at once: 1 + 2 + … + 64 = 127 days.
pub const WINDOWS: u32 = 7;

/// Sort keys keep the day in 16 bits (clamped): windows stay within days 1..=0xFFFE, where
/// the key's day is the decision's, so an earlier window's keys are all higher.
const KEY_DAYS: std::ops::RangeInclusive<i64> = 1..=0xFFFE;

/// A newest-first search over the `clauses` of a query (without its date range, given
/// as days in `from`/`to`), after the cursor key `after`.
pub struct Windows<'a> {
    pub searcher: &'a Searcher,
    /// The `decided` field (day numbers, indexed and fast).
    pub decided: Field,
    pub clauses: Vec<(Occur, Box<dyn Query>)>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub after: Option<u64>,
    /// The matches are few (counted exactly on this first page): searching them all at
    /// once costs no more than counting them did, and less than several windows.
    pub few: bool,
}

impl Windows<'_> {
    /// The page: up to `limit` (sort key, document) pairs, highest key first.
    pub fn page(&self, limit: usize) -> tantivy::Result<Vec<(u64, DocAddress)>> {
        let mut hits = Vec::with_capacity(limit);
        // Days after the cursor's hold no key below it.
        let cursor_day = self.after.map(|k| (k >> 48) as i64);
        let newest = [self.newest_day(), self.to, cursor_day]
            .into_iter()
            .flatten()
            .min();
        let floor = self.from.unwrap_or(i64::MIN).max(*KEY_DAYS.start());
        let mut rest_to = self.to;
        if let Some(mut hi) = newest.filter(|d| KEY_DAYS.contains(d) && !self.few) {
            let mut days = 1;
            for _ in 0..WINDOWS {
                if hi < floor {
                    break;
                }
                let lo = (hi - days + 1).max(floor);
                hits.extend(self.search(Some(self.days(lo, hi)), limit - hits.len())?);
                if hits.len() == limit {
                    return Ok(hits);
                }
                hi = lo - 1;
                days *= 2;
            }
            rest_to = Some(hi);
        }
        // Below the windows (and outside the days keys keep), in one go.
        if rest_to.is_none_or(|t| self.from.is_none_or(|f| f <= t)) {
            let bound = |d: Option<i64>| {
                d.map_or(Bound::Unbounded, |d| {
                    Bound::Included(Term::from_field_i64(self.decided, d))
                })
            };
            // No bound at all (an empty index): no range either (tantivy needs one).
            let range = (self.from.is_some() || rest_to.is_some()).then(|| {
                Box::new(RangeQuery::new(bound(self.from), bound(rest_to))) as Box<dyn Query>
            });
            hits.extend(self.search(range, limit - hits.len())?);
        }
        Ok(hits)
    }

    /// The latest decision day in the index (deleted documents included: an upper bound).
    fn newest_day(&self) -> Option<i64> {
        self.searcher
            .segment_readers()
            .iter()
            .filter(|s| s.num_docs() > 0)
            .filter_map(|s| s.fast_fields().i64("decided").ok())
            .map(|c| c.max_value())
            .max()
    }

    /// Decisions of the days `lo..=hi`, as the union of their postings.
    fn days(&self, lo: i64, hi: i64) -> Box<dyn Query> {
        Box::new(BooleanQuery::new(
            (lo..=hi)
                .map(|d| {
                    let q = TermQuery::new(
                        Term::from_field_i64(self.decided, d),
                        IndexRecordOption::Basic,
                    );
                    (Occur::Should, Box::new(q) as Box<dyn Query>)
                })
                .collect(),
        ))
    }

    /// The `want` highest keys below the cursor among the matches also matching `part`.
    fn search(
        &self,
        part: Option<Box<dyn Query>>,
        want: usize,
    ) -> tantivy::Result<Vec<(u64, DocAddress)>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = self
            .clauses
            .iter()
            .map(|(o, q)| (*o, q.box_clone()))
            .collect();
        clauses.extend(part.map(|q| (Occur::Must, q)));
        let after = self.after;
        let collector = TopDocs::with_limit(want).order_by(move |seg: &SegmentReader| {
            let keys = sort_keys(seg);
            move |doc| {
                let key = keys.get_val(doc);
                after.is_none_or(|a| key < a).then_some(key)
            }
        });
        let hits = self
            .searcher
            .search(&BooleanQuery::new(clauses), &collector)?;
        Ok(hits
            .into_iter()
            .filter_map(|(k, a)| Some((k?, a)))
            .collect())
    }
}
