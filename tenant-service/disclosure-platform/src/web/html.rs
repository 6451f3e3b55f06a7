//! Server-rendered pages in Chinese. They work without JavaScript; every form control has
//! a label, every page one `h1` and a skip link, and links are plain links, so a keyboard
//! and a screen reader reach everything.

use std::fmt::Write;

use axum::extract::{Path, RawQuery, State};
use axum::response::Html;

use super::params::Params;
use super::problem::{HtmlProblem, Problem};
use super::{AppState, DecisionView, SEARCH_PARAMS, decision, decision_query, search};
use crate::labels;
use crate::search::{Cursor, Page, Total};

type PageResult = Result<Html<String>, HtmlProblem>;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn url_encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|s| s.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

const STYLE: &str = "body{font-family:'Noto Sans CJK SC','Noto Sans SC',sans-serif;margin:0;color:#1a1a1a;line-height:1.6}\
header,main,footer{max-width:60rem;margin:0 auto;padding:0 1rem}\
header{border-bottom:3px solid #b22222}header a{margin-right:1rem}\
a{color:#0b4f9c}a:focus,input:focus,select:focus,button:focus{outline:3px solid #f9a825;outline-offset:2px}\
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}\
form.search{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:.5rem 1rem;margin:1rem 0}\
form.search label{display:flex;flex-direction:column;font-weight:600}\
input,select,button{font:inherit;padding:.3rem}button{background:#b22222;color:#fff;border:0;padding:.4rem 1.2rem}\
ol.results>li{border-bottom:1px solid #ddd;padding:.5rem 0}dl.meta{display:grid;grid-template-columns:8rem 1fr;gap:.2rem 1rem}\
dl.meta dt{color:#555}.notice{border-left:4px solid #b22222;background:#fff5f5;padding:.5rem 1rem}\
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.2rem .6rem;text-align:right}th[scope=row]{text-align:left}";

/// The page frame.
pub fn layout(title: &str, site: &str, body: &str) -> String {
    let site = if site.is_empty() {
        "行政执法信息公示平台"
    } else {
        site
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t} - {s}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <a class=\"skip\" href=\"#main\">跳到正文</a>\n\
         <header><p><strong>{s}</strong></p>\n<nav aria-label=\"主导航\"><a href=\"/\">公示检索</a>\
         <a href=\"/agencies\">执法机关名录</a><a href=\"/withdrawals\">撤回公告</a></nav></header>\n\
         <main id=\"main\">\n{body}</main>\n\
         <footer><p>本平台公示的信息已依法隐去个人隐私等内容。</p></footer>\n</body>\n</html>\n",
        t = esc(title),
        s = esc(site),
    )
}

fn page(st: &AppState, title: &str, body: &str) -> Html<String> {
    Html(layout(title, &st.web.title, body))
}

fn options(selected: Option<&str>, items: &[(String, String)], any: &str) -> String {
    let mut out = format!("<option value=\"\">{}</option>", esc(any));
    for (code, name) in items {
        let sel = if selected == Some(code.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<option value=\"{}\"{sel}>{}</option>",
            esc(code),
            esc(name)
        );
    }
    out
}

