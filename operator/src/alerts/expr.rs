//! The vocabulary alert expressions are written in: PromQL string literals, the
//! placement labels the tenant service's per-agency series carry, and deadlines as Unix
//! timestamps of 00:00 Asia/Shanghai (rules compare them with `time()`, since Prometheus
//! has no notion of a China calendar day).

use chrono::NaiveDate;

/// Unix timestamp of 00:00 Asia/Shanghai on `date` (for PromQL `time()` comparisons).
pub fn shanghai_midnight(date: NaiveDate) -> i64 {
    sanxiang_domain::china_midnight(date).timestamp()
}

/// Unix timestamp at which a deadline on `date` has passed: 00:00 Asia/Shanghai of the next
/// day (the whole due day still counts).
pub fn end_of_day(date: NaiveDate) -> i64 {
    shanghai_midnight(date) + 86_400
}

/// A PromQL string literal (double-quoted, escaped).
pub fn promql_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The labels the tenant service's per-agency series carry.
pub(super) const PLACEMENT: &str = "province, city, county, agency";
