//! When a supervision milestone is due: a [`Schedule`] (one-off, monthly or yearly) and
//! the pure functions that turn it into due dates with the working-day [`Calendar`].
//!
//! Recurring duties in the seeds move to the next working day when their day is not
//! one (Shenyang: 每月20日（非工作日顺延）, the 20th of each month, postponed when it is
//! not a working day), so due dates depend on the loaded WorkCalendars: [`occurrences`]
//! and [`next_due`] look up only the days they need and fail with
//! [`CalendarError::MissingYear`] rather than guess. A one-off `due` date from a plan is
//! used as written.

use chrono::{Datelike, Days, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, CalendarError};
use crate::field_error::FieldError;
use crate::month_day::MonthDay;

/// A recurring due date is postponed by at most this many days. Real notices never
/// have more than about ten consecutive days off; a longer run means a wrong
/// WorkCalendar and is reported as [`CalendarError::Invalid`]. The bound also lets the
/// engine ignore last year's occurrences without loading last year's calendar.
pub const MAX_POSTPONEMENT_DAYS: u64 = 31;
/// Default of `dueSoonWorkingDays`.
pub const DEFAULT_DUE_SOON_WORKING_DAYS: u32 = 3;

/// When a milestone is due: exactly one of `due`, `monthly` or `yearly`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "(has(self.due) ? 1 : 0) + (has(self.monthly) ? 1 : 0) + (has(self.yearly) ? 1 : 0) == 1",
        "message": "set exactly one of due, monthly or yearly"
    }
]))]
pub struct Schedule {
    /// One-off deadline (YYYY-MM-DD), e.g. 2019-04-30. Used as written: it is not moved
    /// to a working day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,

    /// Due every month on a given day, moved to the next working day when that day is
    /// not one (Shenyang's monthly report on the 20th).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly: Option<MonthlySchedule>,

    /// Due every year on a given month and day, moved to the next working day when that
    /// day is not one (e.g. annual statistics on January 31).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yearly: Option<MonthDay>,

    /// How many working days before the due date the milestone counts as "due soon"
    /// and its alert starts firing. Default 3.
    #[serde(default = "default_due_soon_working_days")]
    #[schemars(range(min = 0, max = 60))]
    pub due_soon_working_days: u32,
}

fn default_due_soon_working_days() -> u32 {
    DEFAULT_DUE_SOON_WORKING_DAYS
}

/// A day of every month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthlySchedule {
    /// Day of the month, 1 to 31. In shorter months a day past the end means the
    /// month's last day (31 = "end of each month").
    #[schemars(range(min = 1, max = 31))]
    pub day: u32,
}

/// The kind of a valid schedule, for matching in Rust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recurrence {
    /// Due once, on this date.
    Once(NaiveDate),
    /// Due each month on this day (clamped to the month's end), moved to a working day.
    Monthly(u32),
    /// Due each year on this day, moved to a working day.
    Yearly(MonthDay),
}

impl Schedule {
    /// A one-off deadline.
    pub fn once(due: NaiveDate) -> Self {
        Self::with(Some(due), None, None)
    }

    /// Due every month on `day`.
    pub fn monthly(day: u32) -> Self {
        Self::with(None, Some(MonthlySchedule { day }), None)
    }

    /// Due every year on `month`/`day`.
    pub fn yearly(month: u32, day: u32) -> Self {
        Self::with(None, None, Some(MonthDay::new(month, day)))
    }

    fn with(
        due: Option<NaiveDate>,
        monthly: Option<MonthlySchedule>,
        yearly: Option<MonthDay>,
    ) -> Self {
        Self {
            due,
            monthly,
            yearly,
            due_soon_working_days: DEFAULT_DUE_SOON_WORKING_DAYS,
        }
    }

    /// The schedule's kind, or `None` unless exactly one of due/monthly/yearly is set.
    pub fn recurrence(&self) -> Option<Recurrence> {
        match (self.due, self.monthly, self.yearly) {
            (Some(d), None, None) => Some(Recurrence::Once(d)),
            (None, Some(m), None) => Some(Recurrence::Monthly(m.day)),
            (None, None, Some(y)) => Some(Recurrence::Yearly(y)),
            _ => None,
        }
    }