fn search_form(st: &AppState, p: &Params) -> String {
    let v = |name: &str| esc(p.get(name).unwrap_or_default());
    let places = st.directory.by_place();
    let cities: Vec<(String, String)> = places
        .keys()
        .map(|c| (c.clone(), st.directory.place_name(c)))
        .collect();
    let counties: Vec<(String, String)> = places
        .values()
        .flat_map(|m| m.keys().flatten())
        .map(|c| (c.clone(), st.directory.place_name(c)))
        .collect();
    let categories: Vec<(String, String)> = labels::category_codes()
        .map(|c| (c.to_string(), labels::category_zh(c)))
        .collect();
    let procedures: Vec<(String, String)> = labels::PROCEDURES
        .iter()
        .map(|(c, n)| (c.to_string(), n.to_string()))
        .collect();
    let sorts = [
        ("newest".to_string(), "最新在前".to_string()),
        ("relevance".to_string(), "相关度".to_string()),
    ];
    format!(
        "<form class=\"search\" method=\"get\" action=\"/\" role=\"search\" aria-label=\"公示检索\">\n\
         <label for=\"q\">关键词<input id=\"q\" name=\"q\" type=\"search\" maxlength=\"100\" value=\"{q}\"></label>\n\
         <label for=\"city\">市<select id=\"city\" name=\"city\">{city}</select></label>\n\
         <label for=\"county\">县（区）<select id=\"county\" name=\"county\">{county}</select></label>\n\
         <label for=\"agency\">执法机关（名称或统一社会信用代码）<input id=\"agency\" name=\"agency\" value=\"{agency}\"></label>\n\
         <label for=\"category\">执法类别<select id=\"category\" name=\"category\">{category}</select></label>\n\
         <label for=\"procedure\">程序<select id=\"procedure\" name=\"procedure\">{procedure}</select></label>\n\
         <label for=\"from\">决定日期自<input id=\"from\" name=\"from\" type=\"date\" value=\"{from}\"></label>\n\
         <label for=\"to\">决定日期至<input id=\"to\" name=\"to\" type=\"date\" value=\"{to}\"></label>\n\
         <label for=\"party\">相对人统一社会信用代码<input id=\"party\" name=\"party\" value=\"{party}\"></label>\n\
         <label for=\"documentNumber\">决定书文号<input id=\"documentNumber\" name=\"documentNumber\" value=\"{doc}\"></label>\n\
         <label for=\"sort\">排序<select id=\"sort\" name=\"sort\">{sort}</select></label>\n\
         <div><button type=\"submit\">检索</button></div>\n</form>\n",
        q = v("q"),
        city = options(p.get("city"), &cities, "全部"),
        county = options(p.get("county"), &counties, "全部"),
        agency = v("agency"),
        category = options(p.get("category"), &categories, "全部"),
        procedure = options(p.get("procedure"), &procedures, "全部"),
        from = v("from"),
        to = v("to"),
        party = v("party"),
        doc = v("documentNumber"),
        sort = options(p.get("sort"), &sorts, "默认（最新在前）"),
    )
}

fn snippet(s: &str, chars: usize) -> String {
    let mut out: String = s.chars().take(chars).collect();
    if s.chars().count() > chars {
        out.push('…');
    }
    out
}

fn place_text(v: &DecisionView) -> String {
    match &v.county {
        Some(c) => format!("{} {}", v.city.name, c.name),
        None => v.city.name.clone(),
    }
}

fn result_list(st: &AppState, page: &Page<crate::event::DecisionRecord>) -> String {
    let mut out = String::from("<ol class=\"results\">\n");
    for r in &page.items {
        let v = st.view(r);
        let _ = write!(
            out,
            "<li><h3><a href=\"{url}\">{doc}</a></h3>\n<dl class=\"meta\">\
             <dt>执法机关</dt><dd>{agency}</dd><dt>地区</dt><dd>{place}</dd>\
             <dt>执法类别</dt><dd>{cat}</dd><dt>决定日期</dt><dd>{date}</dd>\
             <dt>相对人</dt><dd>{target}</dd></dl>\n<p>{facts}</p></li>\n",
            url = esc(&v.url),
            doc = esc(&v.document_number),
            agency = esc(&v.agency.display_name),
            place = esc(&place_text(&v)),
            cat = esc(&v
                .category
                .as_ref()
                .map(|c| c.name.clone())
                .unwrap_or_default()),
            date = v.decided_on.map(|d| d.to_string()).unwrap_or_default(),
            target = esc(v.target.as_deref().unwrap_or_default()),
            facts = esc(&snippet(v.facts.as_deref().unwrap_or_default(), 120)),
        );
    }
    out.push_str("</ol>\n");
    out
}

