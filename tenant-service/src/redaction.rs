//! Redaction of natural persons' data before online publication. Pure functions only.
//!
//! Rules (DOMAIN.md, "Redaction"):
//! - ID numbers keep their first 6 and last 4 characters: `210102********1234`;
//! - mobile phones keep the first 3 and last 4 digits: `138****5678`; landlines keep the
//!   area code and the last 4 digits; bank accounts keep the last 4 digits;
//! - natural persons' addresses are hidden entirely (`***`);
//! - names of natural persons other than the party keep their first character: `李**`;
//! - a case whose party is a minor, or whose facts involve secrets or privacy, is not
//!   published online at all.
//!
//! Free text is scanned for runs of ASCII letters, digits and `-`; each run that looks like
//! an ID number (18 characters with a valid birth date, or 15 digits), a mobile or landline
//! number, or a bank account (12–19 digits) is masked. Names and addresses cannot be found
//! reliably by pattern, so the caller lists them (`party_address`, `other_persons`) and every
//! occurrence in the text is masked.

use serde::{Deserialize, Serialize};

mod free_text;
mod masks;

use free_text::replace_loose;
pub use free_text::*;
pub use masks::*;

/// Redacts free text: listed addresses hidden, listed other persons' names masked, then
/// ID numbers, phones, bank accounts, e-mail addresses and plates masked wherever they
/// appear, in any of the usual spellings.
pub fn redact_text(text: &str, addresses: &[&str], other_persons: &[&str]) -> String {
    let mut needles: Vec<(String, String)> = Vec::new();
    for a in addresses {
        for form in address_forms(a) {
            needles.push((form, mask_address(a)));
        }
    }
    for n in other_persons {
        needles.push((n.trim().to_string(), mask_name(n)));
    }
    mask_patterns(&replace_loose(text, &needles))
}

/// The birth date an ID number carries (18 digits: yyyymmdd at 7–14; 15 digits: yymmdd).
pub fn birth_date(id: &str) -> Option<chrono::NaiveDate> {
    let id: String = normalize(id)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let digits = match classify(&id)? {
        TokenKind::IdNumber if id.len() == 18 => id[6..14].to_string(),
        TokenKind::IdNumber => format!("19{}", &id[6..12]),
        _ => return None,
    };
    chrono::NaiveDate::parse_from_str(&digits, "%Y%m%d").ok()
}

/// Whether the holder of an ID number is under 18 on `on`.
pub fn minor_on(id: &str, on: chrono::NaiveDate) -> bool {
    use chrono::Datelike;
    birth_date(id).is_some_and(|birth| {
        let adult = birth
            .with_year(birth.year() + 18)
            .or_else(|| chrono::NaiveDate::from_ymd_opt(birth.year() + 18, 3, 1));
        adult.is_some_and(|a| on < a)
    })
}

/// The party of a decision.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    NaturalPerson,
    Organisation,
}

impl PartyKind {
    /// The stored code (the `party_kind` columns' CHECK lists the same two).
    pub fn code(self) -> &'static str {
        match self {
            PartyKind::NaturalPerson => "natural_person",
            PartyKind::Organisation => "organisation",
        }
    }
}

/// Redacts free text that belongs to no decision's case file, e.g. the results of a random
/// inspection: ID numbers, phones, bank accounts, e-mail addresses and plates in any
/// spelling, and names written after a role word. No party's name is kept.
pub fn redact_free_text(text: &str) -> String {
    mask_patterns(&mask_role_names(&redact_text(text, &[], &[]), &[]))
}

/// A decision's data as held by the agency (not yet redacted).
#[derive(Debug, Clone)]
pub struct DecisionText<'a> {
    pub party_kind: PartyKind,
    pub party_name: &'a str,
    /// ID number (natural person) or unified social credit code (organisation).
    pub party_id_number: Option<&'a str>,
    pub party_phone: Option<&'a str>,
    pub party_address: Option<&'a str>,
    pub party_is_minor: bool,
    pub involves_secrets: bool,
    /// Published after redaction although it involves secrets or privacy.
    pub publish_after_processing: bool,
    /// The decision's date: a party whose ID number says it was under 18 then is a minor.
    pub decided_on: Option<chrono::NaiveDate>,
    pub other_persons: &'a [String],
    pub facts: &'a str,
    pub legal_basis: &'a str,
    pub conclusion: &'a str,
}

/// The redacted fields of a publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedactedDecision {
    pub target: String,
    pub target_code: Option<String>,
    pub facts: String,
    pub legal_basis: String,
    pub conclusion: String,
}

/// Why a decision is not published online.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotPublishable {
    /// The party is a minor.
    Minor,
    /// The facts involve state secrets, trade secrets or personal privacy.
    Secrets,
}

impl NotPublishable {
    pub fn field(self) -> &'static str {
        match self {
            Self::Minor => "partyIsMinor",
            Self::Secrets => "involvesSecrets",
        }
    }
    pub fn reason(self) -> &'static str {
        match self {
            Self::Minor => "cases whose party is a minor are not published online",
            Self::Secrets => "cases involving secrets or privacy are not published online",
        }
    }
}

