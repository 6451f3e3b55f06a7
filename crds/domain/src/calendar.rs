//! The working-day engine (工作日): which days are working days in each year whose
//! State Council holiday notice was loaded, and deadlines counted in working days.
//!
//! Why data and not code: every deadline of the three systems counts working days —
//! disclosure within 7 or 20 working days, Shenyang's monthly report moved to the next
//! working day — and the State Council announces each year's holidays and make-up
//! working days (调休) only weeks before the year starts. Administrators load each
//! year's notice (as a `WorkCalendar` object); the engine never guesses a year nobody
//! loaded ([`CalendarError::MissingYear`]). Callers that must not block on a missing
//! year (an issued decision still gets recorded) use [`Calendar::due_after`], whose
//! [`DueDate::Pending`] reads "pending: no calendar for YEAR" until the year is loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::field_error::{FieldError, join_field_errors};

/// Earliest year a `WorkCalendar` may describe.
pub const MIN_YEAR: i32 = 2000;
/// Latest year a `WorkCalendar` may describe.
pub const MAX_YEAR: i32 = 2100;
/// Most holiday periods one year may list (the State Council declares seven).
pub const MAX_HOLIDAY_PERIODS: usize = 32;
/// Most make-up working days one year may list.
pub const MAX_MAKEUP_DAYS: usize = 32;

/// One year's holiday notice, whatever carries it (the `WorkCalendar` CRD's spec, a
/// YAML file): the year, its holiday periods and its make-up working days.
pub trait YearNotice {
    /// The calendar year described.
    fn year(&self) -> i32;
    /// Statutory holiday periods of the year.
    fn holidays(&self) -> &[HolidayPeriod];
    /// Saturdays and Sundays declared working days.
    fn makeup_working_days(&self) -> &[NaiveDate];
}

/// One run of consecutive statutory holiday days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.start <= self.end",
        "message": "end must not be before start",
        "fieldPath": ".end"
    }
]))]
pub struct HolidayPeriod {
    /// Name of the holiday as in the notice, e.g. 春节 (Spring Festival) or 国庆节.
    #[schemars(length(min = 1, max = 64))]
    pub name: String,
    /// First day off (YYYY-MM-DD).
    pub start: NaiveDate,
    /// Last day off, inclusive (YYYY-MM-DD). Equal to start for a one-day holiday.
    pub end: NaiveDate,
}

/// Why the working-day engine cannot answer.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum CalendarError {
    /// The date lies in a year for which no WorkCalendar has been loaded.
    #[error(
        "no WorkCalendar for year {0}: load the State Council holiday notice for {0} as a WorkCalendar"
    )]
    MissingYear(i32),
    /// A WorkCalendar (or the set of them) is inconsistent.
    #[error("WorkCalendar for year {year} is invalid: {reason}")]
    Invalid {
        /// Year of the offending WorkCalendar.
        year: i32,
        /// What is wrong, naming the field.
        reason: String,
    },
}