fn next_link(path: &str, p: &Params, next: Option<Cursor>) -> String {
    let Some(next) = next else {
        return String::new();
    };
    let mut pairs: Vec<(&str, String)> = p
        .pairs()
        .filter(|(n, _)| *n != "cursor")
        .map(|(n, v)| (n, v.to_string()))
        .collect();
    pairs.push(("cursor", next.encode()));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!(
        "<nav aria-label=\"翻页\"><p><a rel=\"next\" href=\"{path}?{}\">下一页</a></p></nav>\n",
        esc(&query)
    )
}

/// The number of results: exact, or "more than" past the counting limit.
fn total_line(total: Total) -> String {
    match total {
        Total::Exact(n) => format!("<p role=\"status\">共 {n} 条</p>\n"),
        Total::MoreThan(n) => {
            format!("<p role=\"status\">超过 {n} 条，可添加条件缩小范围</p>\n")
        }
    }
}

pub async fn home(State(st): State<AppState>, RawQuery(raw): RawQuery) -> PageResult {
    let p = Params::parse(raw.as_deref(), &SEARCH_PARAMS)?;
    let query = decision_query(&st, &p)?;
    let result = search(&st, query).await?;
    let mut body = format!("<h1>{}</h1>\n", esc(&st.web.title));
    body.push_str(&search_form(&st, &p));
    body.push_str("<section aria-labelledby=\"results\">\n<h2 id=\"results\">公示结果</h2>\n");
    if let Some(total) = result.total {
        body.push_str(&total_line(total));
    }
    if result.items.is_empty() {
        body.push_str("<p>没有符合条件的公示信息。</p>\n");
    } else {
        body.push_str(&result_list(&st, &result));
    }
    body.push_str(&next_link("/", &p, result.next));
    body.push_str("</section>\n");
    Ok(page(&st, "公示检索", &body))
}

fn meta_row(out: &mut String, label: &str, value: &str) {
    if !value.is_empty() {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(label), esc(value));
    }
}

/// The withdrawal notice; `heading` is the notice's own heading (HTML).
fn notice_html(v: &DecisionView, heading: &str) -> String {
    let Some(w) = &v.withdrawal else {
        return String::new();
    };
    format!(
        "<section class=\"notice\">\n<h2>{heading}</h2>\n\
         <p>{agency}于 {date} 撤回决定书 {doc} 的公示。</p>\n<p>撤回原因：{reason}</p>\n</section>\n",
        agency = esc(&v.agency.display_name),
        date = w
            .withdrawn_at
            .with_timezone(&china())
            .format("%Y年%m月%d日"),
        doc = esc(&v.document_number),
        reason = esc(w.reason.as_deref().unwrap_or("（未说明）")),
    )
}

fn china() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

