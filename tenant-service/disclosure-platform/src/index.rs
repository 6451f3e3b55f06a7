//! The search index (tantivy) and the position in the stream committed with it.
//!
//! One document per decision (key: the decision id) holds the merged
//! [`DecisionRecord`] as stored JSON plus the indexed fields used to search, filter and
//! sort; one document per agency and year holds its annual statistics. Every commit
//! carries the stream sequence applied so far in tantivy's commit payload, so the index
//! and its position change together: after a crash the index is exactly at a committed
//! position and the consumer resumes right after it.
//!
//! Between commits, records changed in the current batch are kept in `pending` (a tantivy
//! searcher only sees committed documents), so two events for one decision in one batch
//! fold correctly.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::directory::Directory;
use crate::event::{Change, DecisionRecord, StatisticsReport};
use crate::reindex::IndexedAgency;
use crate::tokenize;

/// Bumped when the schema changes; an index of another version must be rebuilt.
/// 2: `agency_fp` and `hide_after` (names and retention kept current, [`crate::reindex`]).
pub const SCHEMA_VERSION: u32 = 2;

/// Where the index stands in the stream (the commit payload).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub stream: String,
    /// Last stream sequence applied (0: nothing yet).
    pub sequence: u64,
    pub schema: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("index directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored record is not readable: {0}")]
    Record(#[from] serde_json::Error),
    #[error(
        "the index follows stream {found}, not {wanted}: run `sanxiang-disclosure rebuild` into a new directory"
    )]
    OtherStream { found: String, wanted: String },
    #[error("the index has schema version {0}, this build needs {SCHEMA_VERSION}: rebuild it")]
    Schema(u32),
}

/// Fields of the schema.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub key: Field,
    pub kind: Field,
    pub record: Field,
    pub listed: Field,
    pub withdrawn: Field,
    pub agency: Field,
    pub city: Field,
    pub county: Field,
    pub category: Field,
    pub procedure: Field,
    pub document_number: Field,
    pub party_code: Field,
    pub natural_person: Field,
    pub decided: Field,
    pub published: Field,
    pub withdrawn_at: Field,
    pub sort_key: Field,
    pub envelope: Field,
    pub year: Field,
    pub text: Field,
    pub bigram: Field,
    /// Fingerprint of the directory data a decision was indexed with ([`crate::reindex`]).
    pub agency_fp: Field,
    /// Unix seconds when retention takes the decision out of public output (absent: kept).
    pub hide_after: Field,
}

pub const KIND_DECISION: &str = "decision";
pub const KIND_STATISTICS: &str = "statistics";

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_opts = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    let fields = Fields {
        key: b.add_text_field("key", STRING | STORED),
        kind: b.add_text_field("kind", STRING),
        record: b.add_text_field("record", STORED),
        listed: b.add_u64_field("listed", INDEXED),
        withdrawn: b.add_u64_field("withdrawn", INDEXED),
        agency: b.add_text_field("agency", STRING),
        city: b.add_text_field("city", STRING),
        county: b.add_text_field("county", STRING),
        category: b.add_text_field("category", STRING),
        procedure: b.add_text_field("procedure", STRING),
        document_number: b.add_text_field("document_number", STRING),
        party_code: b.add_text_field("party_code", STRING),
        natural_person: b.add_u64_field("natural_person", INDEXED),
        decided: b.add_i64_field("decided", INDEXED | FAST),
        published: b.add_i64_field("published", INDEXED | FAST),
        withdrawn_at: b.add_i64_field("withdrawn_at", FAST),
        sort_key: b.add_u64_field("sort_key", INDEXED | FAST),
        envelope: b.add_text_field("envelope", STRING),
        year: b.add_i64_field("year", INDEXED | FAST),
        text: b.add_text_field("text", text_opts(tokenize::JIEBA)),
        bigram: b.add_text_field("bigram", text_opts(tokenize::BIGRAM)),
        agency_fp: b.add_u64_field("agency_fp", INDEXED),
        hide_after: b.add_i64_field("hide_after", INDEXED),
    };
    (b.build(), fields)
}

/// Days since 1970-01-01.
pub fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce() - 719_163)
}

/// Newest first: the decision date, then 48 bits of the decision id so the key is unique
/// (keyset pagination needs a total order).
pub fn sort_key(decided: NaiveDate, id: uuid::Uuid) -> u64 {
    let day = day_number(decided).clamp(0, 0xFFFF) as u64;
    (day << 48) | ((id.as_u128() >> 80) as u64 & 0xFFFF_FFFF_FFFF)
}

