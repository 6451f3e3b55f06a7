//! Random-inspection results (双随机 抽查情况及查处结果, 003 task 13) on the platform.
//!
//! The tenant service publishes the results of a draw once, as an `inspection_results`
//! event: the draw id, the item's code and the version of the random-inspection list it
//! was drawn from, the size of the target pool, and per drawn target its name, the
//! outcome (抽查情况) and the handling (查处结果). Each draw is one stored record
//! (`inspection:<agency>:<draw>`), idempotent by envelope id; were two envelopes ever sent
//! for one draw, the smaller envelope id is kept, so the order of arrival does not matter.
//!
//! What is shown is the public schema and nothing else, whatever an event carries (as for
//! the personnel list): the draw's seed, its candidate pools and the inspectors drawn are
//! internal records kept by the agency (a supervisor re-runs the draw there); the platform
//! keeps only the fields below. The item's name, subject and basis come from the published
//! random-inspection list version the draw names ([`crate::prepublication`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{TantivyDocument, Term};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::event::{Change, Skip};
use crate::index::{IndexError, SearchIndex, Stored};
use crate::prepublication::PublishedList;

/// The `kind` field value of inspection records in the index.
pub const KIND_INSPECTION: &str = "inspection";

/// Results kept per draw at most (the tenant service bounds them too).
const MAX_RESULTS: usize = 10_000;
/// Characters kept per text field.
const MAX_TEXT: usize = 1_000;

/// The published results of one draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectionResults {
    pub agency: String,
    pub city: String,
    pub county: String,
    pub draw: Uuid,
    /// Code of the item of the random-inspection list.
    pub item: String,
    /// Version of the random-inspection list the item was drawn from.
    pub list_version: u32,
    /// How many targets the draw chose from.
    pub target_pool: u64,
    pub published_at: DateTime<Utc>,
    pub results: Vec<InspectionResult>,
}

/// One inspected target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InspectionResult {
    /// 检查对象: the target's registered name.
    pub target: String,
    /// 抽查情况.
    pub outcome: String,
    /// 查处结果 (empty: none).
    pub handling: String,
}

/// A stored draw's results and the envelope kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectionRecord {
    pub results: InspectionResults,
    pub envelope: Uuid,
}

/// The key of a draw's record.
pub fn key(agency: &str, draw: Uuid) -> String {
    format!("inspection:{agency}:{draw}")
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_TEXT)
        .collect()
}

/// Parses the `data` of an `inspection_results` envelope, keeping the public fields.
pub fn parse(
    envelope: Uuid,
    data: &Value,
    place: impl Fn(&str) -> String,
    occurred: DateTime<Utc>,
) -> Result<Change, Skip> {
    let draw = data
        .get("draw")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| Skip::Malformed("inspection_results without draw".into()))?;
    let item = text(data, "item");
    if item.is_empty() {
        return Err(Skip::Malformed("inspection_results without item".into()));
    }
    let results = data
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(|| Skip::Malformed("inspection_results without results".into()))?
        .iter()
        .take(MAX_RESULTS)
        .map(|r| InspectionResult {
            target: text(r, "target"),
            outcome: text(r, "outcome"),
            handling: text(r, "handling"),
        })
        .collect();
    Ok(Change::Inspection {
        envelope,
        results: InspectionResults {
            agency: place("agency"),
            city: place("city"),
            county: place("county"),
            draw,
            item,
            list_version: data
                .get("listVersion")
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            target_pool: data.get("targetPool").and_then(Value::as_u64).unwrap_or(0),
            published_at: data
                .get("publishedAt")
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map_or(occurred, |t| t.with_timezone(&Utc)),
            results,
        },
    })
}

