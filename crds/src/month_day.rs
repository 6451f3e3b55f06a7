//! A day of the year without a year (`{month: 1, day: 31}`), shared by yearly
//! supervision milestones and the annual-statistics deadline of a jurisdiction.
//!
//! Kept as two small integers rather than a `--MM-DD` string so that `kubectl explain`
//! documents each part and CEL can check them without parsing. A day beyond the end of
//! a short month (Feb 29 in a common year) means that month's last day, the same rule
//! monthly schedules use for day 31.

use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::field_error::FieldError;

/// Longest length of each month (February counted as 29 days).
const MAX_DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// A calendar day that recurs every year, e.g. `{month: 1, day: 31}` for January 31.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.month < 1 || self.month > 12 || self.day <= [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][self.month - 1]",
        "message": "day does not exist in that month",
        "fieldPath": ".day"
    }
]))]
pub struct MonthDay {
    /// Month, 1 (January) to 12 (December).
    #[schemars(range(min = 1, max = 12))]
    pub month: u32,
    /// Day of the month, 1 to 31. February 29 means February 28 in common years.
    #[schemars(range(min = 1, max = 31))]
    pub day: u32,
}

impl MonthDay {
    /// `{month, day}`.
    pub const fn new(month: u32, day: u32) -> Self {
        Self { month, day }
    }

    /// The date in `year`, clamped to the month's last day (Feb 29 → Feb 28 in common
    /// years). `None` when month or day is out of range.
    pub fn in_year(&self, year: i32) -> Option<NaiveDate> {
        if !(1..=31).contains(&self.day) {
            return None;
        }
        let last = last_day_of_month(year, self.month)?;
        NaiveDate::from_ymd_opt(year, self.month, self.day.min(last.day()))
    }

    /// Problems with this value, reported under `field` (e.g. `spec.policies.annualStatisticsDue`).
    pub fn validate(&self, field: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let month_ok = (1..=12).contains(&self.month);
        if !month_ok {
            errors.push(FieldError::new(
                format!("{field}.month"),
                format!("{} is not a month (1 to 12)", self.month),
            ));
        }
        let max_day = if month_ok {
            MAX_DAYS[self.month as usize - 1]
        } else {
            31
        };
        if !(1..=max_day).contains(&self.day) {
            let message = if month_ok {
                format!(
                    "{} does not exist in month {} (1 to {max_day})",
                    self.day, self.month
                )
            } else {
                format!("{} is not a day of a month (1 to 31)", self.day)
            };
            errors.push(FieldError::new(format!("{field}.day"), message));
        }
        errors
    }
}

/// Last day of `month` in `year`; `None` for an invalid month.
pub fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (ny, nm) = if month == 12 {
        (year.checked_add(1)?, 1)
    } else {
        (year, month.checked_add(1)?)
    };
    if !(1..=12).contains(&month) {
        return None;
    }
    NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn in_year_clamps_to_the_last_day_of_the_month() {
        assert_eq!(MonthDay::new(1, 31).in_year(2026), Some(d("2026-01-31")));
        assert_eq!(MonthDay::new(2, 29).in_year(2026), Some(d("2026-02-28")));
        assert_eq!(MonthDay::new(2, 29).in_year(2028), Some(d("2028-02-29")));
        assert_eq!(MonthDay::new(4, 31).in_year(2026), Some(d("2026-04-30")));
        assert_eq!(MonthDay::new(13, 1).in_year(2026), None);
        assert_eq!(MonthDay::new(1, 0).in_year(2026), None);
    }

    #[test]
    fn last_day_of_month_handles_december_and_leap_years() {
        assert_eq!(last_day_of_month(2026, 12), Some(d("2026-12-31")));
        assert_eq!(last_day_of_month(2024, 2), Some(d("2024-02-29")));
        assert_eq!(last_day_of_month(2026, 0), None);
        assert_eq!(last_day_of_month(2026, 13), None);
    }

    #[test]
    fn validate_names_the_field() {
        assert!(MonthDay::new(1, 31).validate("spec.x").is_empty());
        assert!(MonthDay::new(2, 29).validate("spec.x").is_empty());
        let e = MonthDay::new(2, 30).validate("spec.x");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "spec.x.day");
        let e = MonthDay::new(4, 31).validate("spec.x");
        assert_eq!(e[0].field, "spec.x.day");
        let e = MonthDay::new(0, 1).validate("spec.x");
        assert_eq!(
            e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["spec.x.month"]
        );
        let e = MonthDay::new(13, 40).validate("spec.x");
        assert_eq!(
            e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["spec.x.month", "spec.x.day"]
        );
        let e = MonthDay::new(3, 0).validate("spec.x");
        assert_eq!(
            e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["spec.x.day"]
        );
    }
}
