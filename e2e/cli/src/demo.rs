//! The sample province's activity for `make up`: through the tenant service's API (as
//! agency staff would), each sample agency publishes its matter list (执法事项清单, with a
//! penalty discretion benchmark where it holds penalties: drafted, approved by its own
//! county's or city's justice bureau, published), then gets officers and a legal reviewer
//! with certificates, an enforcement action with its record (documents and A/V evidence),
//! decisions in Chinese naming its matters (penalties stating their discretion, one 从轻
//! with its 说明理由; licences) published for the disclosure platform (some with natural
//! persons as parties), its 2025 annual statistics and its public personnel list.
//! Shenyang's market regulator also takes one major decision (a review-required matter)
//! through legal review and runs a random inspection (双随机: its random-inspection list
//! approved by the market regulator, targets and inspectors drawn, results published);
//! Tieling county's revokes and withdraws one publication.
//!
//! Idempotent: an agency whose personnel list is not empty is left as it is.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use sanxiang_testkit::Platform;
use sanxiang_testkit::tenant_api::{self, ListSteps, Place, call};
use sanxiang_testkit::wait::until_some;

use crate::token::{dev_key, dev_token};

/// The sample agencies (`e2e/fixtures/sample-province/20-agencies.yaml`): name, short
/// document-number prefix, city, county (`-`: city-level), categories held.
const AGENCIES: [(&str, &str, &str, &str, &[&str]); 4] = [
    (
        "shenyang-market",
        "沈市监",
        "210100",
        "-",
        &["licensing", "penalty", "coercion", "inspection"],
    ),
    (
        "heping-ecology",
        "沈和环",
        "210100",
        "210102",
        &["penalty", "inspection"],
    ),
    (
        "tieling-county-market",
        "铁县市监",
        "211200",
        "211221",
        &["licensing", "penalty", "inspection"],
    ),
    (
        "anshan-approval",
        "鞍审批",
        "210300",
        "-",
        &["licensing", "confirmation"],
    ),
];

/// The penalty matter's discretion benchmark (行政裁量权基准): fines in yuan per level.
fn benchmark() -> Value {
    json!({
        "violation": "销售不符合食品安全标准的食品",
        "levels": [
            {"level": "minor", "penaltyKind": "罚款", "minYuan": 500, "maxYuan": 5000},
            {"level": "general", "penaltyKind": "罚款", "minYuan": 5000, "maxYuan": 50000},
            {"level": "serious", "penaltyKind": "罚款", "minYuan": 50000, "maxYuan": 100000},
            {"level": "especially_serious", "penaltyKind": "罚款", "minYuan": 100000, "maxYuan": 200000}
        ],
        "notPunishedWhen": "初次违法且危害后果轻微并及时改正",
        "lighterWhen": "主动消除或者减轻违法行为危害后果",
        "mitigatedWhen": "受他人胁迫或者诱骗实施违法行为"
    })
}

struct Agency<'a> {
    p: &'a Platform,
    port: u16,
    name: &'a str,
    place: Place<'a>,
    categories: &'a [&'a str],
}