/// Folds a draw's results into what is stored under its key: `None` when nothing changes
/// (the same envelope again, or one that loses to the kept one).
pub fn fold(
    current: Option<&InspectionRecord>,
    envelope: Uuid,
    results: &InspectionResults,
) -> Option<InspectionRecord> {
    match current {
        Some(r) if r.envelope <= envelope => None,
        _ => Some(InspectionRecord {
            results: results.clone(),
            envelope,
        }),
    }
}

/// An agency's published inspection results, newest first (at most `limit`).
pub fn of_agency(
    index: &SearchIndex,
    agency: &str,
    limit: usize,
) -> Result<Vec<InspectionResults>, IndexError> {
    let f = &index.fields;
    let term = |field, value: &str| -> Box<dyn tantivy::query::Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, value),
            IndexRecordOption::Basic,
        ))
    };
    let query = BooleanQuery::new(vec![
        (Occur::Must, term(f.kind, KIND_INSPECTION)),
        (Occur::Must, term(f.agency, agency)),
    ]);
    let searcher = index.reader.searcher();
    let hits = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
    let mut out = Vec::new();
    for (_, a) in hits {
        let doc: TantivyDocument = searcher.doc(a)?;
        if let Stored::Inspection(r) = index.stored_of(&doc)? {
            out.push(r.results);
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse((r.published_at, r.draw)));
    Ok(out)
}

/// A draw's results as shown, with its item as the list published it.
///
/// The published results of one random-inspection draw (双随机). Public fields only: no
/// seed, candidate pools or inspectors.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = InspectionResults)]
pub struct InspectionView {
    pub draw: Uuid,
    /// Code of the item of the random-inspection list.
    pub item: String,
    /// The item's name in the list version (when published here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_name: Option<String>,
    /// 抽查主体, from the list version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspector: Option<String>,
    /// From the list version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// Version of the random-inspection list drawn from.
    pub list_version: u32,
    /// Targets the draw chose from.
    pub target_pool: u64,
    pub published_at: DateTime<Utc>,
    pub results: Vec<InspectionResult>,
}

