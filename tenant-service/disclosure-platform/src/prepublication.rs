//! The lists agencies publish before enforcing (事前公开) on the platform.
//!
//! A `list_publication` event carries one published version of one list (kind, version,
//! effective date, items) after the same-level justice bureau approved it. Each version
//! is its own stored record (`list:<agency>:<kind>:<version>`), never replaced: a version
//! is immutable once published, so a re-sent event is a duplicate and every earlier
//! version stays retrievable. The version in force on a date is the one with the latest
//! effective date on or before it.
//!
//! What is shown is the list's public schema and nothing else: personnel items are cut to
//! name, unit, position, certificate number, categories and region here too, whatever
//! an event might carry.

use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_crds::domain::ListKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tantivy::query::{BooleanQuery, Occur, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{TantivyDocument, Term, collector::TopDocs};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::event::{Change, Skip};
use crate::index::{IndexError, SearchIndex, Stored};

/// The `kind` field value of list records in the index.
pub const KIND_LIST: &str = "list";

/// The fields a personnel item may show.
const PERSONNEL_FIELDS: [&str; 6] = [
    "name",
    "unit",
    "position",
    "certificateNumber",
    "categories",
    "region",
];

/// One published version of one agency's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishedList {
    pub agency: String,
    pub city: String,
    pub county: String,
    /// List kind code (`ListKind`), e.g. `matters`.
    pub kind: String,
    pub version: u32,
    pub effective_from: NaiveDate,
    pub published_at: DateTime<Utc>,
    /// The list's items as published (personnel items cut to their public fields).
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
}

/// A stored list version and the envelope it came in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListRecord {
    pub list: PublishedList,
    pub envelope: Uuid,
}

/// The key of a version's record.
pub fn key(agency: &str, kind: &str, version: u32) -> String {
    format!("list:{agency}:{kind}:{version}")
}

/// Parses the `data` of a `list_publication` envelope.
pub fn parse(
    envelope: Uuid,
    data: &Value,
    place: impl Fn(&str) -> String,
    occurred: DateTime<Utc>,
) -> Result<Change, Skip> {
    let kind = data
        .get("kind")
        .and_then(Value::as_str)
        .and_then(ListKind::parse)
        .ok_or_else(|| Skip::Malformed("list_publication without a known kind".into()))?;
    let version = data
        .get("version")
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v > 0)
        .ok_or_else(|| Skip::Malformed("list_publication without version".into()))?;
    let effective_from = data
        .get("effectiveFrom")
        .and_then(Value::as_str)
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .ok_or_else(|| Skip::Malformed("list_publication without effectiveFrom".into()))?;
    let published_at = data
        .get("publishedAt")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or(occurred, |t| t.with_timezone(&Utc));
    let mut items: Vec<Value> = data
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if kind == ListKind::Personnel {
        for item in &mut items {
            let kept: Map<String, Value> = item
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| PERSONNEL_FIELDS.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            *item = Value::Object(kept);
        }
    }
    Ok(Change::List {
        envelope,
        list: PublishedList {
            agency: place("agency"),
            city: place("city"),
            county: place("county"),
            kind: kind.as_str().into(),
            version,
            effective_from,
            published_at,
            items,
        },
    })
}

/// Every published version of an agency's lists.
pub fn versions(index: &SearchIndex, agency: &str) -> Result<Vec<PublishedList>, IndexError> {
    let f = &index.fields;
    let term = |field, value: &str| -> Box<dyn tantivy::query::Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, value),
            IndexRecordOption::Basic,
        ))
    };
    let query = BooleanQuery::new(vec![
        (Occur::Must, term(f.kind, KIND_LIST)),
        (Occur::Must, term(f.agency, agency)),
    ]);
    let searcher = index.reader.searcher();
    let hits = searcher.search(&query, &TopDocs::with_limit(2_000).order_by_score())?;
    let mut out = Vec::new();
    for (_, a) in hits {
        let doc: TantivyDocument = searcher.doc(a)?;
        if let Stored::List(r) = index.stored_of(&doc)? {
            out.push(r.list);
        }
    }
    out.sort_by(|a, b| (&a.kind, a.version).cmp(&(&b.kind, b.version)));
    Ok(out)
}