/// Produces the publishable, redacted form of a decision, or says why it may not be
/// published online.
pub fn redact_decision(d: &DecisionText<'_>) -> Result<RedactedDecision, NotPublishable> {
    let natural = d.party_kind == PartyKind::NaturalPerson;
    let minor_by_id = natural
        && d.party_id_number
            .zip(d.decided_on)
            .is_some_and(|(id, on)| minor_on(id, on));
    if d.party_is_minor || minor_by_id {
        return Err(NotPublishable::Minor);
    }
    if d.involves_secrets && !d.publish_after_processing {
        return Err(NotPublishable::Secrets);
    }
    let mut addresses: Vec<&str> = Vec::new();
    let mut literals: Vec<(String, String)> = Vec::new();
    if natural {
        if let Some(a) = d.party_address {
            addresses.push(a);
        }
        // The party's own ID and phone, in whatever form they are written.
        if let Some(id) = d.party_id_number.filter(|s| !s.trim().is_empty()) {
            literals.push((id.trim().to_string(), mask_id_number(&normalize(id))));
        }
        if let Some(p) = d.party_phone.filter(|s| !s.trim().is_empty()) {
            literals.push((p.trim().to_string(), mask_phone(&normalize(p))));
        }
    }
    let party = d.party_name.trim();
    let others: Vec<&str> = d
        .other_persons
        .iter()
        .map(|n| n.trim())
        .filter(|n| *n != party)
        .collect();
    let keep = if natural { vec![party] } else { vec![] };
    let redact = |text: &str| {
        let s = replace_loose(text, &literals);
        let s = redact_text(&s, &addresses, &others);
        let s = if natural {
            mask_address_patterns(&s)
        } else {
            s
        };
        mask_patterns(&mask_role_names(&s, &keep))
    };
    let target_code = d
        .party_id_number
        .filter(|s| !s.trim().is_empty())
        .map(|code| match d.party_kind {
            PartyKind::NaturalPerson => mask_id_number(&normalize(code)),
            PartyKind::Organisation => normalize(code).trim().to_string(),
        });
    Ok(RedactedDecision {
        target: normalize(party),
        target_code,
        facts: redact(d.facts),
        legal_basis: redact(d.legal_basis),
        conclusion: redact(d.conclusion),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_hides_what_identifies_a_person() {
        let out = redact_free_text(
            "发现问题：负责人李小明（电话 139 1234 5678，身份证２１０１０２１９９００１０１１２３Ｘ）未公示证照",
        );
        assert!(!out.contains("李小明"), "{out}");
        assert!(
            !out.contains("5678") || out.contains("139****5678"),
            "{out}"
        );
        assert!(!out.contains("1234 5678"), "{out}");
        assert!(!out.contains("19900101"), "{out}");
        assert!(out.contains("未公示证照"), "{out}");
    }

    #[test]
    fn names_keep_first_character() {
        assert_eq!(mask_name("李小明"), "李**");
        assert_eq!(mask_name("李四"), "李*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("王"), "王*");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn id_numbers_keep_6_and_4() {
        assert_eq!(mask_id_number("21010219900101123X"), "210102********123X");
        assert_eq!(mask_id_number("210102900101123"), "210102*****1123");
    }

    #[test]
    fn phones() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("024-23456789"), "024-****6789");
        assert_eq!(mask_phone("02423456789"), "024****6789");
    }

    #[test]
    fn classify_tokens() {
        assert_eq!(classify("21010219900101123X"), Some(TokenKind::IdNumber));
        assert_eq!(classify("210102199013011234"), Some(TokenKind::BankAccount)); // month 13
        assert_eq!(classify("91210100MA0Y12345X"), None); // credit code
        assert_eq!(classify("13812345678"), Some(TokenKind::Mobile));
        assert_eq!(classify("12345678901"), None);
        assert_eq!(
            classify("6222021234567890123"),
            Some(TokenKind::BankAccount)
        );
        assert_eq!(classify("2025"), None);
        assert_eq!(classify("024-23456789"), Some(TokenKind::Landline));
        assert_eq!(classify("2025-01-02"), None);
    }

    #[test]
    fn text_patterns_are_masked_in_chinese_text() {
        let t = "当事人身份证号21010219900101123X，电话13812345678，账户6222021234567890123。";
        assert_eq!(
            mask_patterns(t),
            "当事人身份证号210102********123X，电话138****5678，账户***************0123。"
        );
        // Dates, amounts and document numbers survive.
        let t = "2025年3月5日罚款5000元，沈市监罚〔2025〕12号";
        assert_eq!(mask_patterns(t), t);
    }

    #[test]
    fn redact_text_names_and_addresses() {
        let t = "证人李小明、王五在沈阳市和平区南京街1号目睹。李小明确认。";
        let r = redact_text(t, &["沈阳市和平区南京街1号"], &["李小明", "王五"]);
        assert_eq!(r, "证人李**、王*在***目睹。李**确认。");
    }

    fn sample<'a>(others: &'a [String]) -> DecisionText<'a> {
        DecisionText {
            party_kind: PartyKind::NaturalPerson,
            party_name: "张三",
            party_id_number: Some("21010219900101123X"),
            party_phone: Some("13812345678"),
            party_address: Some("沈阳市和平区南京街1号"),
            party_is_minor: false,
            involves_secrets: false,
            publish_after_processing: false,
            decided_on: chrono::NaiveDate::from_ymd_opt(2025, 3, 5),
            other_persons: others,
            facts: "张三（住沈阳市和平区南京街1号，电话13812345678）销售过期食品，证人李小明。",
            legal_basis: "《食品安全法》第一百二十四条",
            conclusion: "对张三罚款5000元",
        }
    }

    #[test]
    fn natural_person_decision() {
        let others = vec!["李小明".to_string()];
        let r = redact_decision(&sample(&others)).unwrap();
        assert_eq!(r.target, "张三");
        assert_eq!(r.target_code.as_deref(), Some("210102********123X"));
        assert_eq!(
            r.facts,
            "张三（住***，电话138****5678）销售过期食品，证人李**。"
        );
        assert_eq!(r.conclusion, "对张三罚款5000元");
    }

    #[test]
    fn organisation_keeps_credit_code_and_address() {
        let others = vec![];
        let mut d = sample(&others);
        d.party_kind = PartyKind::Organisation;
        d.party_name = "沈阳某某食品有限公司";
        d.party_id_number = Some("91210100MA0Y12345X");
        d.facts = "该公司位于沈阳市和平区南京街1号。";
        let r = redact_decision(&d).unwrap();
        assert_eq!(r.target_code.as_deref(), Some("91210100MA0Y12345X"));
        assert_eq!(r.facts, "该公司位于沈阳市和平区南京街1号。");
    }

    #[test]
    fn minors_and_secrets_are_not_published() {
        let others = vec![];
        let mut d = sample(&others);
        d.party_is_minor = true;
        assert_eq!(redact_decision(&d), Err(NotPublishable::Minor));
        d.party_is_minor = false;
        d.involves_secrets = true;
        assert_eq!(redact_decision(&d).unwrap_err().field(), "involvesSecrets");
    }

    #[test]
    fn numbers_in_any_spelling() {
        let t = "电话139 1234 5678、+86-139-1234-5678、（+86）13912345678，身份证２１０１０２１９９００１０１１２３Ｘ，\
                 号码210102 19900101 123x，卡号6222 0212 3456 7890 123，邮箱zhang.san@example.com，车牌辽A·12345";
        let r = mask_patterns(t);
        for raw in [
            "1234 5678",
            "12345678",
            "19900101",
            "6222 0212",
            "zhang.san",
            "example.com",
            "12345",
        ] {
            assert!(!r.contains(raw), "{raw} in {r}");
        }
        assert!(r.contains("139****5678"), "{r}");
        assert!(r.contains("+86 139****5678"), "{r}");
        assert!(r.contains("210102********123X"), "{r}");
        assert!(r.contains("***@***"), "{r}");
        assert!(r.contains("辽A*****"), "{r}");
        // dates, money, document numbers and credit codes stay
        let t = "2025-03-05罚款5000元，沈市监罚〔2025〕12号，统一社会信用代码91210100MA0Y12345X";
        assert_eq!(mask_patterns(t), t);
    }

    #[test]
    fn the_address_in_any_form_and_address_patterns() {
        let t = "当事人住和平区南京街 1 号，户籍地辽宁省沈阳市和平区南京街1号；另住大东区小北街22号3单元501室。";
        let r = redact_text(t, &["沈阳市和平区南京街1号"], &[]);
        assert!(!r.contains("南京街"), "{r}");
        let r = mask_address_patterns(&r);
        assert!(!r.contains("小北街"), "{r}");
        assert_eq!(address_forms("辽宁省沈阳市和平区南京街1号").len(), 4);
    }

    #[test]
    fn unlisted_persons_after_role_words() {
        let r = mask_role_names("证人王小二在场，妻子：刘某某称，当事人张三", &["张三"]);
        assert_eq!(r, "证人王**在场，妻子：刘**称，当事人张三");
    }

    #[test]
    fn minority_from_the_id_number() {
        let on = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert!(minor_on("210102201205011234", on));
        assert!(!minor_on("210102200801011234", on));
        assert!(minor_on("210102200812311234", on));
        let others = vec![];
        let mut d = sample(&others);
        d.party_id_number = Some("210102201205011234");
        assert_eq!(redact_decision(&d), Err(NotPublishable::Minor));
    }

    #[test]
    fn publish_after_processing_publishes_secrets_redacted() {
        let others = vec![];
        let mut d = sample(&others);
        d.involves_secrets = true;
        assert_eq!(redact_decision(&d), Err(NotPublishable::Secrets));
        d.publish_after_processing = true;
        assert!(redact_decision(&d).is_ok());
    }

    #[test]
    fn party_name_is_not_masked_even_if_listed() {
        let others = vec!["张三".to_string(), "李四".to_string()];
        let r = redact_decision(&sample(&others)).unwrap();
        assert!(r.facts.starts_with("张三"));
    }
}