/// Checks one year's notice the way the WorkCalendar CEL rules do, reporting every
/// problem with the field path an administrator edits (`spec.holidays[2].end`).
pub fn validate_year(notice: &impl YearNotice) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let year = notice.year();
    let (holidays, makeup_working_days) = (notice.holidays(), notice.makeup_working_days());
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        errors.push(FieldError::new(
            "spec.year",
            format!("{year} is outside {MIN_YEAR}..={MAX_YEAR}"),
        ));
    }
    if holidays.is_empty() {
        errors.push(FieldError::new(
            "spec.holidays",
            "list at least one holiday period from the State Council notice",
        ));
    }
    if holidays.len() > MAX_HOLIDAY_PERIODS {
        errors.push(FieldError::new(
            "spec.holidays",
            format!("at most {MAX_HOLIDAY_PERIODS} holiday periods may be listed"),
        ));
    }
    for (i, h) in holidays.iter().enumerate() {
        let field = format!("spec.holidays[{i}]");
        if h.name.trim().is_empty() {
            errors.push(FieldError::new(
                format!("{field}.name"),
                "must not be empty",
            ));
        }
        for (part, date) in [("start", h.start), ("end", h.end)] {
            if date.year() != year {
                errors.push(FieldError::new(
                    format!("{field}.{part}"),
                    format!("{date} is not in spec.year {year}"),
                ));
            }
        }
        if h.start > h.end {
            errors.push(FieldError::new(
                format!("{field}.end"),
                format!("{} is before start {}", h.end, h.start),
            ));
        }
    }
    // Overlaps: compare every pair so that each offending period is named.
    for (j, b) in holidays.iter().enumerate() {
        for (i, a) in holidays.iter().enumerate().take(j) {
            if a.start <= b.end && b.start <= a.end {
                errors.push(FieldError::new(
                    format!("spec.holidays[{j}]"),
                    format!(
                        "{} ({}..{}) overlaps spec.holidays[{i}] {} ({}..{})",
                        b.name, b.start, b.end, a.name, a.start, a.end
                    ),
                ));
            }
        }
    }
    if makeup_working_days.len() > MAX_MAKEUP_DAYS {
        errors.push(FieldError::new(
            "spec.makeupWorkingDays",
            format!("at most {MAX_MAKEUP_DAYS} make-up working days may be listed"),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, d) in makeup_working_days.iter().enumerate() {
        let field = format!("spec.makeupWorkingDays[{i}]");
        if d.year() != year {
            errors.push(FieldError::new(
                &field,
                format!("{d} is not in spec.year {year}"),
            ));
        }
        if !is_weekend(*d) {
            errors.push(FieldError::new(
                &field,
                format!(
                    "{d} is a {:?}; a make-up working day must be a Saturday or Sunday",
                    d.weekday()
                ),
            ));
        }
        if let Some(h) = holidays.iter().find(|h| h.start <= *d && *d <= h.end) {
            errors.push(FieldError::new(
                &field,
                format!(
                    "{d} falls inside holiday {} ({}..{})",
                    h.name, h.start, h.end
                ),
            ));
        }
        if !seen.insert(*d) {
            errors.push(FieldError::new(&field, format!("{d} is listed twice")));
        }
    }
    errors
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The days off and make-up days of one loaded year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct YearDays {
    holidays: BTreeSet<NaiveDate>,
    makeup: BTreeSet<NaiveDate>,
}

/// The working-day engine: working days of every loaded year.
///
/// Build it with [`Calendar::from_specs`] from all WorkCalendar objects; every question
/// about a date in a year that was not loaded fails with
/// [`CalendarError::MissingYear`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, YearDays>,
}

impl Calendar {
    /// Builds the engine from several years; each spec is validated and a year may
    /// appear only once.
    pub fn from_specs<'a, N: YearNotice + 'a>(
        specs: impl IntoIterator<Item = &'a N>,
    ) -> Result<Self, CalendarError> {
        let mut years = BTreeMap::new();
        for spec in specs {
            Self::validate_spec(spec)?;
            let mut days = YearDays::default();
            for h in spec.holidays() {
                days.holidays
                    .extend(h.start.iter_days().take_while(|d| *d <= h.end));
            }
            days.makeup
                .extend(spec.makeup_working_days().iter().copied());
            if years.insert(spec.year(), days).is_some() {
                return Err(CalendarError::Invalid {
                    year: spec.year(),
                    reason: format!(
                        "duplicate year: more than one WorkCalendar has spec.year {}; delete all but one",
                        spec.year()
                    ),
                });
            }
        }
        Ok(Self { years })
    }

    /// Checks one spec (dates inside the year, start <= end, no overlaps, make-up days
    /// on weekends outside holidays); the reason names every offending field.
    pub fn validate_spec(spec: &impl YearNotice) -> Result<(), CalendarError> {
        let errors = validate_year(spec);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CalendarError::Invalid {
                year: spec.year(),
                reason: join_field_errors(&errors),
            })
        }
    }

    /// The loaded years, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// Whether `d` is a working day: Monday to Friday minus holidays, plus make-up days.
    pub fn is_working_day(&self, d: NaiveDate) -> Result<bool, CalendarError> {
        let year = self
            .years
            .get(&d.year())
            .ok_or(CalendarError::MissingYear(d.year()))?;
        Ok(if year.makeup.contains(&d) {
            true
        } else if year.holidays.contains(&d) {
            false
        } else {
            !is_weekend(d)
        })
    }

    /// The `n`-th working day strictly after `start` ("within 7 working days of the
    /// decision" ends on `add_working_days(decision, 7)`); `n == 0` returns `start`.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d = next_day(d)?;
            if self.is_working_day(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }

    /// Number of working days in `(from, to]`: `from` itself is not counted, `to` is.
    /// Zero when `to <= from`.
    pub fn working_days_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<u32, CalendarError> {
        let mut count = 0;
        let mut d = from;
        while d < to {
            d = next_day(d)?;
            if self.is_working_day(d)? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// `d` if it is a working day, else the first working day after it.
    pub fn next_working_day_on_or_after(&self, d: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut d = d;
        while !self.is_working_day(d)? {
            d = next_day(d)?;
        }
        Ok(d)
    }
}

fn next_day(d: NaiveDate) -> Result<NaiveDate, CalendarError> {
    d.succ_opt()
        .ok_or(CalendarError::MissingYear(d.year().saturating_add(1)))
}

/// A deadline counted in working days: a date, or pending because a year it reaches
/// into has no calendar yet (it becomes a date the moment that year is loaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueDate {
    /// The deadline.
    On(NaiveDate),
    /// The deadline reaches into `year`, for which no calendar is loaded.
    Pending {
        /// The first year without a calendar.
        year: i32,
    },
}

