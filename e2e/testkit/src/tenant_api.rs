//! Driving the tenant service's API as agency staff and their reviewers would: one plain
//! HTTP call, and the one helper every test, benchmark and the demo use to give an agency
//! the matter list (执法事项清单) it needs before it can create actions and decisions.
//!
//! Why here: the tenant service refuses actions and decisions until the agency's matter
//! list is in force (drafted by the agency admin, approved by the same-level justice
//! bureau, published). The tenant service's tests, the disclosure platform's, the
//! end-to-end tests and `make up`'s demo all start from that, so the list and the steps
//! are written once. The calls are blocking (std `TcpStream`, HTTP/1.0) so that the
//! synchronous demo can use them; async callers wrap them in `spawn_blocking`.

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::token;

/// One call to the tenant service on 127.0.0.1:`port`: the status and the JSON body
/// (`null` when there is none).
pub fn call(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Result<(u16, Value)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("malformed HTTP response")?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// The sample matters, one per category (code, category, name), plus [`REVIEWED_PENALTY`].
pub const SAMPLE_MATTERS: [(&str, &str, &str); 9] = [
    ("XK-0001", "licensing", "食品经营许可"),
    ("CF-0001", "penalty", "对销售不符合食品安全标准的食品的处罚"),
    ("QZ-0001", "coercion", "查封、扣押不符合食品安全标准的食品"),
    ("ZS-0001", "expropriation", "征收排污费"),
    ("ZY-0001", "requisition", "应急征用物资"),
    ("JC-0001", "inspection", "食品经营者监督检查"),
    ("SF-0001", "fee", "收取证照工本费"),
    ("CJ-0001", "adjudication", "商标侵权赔偿数额裁决"),
    ("QR-0001", "confirmation", "食品生产经营者信用等级确认"),
];

/// A penalty matter whose decisions always need an approving legal review (the matter
/// list is the 重大执法决定法制审核目录).
pub const REVIEWED_PENALTY: &str = "M-001";

/// The sample matter of `category` (a category code such as `penalty`).
pub fn sample_matter(category: &str) -> &'static str {
    SAMPLE_MATTERS
        .iter()
        .find(|m| m.1 == category)
        .map_or("CF-0001", |m| m.0)
}

/// A small matter list for an agency named `subject`: the sample matter of each of
/// `categories` (category codes; empty: every category), both procedures, and
/// [`REVIEWED_PENALTY`] when penalties are among them.
pub fn sample_matters(subject: &str, categories: &[&str]) -> Value {
    let held = |c: &str| categories.is_empty() || categories.contains(&c);
    let mut items: Vec<Value> = SAMPLE_MATTERS
        .iter()
        .filter(|m| held(m.1))
        .map(|(code, category, name)| {
            json!({"code": code, "name": name, "category": category,
                "procedures": ["simple", "general"], "legalBasis": "《中华人民共和国食品安全法》第一百二十四条",
                "exercisingSubject": subject})
        })
        .collect();
    if held("penalty") {
        items.push(
            json!({"code": REVIEWED_PENALTY, "name": "对重大食品安全违法行为的处罚",
            "category": "penalty", "procedures": ["general"],
            "legalBasis": "《中华人民共和国食品安全法》第一百二十三条",
            "exercisingSubject": subject, "legalReviewRequired": true}),
        );
    }
    json!(items)
}

/// Who takes the steps of a list's publication.
pub struct ListSteps<'a> {
    pub port: u16,
    pub agency: &'a str,
    /// The agency admin's token (drafts, submits, publishes).
    pub admin: &'a str,
    /// The reviewer's token: the same-level justice bureau (`county_supervisor` of a
    /// county agency's county, `city_supervisor` of a city-level agency's city).
    pub reviewer: &'a str,
}

