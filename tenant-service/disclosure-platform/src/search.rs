//! Queries over the index: decisions (full text, filters, newest first or by relevance),
//! withdrawal notices, and an agency's annual statistics.
//!
//! Pagination is by keyset: the cursor is the sort key of the last item shown, and the
//! next page holds the items strictly after it. Sort keys are unique (see
//! [`crate::index::sort_key`]), so every item is reachable and none is shown twice, however
//! deep, without an OFFSET. Newest-first pages are searched day window by day window
//! ([`crate::newest`]), so a page costs what it shows rather than every match.
//!
//! The first page counts the matches only up to [`COUNT_LIMIT`]: past that the number
//! is shown as a lower bound ("超过 1000 条"), as counting a million matches exactly costs
//! more than finding the page itself and tells a reader nothing more.

use std::ops::Bound;

use chrono::{DateTime, NaiveDate, Utc};
use std::sync::atomic::{AtomicUsize, Ordering};

use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::columnar::ColumnValues;
use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{
    DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED, TantivyDocument, Term,
};

use crate::event::{DecisionRecord, StatisticsReport};
use crate::index::{IndexError, KIND_DECISION, KIND_STATISTICS, SearchIndex, Stored, day_number};

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    Newest,
    Relevance,
}

/// Where the previous page ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cursor {
    Newest(u64),
    Relevance(f32, u64),
    Withdrawn(i64, u64),
}

impl Cursor {
    pub fn encode(&self) -> String {
        match self {
            Cursor::Newest(k) => format!("n{k:x}"),
            Cursor::Relevance(s, k) => format!("r{:x}.{k:x}", s.to_bits()),
            Cursor::Withdrawn(t, k) => format!("w{t:x}.{k:x}"),
        }
    }

    pub fn decode(s: &str) -> Option<Self> {
        let hex = |s: &str| u64::from_str_radix(s, 16).ok();
        let (tag, rest) = (s.get(..1)?, s.get(1..)?);
        match tag {
            "n" => hex(rest).map(Cursor::Newest),
            "r" => {
                let (a, b) = rest.split_once('.')?;
                let score = f32::from_bits(u32::from_str_radix(a, 16).ok()?);
                score
                    .is_finite()
                    .then_some(Cursor::Relevance(score, hex(b)?))
            }
            "w" => {
                let (a, b) = rest.split_once('.')?;
                Some(Cursor::Withdrawn(i64::from_str_radix(a, 16).ok()?, hex(b)?))
            }
            _ => None,
        }
    }
}

/// A validated search over listed decisions.
#[derive(Debug, Clone, Default)]
pub struct DecisionQuery {
    pub q: Option<String>,
    pub city: Option<String>,
    pub county: Option<String>,
    /// Agencies (by name); `Some(empty)` matches nothing.
    pub agencies: Option<Vec<String>>,
    pub category: Option<String>,
    pub procedure: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub party_code: Option<String>,
    pub document_number: Option<String>,
    pub order: Order,
    pub cursor: Option<Cursor>,
    pub limit: usize,
    /// Retention: natural persons' publications published before this are not shown.
    pub natural_person_cutoff: Option<DateTime<Utc>>,
    /// Matches counted at most (None: [`COUNT_LIMIT`]).
    pub count_limit: Option<usize>,
}

/// Matches counted on a first page at most; more are shown as "more than this".
pub const COUNT_LIMIT: usize = 1_000;

/// How many items match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Exact(usize),
    /// More than this many (counting stopped there, see [`COUNT_LIMIT`]).
    MoreThan(usize),
}

impl Total {
    /// The exact number, or the bound exceeded.
    pub fn count(self) -> usize {
        match self {
            Total::Exact(n) | Total::MoreThan(n) => n,
        }
    }

    pub fn is_exact(self) -> bool {
        matches!(self, Total::Exact(_))
    }
}

/// Counts the matches of a query up to `limit + 1`, then stops: what [`Total`] needs.
struct CountUpTo {
    limit: usize,
    counted: AtomicUsize,
}

impl CountUpTo {
    fn run(searcher: &Searcher, query: &dyn Query, limit: usize) -> Result<Total, IndexError> {
        let n = searcher.search(
            query,
            &CountUpTo {
                limit,
                counted: AtomicUsize::new(0),
            },
        )?;
        Ok(if n > limit {
            Total::MoreThan(limit)
        } else {
            Total::Exact(n)
        })
    }
}

