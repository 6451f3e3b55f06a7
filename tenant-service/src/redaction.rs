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

/// Normalises text before matching: full-width digits and letters (０-９, Ａ-Ｚ, ＠, －) become
/// half-width, the ideographic space a space, every dash-like character `-`. The public text
/// is the normalised text, so what was matched is exactly what is shown.
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            // digits, letters, ＠ ＋ － ．; Chinese punctuation (，：（）) stays as written
            '\u{FF10}'..='\u{FF19}'
            | '\u{FF21}'..='\u{FF3A}'
            | '\u{FF41}'..='\u{FF5A}'
            | '\u{FF20}'
            | '\u{FF0B}'
            | '\u{FF0D}'
            | '\u{FF0E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' | '\u{00A0}' | '\u{2002}'..='\u{200A}' => ' ',
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{30FC}' => '-',
            '\u{200B}'..='\u{200D}' | '\u{FEFF}' => '\u{200B}',
            _ => c,
        })
        .filter(|c| *c != '\u{200B}')
        .collect()
}

/// Separators people write inside numbers: `139 1234 5678`, `139-1234-5678`, `139.1234.5678`.
fn is_number_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '_' | '/' | '\t')
}

/// Masks one number found in text, given its digits (and a final X) without separators.
fn mask_number(compact: &str) -> Option<String> {
    // +86 / 0086 / 86 before a mobile number.
    let national = ["0086", "86"]
        .iter()
        .find_map(|p| compact.strip_prefix(p).filter(|rest| rest.len() == 11));
    if let Some(mobile) = national
        && classify(mobile) == Some(TokenKind::Mobile)
    {
        return Some(format!("+86 {}", mask_phone(mobile)));
    }
    classify(compact).map(|kind| mask_token(compact, kind))
}

/// Masks ID numbers, phone numbers and bank accounts found in free text, also when written
/// with spaces, dashes or dots inside, in full-width digits or with `+86`.
pub fn mask_patterns(text: &str) -> String {
    let chars: Vec<char> = normalize(text).chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_number =
            c.is_ascii_digit() || (c == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        // A number inside a word (a credit code, a model number) is not split off.
        let inside_word = i > 0 && chars[i - 1].is_ascii_alphanumeric();
        if !starts_number || inside_word {
            out.push(c);
            i += 1;
            continue;
        }
        // Extend over digits and single separators followed by a digit; a final X of an
        // ID number belongs to it.
        let mut j = if c == '+' { i + 1 } else { i };
        let mut compact = String::new();
        let mut end = j;
        while j < chars.len() {
            let d = chars[j];
            if d.is_ascii_digit() {
                compact.push(d);
                j += 1;
                end = j;
            } else if is_number_separator(d)
                && chars.get(j + 1).is_some_and(char::is_ascii_digit)
                && !compact.is_empty()
            {
                j += 1;
            } else if (d == 'X' || d == 'x') && compact.len() == 17 {
                compact.push('X');
                j += 1;
                end = j;
                break;
            } else {
                break;
            }
        }
        let followed_by_word = chars.get(end).is_some_and(char::is_ascii_alphabetic);
        match mask_number(&compact).filter(|_| !followed_by_word) {
            Some(masked) => out.push_str(&masked),
            None => out.extend(&chars[i..end]),
        }
        i = end.max(i + 1);
    }
    mask_emails(&mask_plates(&out))
}

/// Masks e-mail addresses entirely: `***@***`.
pub fn mask_emails(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let domain = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < chars.len() {
        if chars[i] == '@' {
            let mut a = i;
            while a > copied && local(chars[a - 1]) {
                a -= 1;
            }
            let mut b = i + 1;
            while b < chars.len() && domain(chars[b]) {
                b += 1;
            }
            let dom: String = chars[i + 1..b].iter().collect();
            if a < i && dom.trim_matches('.').contains('.') {
                out.extend(&chars[copied..a]);
                out.push_str("***@***");
                copied = b;
                i = b;
                continue;
            }
        }
        i += 1;
    }
    out.extend(&chars[copied..]);
    out
}

