//! Masks for the personal data a pattern can find: ID numbers, phones, bank accounts,
//! e-mail addresses and vehicle plates, in the spellings people write them (full-width
//! digits, separators inside numbers, `+86`). Pure.

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
