//! Query parameters: parsed strictly, each checked, a bad one named in Chinese.

use chrono::NaiveDate;

use super::problem::Problem;
use crate::labels;
use crate::search::{Cursor, Order};

/// Longest accepted `q`, in characters.
pub const MAX_Q_CHARS: usize = 100;
/// Largest page.
pub const MAX_LIMIT: usize = 100;
pub const DEFAULT_LIMIT: usize = 20;

/// The parameters of one request. Empty values (an unfilled form field) count as absent.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `raw`; refuses unknown and repeated parameters.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, Problem> {
        let pairs: Vec<(String, String)> = match raw {
            None | Some("") => Vec::new(),
            Some(raw) => serde_urlencoded::from_str(raw)
                .map_err(|_| Problem::bad_parameter("query", "查询字符串编码有误"))?,
        };
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                let shown: String = name.chars().take(40).collect();
                return Err(Problem::bad_parameter(
                    &shown,
                    format!("不支持此参数，可用参数：{}", allowed.join("、")),
                ));
            }
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(Problem::bad_parameter(name, "参数重复"));
            }
        }
        Ok(Self(pairs))
    }

    /// The trimmed, non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The pairs, for building links to the next page.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(n, v)| (n.as_str(), v.trim()))
            .filter(|(_, v)| !v.is_empty())
    }

    pub fn text(&self, name: &str, max_chars: usize) -> Result<Option<String>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.chars().count() > max_chars => Err(Problem::bad_parameter(
                name,
                format!("长度不能超过{max_chars}个字符"),
            )),
            Some(v) if v.chars().any(char::is_control) => {
                Err(Problem::bad_parameter(name, "不能包含控制字符"))
            }
            Some(v) => Ok(Some(v.to_string())),
        }
    }

    pub fn division_code(&self, name: &str) -> Result<Option<String>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if sanxiang_crds::codes::is_division_code(v) => Ok(Some(v.to_string())),
            Some(_) => Err(Problem::bad_parameter(
                name,
                "应为6位行政区划代码（GB/T 2260），例如 210100",
            )),
        }
    }

    pub fn category(&self) -> Result<Option<String>, Problem> {
        match self.get("category") {
            None => Ok(None),
            Some(v) => labels::category(v)
                .map(|c| Some(labels::category_code(c).to_string()))
                .ok_or_else(|| {
                    Problem::bad_parameter(
                        "category",
                        format!(
                            "执法类别应为以下之一：{}",
                            labels::category_codes().collect::<Vec<_>>().join("、")
                        ),
                    )
                }),
        }
    }

    pub fn procedure(&self) -> Result<Option<String>, Problem> {
        match self.get("procedure") {
            None => Ok(None),
            Some(v) if labels::PROCEDURES.iter().any(|(c, _)| *c == v) => Ok(Some(v.to_string())),
            Some(_) => Err(Problem::bad_parameter(
                "procedure",
                "程序应为 simple（简易程序）或 general（一般程序）",
            )),
        }
    }

    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .filter(|d| (1990..=2200).contains(&chrono::Datelike::year(d)))
                .map(Some)
                .ok_or_else(|| {
                    Problem::bad_parameter(name, "应为日期，格式 YYYY-MM-DD，例如 2026-03-02")
                }),
        }
    }

    pub fn credit_code(&self, name: &str) -> Result<Option<String>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match sanxiang_crds::credit_code::validate_credit_code(v) {
                Ok(()) => Ok(Some(v.to_string())),
                Err(e) => Err(Problem::bad_parameter(
                    name,
                    format!("应为18位统一社会信用代码（{e}）"),
                )),
            },
        }
    }

    pub fn order(&self) -> Result<Order, Problem> {
        match self.get("sort") {
            None | Some("newest") => Ok(Order::Newest),
            Some("relevance") => Ok(Order::Relevance),
            Some(_) => Err(Problem::bad_parameter(
                "sort",
                "排序应为 newest（最新）或 relevance（相关度）",
            )),
        }
    }

    pub fn cursor(&self) -> Result<Option<Cursor>, Problem> {
        match self.get("cursor") {
            None => Ok(None),
            Some(v) => Cursor::decode(v).map(Some).ok_or_else(|| {
                Problem::bad_parameter("cursor", "翻页游标无效，请从第一页重新开始")
            }),
        }
    }

    pub fn limit(&self) -> Result<usize, Problem> {
        match self.get("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    Problem::bad_parameter("limit", format!("每页条数应为1到{MAX_LIMIT}之间的整数"))
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_repeated_and_bad_values_are_named() {
        let allowed = ["q", "city", "from", "limit", "cursor", "category"];
        let e = Params::parse(Some("bogus=1"), &allowed).unwrap_err();
        assert_eq!(e.parameter.as_deref(), Some("bogus"));
        let e = Params::parse(Some("q=a&q=b"), &allowed).unwrap_err();
        assert_eq!(e.parameter.as_deref(), Some("q"));
        let p = Params::parse(
            Some("city=21&from=2026-13-01&limit=0&cursor=zz&category=x"),
            &allowed,
        )
        .unwrap();
        assert_eq!(
            p.division_code("city").unwrap_err().parameter.as_deref(),
            Some("city")
        );
        assert_eq!(
            p.date("from").unwrap_err().parameter.as_deref(),
            Some("from")
        );
        assert_eq!(p.limit().unwrap_err().parameter.as_deref(), Some("limit"));
        assert_eq!(p.cursor().unwrap_err().parameter.as_deref(), Some("cursor"));
        assert!(p.category().unwrap_err().message.contains("penalty"));
        let long = format!("q={}", "罚".repeat(MAX_Q_CHARS + 1));
        let p = Params::parse(Some(&long), &allowed).unwrap();
        assert_eq!(
            p.text("q", MAX_Q_CHARS).unwrap_err().parameter.as_deref(),
            Some("q")
        );
    }

    #[test]
    fn empty_form_fields_are_absent() {
        let p = Params::parse(
            Some("q=&city=&category=Penalty"),
            &["q", "city", "category"],
        )
        .unwrap();
        assert_eq!(p.get("q"), None);
        assert_eq!(p.division_code("city").unwrap(), None);
        assert_eq!(p.category().unwrap().as_deref(), Some("penalty"));
    }
}
