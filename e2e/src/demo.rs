//! The sample province's activity for `make up`: through the tenant service's API (as
//! agency staff would), each sample agency gets officers and a legal reviewer with
//! certificates, an enforcement action with its record (documents and A/V evidence),
//! penalty and licensing decisions in Chinese published for the disclosure platform (some
//! with natural persons as parties), its 2025 annual statistics; Shenyang's market
//! regulator also takes one major decision through legal review, and Tieling county's
//! revokes and withdraws one publication.
//!
//! Idempotent: an agency whose personnel list is not empty is left as it is.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::Platform;
use crate::apps::dev_token;

/// The sample agencies (`e2e/fixtures/sample-province/20-agencies.yaml`): name, short
/// document-number prefix, city.
const AGENCIES: [(&str, &str, &str); 4] = [
    ("shenyang-market", "沈市监", "210100"),
    ("heping-ecology", "沈和环", "210100"),
    ("tieling-county-market", "铁县市监", "211200"),
    ("anshan-approval", "鞍审批", "210300"),
];

fn call(
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

struct Agency<'a> {
    p: &'a Platform,
    port: u16,
    name: &'a str,
    city: &'a str,
}

impl Agency<'_> {
    fn token(&self, role: &str) -> Result<String> {
        dev_token(self.p, Some(self.name), role, Some(self.city))
    }

    fn post(&self, role: &str, path: &str, body: Value) -> Result<Value> {
        let url = format!("/api/v1/agencies/{}{path}", self.name);
        let (s, v) = call(self.port, "POST", &url, &self.token(role)?, Some(&body))?;
        anyhow::ensure!((200..300).contains(&s), "POST {url}: {s} {v}");
        Ok(v)
    }

    /// Adds a person; `subject` links them to the sign-in subject of their tokens (the
    /// steps they take are stored under their personnel id).
    fn person(&self, name: &str, role: &str, cert: &str, subject: Option<&str>) -> Result<String> {
        let v = self.post(
            "agency_admin",
            "/personnel",
            json!({"name": name, "unit": "执法一队", "role": role, "certificateNumber": cert,
                   "categories": ["penalty", "licensing", "coercion", "inspection"], "region": "辽宁省",
                   "validFrom": "2024-01-01", "validUntil": "2029-12-31",
                   "legalQualification": role == "legal_reviewer", "subject": subject}),
        )?;
        Ok(v["id"].as_str().unwrap_or_default().to_string())
    }

    /// Drafts, issues and publishes; returns the decision id.
    fn decide(&self, body: Value, decided_on: &str, publish: bool) -> Result<String> {
        let v = self.post("officer", "/decisions", body)?;
        let id = v["id"].as_str().unwrap_or_default().to_string();
        self.post(
            "officer",
            &format!("/decisions/{id}/issue"),
            json!({"decidedOn": decided_on}),
        )?;
        if publish {
            self.publish(&id)?;
        }
        Ok(id)
    }

    /// Publication is requested by the officer and approved by a second person, the
    /// agency's administrator (公开信息审核).
    fn publish(&self, id: &str) -> Result<()> {
        self.post("officer", &format!("/decisions/{id}/publish"), json!({}))?;
        self.post(
            "agency_admin",
            &format!("/decisions/{id}/publication/approve"),
            json!({}),
        )?;
        Ok(())
    }
}

impl Agency<'_> {
    /// Drafts a list version (事前公开), submits it, has the city's justice bureau approve
    /// it and publishes it from today: the portal's agency page shows it with its version.
    fn publish_list(&self, kind: &str) -> Result<()> {
        let url = |step: &str| format!("/api/v1/agencies/{}/lists/{kind}{step}", self.name);
        let admin = self.token("agency_admin")?;
        let supervisor = dev_token(self.p, None, "city_supervisor", Some(self.city))?;
        let (s, v) = call(self.port, "POST", &url(""), &admin, None)?;
        anyhow::ensure!(s == 201, "draft {kind} list: {s} {v}");
        let n = v["version"].as_i64().context("draft without a version")?;
        let approve = json!({"approve": true, "opinion": "同意"});
        let publish = json!({"effectiveFrom": null});
        for (step, token, body) in [
            ("submit", &admin, None),
            ("review", &supervisor, Some(&approve)),
            ("publish", &admin, Some(&publish)),
        ] {
            let (s, v) = call(
                self.port,
                "POST",
                &url(&format!("/versions/{n}/{step}")),
                token,
                body,
            )?;
            anyhow::ensure!(s == 200, "{kind} list {step}: {s} {v}");
        }
        Ok(())
    }
}