/// The open index.
pub struct SearchIndex {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
}

/// A stored document: a decision or an agency's statistics of one year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Stored {
    Decision(Box<DecisionRecord>),
    Statistics(StatisticsRecord),
    List(crate::prepublication::ListRecord),
    Inspection(crate::inspection::InspectionRecord),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatisticsRecord {
    pub report: StatisticsReport,
    /// Envelope of the report kept.
    pub report_envelope: uuid::Uuid,
    pub envelopes: Vec<uuid::Uuid>,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it when empty.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let index = if dir.join("meta.json").exists() {
            Index::open_in_dir(dir)?
        } else {
            Index::create_in_dir(dir, schema)?
        };
        tokenize::register(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
        })
    }

    /// An index in memory (tests, benchmarks).
    pub fn in_memory() -> Result<Self, IndexError> {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        tokenize::register(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
        })
    }

    /// The committed position; checks it belongs to `stream` (an empty index belongs to any).
    pub fn position(&self, stream: &str) -> Result<Position, IndexError> {
        let metas = self.index.load_metas()?;
        let Some(payload) = metas.payload else {
            return Ok(Position {
                stream: stream.to_string(),
                sequence: 0,
                schema: SCHEMA_VERSION,
            });
        };
        let p: Position = serde_json::from_str(&payload)?;
        if p.schema != SCHEMA_VERSION {
            return Err(IndexError::Schema(p.schema));
        }
        if p.stream != stream {
            return Err(IndexError::OtherStream {
                found: p.stream,
                wanted: stream.to_string(),
            });
        }
        Ok(p)
    }

    /// The stored document under `key` in the committed index.
    pub fn get(&self, key: &str) -> Result<Option<Stored>, IndexError> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.fields.key, key),
            IndexRecordOption::Basic,
        );
        let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
        match top.first() {
            None => Ok(None),
            Some((_, addr)) => {
                let doc: TantivyDocument = searcher.doc(*addr)?;
                Ok(Some(self.stored_of(&doc)?))
            }
        }
    }

    pub fn stored_of(&self, doc: &TantivyDocument) -> Result<Stored, IndexError> {
        let json = doc
            .get_first(self.fields.record)
            .and_then(|v| v.as_str())
            .unwrap_or("null");
        Ok(serde_json::from_str(json)?)
    }

    /// Number of live documents.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Every stored document, sorted by key (to compare two indexes).
    pub fn dump(&self) -> Result<Vec<(String, Stored)>, IndexError> {
        let searcher = self.reader.searcher();
        let mut out = Vec::new();
        for segment in searcher.segment_readers() {
            let store = segment.get_store_reader(64)?;
            for doc_id in 0..segment.max_doc() {
                if segment.is_deleted(doc_id) {
                    continue;
                }
                let doc: TantivyDocument = store.get(doc_id)?;
                let key = doc
                    .get_first(self.fields.key)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                out.push((key, self.stored_of(&doc)?));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn document(&self, key: &str, stored: &Stored) -> Result<TantivyDocument, IndexError> {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.key, key);
        doc.add_text(f.record, serde_json::to_string(stored)?);
        match stored {
            Stored::Decision(r) => {
                doc.add_text(f.kind, KIND_DECISION);
                doc.add_u64(f.listed, u64::from(r.is_listed()));
                doc.add_u64(f.withdrawn, u64::from(r.withdrawal.is_some()));
                for e in &r.envelopes {
                    doc.add_text(f.envelope, e.to_string());
                }
                if let Some(w) = &r.withdrawal {
                    doc.add_i64(f.withdrawn_at, w.withdrawn_at.timestamp());
                    doc.add_text(f.agency, &w.agency);
                    doc.add_text(f.city, &w.city);
                    doc.add_text(f.county, &w.county);
                }
                let decided = r.publication.as_ref().map(|p| p.decided_on);
                let day = decided
                    .or(r.withdrawal.as_ref().map(|w| w.withdrawn_at.date_naive()))
                    .unwrap_or_default();
                doc.add_u64(f.sort_key, sort_key(day, r.id));
                if let Some(p) = &r.publication {
                    if r.withdrawal.is_none() {
                        doc.add_text(f.agency, &p.agency);
                        doc.add_text(f.city, &p.city);
                        doc.add_text(f.county, &p.county);
                    }
                    doc.add_text(f.category, &p.category);
                    doc.add_text(f.procedure, &p.procedure);
                    doc.add_text(f.document_number, &p.document_number);
                    if let Some(code) = &p.target_code {
                        doc.add_text(f.party_code, code);
                    }
                    doc.add_u64(f.natural_person, u64::from(p.natural_person));
                    doc.add_i64(f.decided, day_number(p.decided_on));
                    doc.add_i64(f.published, p.published_at.timestamp());
                    // Only listed decisions are searchable by their text.
                    if r.withdrawal.is_none() {
                        for part in [
                            &p.document_number,
                            &p.target,
                            &p.facts,
                            &p.legal_basis,
                            &p.conclusion,
                        ] {
                            doc.add_text(f.text, part);
                            doc.add_text(f.bigram, part);
                        }
                    }
                }
            }
            Stored::List(r) => {
                doc.add_text(f.kind, crate::prepublication::KIND_LIST);
                doc.add_text(f.agency, &r.list.agency);
                doc.add_text(f.city, &r.list.city);
                doc.add_text(f.county, &r.list.county);
                doc.add_text(f.envelope, r.envelope.to_string());
            }
            Stored::Inspection(r) => {
                doc.add_text(f.kind, crate::inspection::KIND_INSPECTION);
                doc.add_text(f.agency, &r.results.agency);
                doc.add_text(f.city, &r.results.city);
                doc.add_text(f.county, &r.results.county);
                doc.add_text(f.envelope, r.envelope.to_string());
            }
            Stored::Statistics(s) => {
                doc.add_text(f.kind, KIND_STATISTICS);
                doc.add_text(f.agency, &s.report.agency);
                doc.add_text(f.city, &s.report.city);
                doc.add_text(f.county, &s.report.county);
                doc.add_i64(f.year, i64::from(s.report.year));
                for e in &s.envelopes {
                    doc.add_text(f.envelope, e.to_string());
                }
            }
        }
        Ok(doc)
    }
}

/// The official name of an agency by its name, when the directory knows it.
pub type AgencyNames = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What applying one change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// The envelope was already folded in (redelivery, or an outbox re-send).
    Duplicate,
}