impl DueDate {
    /// The date, when known.
    pub fn date(self) -> Option<NaiveDate> {
        match self {
            Self::On(d) => Some(d),
            Self::Pending { .. } => None,
        }
    }
}

impl fmt::Display for DueDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::On(d) => write!(f, "{d}"),
            Self::Pending { year } => write!(f, "pending: no calendar for {year}"),
        }
    }
}

impl Calendar {
    /// The `n`-th working day after `start` ([`Calendar::add_working_days`]), or
    /// [`DueDate::Pending`] when a year on the way has no calendar. Fails only on an
    /// inconsistent calendar.
    pub fn due_after(&self, start: NaiveDate, n: u32) -> Result<DueDate, CalendarError> {
        match self.add_working_days(start, n) {
            Ok(d) => Ok(DueDate::On(d)),
            Err(CalendarError::MissingYear(year)) => Ok(DueDate::Pending { year }),
            Err(e) => Err(e),
        }
    }

    /// Whether `year` is loaded.
    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Notice(i32, Vec<HolidayPeriod>, Vec<NaiveDate>);
    impl YearNotice for Notice {
        fn year(&self) -> i32 {
            self.0
        }
        fn holidays(&self) -> &[HolidayPeriod] {
            &self.1
        }
        fn makeup_working_days(&self) -> &[NaiveDate] {
            &self.2
        }
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn national_day(year: i32) -> Notice {
        let d = |md: &str| date(&format!("{year}-{md}"));
        Notice(
            year,
            vec![HolidayPeriod {
                name: "国庆节".into(),
                start: d("10-01"),
                end: d("10-07"),
            }],
            vec![],
        )
    }

    #[test]
    fn a_due_date_into_a_missing_year_is_pending_and_says_so() {
        let cal = Calendar::from_specs([&national_day(2026)]).unwrap();
        assert!(cal.has_year(2026) && !cal.has_year(2027));
        assert_eq!(
            cal.due_after(date("2026-12-30"), 7),
            Ok(DueDate::Pending { year: 2027 })
        );
        assert_eq!(
            DueDate::Pending { year: 2027 }.to_string(),
            "pending: no calendar for 2027"
        );
        let both = Calendar::from_specs([&national_day(2026), &national_day(2027)]).unwrap();
        // 31 Dec (Thu), then Fri 1 Jan 2027 is a plain weekday in this test notice.
        assert_eq!(
            both.due_after(date("2026-12-30"), 2),
            Ok(DueDate::On(date("2027-01-01")))
        );
        assert_eq!(DueDate::On(date("2027-01-01")).to_string(), "2027-01-01");
    }

    #[test]
    fn validation_names_fields_of_the_notice() {
        let mut n = national_day(2026);
        n.2 = vec![date("2026-10-03"), date("2026-10-05")];
        let fields: Vec<_> = validate_year(&n).into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "spec.makeupWorkingDays[0]",
                "spec.makeupWorkingDays[1]",
                "spec.makeupWorkingDays[1]"
            ]
        );
    }
}