    /// Problems with this schedule, reported under `field` (e.g. `spec.milestones[0].schedule`).
    pub fn validate(&self, field: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        match self.recurrence() {
            None => errors.push(FieldError::new(
                field,
                "set exactly one of due, monthly or yearly",
            )),
            Some(Recurrence::Monthly(day)) if !(1..=31).contains(&day) => {
                errors.push(FieldError::new(
                    format!("{field}.monthly.day"),
                    format!("{day} is not 1 to 31"),
                ))
            }
            Some(Recurrence::Yearly(md)) => errors.extend(md.validate(&format!("{field}.yearly"))),
            Some(_) => {}
        }
        if self.due_soon_working_days > 60 {
            errors.push(FieldError::new(
                format!("{field}.dueSoonWorkingDays"),
                format!("{} is more than 60", self.due_soon_working_days),
            ));
        }
        errors
    }
}

fn invalid_schedule(year: i32, schedule: &Schedule) -> CalendarError {
    let reason = schedule
        .validate("schedule")
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    CalendarError::Invalid { year, reason }
}

/// Nominal (unmoved) due dates of a recurring schedule, in order, starting with the
/// period before `first` (whose postponed due date may still reach `first`).
fn nominal_dates(recurrence: Recurrence, first: NaiveDate) -> Box<dyn Iterator<Item = NaiveDate>> {
    match recurrence {
        Recurrence::Once(d) => Box::new(std::iter::once(d)),
        Recurrence::Monthly(day) => {
            let start = first.year() * 12 + first.month0() as i32 - 1;
            Box::new((start..).map_while(move |m| {
                MonthDay::new(m.rem_euclid(12) as u32 + 1, day).in_year(m.div_euclid(12))
            }))
        }
        Recurrence::Yearly(md) => Box::new((first.year() - 1..).map_while(move |y| md.in_year(y))),
    }
}