fn person_penalty(doc: &str, name: &str, id_number: &str, act: &str, fine: u32) -> Value {
    json!({
        "documentNumber": doc, "category": "penalty", "procedure": "general",
        "party": {"kind": "natural_person", "name": name, "idNumber": id_number, "phone": "13904001234",
                  "address": "辽宁省某市某区某街道8号"},
        "otherPersons": ["王小红"],
        "facts": format!("{name}（身份证号{id_number}，电话13904001234）{act}，证人王小红在场，有现场检查笔录和照片为证。"),
        "legalBasis": "《中华人民共和国食品安全法》第一百二十四条",
        "conclusion": format!("罚款人民币{fine}元")
    })
}

fn org_decision(
    doc: &str,
    category: &str,
    name: &str,
    code: &str,
    facts: &str,
    basis: &str,
    conclusion: &str,
) -> Value {
    json!({
        "documentNumber": doc, "category": category, "procedure": "general",
        "party": {"kind": "organisation", "name": name, "idNumber": code},
        "facts": facts, "legalBasis": basis, "conclusion": conclusion
    })
}

fn credit(first17: &str) -> String {
    let check = sanxiang_crds::credit_code::check_character(first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// Fills the sample province; waits up to `within` for the tenant service to know each
/// agency (the operator provisions them after `make up` applies the sample province).
pub fn fill(
    p: &Platform,
    tenant_api: u16,
    within: Duration,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    for (name, prefix, city) in AGENCIES {
        let a = Agency {
            p,
            port: tenant_api,
            name,
            city,
        };
        let started = Instant::now();
        let existing = loop {
            let url = format!("/api/v1/agencies/{name}/personnel");
            match call(tenant_api, "GET", &url, &a.token("officer")?, None) {
                Ok((200, v)) => break v["items"].as_array().map_or(0, Vec::len),
                _ if started.elapsed() < within => std::thread::sleep(Duration::from_secs(1)),
                Ok((s, v)) => anyhow::bail!("{name} not served by the tenant service: {s} {v}"),
                Err(e) => return Err(e.context(format!("{name}: tenant service"))),
            }
        };
        if existing > 0 {
            progress(&format!("demo data of {name} already there"));
            continue;
        }
        let o1 = a.person(
            "赵建国",
            "officer",
            &format!("{prefix}-0001"),
            Some("dev-officer"),
        )?;
        let o2 = a.person("钱丽华", "officer", &format!("{prefix}-0002"), None)?;
        // The dev reviewer token's subject (`sanxiang-local token`) is this person.
        let reviewer = a.person(
            "孙法明",
            "legal_reviewer",
            &format!("{prefix}-F001"),
            Some("dev-reviewer"),
        )?;
        let action = a.post(
            "officer",
            "/actions",
            json!({"title": "现场检查并扣押涉嫌过期食品", "category": "coercion", "procedure": "general",
                   "kind": "seizure_detention", "target": "某某超市", "startedOn": "2026-11-20",
                   "officerIds": [o1, o2]}),
        )?;
        let action_id = action["id"].as_str().unwrap_or_default().to_string();
        for entry in [
            json!({"kind": "text", "title": "现场检查笔录", "content": "执法人员出示执法证件，检查货架食品"}),
            json!({"kind": "av", "title": "执法记录仪视频", "mediaSha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}),
            json!({"kind": "text", "title": "查封扣押决定书送达回证", "content": "当事人签收"}),
        ] {
            a.post("officer", &format!("/actions/{action_id}/record"), entry)?;
        }
        let n = |k: u32| format!("{prefix}罚〔2026〕{k}号");
        a.decide(
            person_penalty(
                &n(101),
                "张伟",
                "210102198503152316",
                "销售超过保质期的食品",
                3000,
            ),
            "2026-11-16",
            true,
        )?;
        a.decide(
            person_penalty(
                &n(102),
                "刘洋",
                "210103199007082415",
                "未按规定公示食品经营许可证",
                1000,
            ),
            "2026-11-18",
            true,
        )?;
        a.decide(
            org_decision(
                &n(103),
                "penalty",
                "辽宁某某商贸有限公司",
                &credit("91210100MA0Y12345"),
                "该公司销售标签不符合规定的预包装食品，货值金额人民币八千元。",
                "《中华人民共和国食品安全法》第一百二十五条",
                "没收违法所得，罚款人民币二万元",
            ),
            "2026-11-23",
            true,
        )?;
        a.decide(
            org_decision(
                &format!("{prefix}许〔2026〕31号"),
                "licensing",
                "辽宁某某餐饮管理有限公司",
                &credit("91210100MA0Y23456"),
                "申请食品经营许可，经审查符合法定条件。",
                "《食品经营许可和备案管理办法》第十七条",
                "准予行政许可",
            ),
            "2026-11-25",
            true,
        )?;
        // Decisions of 2025, so the 2025 report has figures.
        a.decide(
            person_penalty(
                &format!("{prefix}罚〔2025〕88号"),
                "陈静",
                "210104198811203326",
                "无证摊贩经营熟食",
                500,
            ),
            "2025-10-15",
            true,
        )?;
        a.post(
            "agency_admin",
            "/statistics/2025",
            json!({"manual": {"penalty": {"decisions": 14, "general": 11, "simple": 3},
                              "licensing": {"decisions": 36, "general": 36, "simple": 0}},
                   "source": "2025年纸质案卷台账（上线前）"}),
        )?;
        if name == "shenyang-market" {
            let mut body = person_penalty(
                &n(120),
                "周强",
                "210105197906250011",
                "生产经营添加非食用物质的食品",
                150000,
            );
            body["majorCriteria"] = json!({"hearingHeld": true});
            let v = a.post("officer", "/decisions", body)?;
            let id = v["id"].as_str().unwrap_or_default().to_string();
            a.post(
                "officer",
                &format!("/decisions/{id}/review/submit"),
                json!({"opinion": "案情重大，已举行听证，提请法制审核"}),
            )?;
            a.post(
                "reviewer",
                &format!("/decisions/{id}/review/opinion"),
                json!({"outcome": "approve", "opinion": "事实清楚，证据确凿，适用依据正确，程序合法",
                       "reviewerId": reviewer,
                       "checklist": {"subject": "pass", "officerQualification": "pass",
                                     "procedure": "pass", "factsAndEvidence": "pass",
                                     "lawAndDiscretion": "pass", "authority": "pass",
                                     "documents": "pass", "transferToJudicialOrgans": false}}),
            )?;
            a.post(
                "officer",
                &format!("/decisions/{id}/issue"),
                json!({"decidedOn": "2026-11-27"}),
            )?;
            a.publish(&id)?;
        }
        if name == "tieling-county-market" {
            let id = a.decide(
                person_penalty(
                    &n(130),
                    "吴刚",
                    "211221198201014417",
                    "销售不合格食用农产品",
                    2000,
                ),
                "2026-11-10",
                true,
            )?;
            // A published decision is withdrawn with its revocation; the reason is
            // published with the withdrawal notice.
            a.post(
                "officer",
                &format!("/decisions/{id}/revoke"),
                json!({"reason": "经行政复议，原处罚决定被依法撤销"}),
            )?;
        }
        a.publish_list("personnel")?;
        progress(&format!(
            "demo data of {name}: personnel and its public list, an action with its record, decisions published"
        ));
    }
    Ok(())
}