impl ListSteps<'_> {
    /// [`publish_list`] over [`call`] on 127.0.0.1:`port`, blocking.
    pub fn publish(
        &self,
        kind: &str,
        items: Option<&Value>,
        effective_from: Option<&str>,
    ) -> Result<Value> {
        let port = self.port;
        futures::executor::block_on(publish_list(
            |method, path, token, body| {
                std::future::ready(call(port, method, &path, &token, body.as_ref()))
            },
            self.agency,
            kind,
            (self.admin, self.reviewer),
            items,
            effective_from,
        ))
    }
}

/// Puts a version of list `kind` of `agency` in force, over any transport: `send(method,
/// path, token, body)` answers (status, JSON body) — [`call`] on a port, or a test
/// harness's in-process router. The admin of `(admin, reviewer)` drafts it (with `items`,
/// none for derived lists) and submits it, the reviewer approves it, the admin publishes it
/// from `effective_from` (default: the service's today); returns the published version.
pub async fn publish_list<S, Fut>(
    mut send: S,
    agency: &str,
    kind: &str,
    (admin, reviewer): (&str, &str),
    items: Option<&Value>,
    effective_from: Option<&str>,
) -> Result<Value>
where
    S: FnMut(&'static str, String, String, Option<Value>) -> Fut,
    Fut: Future<Output = Result<(u16, Value)>>,
{
    let url = |step: &str| format!("/api/v1/agencies/{agency}/lists/{kind}{step}");
    let draft = items.map(|i| json!({"items": i}));
    let (s, v) = send("POST", url(""), admin.to_string(), draft).await?;
    anyhow::ensure!(s == 201, "draft {kind} list of {agency}: {s} {v}");
    let n = v["version"].as_i64().context("draft without a version")?;
    let approve = json!({"approve": true, "opinion": "同意"});
    let publish = json!({"effectiveFrom": effective_from});
    let mut last = Value::Null;
    for (step, token, body) in [
        ("submit", admin, None),
        ("review", reviewer, Some(approve)),
        ("publish", admin, Some(publish)),
    ] {
        let path = url(&format!("/versions/{n}/{step}"));
        let (s, v) = send("POST", path, token.to_string(), body).await?;
        anyhow::ensure!(s == 200, "{kind} list {step} of {agency}: {s} {v}");
        last = v;
    }
    Ok(last)
}

/// Where an agency sits (GB/T 2260 codes; county `-` for a city-level agency).
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub province: &'a str,
    pub city: &'a str,
    pub county: &'a str,
}

impl Place<'_> {
    /// The claims of its lists' reviewer, the same-level justice bureau:
    /// `county_supervisor` of its county, `city_supervisor` of its city, or
    /// `province_supervisor` of its province for a province-level agency (city `-`).
    pub fn justice_bureau(&self) -> Value {
        if self.city == sanxiang_domain::NO_CITY {
            return json!({"sub": "justice-bureau", "province": self.province,
                "role": "province_supervisor"});
        }
        let mut c = json!({"sub": "justice-bureau", "province": self.province, "city": self.city});
        if self.county == sanxiang_domain::NO_COUNTY {
            c["role"] = json!("city_supervisor");
        } else {
            c["role"] = json!("county_supervisor");
            c["county"] = json!(self.county);
        }
        c
    }
}

/// Publishes a matter list for `agency` on a tenant service at 127.0.0.1:`port` that
/// accepts HS256 tokens signed with `secret`: `items`, or [`sample_matters`] (every
/// category); the agency admin drafts, submits and publishes (from `effective_from`,
/// default the service's today), the same-level justice bureau of `place` approves.
pub fn publish_matters(
    port: u16,
    secret: &[u8],
    agency: &str,
    place: Place<'_>,
    items: Option<Value>,
    effective_from: Option<&str>,
) -> Result<Value> {
    let admin = token::hs256(
        secret,
        &json!({"sub": "agency-admin", "role": "agency_admin", "agency": agency}),
    )?;
    let reviewer = token::hs256(secret, &place.justice_bureau())?;
    let items = items.unwrap_or_else(|| sample_matters(&format!("{agency} 执法机关"), &[]));
    ListSteps {
        port,
        agency,
        admin: &admin,
        reviewer: &reviewer,
    }
    .publish("matters", Some(&items), effective_from)
}