/// The due date of an occurrence nominally due on `nominal`, moved to the next working
/// day, if it falls in `[from, to]`. Only the days needed to decide are looked up, so a
/// year outside the window is required only when the answer depends on it.
fn moved_into_window(
    cal: &Calendar,
    nominal: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Option<NaiveDate>, CalendarError> {
    if nominal > to {
        return Ok(None);
    }
    let limit = nominal
        .checked_add_days(Days::new(MAX_POSTPONEMENT_DAYS))
        .unwrap_or(NaiveDate::MAX);
    if limit < from {
        return Ok(None);
    }
    let mut d = nominal;
    if nominal < from {
        // Due before `from` unless every day from `nominal` up to `from` is a day off.
        let mut back = from;
        while back > nominal {
            back = match back.pred_opt() {
                Some(p) => p,
                None => return Ok(None),
            };
            if cal.is_working_day(back)? {
                return Ok(None);
            }
        }
        d = from;
    }
    loop {
        if cal.is_working_day(d)? {
            return Ok(Some(d));
        }
        if d >= to {
            return Ok(None);
        }
        if d >= limit {
            return Err(CalendarError::Invalid {
                year: d.year(),
                reason: format!(
                    "no working day within {MAX_POSTPONEMENT_DAYS} days after {nominal}; check the holidays of the WorkCalendar for {}",
                    d.year()
                ),
            });
        }
        d = match d.succ_opt() {
            Some(n) => n,
            None => return Ok(None),
        };
    }
}

/// Due dates of `schedule` that fall in `[from, to]`, ascending. Monthly and yearly due
/// dates are moved to the next working day; a one-off `due` is used as written.
///
/// Fails with `MissingYear` when a needed year has no WorkCalendar (including the year
/// before `from` when `from` is in early January and a late-December due date could be
/// postponed into the window), and with `Invalid` when the schedule does not set
/// exactly one valid kind (the reason names the schedule field) or a due date would be
/// postponed by more than [`MAX_POSTPONEMENT_DAYS`].
pub fn occurrences(
    schedule: &Schedule,
    cal: &Calendar,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>, CalendarError> {
    let recurrence = checked(schedule, from)?;
    let mut out: Vec<NaiveDate> = Vec::new();
    if from > to {
        return Ok(out);
    }
    if let Recurrence::Once(d) = recurrence {
        if from <= d && d <= to {
            out.push(d);
        }
        return Ok(out);
    }
    for nominal in nominal_dates(recurrence, from) {
        if nominal > to {
            break;
        }
        if let Some(due) = moved_into_window(cal, nominal, from, to)?
            && out.last() != Some(&due)
        {
            out.push(due);
        }
    }
    Ok(out)
}

/// The first due date of `schedule` on or after `on_or_after`; `None` for a one-off
/// milestone whose date has passed. Errors as for [`occurrences`].
pub fn next_due(
    schedule: &Schedule,
    cal: &Calendar,
    on_or_after: NaiveDate,
) -> Result<Option<NaiveDate>, CalendarError> {
    let recurrence = checked(schedule, on_or_after)?;
    if let Recurrence::Once(d) = recurrence {
        return Ok((d >= on_or_after).then_some(d));
    }
    for nominal in nominal_dates(recurrence, on_or_after) {
        if let Some(due) = moved_into_window(cal, nominal, on_or_after, NaiveDate::MAX)? {
            return Ok(Some(due));
        }
    }
    Ok(None)
}

/// Whether a milestone due on `due` is "due soon" on `today`: not yet past, and at most
/// `dueSoonWorkingDays` working days away.
pub fn is_due_soon(
    schedule: &Schedule,
    cal: &Calendar,
    today: NaiveDate,
    due: NaiveDate,
) -> Result<bool, CalendarError> {
    if today > due {
        return Ok(false);
    }
    Ok(cal.working_days_between(today, due)? <= schedule.due_soon_working_days)
}

fn checked(schedule: &Schedule, at: NaiveDate) -> Result<Recurrence, CalendarError> {
    match schedule.recurrence() {
        Some(r) if schedule.validate("schedule").is_empty() => Ok(r),
        _ => Err(invalid_schedule(at.year(), schedule)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::{both, cn_2026, date};

    fn monthly_20() -> Schedule {
        Schedule::monthly(20)
    }

    #[test]
    fn shenyang_monthly_report_on_the_20th_2026() {
        let cal = both();
        let got = occurrences(&monthly_20(), &cal, date("2026-01-01"), date("2026-12-31")).unwrap();
        let want: Vec<NaiveDate> = [
            "2026-01-20", // Tuesday
            "2026-02-24", // 20th in 春节 (15–23) → Tue 24th
            "2026-03-20", // Friday
            "2026-04-20", // Monday
            "2026-05-20", // Wednesday
            "2026-06-22", // 20th in 端午 (19–21) → Mon 22nd
            "2026-07-20", // Monday
            "2026-08-20", // Thursday
            "2026-09-20", // Sunday, but a make-up working day → stays
            "2026-10-20", // Tuesday
            "2026-11-20", // Friday
            "2026-12-21", // Sunday → Mon 21st
        ]
        .iter()
        .map(|d| date(d))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn the_three_cases_of_the_brief() {
        let cal = both();
        let s = monthly_20();
        let month = |a, b| occurrences(&s, &cal, date(a), date(b)).unwrap();
        assert_eq!(month("2026-09-01", "2026-09-30"), vec![date("2026-09-20")]);
        assert_eq!(month("2026-12-01", "2026-12-31"), vec![date("2026-12-21")]);
        assert_eq!(month("2026-06-01", "2026-06-30"), vec![date("2026-06-22")]);
    }

    #[test]
    fn a_postponed_due_date_from_the_previous_month_is_in_the_window() {
        let cal = both();
        // Day 31 of January 2026 is a Saturday → Mon Feb 2, inside a February window.
        let s = Schedule::monthly(31);
        assert_eq!(
            occurrences(&s, &cal, date("2026-02-01"), date("2026-02-28")).unwrap(),
            vec![date("2026-02-02"), date("2026-02-28")] // Feb 28 is a make-up Saturday
        );
        // And it is not in a January window that ends before it.
        assert_eq!(
            occurrences(&s, &cal, date("2026-01-01"), date("2026-01-31")).unwrap(),
            vec![]
        );
    }

    #[test]
    fn day_31_means_end_of_month() {
        let cal = both();
        let got = occurrences(
            &Schedule::monthly(31),
            &cal,
            date("2026-03-01"),
            date("2026-05-05"),
        )
        .unwrap();
        // Mar 31 Tue; Apr 30 Thu; May 31 is after the window.
        assert_eq!(got, vec![date("2026-03-31"), date("2026-04-30")]);
    }

    #[test]
    fn window_edges_are_inclusive_and_empty_windows_are_empty() {
        let cal = both();
        let s = monthly_20();
        assert_eq!(
            occurrences(&s, &cal, date("2026-03-20"), date("2026-03-20")).unwrap(),
            vec![date("2026-03-20")]
        );
        assert_eq!(
            occurrences(&s, &cal, date("2026-03-21"), date("2026-03-20")).unwrap(),
            vec![]
        );
        // Due date moved past the window's end is not in the window.
        assert_eq!(
            occurrences(&s, &cal, date("2026-12-01"), date("2026-12-20")).unwrap(),
            vec![]
        );
    }

    #[test]
    fn yearly_annual_statistics_due_january_31() {
        let cal = both();
        let s = Schedule::yearly(1, 31);
        // 2025-01-31 is Friday but inside 春节 (Jan 28–Feb 4) → Wed Feb 5.
        // 2026-01-31 is Saturday → Mon Feb 2.
        assert_eq!(
            occurrences(&s, &cal, date("2025-01-01"), date("2026-12-31")).unwrap(),
            vec![date("2025-02-05"), date("2026-02-02")]
        );
        assert_eq!(
            next_due(&s, &cal, date("2025-02-03")),
            Ok(Some(date("2025-02-05")))
        );
        assert_eq!(
            next_due(&s, &cal, date("2025-02-06")),
            Ok(Some(date("2026-02-02")))
        );
        // Dazhou reports by January 10: 2026-01-10 is a Saturday → Mon Jan 12.
        assert_eq!(
            next_due(&Schedule::yearly(1, 10), &cal, date("2026-01-01")),
            Ok(Some(date("2026-01-12")))
        );
    }

    #[test]
    fn next_due_monthly() {
        let cal = both();
        let s = monthly_20();
        assert_eq!(
            next_due(&s, &cal, date("2026-06-01")),
            Ok(Some(date("2026-06-22")))
        );
        // On the 21st the June report (moved to the 22nd) is still ahead.
        assert_eq!(
            next_due(&s, &cal, date("2026-06-21")),
            Ok(Some(date("2026-06-22")))
        );
        assert_eq!(
            next_due(&s, &cal, date("2026-06-22")),
            Ok(Some(date("2026-06-22")))
        );
        assert_eq!(
            next_due(&s, &cal, date("2026-06-23")),
            Ok(Some(date("2026-07-20")))
        );
        // December 2026 → 2026-12-21; after it, January 2027 has no calendar.
        assert_eq!(
            next_due(&s, &cal, date("2026-12-21")),
            Ok(Some(date("2026-12-21")))
        );
        assert_eq!(
            next_due(&s, &cal, date("2026-12-22")),
            Err(CalendarError::MissingYear(2027))
        );
    }

    #[test]
    fn one_off_due_dates_are_not_moved() {
        let cal = Calendar::default(); // no calendar needed
        let s = Schedule::once(date("2019-04-30"));
        assert_eq!(
            next_due(&s, &cal, date("2019-04-01")),
            Ok(Some(date("2019-04-30")))
        );
        assert_eq!(
            next_due(&s, &cal, date("2019-04-30")),
            Ok(Some(date("2019-04-30")))
        );
        assert_eq!(next_due(&s, &cal, date("2019-05-01")), Ok(None));
        assert_eq!(
            occurrences(&s, &cal, date("2019-01-01"), date("2019-12-31")),
            Ok(vec![date("2019-04-30")])
        );
        assert_eq!(
            occurrences(&s, &cal, date("2019-05-01"), date("2019-12-31")),
            Ok(vec![])
        );
    }

    #[test]
    fn missing_years_are_reported_not_guessed() {
        let only_2026 = Calendar::from_specs([&cn_2026().spec]).unwrap();
        let s = monthly_20();
        // A window well inside 2026 needs nothing else.
        assert!(occurrences(&s, &only_2026, date("2026-03-01"), date("2026-11-30")).is_ok());
        // From Jan 5: looking back, Sun Jan 4 2026 is a make-up working day, so December
        // 2025's report cannot reach the window and 2025 is not needed.
        assert_eq!(
            next_due(&s, &only_2026, date("2026-01-05")),
            Ok(Some(date("2026-01-20")))
        );
        // From Jan 1 the answer depends on 2025's last days.
        assert_eq!(
            next_due(&s, &only_2026, date("2026-01-01")),
            Err(CalendarError::MissingYear(2025))
        );
        assert_eq!(
            occurrences(&s, &only_2026, date("2026-12-01"), date("2027-01-31")),
            Err(CalendarError::MissingYear(2027))
        );
    }

    #[test]
    fn invalid_schedules_are_errors_naming_the_field() {
        let cal = both();
        let mut s = monthly_20();
        s.due = Some(date("2026-01-01"));
        match occurrences(&s, &cal, date("2026-01-01"), date("2026-12-31")) {
            Err(CalendarError::Invalid { year, reason }) => {
                assert_eq!(year, 2026);
                assert_eq!(
                    reason,
                    "schedule: set exactly one of due, monthly or yearly"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        let s = Schedule::monthly(32);
        assert!(matches!(
            next_due(&s, &cal, date("2026-01-01")),
            Err(CalendarError::Invalid { reason, .. }) if reason.starts_with("schedule.monthly.day")
        ));
    }

    #[test]
    fn due_soon_counts_working_days() {
        let cal = both();
        let s = monthly_20(); // 3 working days
        let due = date("2026-06-22");
        // From Tue Jun 16: 17, 18, 22 → 3 working days → due soon.
        assert_eq!(is_due_soon(&s, &cal, date("2026-06-16"), due), Ok(true));
        // From Mon Jun 15: 16, 17, 18, 22 → 4 → not yet.
        assert_eq!(is_due_soon(&s, &cal, date("2026-06-15"), due), Ok(false));
        assert_eq!(is_due_soon(&s, &cal, due, due), Ok(true));
        assert_eq!(is_due_soon(&s, &cal, date("2026-06-23"), due), Ok(false));
    }

    #[test]
    fn schedule_recurrence_and_validation() {
        assert_eq!(
            Schedule::monthly(20).recurrence(),
            Some(Recurrence::Monthly(20))
        );
        assert_eq!(
            Schedule::yearly(1, 31).recurrence(),
            Some(Recurrence::Yearly(MonthDay::new(1, 31)))
        );
        let none = Schedule {
            due: None,
            monthly: None,
            yearly: None,
            due_soon_working_days: 3,
        };
        assert_eq!(none.recurrence(), None);
        let f = |s: &Schedule| {
            s.validate("s")
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(f(&none), ["s"]);
        assert_eq!(f(&Schedule::monthly(0)), ["s.monthly.day"]);
        assert_eq!(f(&Schedule::yearly(2, 30)), ["s.yearly.day"]);
        assert_eq!(f(&Schedule::yearly(13, 1)), ["s.yearly.month"]);
        let mut soon = Schedule::monthly(1);
        soon.due_soon_working_days = 61;
        assert_eq!(f(&soon), ["s.dueSoonWorkingDays"]);
    }

    #[test]
    fn an_impossible_postponement_is_reported() {
        let mut spec = cn_2026().spec;
        spec.holidays = vec![crate::calendar::HolidayPeriod {
            name: "wrong".into(),
            start: date("2026-03-01"),
            end: date("2026-05-31"),
        }];
        spec.makeup_working_days = vec![];
        let cal = Calendar::from_specs([&spec]).unwrap();
        assert!(matches!(
            occurrences(&monthly_20(), &cal, date("2026-03-01"), date("2026-06-30")),
            Err(CalendarError::Invalid { year: 2026, .. })
        ));
    }
}
