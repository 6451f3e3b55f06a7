//! Redaction that holds (issue 11): a corpus of realistic spellings kept in the repo
//! (`tests/data/redaction_corpus.tsv`, made by `tools/gen_redaction_corpus.py`), and a
//! property test that no recorded personal value of a generated case ever appears in
//! its public text. Pure functions: no platform needed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sanxiang_tenant_service::redaction::{DecisionText, PartyKind, normalize, redact_decision};

/// A value as it is compared: normalised, without the separators people write inside
/// numbers and names.
fn compact(s: &str) -> String {
    normalize(s)
        .chars()
        .filter(|c| !c.is_whitespace() && !"-._·()（）".contains(*c))
        .collect::<String>()
        .to_uppercase()
}

fn redact(text: &str, address: Option<&str>, others: &[String]) -> String {
    let d = DecisionText {
        party_kind: PartyKind::NaturalPerson,
        party_name: "张三",
        party_id_number: Some("21010219900101123X"),
        party_phone: Some("13812345678"),
        party_address: address,
        party_is_minor: false,
        involves_secrets: false,
        publish_after_processing: false,
        decided_on: chrono::NaiveDate::from_ymd_opt(2025, 3, 5),
        other_persons: others,
        facts: text,
        legal_basis: "《中华人民共和国食品安全法》第一百二十四条",
        conclusion: "罚款人民币5000元",
    };
    redact_decision(&d).expect("publishable").facts
}

#[test]
fn the_corpus_of_spellings_is_redacted() {
    let corpus = include_str!("data/redaction_corpus.tsv");
    let mut rows = 0;
    let mut failures = Vec::new();
    for line in corpus
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 5, "bad corpus line {line:?}");
        let split = |s: &str| -> Vec<String> {
            s.split('|')
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect()
        };
        let (text, recorded, address, others, keep) = (
            cols[0],
            split(cols[1]),
            cols[2],
            split(cols[3]),
            split(cols[4]),
        );
        rows += 1;
        let out = redact(text, Some(address).filter(|a| !a.is_empty()), &others);
        let c = compact(&out);
        for r in &recorded {
            if c.contains(&compact(r)) {
                failures.push(format!("{r:?} survives in {out:?} (from {text:?})"));
            }
        }
        for k in &keep {
            if !out.contains(k.as_str()) {
                failures.push(format!("{k:?} was lost: {out:?} (from {text:?})"));
            }
        }
    }
    assert!(rows >= 300, "the corpus has only {rows} rows");
    println!("redaction corpus: {rows} rows, {} failures", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const SURNAMES: &[&str] = &["王", "李", "赵", "钱", "孙", "周", "吴", "郑", "欧阳", "马"];
const GIVEN: &[&str] = &[
    "小明", "建国", "丽", "芳", "伟", "强", "娜娜", "子涵", "雨", "明亮",
];
const STREETS: &[&str] = &[
    "南京北街",
    "小北街",
    "广裕街",
    "胜利南路",
    "太原街",
    "兴华南街",
];

fn pick<'a>(rng: &mut StdRng, xs: &[&'a str]) -> &'a str {
    xs[rng.random_range(0..xs.len())]
}

/// One of the usual ways of writing a number: plain, grouped by spaces or dashes,
/// full-width, with +86.
fn spell(rng: &mut StdRng, digits: &str, mobile: bool) -> String {
    let grouped = |sep: &str| {
        digits
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(sep)
    };
    let full: String = digits
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            'X' => 'Ｘ',
            _ => c,
        })
        .collect();
    match rng.random_range(0..(if mobile { 6 } else { 4 })) {
        0 => digits.to_string(),
        1 => grouped(" "),
        2 => grouped("-"),
        3 => full,
        4 => format!("+86 {digits}"),
        _ => format!("+86-{}-{}-{}", &digits[..3], &digits[3..7], &digits[7..]),
    }
}

#[test]
fn no_recorded_personal_value_reaches_the_public_text() {
    let mut rng = StdRng::seed_from_u64(0x11);
    for case in 0..1000 {
        let witness = format!("{}{}", pick(&mut rng, SURNAMES), pick(&mut rng, GIVEN));
        let party_phone = format!(
            "13{}{:08}",
            rng.random_range(0..10),
            rng.random_range(0..100_000_000u32)
        );
        let other_phone = format!(
            "15{}{:08}",
            rng.random_range(0..10),
            rng.random_range(0..100_000_000u32)
        );
        let id = format!(
            "2101{:02}{}{:02}{:02}{:03}{}",
            rng.random_range(1..15),
            rng.random_range(1950..2000),
            rng.random_range(1..13),
            rng.random_range(1..29),
            rng.random_range(0..1000),
            ["X", "1", "5"][rng.random_range(0..3)]
        );
        let card = format!("6222{:012}", rng.random_range(0..1_000_000_000_000u64));
        let street = format!("{}{}号", pick(&mut rng, STREETS), rng.random_range(1..300));
        let address = format!("沈阳市和平区{street}");
        let address_written = match rng.random_range(0..3) {
            0 => address.clone(),
            1 => format!("和平区{street}"),
            _ => street.clone(),
        };
        let email = format!("user{}@example.com", rng.random_range(0..1000));
        let facts = format!(
            "当事人张三（住{address_written}，电话{}，身份证号{}）销售过期食品，证人{witness}在场，\
             另一联系人电话{}，邮箱{email}，罚没款转入账户{}。",
            spell(&mut rng, &party_phone, true),
            spell(&mut rng, &id, false),
            spell(&mut rng, &other_phone, true),
            spell(&mut rng, &card, false),
        );
        let others = vec![witness.clone()];
        let d = DecisionText {
            party_kind: PartyKind::NaturalPerson,
            party_name: "张三",
            party_id_number: Some(&id),
            party_phone: Some(&party_phone),
            party_address: Some(&address),
            party_is_minor: false,
            involves_secrets: false,
            publish_after_processing: false,
            decided_on: chrono::NaiveDate::from_ymd_opt(2025, 3, 5),
            other_persons: &others,
            facts: &facts,
            legal_basis: "《中华人民共和国食品安全法》第一百二十四条",
            conclusion: &format!("对张三罚款5000元，联系电话{party_phone}"),
        };
        let r = redact_decision(&d).expect("publishable");
        let public = compact(&format!(
            "{}|{}|{}|{}|{}",
            r.target,
            r.target_code.as_deref().unwrap_or(""),
            r.facts,
            r.legal_basis,
            r.conclusion
        ));
        for value in [
            &party_phone,
            &other_phone,
            &id,
            &card,
            &street,
            &witness,
            &email,
        ] {
            assert!(
                !public.contains(&compact(value)),
                "case {case}: {value:?} in public text {r:?} (facts {facts:?})"
            );
        }
        assert!(
            r.facts.starts_with("当事人张三"),
            "the party's name is published: {r:?}"
        );
    }
}