/// One kind's versions, as shown: the one in force on the date, and all of them with
/// the period each was in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KindView {
    /// List kind code, e.g. `matters`.
    pub kind: String,
    /// The kind's Chinese name.
    #[schema(value_type = String)]
    pub name: &'static str,
    /// The version in force on the date (null: none yet).
    #[schema(required)]
    pub effective: Option<PublishedList>,
    /// Every version with the period it was in force.
    pub versions: Vec<VersionPeriod>,
}

/// One version of a list and the period it was in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionPeriod {
    pub version: u32,
    pub effective_from: NaiveDate,
    /// The day the next version took over, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_on: Option<NaiveDate>,
}

/// Groups versions by kind (in [`ListKind::ALL`] order) with the one in force on `on`.
pub fn on_date(all: &[PublishedList], on: NaiveDate) -> Vec<KindView> {
    ListKind::ALL
        .into_iter()
        .filter_map(|k| {
            let mut of: Vec<&PublishedList> = all.iter().filter(|l| l.kind == k.as_str()).collect();
            if of.is_empty() {
                return None;
            }
            of.sort_by_key(|l| (l.effective_from, l.version));
            let effective = of
                .iter()
                .rev()
                .find(|l| l.effective_from <= on)
                .map(|l| (*l).clone());
            let versions = of
                .iter()
                .enumerate()
                .map(|(i, l)| VersionPeriod {
                    version: l.version,
                    effective_from: l.effective_from,
                    superseded_on: of.get(i + 1).map(|n| n.effective_from),
                })
                .collect();
            Some(KindView {
                kind: k.as_str().into(),
                name: k.chinese_name(),
                effective,
                versions,
            })
        })
        .collect()
}

/// The columns shown for items of a kind: (field, heading).
fn columns(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind {
        "subjects" => &[
            ("name", "名称"),
            ("creditCode", "统一社会信用代码"),
            ("categories", "执法类别"),
        ],
        "matters" => &[
            ("code", "编码"),
            ("name", "事项名称"),
            ("category", "类别"),
            ("exercisingSubject", "实施主体"),
            ("legalBasis", "设定依据"),
            ("legalReviewRequired", "法制审核"),
            ("benchmark", "裁量基准"),
        ],
        "supervision_matters" => &[
            ("code", "编码"),
            ("name", "监管事项"),
            ("subject", "监管主体"),
            ("content", "监管内容"),
            ("method", "监管方式"),
            ("legalBasis", "依据"),
        ],
        "random_inspections" => &[
            ("name", "抽查事项"),
            ("inspector", "抽查主体"),
            ("legalBasis", "依据"),
            ("targets", "抽查对象"),
            ("content", "抽查内容"),
            ("ratioPermille", "比例(‰)"),
            ("method", "方式"),
            ("frequency", "频次"),
        ],
        "service_guides" => &[
            ("name", "事项"),
            ("legalBasis", "依据"),
            ("acceptingBody", "受理机构"),
            ("conditions", "条件"),
            ("materials", "材料"),
            ("timeLimit", "时限"),
            ("fees", "收费"),
            ("remedies", "救济途径"),
            ("officeHours", "办公时间"),
            ("address", "地址"),
            ("phone", "电话"),
        ],
        "personnel" => &[
            ("name", "姓名"),
            ("unit", "单位"),
            ("position", "职务"),
            ("certificateNumber", "执法证号"),
            ("categories", "执法类别"),
            ("region", "执法区域"),
        ],
        _ => &[],
    }
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => if *b { "需要" } else { "否" }.into(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => crate::labels::category_zh(s),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("、"),
        Some(Value::Object(o)) if o.contains_key("levels") => benchmark_text(o),
        Some(other) => other.to_string(),
    }
}

fn benchmark_text(b: &Map<String, Value>) -> String {
    b.get("levels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|l| {
            let level = match l.get("level").and_then(Value::as_str).unwrap_or("") {
                "minor" => "轻微",
                "general" => "一般",
                "serious" => "严重",
                "especially_serious" => "特别严重",
                other => other,
            };
            let kind = l.get("penaltyKind").and_then(Value::as_str).unwrap_or("");
            let range = match (l.get("minYuan"), l.get("maxYuan")) {
                (Some(a), Some(b)) => format!("{a}–{b}元"),
                _ => String::new(),
            };
            format!("{level}：{kind}{range}")
        })
        .collect::<Vec<_>>()
        .join("；")
}