pub async fn decision_page(State(st): State<AppState>, Path(id): Path<String>) -> PageResult {
    let r = decision(&st, &id).await?;
    let v = st.view(&r);
    let mut body = format!("<h1>{}</h1>\n", esc(&v.document_number));
    body.push_str(&notice_html(&v, "撤回公告"));
    body.push_str("<dl class=\"meta\">");
    meta_row(&mut body, "执法机关", &v.agency.display_name);
    meta_row(
        &mut body,
        "机关统一社会信用代码",
        v.agency.credit_code.as_deref().unwrap_or_default(),
    );
    meta_row(&mut body, "地区", &place_text(&v));
    meta_row(
        &mut body,
        "执法类别",
        &v.category
            .as_ref()
            .map(|c| c.name.clone())
            .unwrap_or_default(),
    );
    if v.withdrawal.is_none() {
        meta_row(
            &mut body,
            "程序",
            &v.procedure
                .as_ref()
                .map(|c| c.name.clone())
                .unwrap_or_default(),
        );
        meta_row(&mut body, "相对人", v.target.as_deref().unwrap_or_default());
        meta_row(
            &mut body,
            "相对人代码",
            v.target_code.as_deref().unwrap_or_default(),
        );
        meta_row(
            &mut body,
            "决定日期",
            &v.decided_on.map(|d| d.to_string()).unwrap_or_default(),
        );
        meta_row(
            &mut body,
            "公示时间",
            &v.published_at
                .map(|t| {
                    t.with_timezone(&china())
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .unwrap_or_default(),
        );
        if v.version.is_some_and(|n| n > 1) {
            meta_row(
                &mut body,
                "更正",
                v.correction_reason.as_deref().unwrap_or("已更正"),
            );
        }
    }
    body.push_str("</dl>\n");
    if v.withdrawal.is_none() {
        for (h, text) in [
            ("违法事实（事由）", &v.facts),
            ("法律依据", &v.legal_basis),
            ("处理结果", &v.conclusion),
        ] {
            let _ = write!(
                body,
                "<h2>{h}</h2>\n<p>{}</p>\n",
                esc(text.as_deref().unwrap_or_default())
            );
        }
    }
    let _ = writeln!(
        body,
        "<p><a href=\"/agencies/{}\">查看{}的全部公示</a></p>",
        esc(&url_encode(&v.agency.name)),
        esc(&v.agency.display_name)
    );
    Ok(page(&st, &v.document_number, &body))
}

pub async fn withdrawals_page(State(st): State<AppState>, RawQuery(raw): RawQuery) -> PageResult {
    let p = Params::parse(raw.as_deref(), &["cursor", "limit"])?;
    let (cursor, limit) = (p.cursor()?, p.limit()?);
    let result = st
        .timed("withdrawals", move |st| {
            Ok(crate::search::withdrawals(&st.index, None, cursor, limit)?)
        })
        .await?;
    let mut body = String::from(
        "<h1>撤回公告</h1>\n<p>以下决定因被撤销、确认违法或无效等原因，已撤回公示。</p>\n<ol class=\"results\">\n",
    );
    for r in &result.items {
        let v = st.view(r);
        let heading = format!(
            "<a href=\"{}\">{}</a>",
            esc(&v.url),
            esc(&v.document_number)
        );
        let _ = writeln!(body, "<li>{}</li>", notice_html(&v, &heading));
    }
    body.push_str("</ol>\n");
    if result.items.is_empty() {
        body.push_str("<p>暂无撤回公告。</p>\n");
    }
    body.push_str(&next_link("/withdrawals", &p, result.next));
    Ok(page(&st, "撤回公告", &body))
}

pub async fn directory_page(State(st): State<AppState>, RawQuery(raw): RawQuery) -> PageResult {
    Params::parse(raw.as_deref(), &[])?;
    let mut body = String::from("<h1>执法机关名录</h1>\n");
    let places = st.directory.by_place();
    if places.is_empty() {
        body.push_str("<p>暂无执法机关信息。</p>\n");
    }
    for (city, counties) in &places {
        let _ = writeln!(
            body,
            "<section><h2>{}</h2>",
            esc(&st.directory.place_name(city))
        );
        for (county, agencies) in counties {
            let heading = match county {
                Some(c) => st.directory.place_name(c),
                None if st.directory.is_province(city) => "省级机关".into(),
                None => "市级机关".into(),
            };
            let _ = write!(body, "<h3>{}</h3>\n<ul>\n", esc(&heading));
            for a in agencies {
                let _ = writeln!(
                    body,
                    "<li><a href=\"/agencies/{}\">{}</a>（统一社会信用代码 {}）</li>",
                    esc(&url_encode(&a.name)),
                    esc(&a.display_name),
                    esc(&a.credit_code)
                );
            }
            body.push_str("</ul>\n");
        }
        body.push_str("</section>\n");
    }
    Ok(page(&st, "执法机关名录", &body))
}

pub async fn agency_page(
    State(st): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let p = Params::parse(raw.as_deref(), &["cursor", "limit", "on"])?;
    let on = p
        .date("on")?
        .unwrap_or_else(|| sanxiang_crds::domain::Clock::system().today());
    let entry = st.directory.agency(&name);
    let query = crate::search::DecisionQuery {
        agencies: Some(vec![name.clone()]),
        cursor: p.cursor()?,
        limit: p.limit()?,
        natural_person_cutoff: st.natural_person_cutoff(),
        count_limit: Some(st.web.count_limit),
        ..Default::default()
    };
    let result = search(&st, query).await?;
    let agency = name.clone();
    let stats = st
        .timed("agency_statistics", move |st| {
            Ok(crate::search::statistics(&st.index, &agency)?)
        })
        .await?;
    let agency = name.clone();
    let (lists, inspections) = st
        .timed("agency_lists", move |st| {
            Ok((
                crate::prepublication::versions(&st.index, &agency)?,
                crate::inspection::of_agency(&st.index, &agency, super::api::INSPECTIONS_SHOWN)?,
            ))
        })
        .await?;
    if entry.is_none()
        && result.items.is_empty()
        && stats.is_empty()
        && lists.is_empty()
        && inspections.is_empty()
    {
        return Err(Problem::not_found("没有这个执法机关。").into());
    }
    let display = entry
        .as_ref()
        .map_or(name.clone(), |a| a.display_name.clone());
    let mut body = format!("<h1>{}</h1>\n<dl class=\"meta\">", esc(&display));
    if let Some(a) = &entry {
        meta_row(&mut body, "统一社会信用代码", &a.credit_code);
        let (city, county) = st.directory.city_and_county(&a.jurisdiction);
        let place = match county {
            Some(c) => format!(
                "{} {}",
                st.directory.place_name(&city),
                st.directory.place_name(&c)
            ),
            None => st.directory.place_name(&city),
        };
        meta_row(&mut body, "所在地区", &place);
        let cats: Vec<String> = a
            .categories
            .iter()
            .map(|c| labels::category_zh(c))
            .collect();
        meta_row(&mut body, "执法类别", &cats.join("、"));
    }
    body.push_str("</dl>\n");
    body.push_str(&crate::prepublication::section_html(
        &crate::prepublication::on_date(&lists, on),
        on,
    ));
    body.push_str(&crate::inspection::section_html(&crate::inspection::views(
        &inspections,
        &lists,
    )));
    body.push_str("<section aria-labelledby=\"decisions\"><h2 id=\"decisions\">公示决定</h2>\n");
    if let Some(total) = result.total {
        body.push_str(&total_line(total));
    }
    body.push_str(&result_list(&st, &result));
    body.push_str(&next_link(
        &format!("/agencies/{}", url_encode(&name)),
        &p,
        result.next,
    ));
    body.push_str(
        "</section>\n<section aria-labelledby=\"stats\"><h2 id=\"stats\">年度统计</h2>\n",
    );
    if stats.is_empty() {
        body.push_str("<p>尚未公布年度统计。</p>\n");
    }
    for report in &stats {
        let _ = write!(
            body,
            "<table><caption>{}年度行政执法数据</caption>\n<thead><tr><th scope=\"col\">执法类别</th>",
            report.year
        );
        for (_, zh) in labels::FIGURES {
            let _ = write!(body, "<th scope=\"col\">{zh}</th>");
        }
        body.push_str("</tr></thead>\n<tbody>\n");
        if let Some(figures) = report.figures.as_object() {
            for (code, row) in figures {
                let _ = write!(
                    body,
                    "<tr><th scope=\"row\">{}</th>",
                    esc(&labels::category_zh(code))
                );
                for (key, _) in labels::FIGURES {
                    let n = row
                        .get(key)
                        .and_then(serde_json::Value::as_i64)
                        .unwrap_or(0);
                    let _ = write!(body, "<td>{n}</td>");
                }
                body.push_str("</tr>\n");
            }
        }
        body.push_str("</tbody></table>\n");
    }
    body.push_str("</section>\n");
    Ok(page(&st, &display, &body))
}

pub async fn fallback(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        // JSON clients get JSON even for unknown paths.
        return super::problem::JsonProblem(Problem::not_found("没有这个接口。")).into_response();
    }
    HtmlProblem(Problem::not_found("没有这个页面。")).into_response()
}