/// Where a decision's agency name, place names and retention come from.
enum Enrichment {
    /// Official names only, from a function (tests).
    Names(AgencyNames),
    /// The directory: names, places and retention, kept current ([`crate::reindex`]).
    Directory(Directory),
}

/// The single writer of the index.
pub struct Writer {
    writer: IndexWriter,
    pending: HashMap<String, Stored>,
    position: Position,
    enrichment: Enrichment,
}

impl Writer {
    /// `memory` is tantivy's indexing budget in bytes (at least 15 MB).
    pub fn new(
        index: &SearchIndex,
        stream: &str,
        memory: usize,
        agency_names: AgencyNames,
    ) -> Result<Self, IndexError> {
        let position = index.position(stream)?;
        Ok(Self {
            writer: index.index.writer(memory.max(15_000_000))?,
            pending: HashMap::new(),
            position,
            enrichment: Enrichment::Names(agency_names),
        })
    }

    /// A writer that indexes each decision with its agency's official name, place names
    /// and retention from `directory`, and keeps them current when it changes.
    pub fn with_directory(
        index: &SearchIndex,
        stream: &str,
        memory: usize,
        directory: Directory,
    ) -> Result<Self, IndexError> {
        let mut w = Self::new(index, stream, memory, Box::new(|_| None))?;
        w.enrichment = Enrichment::Directory(directory);
        Ok(w)
    }

    pub fn position(&self) -> &Position {
        &self.position
    }

    /// The directory the writer follows, if any.
    pub fn directory(&self) -> Option<&Directory> {
        match &self.enrichment {
            Enrichment::Directory(d) => Some(d),
            Enrichment::Names(_) => None,
        }
    }

    fn indexed(&self, agency: &str) -> IndexedAgency {
        match &self.enrichment {
            Enrichment::Directory(d) => d.indexed(agency),
            Enrichment::Names(f) => IndexedAgency {
                names: f(agency).into_iter().collect(),
                ..IndexedAgency::unknown()
            },
        }
    }