/// Provinces' one-character abbreviations that start a vehicle plate.
const PLATE_PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领";

/// Masks vehicle plates (辽A·12345, 辽A12345, 粤B D12345): province and letter kept.
pub fn mask_plates(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if PLATE_PROVINCES.contains(c) && chars.get(i + 1).is_some_and(char::is_ascii_uppercase) {
            let mut j = i + 2;
            if chars
                .get(j)
                .is_some_and(|s| matches!(s, '·' | '.' | ' ' | '-' | '•'))
            {
                j += 1;
            }
            let start = j;
            while j < chars.len() && chars[j].is_ascii_alphanumeric() && j - start < 7 {
                j += 1;
            }
            let tail = j - start;
            let has_digit = chars[start..j].iter().any(char::is_ascii_digit);
            let ends = chars.get(j).is_none_or(|n| !n.is_ascii_alphanumeric());
            if (5..=6).contains(&tail) && has_digit && ends {
                out.push(c);
                out.push(chars[i + 1]);
                out.extend(std::iter::repeat_n('*', tail));
                i = j;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Finds `needle` in `hay` ignoring spaces and dashes in either, and full-width forms
/// (both are normalised); returns the char ranges found.
fn find_loose(hay: &[char], needle: &str) -> Vec<(usize, usize)> {
    let skip = |c: char| c == ' ' || c == '-' || c == '\t' || c == '\n';
    let n: Vec<char> = normalize(needle).chars().filter(|c| !skip(*c)).collect();
    let mut found = Vec::new();
    if n.is_empty() {
        return found;
    }
    let mut i = 0;
    while i < hay.len() {
        if hay[i] != n[0] {
            i += 1;
            continue;
        }
        let (mut a, mut b) = (i, 0);
        while a < hay.len() && b < n.len() {
            if hay[a] == n[b] {
                a += 1;
                b += 1;
            } else if skip(hay[a]) && b > 0 {
                a += 1;
            } else {
                break;
            }
        }
        if b == n.len() {
            found.push((i, a));
            i = a;
        } else {
            i += 1;
        }
    }
    found
}

/// Replaces every loose occurrence of each needle (longest first) by its mask.
fn replace_loose(text: &str, needles: &[(String, String)]) -> String {
    let mut needles: Vec<&(String, String)> = needles
        .iter()
        .filter(|(n, _)| !n.trim().is_empty())
        .collect();
    needles.sort_by_key(|(n, _)| std::cmp::Reverse(n.chars().count()));
    let mut s = normalize(text);
    for (needle, mask) in needles {
        let chars: Vec<char> = s.chars().collect();
        let hits = find_loose(&chars, needle);
        if hits.is_empty() {
            continue;
        }
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for (a, b) in hits {
            out.extend(&chars[at..a]);
            out.push_str(mask);
            at = b;
        }
        out.extend(&chars[at..]);
        s = out;
    }
    s
}

/// Ends of the administrative parts of an address; what follows each one is the same
/// address written without the prefix (沈阳市和平区南京街1号 → 和平区南京街1号 → 南京街1号).
const ADDRESS_PART_ENDS: &[char] = &['省', '市', '区', '县', '旗', '州', '盟', '镇', '乡'];

/// The forms an address is written in: in full and without its leading administrative
/// parts, down to the street part (at least 4 characters).
pub fn address_forms(address: &str) -> Vec<String> {
    let a: String = normalize(address)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let chars: Vec<char> = a.chars().collect();
    let mut forms = vec![a.clone()];
    for (i, c) in chars.iter().enumerate() {
        if ADDRESS_PART_ENDS.contains(c) && chars.len() - (i + 1) >= 4 {
            forms.push(chars[i + 1..].iter().collect());
        }
    }
    forms.retain(|f| f.chars().count() >= 4);
    forms.dedup();
    forms
}

/// Street markers and house-number ends of an address written in free text.
const STREET_MARKERS: &[&str] = &[
    "路", "街", "巷", "道", "村", "弄", "胡同", "小区", "大道", "屯", "组",
];
const NUMBER_ENDS: &[char] = &['号', '室', '栋', '幢', '楼', '层', '户'];
/// Words that open an address: 住, 家住, 住址, 地址, 现住, 位于.
const ADDRESS_OPENERS: &[&str] = &[
    "家住",
    "现住",
    "住址",
    "地址",
    "户籍地",
    "居住于",
    "住所",
    "住",
];

/// Hides addresses written in free text (住……路12号3单元501室): from the opener to the
/// house number. Used for natural persons' cases only.
pub fn mask_address_patterns(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < chars.len() {
        for opener in ADDRESS_OPENERS {
            let o: Vec<char> = opener.chars().collect();
            if chars[i..].starts_with(&o) {
                let mut j = i + o.len();
                if chars
                    .get(j)
                    .is_some_and(|c| matches!(c, ':' | '：' | '在' | '于'))
                {
                    j += 1;
                }
                // The address runs to the last house-number end within 40 characters,
                // before any sentence punctuation, and contains a street marker.
                let limit = (j + 40).min(chars.len());
                let mut end = None;
                let mut k = j;
                while k < limit && !"，。；,;)）（(、\n".contains(chars[k]) {
                    if NUMBER_ENDS.contains(&chars[k]) && k > j && chars[k - 1].is_ascii_digit() {
                        end = Some(k + 1);
                    }
                    k += 1;
                }
                if let Some(e) = end {
                    let span: String = chars[j..e].iter().collect();
                    if STREET_MARKERS.iter().any(|m| span.contains(m)) {
                        out.extend(&chars[i..j]);
                        out.push_str(&mask_address(&span));
                        i = e;
                        continue 'outer;
                    }
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Roles after which a person's name is written (证人李小明, 妻子：王某某).
const PERSON_ROLES: &[&str] = &[
    "证人",
    "见证人",
    "当事人",
    "受害人",
    "被害人",
    "举报人",
    "投诉人",
    "申请人",
    "代理人",
    "委托人",
    "法定代表人",
    "负责人",
    "经营者",
    "联系人",
    "家属",
    "妻子",
    "丈夫",
    "儿子",
    "女儿",
    "父亲",
    "母亲",
    "员工",
    "雇员",
    "店员",
    "司机",
    "驾驶人",
    "租户",
    "房东",
    "邻居",
    "同事",
    "朋友",
    "监护人",
];
/// Common surnames (the first character of a name found after a role word).
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝";

/// Masks names written after a role word (证人李小明 → 证人李**) when they start with a
/// common surname: catches persons the case did not list.
pub fn mask_role_names(text: &str, keep: &[&str]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < chars.len() {
        for role in PERSON_ROLES {
            let r: Vec<char> = role.chars().collect();
            if chars[i..].starts_with(&r) {
                let mut j = i + r.len();
                if chars.get(j).is_some_and(|c| matches!(c, ':' | '：' | ' ')) {
                    j += 1;
                }
                let kept = keep.iter().any(|k| {
                    let k: Vec<char> = k.chars().collect();
                    !k.is_empty() && chars[j..].starts_with(&k)
                });
                if kept {
                    out.extend(&chars[i..j]);
                    i = j;
                    continue 'outer;
                }
                if chars.get(j).is_some_and(|c| SURNAMES.contains(*c)) {
                    // the name: 2 or 3 CJK characters (某 counts), ending before
                    // punctuation or a non-CJK character
                    let mut k = j + 1;
                    while k < chars.len()
                        && k - j < 3
                        && is_cjk(chars[k])
                        && !is_name_stop(chars[k])
                    {
                        k += 1;
                    }
                    let name: String = chars[j..k].iter().collect();
                    if k - j >= 2 && !keep.contains(&name.as_str()) {
                        out.extend(&chars[i..j]);
                        out.push_str(&mask_name(&name));
                        i = k;
                        continue 'outer;
                    }
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn is_cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// Characters that end a name written after a role word (证人李四在场: 在 is not a name).
fn is_name_stop(c: char) -> bool {
    "在于和与及等称说向对到因是的了也都已为将把被从".contains(c)
}

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