/// Views of `results`, items named from the agency's published list versions.
pub fn views(results: &[InspectionResults], lists: &[PublishedList]) -> Vec<InspectionView> {
    results
        .iter()
        .map(|r| {
            let item = lists
                .iter()
                .find(|l| l.kind == "random_inspections" && l.version == r.list_version)
                .and_then(|l| {
                    l.items.iter().find(|i| {
                        i.get("code")
                            .and_then(Value::as_str)
                            .is_some_and(|c| c.trim().eq_ignore_ascii_case(&r.item))
                    })
                });
            let field = |k: &str| {
                item.and_then(|i| i.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            InspectionView {
                draw: r.draw,
                item: r.item.clone(),
                item_name: field("name"),
                inspector: field("inspector"),
                legal_basis: field("legalBasis"),
                list_version: r.list_version,
                target_pool: r.target_pool,
                published_at: r.published_at,
                results: r.results.clone(),
            }
        })
        .collect()
}

/// The 双随机 section of an agency's page.
pub fn section_html(views: &[InspectionView]) -> String {
    use crate::web::html::esc;
    use std::fmt::Write;
    let mut s = String::from(
        "<section aria-labelledby=\"inspections\"><h2 id=\"inspections\">双随机抽查情况及查处结果</h2>\n",
    );
    if views.is_empty() {
        s.push_str("<p>尚未公布抽查结果。</p>\n</section>\n");
        return s;
    }
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    for v in views {
        let name = v.item_name.clone().unwrap_or_else(|| v.item.clone());
        let _ = writeln!(
            s,
            "<h3>{}</h3>\n<p>抽查事项 {}（随机抽查事项清单第 {} 版）{}；从 {} 个检查对象中随机抽取 {} 个；{} 公布。</p>",
            esc(&name),
            esc(&v.item),
            v.list_version,
            v.inspector
                .as_deref()
                .map(|i| format!("，抽查主体：{}", esc(i)))
                .unwrap_or_default(),
            v.target_pool,
            v.results.len(),
            v.published_at.with_timezone(&china).format("%Y年%m月%d日"),
        );
        let _ = write!(
            s,
            "<table><caption>{} 抽查结果</caption>\n<thead><tr><th scope=\"col\">检查对象</th>\
             <th scope=\"col\">抽查情况</th><th scope=\"col\">查处结果</th></tr></thead>\n<tbody>\n",
            esc(&name)
        );
        for r in &v.results {
            let _ = writeln!(
                s,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>",
                esc(&r.target),
                esc(&r.outcome),
                esc(if r.handling.is_empty() {
                    "无"
                } else {
                    &r.handling
                })
            );
        }
        s.push_str("</tbody></table>\n");
    }
    s.push_str("</section>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(data: Value) -> Result<InspectionResults, Skip> {
        match parse(Uuid::from_u128(1), &data, |k| k.to_string(), Utc::now())? {
            Change::Inspection { results, .. } => Ok(results),
            _ => unreachable!(),
        }
    }

    #[test]
    fn only_public_fields_are_kept() {
        let draw = Uuid::from_u128(9);
        let r = parsed(json!({"draw": draw, "item": "SJ-001", "listVersion": 2, "seed": "42",
            "targetPool": 10, "inspectorPool": ["00000000-0000-0000-0000-000000000001"],
            "publishedAt": "2026-03-05T02:00:00Z",
            "results": [{"target": "沈阳某食品店1号", "outcome": "发现问题", "handling": "责令限期整改",
                         "inspectors": ["赵一"], "idNumber": "21010219900101123X"}]}))
        .unwrap();
        assert_eq!((r.draw, r.list_version, r.target_pool), (draw, 2, 10));
        let stored = serde_json::to_string(&r).unwrap();
        for private in ["seed", "42\"", "inspector", "赵一", "21010219900101123X"] {
            assert!(!stored.contains(private), "{private} kept: {stored}");
        }
        assert_eq!(r.results[0].handling, "责令限期整改");
    }

    #[test]
    fn malformed_events_are_skipped_and_folding_keeps_the_smallest_envelope() {
        for data in [
            json!({"item": "SJ-001", "results": []}),
            json!({"draw": Uuid::nil(), "results": []}),
            json!({"draw": Uuid::nil(), "item": "SJ-001"}),
        ] {
            assert!(matches!(parsed(data), Err(Skip::Malformed(_))));
        }
        let r = parsed(json!({"draw": Uuid::nil(), "item": "SJ-001", "results": []})).unwrap();
        let (small, big) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let kept = fold(None, big, &r).unwrap();
        assert_eq!(fold(Some(&kept), big, &r), None, "same envelope again");
        let kept = fold(Some(&kept), small, &r).unwrap();
        assert_eq!(kept.envelope, small);
        assert_eq!(fold(Some(&kept), big, &r), None, "order does not matter");
    }

    #[test]
    fn the_item_is_named_from_its_list_version() {
        let r = parsed(
            json!({"draw": Uuid::nil(), "item": "sj-001", "listVersion": 1,
            "results": [{"target": "某店", "outcome": "未发现问题"}]}),
        )
        .unwrap();
        let list = PublishedList {
            agency: "a".into(),
            city: "c".into(),
            county: "k".into(),
            kind: "random_inspections".into(),
            version: 1,
            effective_from: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            published_at: Utc::now(),
            items: vec![
                json!({"code": "SJ-001", "name": "食品经营者监督抽查", "inspector": "某局"}),
            ],
        };
        let v = views(std::slice::from_ref(&r), &[list]);
        assert_eq!(v[0].item_name.as_deref(), Some("食品经营者监督抽查"));
        let html = section_html(&v);
        assert!(html.contains("<h3>食品经营者监督抽查</h3>"), "{html}");
        assert!(
            html.contains("<td>无</td>"),
            "empty handling reads 无: {html}"
        );
        assert!(views(&[r], &[])[0].item_name.is_none());
    }
}