    /// The tantivy document of a stored record, with what the directory adds to a
    /// decision: the fingerprint of it, searchable names (listed decisions) and the
    /// retention limit (not for withdrawn decisions: their notice stays).
    fn full_document(
        &self,
        index: &SearchIndex,
        key: &str,
        stored: &Stored,
    ) -> Result<TantivyDocument, IndexError> {
        let mut doc = index.document(key, stored)?;
        if let Stored::Decision(r) = stored {
            let agency = match (&r.withdrawal, &r.publication) {
                (Some(w), _) => &w.agency,
                (None, Some(p)) => &p.agency,
                (None, None) => return Ok(doc),
            };
            let info = self.indexed(agency);
            doc.add_u64(index.fields.agency_fp, info.fingerprint());
            if r.is_listed()
                && let Some(p) = &r.publication
            {
                for name in &info.names {
                    doc.add_text(index.fields.text, name);
                    doc.add_text(index.fields.bigram, name);
                }
                if let Some(t) = info.retention.hide_after(p) {
                    doc.add_i64(index.fields.hide_after, t.timestamp());
                }
            }
        }
        Ok(doc)
    }

    /// Re-indexes a stored record as it stands (not yet committed): what the directory
    /// adds is taken afresh. A record changed in the current batch is taken from it.
    pub fn rewrite(
        &mut self,
        index: &SearchIndex,
        key: &str,
        stored: Stored,
    ) -> Result<(), IndexError> {
        let stored = self.pending.get(key).cloned().unwrap_or(stored);
        let doc = self.full_document(index, key, &stored)?;
        self.writer
            .delete_term(Term::from_field_text(index.fields.key, key));
        self.writer.add_document(doc)?;
        self.pending.insert(key.to_string(), stored);
        Ok(())
    }

    /// Folds one change into its record (not yet committed).
    pub fn apply(&mut self, index: &SearchIndex, change: &Change) -> Result<Applied, IndexError> {
        let key = change.key();
        let current = match self.pending.get(&key) {
            Some(s) => Some(s.clone()),
            None => index.get(&key)?,
        };
        let next = match (change, current) {
            (Change::Statistics { envelope, report }, current) => {
                let mut rec = match current {
                    Some(Stored::Statistics(s)) => s,
                    _ => StatisticsRecord {
                        report: report.clone(),
                        report_envelope: *envelope,
                        envelopes: Vec::new(),
                    },
                };
                if rec.envelopes.contains(envelope) {
                    return Ok(Applied::Duplicate);
                }
                rec.envelopes.push(*envelope);
                rec.envelopes.sort();
                // The latest report of the year wins, whatever the order of arrival.
                if (report.reported_at, *envelope) >= (rec.report.reported_at, rec.report_envelope)
                {
                    rec.report = report.clone();
                    rec.report_envelope = *envelope;
                }
                Stored::Statistics(rec)
            }
            (Change::Inspection { envelope, results }, current) => {
                let current = match &current {
                    Some(Stored::Inspection(r)) => Some(r),
                    _ => None,
                };
                match crate::inspection::fold(current, *envelope, results) {
                    Some(r) => Stored::Inspection(r),
                    None => return Ok(Applied::Duplicate),
                }
            }
            // A published version never changes: the first one seen is kept.
            (Change::List { .. }, Some(Stored::List(_))) => return Ok(Applied::Duplicate),
            (Change::List { envelope, list }, _) => {
                Stored::List(crate::prepublication::ListRecord {
                    list: list.clone(),
                    envelope: *envelope,
                })
            }
            (change, current) => {
                let mut rec = match current {
                    Some(Stored::Decision(r)) => r,
                    _ => Box::new(DecisionRecord::new(
                        uuid::Uuid::parse_str(&key).unwrap_or_default(),
                    )),
                };
                if !rec.fold(change) {
                    return Ok(Applied::Duplicate);
                }
                Stored::Decision(rec)
            }
        };
        let doc = self.full_document(index, &key, &next)?;
        self.writer
            .delete_term(Term::from_field_text(index.fields.key, &key));
        self.writer.add_document(doc)?;
        self.pending.insert(key, next);
        Ok(Applied::Changed)
    }

    /// Records that everything up to `sequence` has been applied (skipped messages too).
    pub fn advance(&mut self, sequence: u64) {
        self.position.sequence = self.position.sequence.max(sequence);
    }

    /// Commits the changes with the position, and makes them visible to searches.
    pub fn commit(&mut self, index: &SearchIndex) -> Result<(), IndexError> {
        let payload = serde_json::to_string(&self.position)?;
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        index.reader.reload()?;
        self.pending.clear();
        Ok(())
    }
}

/// Unix seconds → UTC time (for display).
pub fn time_of(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}
