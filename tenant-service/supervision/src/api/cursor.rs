//! Keyset cursors of the paged lists (notices, inspections, milestones, case-file reviews).
//!
//! A page that is full ends with `next`: the sort key of its last row, which the client
//! passes back unchanged as `after`; the next page holds the rows that sort after it in the
//! list's total order (its `ORDER BY`, whose last columns are unique). The key is written
//! as the lowercase hex of a JSON `[list, key]`: opaque to clients, safe in a query string
//! whatever text the key holds (a milestone's plan and name), and tied to its list, so a
//! cursor of another list, forged or damaged, is a 400 naming `after` rather than a page
//! that starts somewhere else. The scope filter applies to every page as to the first: a
//! cursor only says where to start.
//!
//! (`/agencies` and `/decisions` keep their own readable cursors: an agency name, and
//! `<instant>_<decision id>`.)

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sanxiang_tenant_service::error::ApiError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use uuid::Uuid;

use super::ApiResult;

/// The query of a paged list that has no filters of its own (inspections, case-file
/// reviews).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageQuery {
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A list's sort key, as a cursor carries it.
pub trait SortKey: Serialize + DeserializeOwned {
    /// Whether PostgreSQL can take the key's dates and instants as parameters (a forged
    /// cursor may carry a year chrono reads but PostgreSQL refuses).
    fn in_range(&self) -> bool;
}

/// Years a cursor's dates and instants may fall in: any a row can hold, and PostgreSQL
/// takes.
const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// `created_at DESC, id`: notices, case-file reviews.
impl SortKey for (DateTime<Utc>, Uuid) {
    fn in_range(&self) -> bool {
        YEARS.contains(&self.0.year())
    }
}

/// `inspected_on DESC, id`: inspections.
impl SortKey for (NaiveDate, Uuid) {
    fn in_range(&self) -> bool {
        YEARS.contains(&self.0.year())
    }
}

/// `due DESC, agency, plan, milestone`: milestone reports.
impl SortKey for (NaiveDate, String, String, String) {
    fn in_range(&self) -> bool {
        YEARS.contains(&self.0.year())
    }
}

/// The row a page's `next` is made from: its last, when the page is full (`limit` rows).
/// A shorter page is the last one and has no `next`. Every list of the workspace follows
/// this rule, `/agencies` and `/decisions` with their own cursors included.
pub fn last_of_full_page<T>(rows: &[T], limit: i64) -> Option<&T> {
    (rows.len() as i64 == limit).then(|| rows.last()).flatten()
}

/// The `next` of a full page of `list` whose last row sorts at `key`.
pub fn encode<K: SortKey>(list: &str, key: &K) -> String {
    let json = serde_json::to_vec(&(list, key)).expect("a sort key serializes");
    let mut out = String::with_capacity(json.len() * 2);
    for b in json {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The sort key of `after` (the `next` of a previous page of `list`); 400 naming `after`
/// when it is not one.
pub fn decode<K: SortKey>(list: &str, after: Option<&str>) -> ApiResult<Option<K>> {
    let Some(s) = after else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_request(
            "after",
            format!("after must be the 'next' of a previous page of /{list}, unchanged"),
        )
    };
    if s.is_empty() || s.len() % 2 != 0 {
        return Err(bad());
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = s
        .as_bytes()
        .chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    let (tag, key): (String, K) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if tag != list || !key.in_range() {
        return Err(bad());
    }
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_comes_back_as_its_key_and_nothing_else_passes() {
        let key = (
            "2026-03-02T02:00:00.123456Z"
                .parse::<DateTime<Utc>>()
                .unwrap(),
            Uuid::new_v4(),
        );
        let next = encode("notices", &key);
        assert!(next.bytes().all(|b| HEX.contains(&b)), "{next}");
        assert_eq!(decode("notices", Some(&next)).unwrap(), Some(key));
        assert_eq!(
            decode::<(DateTime<Utc>, Uuid)>("notices", None).unwrap(),
            None
        );
        let milestone = (
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            "tl-market".to_string(),
            "plan_with_underscores".to_string(),
            "名字 & \"quotes\"".to_string(),
        );
        let next = encode("milestones", &milestone);
        assert_eq!(decode("milestones", Some(&next)).unwrap(), Some(milestone));

        let notices = encode("notices", &key);
        let bad = [
            String::new(),
            "yesterday".into(),
            "abc".into(),
            "7b7d".into(),
            notices.to_uppercase(),
            format!("{notices}00"),
            notices[..notices.len() - 2].to_string(),
            // The cursor of another list.
            encode("reviews", &key),
            // Well-formed hex of the wrong JSON.
            encode(
                "notices",
                &(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), Uuid::nil()),
            ),
        ];
        for s in bad {
            let e = decode::<(DateTime<Utc>, Uuid)>("notices", Some(&s)).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("after"), "{s}");
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{s}");
        }
        // A year chrono reads but PostgreSQL refuses.
        let far = (
            NaiveDate::from_ymd_opt(-200_000, 1, 1).unwrap(),
            Uuid::nil(),
        );
        assert!(!far.in_range());
        let e = decode::<(NaiveDate, Uuid)>("inspections", Some(&encode("inspections", &far)))
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("after"));
    }
}