/// The segment part of [`CountUpTo`] (only its fruit type is used: the collector walks
/// the matches itself to stop early).
struct Counted(usize);

impl SegmentCollector for Counted {
    type Fruit = usize;
    fn collect(&mut self, _doc: DocId, _score: Score) {
        self.0 += 1;
    }
    fn harvest(self) -> usize {
        self.0
    }
}

impl Collector for CountUpTo {
    type Fruit = usize;
    type Child = Counted;

    fn for_segment(&self, _: u32, _: &SegmentReader) -> tantivy::Result<Counted> {
        Ok(Counted(0))
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, counts: Vec<usize>) -> tantivy::Result<usize> {
        Ok(counts.into_iter().sum())
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        _: u32,
        reader: &SegmentReader,
    ) -> tantivy::Result<usize> {
        let budget = (self.limit + 1).saturating_sub(self.counted.load(Ordering::Relaxed));
        if budget == 0 {
            return Ok(0);
        }
        let mut scorer = weight.scorer(reader, 1.0)?;
        let alive = reader.alive_bitset();
        let mut n = 0;
        let mut doc = scorer.doc();
        while doc != TERMINATED && n < budget {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                n += 1;
            }
            doc = scorer.advance();
        }
        self.counted.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The matches (first page only; later pages do not count again).
    pub total: Option<Total>,
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

fn term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

fn term_u64(field: Field, value: u64) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_u64(field, value),
        IndexRecordOption::Basic,
    ))
}

/// Decisions whose agency's retention has taken them out of public output by now
/// ([`crate::retention`]); used as a `MustNot` clause.
fn expired(index: &SearchIndex) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_i64(index.fields.hide_after, i64::MIN)),
        Bound::Included(Term::from_field_i64(
            index.fields.hide_after,
            Utc::now().timestamp(),
        )),
    ))
}

/// Words of `text` as the field's tokenizer sees them: a term, a phrase, or nothing.
fn words(index: &SearchIndex, field: Field, text: &str) -> Option<Box<dyn Query>> {
    let mut analyzer = index.index.tokenizer_for_field(field).ok()?;
    let mut stream = analyzer.token_stream(text);
    let mut terms = Vec::new();
    while stream.advance() {
        let t = stream.token();
        terms.push((t.position, Term::from_field_text(field, &t.text)));
    }
    match terms.len() {
        0 => None,
        1 => Some(Box::new(TermQuery::new(
            terms.remove(0).1,
            IndexRecordOption::WithFreqs,
        ))),
        _ => Some(Box::new(PhraseQuery::new_with_offset(terms))),
    }
}

/// The text part: every whitespace-separated word must occur, as jieba words or as a
/// substring of Han characters.
///
/// Unscored (`scored` false: newest first), a word of two Han characters or more is only
/// looked up as a substring: jieba words in a row are a run of the text, so every match
/// of the jieba words contains the substring and the bigram phrase alone finds the same
/// decisions, walking one posting list instead of two. Scored, both count in the score.
fn text_query(index: &SearchIndex, q: &str, scored: bool) -> Vec<Box<dyn Query>> {
    let f = &index.fields;
    q.split_whitespace()
        .map(|word| {
            let han = word.chars().count() >= 2 && word.chars().all(crate::tokenize::is_han);
            if !scored
                && han
                && let Some(q) = words(index, f.bigram, word)
            {
                return q;
            }
            let alternatives: Vec<(Occur, Box<dyn Query>)> = [f.text, f.bigram]
                .into_iter()
                .filter_map(|field| words(index, field, word))
                .map(|q| (Occur::Should, q))
                .collect();
            Box::new(BooleanQuery::new(alternatives)) as Box<dyn Query>
        })
        .collect()
}

impl DecisionQuery {
    /// Newest first (relevance needs a text query to score).
    fn newest(&self) -> bool {
        !(self.order == Order::Relevance && self.q.is_some())
    }

    fn query(&self, index: &SearchIndex) -> BooleanQuery {
        BooleanQuery::new(self.clauses(index, true))
    }