impl Agency<'_> {
    fn token(&self, role: &str) -> Result<String> {
        dev_token(self.p, Some(self.name), role, Some(self.place.city))
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
    fn holds(&self, category: &str) -> bool {
        self.categories.contains(&category)
    }

    /// Drafts a list version (事前公开), submits it, has its reviewer approve it (the
    /// same-level justice bureau; for the random-inspection list the market regulator, as
    /// `make up` configures the tenant service) and publishes it from today: the portal's
    /// agency page shows it with its version.
    fn publish_list(&self, kind: &str, items: Option<&Value>) -> Result<Value> {
        let admin = self.token("agency_admin")?;
        let mut reviewer = self.place.justice_bureau();
        if kind == "random_inspections" {
            reviewer["role"] = json!("market_regulator");
        }
        let reviewer = sanxiang_testkit::token::hs256(&dev_key(self.p)?, &reviewer)?;
        ListSteps {
            port: self.port,
            agency: self.name,
            admin: &admin,
            reviewer: &reviewer,
        }
        .publish(kind, items, None)
    }

    /// The matter list: the sample matters of the agency's categories, the penalty matter
    /// with its discretion benchmark.
    fn publish_matters(&self, display_name: &str) -> Result<()> {
        let mut items = tenant_api::sample_matters(display_name, self.categories);
        for m in items.as_array_mut().into_iter().flatten() {
            if m["code"] == tenant_api::sample_matter("penalty") {
                m["benchmark"] = benchmark();
            }
        }
        self.publish_list("matters", Some(&items))?;
        Ok(())
    }

    /// 双随机: a random-inspection item of the inspection matter, a pool of targets, a
    /// recorded draw of targets and inspectors, and its results published.
    fn random_inspection(&self) -> Result<()> {
        let item = json!([{"code": "SJ-2026-01", "name": "食品经营者监督抽查",
            "matter": tenant_api::sample_matter("inspection"), "inspector": "沈阳市市场监督管理局",
            "legalBasis": "《中华人民共和国食品安全法》第一百一十条", "targets": "辖区内食品经营者",
            "content": "许可证照、进货查验记录、从业人员健康证明", "ratioPermille": 500,
            "inspectorsPerTarget": 2, "method": "现场检查", "frequency": "每年一次"}]);
        self.publish_list("random_inspections", Some(&item))?;
        for (name, code) in [
            ("沈阳某某超市有限公司", "91210100MA0Y31001"),
            ("沈阳某某餐饮管理有限公司", "91210100MA0Y31002"),
            ("沈阳某某食品商行", "91210100MA0Y31003"),
            ("沈阳某某便利店有限公司", "91210100MA0Y31004"),
        ] {
            self.post(
                "agency_admin",
                "/inspection-targets",
                json!({"item": "SJ-2026-01", "name": name, "creditCode": credit(code)}),
            )?;
        }
        let draw = self.post(
            "agency_admin",
            "/inspection-draws",
            json!({"item": "SJ-2026-01", "seed": 20261201u64}),
        )?;
        let id = draw["id"].as_str().context("draw without an id")?;
        let results: Vec<Value> = draw["draw"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(["未发现问题", "发现问题"])
            .map(|(d, outcome)| {
                let handling = if outcome == "发现问题" {
                    "进货查验记录不全，已责令限期整改"
                } else {
                    ""
                };
                json!({"target": d["target"], "outcome": outcome, "handling": handling})
            })
            .collect();
        self.post(
            "agency_admin",
            &format!("/inspection-draws/{id}/results"),
            json!({"results": results}),
        )?;
        Ok(())
    }
}

/// A penalty's discretion: the circumstance level and the fine; 从轻 with its reasons.
fn discretion(level: &str, fine: u32, lighter: Option<&str>) -> Value {
    let mut d = json!({"circumstanceLevel": level, "penaltyKind": "罚款", "amountYuan": fine});
    if let Some(reasons) = lighter {
        d["applied"] = json!("lighter");
        d["statementOfReasons"] = json!(reasons);
    }
    d
}

/// A penalty of the agency's benchmarked penalty matter against a natural person.
fn person_penalty(
    doc: &str,
    name: &str,
    id_number: &str,
    act: &str,
    fine: u32,
    discretion: Value,
) -> Value {
    json!({
        "documentNumber": doc, "matter": tenant_api::sample_matter("penalty"), "procedure": "general",
        "party": {"kind": "natural_person", "name": name, "idNumber": id_number, "phone": "13904001234",
                  "address": "辽宁省某市某区某街道8号"},
        "otherPersons": ["王小红"],
        "facts": format!("{name}（身份证号{id_number}，电话13904001234）{act}，证人王小红在场，有现场检查笔录和照片为证。"),
        "legalBasis": "《中华人民共和国食品安全法》第一百二十四条",
        "conclusion": format!("罚款人民币{fine}元"),
        "discretion": discretion
    })
}

/// The same without a discretion (a matter without a benchmark).
fn person_penalty_of(matter: &str, doc: &str, name: &str, id: &str, act: &str, fine: u32) -> Value {
    let mut body = person_penalty(doc, name, id, act, fine, Value::Null);
    body["matter"] = json!(matter);
    if let Some(b) = body.as_object_mut() {
        b.remove("discretion");
    }
    body
}

/// A decision of the agency's sample matter of `category` against an organisation.
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
        "documentNumber": doc, "matter": tenant_api::sample_matter(category), "procedure": "general",
        "party": {"kind": "organisation", "name": name, "idNumber": code},
        "facts": facts, "legalBasis": basis, "conclusion": conclusion
    })
}