/// The 事前公开 section of an agency's page.
pub fn section_html(views: &[KindView], on: NaiveDate) -> String {
    use crate::web::html::esc;
    use std::fmt::Write;
    let mut s = String::from(
        "<section aria-labelledby=\"prepublication\"><h2 id=\"prepublication\">事前公开</h2>\n",
    );
    if views.is_empty() {
        s.push_str("<p>尚未公开经审核的清单。</p>\n</section>\n");
        return s;
    }
    for v in views {
        let _ = writeln!(s, "<h3>{}</h3>", esc(v.name));
        match &v.effective {
            None => {
                let _ = writeln!(s, "<p>{on} 无施行中的版本。</p>");
            }
            Some(l) => {
                let _ = writeln!(
                    s,
                    "<p class=\"list-version\">第 {} 版，自 {} 起施行</p>",
                    l.version, l.effective_from
                );
                let cols = columns(&l.kind);
                let _ = write!(
                    s,
                    "<table><caption>{} 第 {} 版</caption>\n<thead><tr>",
                    esc(v.name),
                    l.version
                );
                for (_, h) in cols {
                    let _ = write!(s, "<th scope=\"col\">{}</th>", esc(h));
                }
                s.push_str("</tr></thead>\n<tbody>\n");
                for item in &l.items {
                    s.push_str("<tr>");
                    for (f, _) in cols {
                        let _ = write!(s, "<td>{}</td>", esc(&cell(item.get(*f))));
                    }
                    s.push_str("</tr>\n");
                }
                s.push_str("</tbody></table>\n");
            }
        }
        if v.versions.len() > 1 {
            s.push_str("<ul class=\"list-history\">");
            for p in &v.versions {
                let until = p
                    .superseded_on
                    .map(|d| format!("，{d} 起被替代"))
                    .unwrap_or_default();
                let _ = write!(
                    s,
                    "<li><a href=\"?on={}\">第 {} 版</a>：自 {} 起施行{}</li>",
                    p.effective_from, p.version, p.effective_from, until
                );
            }
            s.push_str("</ul>\n");
        }
    }
    s.push_str("</section>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(version: u32, from: &str, items: Value, kind: &str) -> PublishedList {
        let data = json!({"kind": kind, "version": version, "effectiveFrom": from,
            "publishedAt": "2026-03-01T00:00:00Z", "items": items});
        match parse(Uuid::from_u128(1), &data, |k| k.to_string(), Utc::now()).unwrap() {
            Change::List { list, .. } => list,
            _ => unreachable!(),
        }
    }

    #[test]
    fn personnel_items_are_cut_to_the_public_fields() {
        let l = change(
            1,
            "2026-03-01",
            json!([{"name": "赵一", "unit": "一队", "position": "", "certificateNumber": "C1",
                    "categories": ["penalty"], "region": "沈阳市", "idNumber": "21010219900101123X",
                    "phone": "13812345678"}]),
            "personnel",
        );
        let keys: Vec<_> = l.items[0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 6, "{keys:?}");
        assert!(!keys.iter().any(|k| k == "idNumber" || k == "phone"));
    }

    #[test]
    fn the_version_in_force_is_chosen_by_date_and_history_kept() {
        let all = [
            change(1, "2026-03-01", json!([{"name": "v1"}]), "service_guides"),
            change(2, "2026-04-01", json!([{"name": "v2"}]), "service_guides"),
        ];
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(on_date(&all, d("2026-02-28"))[0].effective.is_none());
        assert_eq!(
            on_date(&all, d("2026-03-31"))[0]
                .effective
                .as_ref()
                .unwrap()
                .version,
            1
        );
        let v = &on_date(&all, d("2026-04-01"))[0];
        assert_eq!(v.effective.as_ref().unwrap().version, 2);
        assert_eq!(v.versions[0].superseded_on, Some(d("2026-04-01")));
        let html = section_html(&on_date(&all, d("2026-03-05")), d("2026-03-05"));
        assert!(html.contains("第 1 版，自 2026-03-01 起施行"), "{html}");
        assert!(html.contains("href=\"?on=2026-04-01\""), "{html}");
    }

    #[test]
    fn unknown_kinds_and_missing_dates_are_skipped() {
        for data in [
            json!({"kind": "rockets", "version": 1, "effectiveFrom": "2026-03-01"}),
            json!({"kind": "matters", "effectiveFrom": "2026-03-01"}),
            json!({"kind": "matters", "version": 1}),
        ] {
            assert!(matches!(
                parse(Uuid::nil(), &data, |k| k.to_string(), Utc::now()),
                Err(Skip::Malformed(_))
            ));
        }
    }
}