    /// The clauses of the query; `dates`: with the date range (the day windows of
    /// [`crate::newest`] bring their own).
    pub(crate) fn clauses(&self, index: &SearchIndex, dates: bool) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &index.fields;
        // Only decisions have `listed`: no need to intersect with kind:decision as well
        // (one posting list of every decision less to walk per query).
        let mut must: Vec<Box<dyn Query>> = vec![term_u64(f.listed, 1)];
        for (field, value) in [
            (f.city, &self.city),
            (f.county, &self.county),
            (f.category, &self.category),
            (f.procedure, &self.procedure),
            (f.party_code, &self.party_code),
            (f.document_number, &self.document_number),
        ] {
            if let Some(v) = value {
                must.push(term(field, v));
            }
        }
        if let Some(agencies) = &self.agencies {
            must.push(Box::new(BooleanQuery::new(
                agencies
                    .iter()
                    .map(|a| (Occur::Should, term(f.agency, a)))
                    .collect(),
            )));
        }
        if dates && (self.from.is_some() || self.to.is_some()) {
            let bound = |d: Option<NaiveDate>| {
                d.map_or(Bound::Unbounded, |d| {
                    Bound::Included(Term::from_field_i64(f.decided, day_number(d)))
                })
            };
            must.push(Box::new(RangeQuery::new(bound(self.from), bound(self.to))));
        }
        if let Some(cutoff) = self.natural_person_cutoff {
            let recent = RangeQuery::new(
                Bound::Included(Term::from_field_i64(f.published, cutoff.timestamp())),
                Bound::Unbounded,
            );
            must.push(Box::new(BooleanQuery::new(vec![
                (Occur::Should, term_u64(f.natural_person, 0)),
                (Occur::Should, Box::new(recent)),
            ])));
        }
        if let Some(q) = self.q.as_deref() {
            must.extend(text_query(index, q, !self.newest()));
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            must.into_iter().map(|q| (Occur::Must, q)).collect();
        clauses.push((Occur::MustNot, expired(index)));
        clauses
    }

    /// Runs the search.
    pub fn run(&self, index: &SearchIndex) -> Result<Page<DecisionRecord>, IndexError> {
        if self.agencies.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Page {
                total: Some(Total::Exact(0)),
                items: Vec::new(),
                next: None,
            });
        }
        let searcher = index.reader.searcher();
        let query = self.query(index);
        let total = match self.cursor {
            None => Some(CountUpTo::run(
                &searcher,
                &query,
                self.count_limit.unwrap_or(COUNT_LIMIT),
            )?),
            Some(_) => None,
        };
        let limit = self.limit.max(1);
        let (addrs, next): (Vec<DocAddress>, Option<Cursor>) = if !self.newest() {
            let after = match self.cursor {
                Some(Cursor::Relevance(s, k)) => Some((s, k)),
                _ => None,
            };
            let collector = TopDocs::with_limit(limit).tweak_score(move |seg: &SegmentReader| {
                let keys = sort_keys(seg);
                move |doc, score: f32| {
                    let key = (score, keys.get_val(doc));
                    after.is_none_or(|a| key < a).then_some(key)
                }
            });
            let hits = searcher.search(&query, &collector)?;
            let hits: Vec<_> = hits
                .into_iter()
                .filter_map(|(k, a)| Some((k?, a)))
                .collect();
            let next = (hits.len() == limit)
                .then(|| hits.last().map(|((s, k), _)| Cursor::Relevance(*s, *k)))
                .flatten();
            (hits.into_iter().map(|(_, a)| a).collect(), next)
        } else {
            let after = match self.cursor {
                Some(Cursor::Newest(k)) => Some(k),
                _ => None,
            };
            let hits = crate::newest::Windows {
                searcher: &searcher,
                decided: index.fields.decided,
                clauses: self.clauses(index, false),
                from: self.from.map(day_number),
                to: self.to.map(day_number),
                after,
                few: total.is_some_and(Total::is_exact),
            }
            .page(limit)?;
            let next = (hits.len() == limit)
                .then(|| hits.last().map(|(k, _)| Cursor::Newest(*k)))
                .flatten();
            (hits.into_iter().map(|(_, a)| a).collect(), next)
        };
        Ok(Page {
            total,
            items: decisions(index, &searcher, &addrs)?,
            next,
        })
    }
}

