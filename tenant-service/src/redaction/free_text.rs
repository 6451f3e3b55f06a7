//! Masks for what no pattern finds on its own: the addresses and names the case lists
//! (found loosely, in any of their written forms), addresses written in free text after an
//! opener word, and names written after a role word. Pure.

use super::masks::{mask_address, mask_name, normalize};

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
pub(super) fn replace_loose(text: &str, needles: &[(String, String)]) -> String {
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
