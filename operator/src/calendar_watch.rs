//! Which years lack a WorkCalendar, ahead of time.
//!
//! `sanxiang_calendar_year_missing{year}` is 1 for the current year while it is not
//! loaded, and for next year from `--calendar-warn-from` (default November 1: the State
//! Council announces next year's holidays in the autumn) until it is loaded. The global
//! alert `SanxiangWorkCalendarNotLoaded` fires on it before any deadline is pending; the
//! tenant service's `sanxiang_calendar_missing_year` covers due dates already pending.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use sanxiang_crds::month_day::MonthDay;
use tokio::sync::mpsc;

use crate::context::Context;

/// Parses `MM-DD`, e.g. `11-01`, for `--calendar-warn-from`.
pub fn parse_month_day(s: &str) -> Result<MonthDay, String> {
    let (m, d) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?} is not MM-DD (e.g. 11-01)"))?;
    let md = MonthDay::new(
        m.parse()
            .map_err(|_| format!("{s:?}: month {m:?} is not a number"))?,
        d.parse()
            .map_err(|_| format!("{s:?}: day {d:?} is not a number"))?,
    );
    match md.validate("--calendar-warn-from").first() {
        Some(e) => Err(e.to_string()),
        None => Ok(md),
    }
}

/// The years that should have a WorkCalendar on `today` and have none.
pub fn missing_years(loaded: &[i32], today: NaiveDate, warn_from: MonthDay) -> Vec<i32> {
    let year = today.year();
    let mut missing = Vec::new();
    if !loaded.contains(&year) {
        missing.push(year);
    }
    let warn = warn_from.in_year(year).is_some_and(|d| today >= d);
    if warn && !loaded.contains(&(year + 1)) {
        missing.push(year + 1);
    }
    missing
}

/// Keeps the gauge current: on every change of the WorkCalendars and hourly (the date
/// moves too).
pub async fn run(ctx: Arc<Context>, mut changes: mpsc::Receiver<()>) {
    loop {
        let loaded = ctx.calendar().map(|c| c.years()).unwrap_or_default();
        let missing = missing_years(&loaded, ctx.clock.today(), ctx.config.calendar_warn_from);
        let gauge = &ctx.metrics.calendar_year_missing;
        gauge.reset();
        for year in &missing {
            gauge.with_label_values(&[&year.to_string()]).set(1);
        }
        tokio::select! {
            change = changes.recv() => if change.is_none() { return },
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn next_year_is_missing_from_the_warning_date_on() {
        let nov1 = MonthDay::new(11, 1);
        assert_eq!(
            missing_years(&[2026], date("2026-10-31"), nov1),
            Vec::<i32>::new()
        );
        assert_eq!(missing_years(&[2026], date("2026-11-01"), nov1), [2027]);
        assert_eq!(
            missing_years(&[2026, 2027], date("2026-12-31"), nov1),
            Vec::<i32>::new()
        );
        // The current year is always wanted.
        assert_eq!(missing_years(&[2025], date("2026-01-02"), nov1), [2026]);
        assert_eq!(missing_years(&[], date("2026-12-01"), nov1), [2026, 2027]);
        assert_eq!(
            missing_years(&[2026], date("2026-10-01"), MonthDay::new(10, 1)),
            [2027]
        );
    }

    #[test]
    fn the_warning_date_is_month_and_day() {
        assert_eq!(parse_month_day("11-01"), Ok(MonthDay::new(11, 1)));
        assert!(parse_month_day("13-01").unwrap_err().contains("month"));
        assert!(parse_month_day("02-30").unwrap_err().contains("day"));
        assert!(parse_month_day("1101").is_err());
    }
}
