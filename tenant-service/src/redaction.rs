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

/// Masks a name: first character kept, every other character becomes `*` (李小明 → 李**).
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let mut chars = name.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count().max(1);
            let mut s = String::with_capacity(first.len_utf8() + rest);
            s.push(first);
            s.extend(std::iter::repeat_n('*', rest));
            s
        }
    }
}

fn mask_keep(s: &str, keep_start: usize, keep_end: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= keep_start + keep_end {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < keep_start || i >= chars.len() - keep_end || *c == '-' {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

/// Masks an ID number: first 6 and last 4 characters kept.
pub fn mask_id_number(id: &str) -> String {
    mask_keep(id.trim(), 6, 4)
}

/// Masks a phone number: mobiles keep 3 + 4 digits (138****5678); landlines keep the area
/// code and the last 4 digits.
pub fn mask_phone(phone: &str) -> String {
    let phone = phone.trim();
    if let Some((area, number)) = phone.split_once('-') {
        return format!("{area}-{}", mask_keep(number, 0, 4));
    }
    if phone.len() == 11 {
        mask_keep(phone, 3, 4)
    } else if phone.starts_with('0') && phone.len() >= 10 {
        let area = if phone.starts_with("01") || phone.starts_with("02") {
            3
        } else {
            4
        };
        mask_keep(phone, area, 4)
    } else {
        mask_keep(phone, 0, 4)
    }
}

/// Hides an address entirely.
pub fn mask_address(_address: &str) -> String {
    "***".to_string()
}

/// Masks a bank account: last 4 digits kept.
pub fn mask_bank_account(account: &str) -> String {
    mask_keep(account.trim(), 0, 4)
}

fn valid_birth_date(s: &str) -> bool {
    // yyyymmdd, year 1900..=2099
    let Ok(y) = s[0..4].parse::<u32>() else {
        return false;
    };
    let Ok(m) = s[4..6].parse::<u32>() else {
        return false;
    };
    let Ok(d) = s[6..8].parse::<u32>() else {
        return false;
    };
    (1900..=2099).contains(&y) && chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some()
}

/// What kind of personal datum a token is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    IdNumber,
    Mobile,
    Landline,
    BankAccount,
}

/// Classifies a token of ASCII letters, digits and `-`.
pub fn classify(token: &str) -> Option<TokenKind> {
    let b = token.as_bytes();
    let all_digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if b.len() == 18
        && all_digits(&b[..17])
        && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x')
        && b[0] != b'0'
        && valid_birth_date(&token[6..14])
    {
        return Some(TokenKind::IdNumber);
    }
    if b.len() == 15 && all_digits(b) && b[0] != b'0' {
        let y = format!("19{}", &token[6..12]);
        if valid_birth_date(&y) {
            return Some(TokenKind::IdNumber);
        }
    }
    if b.len() == 11 && all_digits(b) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
        return Some(TokenKind::Mobile);
    }
    if let Some((area, number)) = token.split_once('-') {
        let (a, n) = (area.as_bytes(), number.as_bytes());
        if all_digits(a)
            && all_digits(n)
            && a[0] == b'0'
            && (3..=4).contains(&a.len())
            && (7..=8).contains(&n.len())
        {
            return Some(TokenKind::Landline);
        }
        return None;
    }
    if all_digits(b) && b[0] == b'0' && (10..=12).contains(&b.len()) {
        return Some(TokenKind::Landline);
    }
    if all_digits(b) && (12..=19).contains(&b.len()) {
        return Some(TokenKind::BankAccount);
    }
    None
}

fn mask_token(token: &str, kind: TokenKind) -> String {
    match kind {
        TokenKind::IdNumber => mask_id_number(token),
        TokenKind::Mobile | TokenKind::Landline => mask_phone(token),
        TokenKind::BankAccount => mask_bank_account(token),
    }
}

/// Masks ID numbers, phone numbers and bank accounts found in free text.
pub fn mask_patterns(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        if !token.is_empty() {
            // A token may end with '-' punctuation; trim it off for classification.
            match classify(token) {
                Some(kind) => out.push_str(&mask_token(token, kind)),
                None => out.push_str(token),
            }
            token.clear();
        }
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// Redacts free text: listed addresses hidden, listed other persons' names masked, then
/// ID numbers, phones and bank accounts masked wherever they appear.
pub fn redact_text(text: &str, addresses: &[&str], other_persons: &[&str]) -> String {
    let mut s = text.to_string();
    let mut addresses: Vec<&str> = addresses
        .iter()
        .copied()
        .filter(|a| !a.trim().is_empty())
        .collect();
    addresses.sort_by_key(|a| std::cmp::Reverse(a.chars().count()));
    for a in addresses {
        s = s.replace(a.trim(), &mask_address(a));
    }
    let mut names: Vec<&str> = other_persons
        .iter()
        .copied()
        .filter(|n| !n.trim().is_empty())
        .collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    for n in names {
        s = s.replace(n.trim(), &mask_name(n));
    }
    mask_patterns(&s)
}

/// The party of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    NaturalPerson,
    Organisation,
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
    if d.party_is_minor {
        return Err(NotPublishable::Minor);
    }
    if d.involves_secrets {
        return Err(NotPublishable::Secrets);
    }
    let mut addresses: Vec<&str> = Vec::new();
    let mut hidden_literals: Vec<(String, String)> = Vec::new();
    if d.party_kind == PartyKind::NaturalPerson {
        if let Some(a) = d.party_address {
            addresses.push(a);
        }
        // The party's own ID and phone, even if written in an unusual form.
        if let Some(id) = d.party_id_number.filter(|s| !s.trim().is_empty()) {
            hidden_literals.push((id.trim().to_string(), mask_id_number(id)));
        }
        if let Some(p) = d.party_phone.filter(|s| !s.trim().is_empty()) {
            hidden_literals.push((p.trim().to_string(), mask_phone(p)));
        }
    }
    let others: Vec<&str> = d
        .other_persons
        .iter()
        .map(String::as_str)
        .filter(|n| *n != d.party_name)
        .collect();
    let redact = |text: &str| {
        let mut s = text.to_string();
        for (lit, masked) in &hidden_literals {
            s = s.replace(lit.as_str(), masked);
        }
        redact_text(&s, &addresses, &others)
    };
    let target_code = d
        .party_id_number
        .filter(|s| !s.trim().is_empty())
        .map(|code| match d.party_kind {
            PartyKind::NaturalPerson => mask_id_number(code),
            PartyKind::Organisation => code.trim().to_string(),
        });
    Ok(RedactedDecision {
        target: d.party_name.trim().to_string(),
        target_code,
        facts: redact(d.facts),
        legal_basis: d.legal_basis.to_string(),
        conclusion: redact(d.conclusion),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn party_name_is_not_masked_even_if_listed() {
        let others = vec!["张三".to_string(), "李四".to_string()];
        let r = redact_decision(&sample(&others)).unwrap();
        assert!(r.facts.starts_with("张三"));
    }
}