/// A segment's fast column of `field`, read as 0 where absent (every decision has one).
pub(crate) struct Column<T>(Option<std::sync::Arc<dyn ColumnValues<T>>>);

impl<T: tantivy::columnar::MonotonicallyMappableToU64 + Default + PartialOrd> Column<T> {
    pub(crate) fn get_val(&self, doc: u32) -> T {
        self.0.as_ref().map_or_else(T::default, |c| c.get_val(doc))
    }
}

pub(crate) fn sort_keys(seg: &SegmentReader) -> Column<u64> {
    Column(
        seg.fast_fields()
            .u64("sort_key")
            .ok()
            .map(|c| c.first_or_default_col(0)),
    )
}

fn decisions(
    index: &SearchIndex,
    searcher: &Searcher,
    addrs: &[DocAddress],
) -> Result<Vec<DecisionRecord>, IndexError> {
    let mut out = Vec::with_capacity(addrs.len());
    for a in addrs {
        let doc: TantivyDocument = searcher.doc(*a)?;
        if let Stored::Decision(r) = index.stored_of(&doc)? {
            out.push(*r);
        }
    }
    Ok(out)
}

/// Withdrawal notices, newest first; optionally one agency's.
pub fn withdrawals(
    index: &SearchIndex,
    agency: Option<&str>,
    cursor: Option<Cursor>,
    limit: usize,
) -> Result<Page<DecisionRecord>, IndexError> {
    let f = &index.fields;
    let mut must = vec![term(f.kind, KIND_DECISION), term_u64(f.withdrawn, 1)];
    if let Some(a) = agency {
        must.push(term(f.agency, a));
    }
    let query = BooleanQuery::new(must.into_iter().map(|q| (Occur::Must, q)).collect());
    let searcher = index.reader.searcher();
    let total = cursor
        .is_none()
        .then(|| searcher.search(&query, &Count).map(Total::Exact))
        .transpose()?;
    let after = match cursor {
        Some(Cursor::Withdrawn(t, k)) => Some((t, k)),
        _ => None,
    };
    let limit = limit.max(1);
    let collector = TopDocs::with_limit(limit).order_by(move |seg: &SegmentReader| {
        let keys = sort_keys(seg);
        let times = Column(
            seg.fast_fields()
                .i64("withdrawn_at")
                .ok()
                .map(|c| c.first_or_default_col(0)),
        );
        move |doc| {
            let key = (times.get_val(doc), keys.get_val(doc));
            after.is_none_or(|a| key < a).then_some(key)
        }
    });
    let hits = searcher.search(&query, &collector)?;
    let hits: Vec<_> = hits
        .into_iter()
        .filter_map(|(k, a)| Some((k?, a)))
        .collect();
    let next = (hits.len() == limit)
        .then(|| hits.last().map(|((t, k), _)| Cursor::Withdrawn(*t, *k)))
        .flatten();
    let addrs: Vec<_> = hits.into_iter().map(|(_, a)| a).collect();
    Ok(Page {
        total,
        items: decisions(index, &searcher, &addrs)?,
        next,
    })
}

/// An agency's annual statistics, newest year first.
pub fn statistics(index: &SearchIndex, agency: &str) -> Result<Vec<StatisticsReport>, IndexError> {
    let f = &index.fields;
    let query = BooleanQuery::new(vec![
        (Occur::Must, term(f.kind, KIND_STATISTICS)),
        (Occur::Must, term(f.agency, agency)),
    ]);
    let searcher = index.reader.searcher();
    let hits = searcher.search(&query, &TopDocs::with_limit(200).order_by_score())?;
    let mut out = Vec::new();
    for (_, a) in hits {
        let doc: TantivyDocument = searcher.doc(a)?;
        if let Stored::Statistics(s) = index.stored_of(&doc)? {
            out.push(s.report);
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.year));
    Ok(out)
}

/// Number of listed decisions per agency is not kept; this counts one agency's (those
/// retention still shows, as the search does).
pub fn count_listed(
    index: &SearchIndex,
    agency: &str,
    natural_person_cutoff: Option<DateTime<Utc>>,
) -> Result<usize, IndexError> {
    let query = DecisionQuery {
        agencies: Some(vec![agency.to_string()]),
        natural_person_cutoff,
        ..Default::default()
    }
    .query(index);
    Ok(index.reader.searcher().search(&query, &Count)?)
}