fn credit(first17: &str) -> String {
    let check = sanxiang_crds::credit_code::check_character(first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// The agency's display name (`spec.displayName` of the sample province).
fn display_name(agency: &str) -> &'static str {
    match agency {
        "shenyang-market" => "沈阳市市场监督管理局",
        "heping-ecology" => "沈阳市和平区生态环境分局",
        "tieling-county-market" => "铁岭县市场监督管理局",
        _ => "鞍山市行政审批局",
    }
}

/// Fills the sample province; waits up to `within` for the tenant service to know each
/// agency (the operator provisions them after `make up` applies the sample province).
pub fn fill(
    p: &Platform,
    tenant_api: u16,
    within: Duration,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    for (name, prefix, city, county, categories) in AGENCIES {
        let a = Agency {
            p,
            port: tenant_api,
            name,
            place: Place {
                province: "210000",
                city,
                county,
            },
            categories,
        };
        let url = format!("/api/v1/agencies/{name}/personnel");
        let existing = until_some(
            &format!("{name} served by the tenant service"),
            within,
            || match call(tenant_api, "GET", &url, &a.token("officer")?, None)? {
                (200, v) => Ok(Some(v["items"].as_array().map_or(0, Vec::len))),
                (s, v) => anyhow::bail!("{s} {v}"),
            },
        )?;
        if existing > 0 {
            progress(&format!("demo data of {name} already there"));
            continue;
        }
        // Nothing is enforced before the matter list is in force.
        a.publish_matters(display_name(name))?;
        fill_agency(&a, prefix)?;
        progress(&format!(
            "demo data of {name}: its matter list, personnel and its public list, an action with its record, decisions published"
        ));
    }
    Ok(())
}

fn fill_agency(a: &Agency<'_>, prefix: &str) -> Result<()> {
    let name = a.name;
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
    // An action of a matter the agency holds: a seizure where it may coerce, else an
    // on-site check of its first matter.
    let action = if a.holds("coercion") {
        json!({"title": "现场检查并扣押涉嫌过期食品", "matter": tenant_api::sample_matter("coercion"),
               "procedure": "general", "kind": "seizure_detention", "target": "某某超市",
               "startedOn": "2026-11-20", "officerIds": [o1, o2]})
    } else {
        let category = if a.holds("inspection") {
            "inspection"
        } else {
            a.categories[0]
        };
        json!({"title": "现场核查", "matter": tenant_api::sample_matter(category),
               "procedure": "general", "kind": "other", "target": "某某超市",
               "startedOn": "2026-11-20", "officerIds": [o1, o2]})
    };
    let action = a.post("officer", "/actions", action)?;
    let action_id = action["id"].as_str().unwrap_or_default().to_string();
    for entry in [
        json!({"kind": "text", "title": "现场检查笔录", "content": "执法人员出示执法证件，检查货架食品"}),
        json!({"kind": "av", "title": "执法记录仪视频", "mediaSha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}),
        json!({"kind": "text", "title": "送达回证", "content": "当事人签收"}),
    ] {
        a.post("officer", &format!("/actions/{action_id}/record"), entry)?;
    }
    let n = |k: u32| format!("{prefix}罚〔2026〕{k}号");
    if a.holds("penalty") {
        a.decide(
            person_penalty(
                &n(101),
                "张伟",
                "210102198503152316",
                "销售超过保质期的食品",
                3000,
                discretion("minor", 3000, None),
            ),
            "2026-11-16",
            true,
        )?;
        a.decide(
            person_penalty(
                &n(102),
                "刘洋",
                "210103199007082415",
                "销售标签不符合规定的食品",
                1000,
                discretion(
                    "minor",
                    1000,
                    Some("当事人初次违法，主动下架并召回涉案食品，依法从轻处罚"),
                ),
            ),
            "2026-11-18",
            true,
        )?;
        let mut org = org_decision(
            &n(103),
            "penalty",
            "辽宁某某商贸有限公司",
            &credit("91210100MA0Y12345"),
            "该公司销售标签不符合规定的预包装食品，货值金额人民币八千元。",
            "《中华人民共和国食品安全法》第一百二十五条",
            "没收违法所得，罚款人民币二万元",
        );
        org["discretion"] = discretion("general", 20000, None);
        a.decide(org, "2026-11-23", true)?;
        // A decision of 2025, so the 2025 report has figures.
        a.decide(
            person_penalty(
                &format!("{prefix}罚〔2025〕88号"),
                "陈静",
                "210104198811203326",
                "无证摊贩经营熟食",
                500,
                discretion("minor", 500, None),
            ),
            "2025-10-15",
            true,
        )?;
    }
    if a.holds("licensing") {
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
    }
    if a.holds("confirmation") {
        a.decide(
            org_decision(
                &format!("{prefix}确〔2025〕7号"),
                "confirmation",
                "鞍山某某食品有限公司",
                &credit("91210300MA0Y34567"),
                "申请食品生产经营者信用等级确认，经审查材料齐全。",
                "《辽宁省社会信用条例》第二十条",
                "确认信用等级为A级",
            ),
            "2025-11-05",
            true,
        )?;
    }
    a.post(
        "agency_admin",
        "/statistics/2025",
        json!({"manual": {"penalty": {"decisions": 14, "general": 11, "simple": 3},
                          "licensing": {"decisions": 36, "general": 36, "simple": 0}},
               "source": "2025年纸质案卷台账（上线前）"}),
    )?;
    a.publish_list("personnel", None)?;
    if name == "shenyang-market" {
        // A review-required matter (the matter list is the review catalogue): the legal
        // review approves before the decision is issued.
        let mut body = person_penalty_of(
            tenant_api::REVIEWED_PENALTY,
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
        a.random_inspection()?;
    }
    if name == "tieling-county-market" {
        let id = a.decide(
            person_penalty(
                &n(130),
                "吴刚",
                "211221198201014417",
                "销售不合格食用农产品",
                2000,
                discretion("minor", 2000, None),
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
    Ok(())
}
