//! `WorkCalendar`: one year of statutory holidays and make-up working days, and the
//! working-day engine built from those objects.
//!
//! Why data and not code: every deadline of the three systems counts working days
//! (工作日) — disclosure within 7 or 20 working days, Shenyang's monthly report moved to
//! the next working day — and the State Council announces each year's holidays and
//! make-up working days (调休) only a few weeks before the year starts. So administrators
//! load each year's notice as a cluster-scoped `WorkCalendar` object, and the engine
//! refuses ([`CalendarError::MissingYear`]) to answer for a year nobody loaded instead of
//! guessing from weekdays.
//!
//! The engine ([`Calendar`], in [`sanxiang_domain::calendar`]) is pure: the operator and
//! the tenant service build it from the `WorkCalendar` objects they watch and ask it
//! about dates. Here are the CRD and the glue ([`YearNotice`] for the spec).

use chrono::NaiveDate;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use sanxiang_domain::calendar::{
    Calendar, CalendarError, DueDate, HolidayPeriod, MAX_HOLIDAY_PERIODS, MAX_MAKEUP_DAYS,
    MAX_YEAR, MIN_YEAR, YearNotice, validate_year as validate_work_calendar,
};

/// The statutory holidays (法定节假日) and make-up working days (调休上班日) of one
/// calendar year, as announced by the State Council's annual holiday notice
/// (国务院办公厅关于某年部分节假日安排的通知).
///
/// Create one object per year, named `cn-<year>` (e.g. `cn-2026`; admission refuses
/// other names, so a year has one calendar), before the year starts: a working-day
/// deadline that reaches into a year without a WorkCalendar is never guessed; it reads
/// "pending: no calendar for YEAR" until the year is loaded. Working days are Monday to Friday,
/// minus the holidays listed here, plus the make-up working days listed here.
#[derive(CustomResource, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "sanxiang.io",
    version = "v1alpha1",
    kind = "WorkCalendar",
    doc = "One year of statutory holidays and make-up working days (State Council notice); see spec.",
    plural = "workcalendars",
    shortname = "wcal",
    category = "sanxiang",
    status = "WorkCalendarStatus",
    printcolumn = r#"{"name":"Year","type":"integer","jsonPath":".spec.year","description":"Calendar year this object describes"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.holidays.all(h, h.start.getFullYear() == self.year && h.end.getFullYear() == self.year)",
        "message": "every holiday period must start and end inside spec.year",
        "fieldPath": ".holidays"
    },
    {
        "rule": "self.holidays.all(a, self.holidays.filter(b, b.start <= a.end && a.start <= b.end).size() <= 1)",
        "message": "holiday periods must not overlap",
        "fieldPath": ".holidays"
    },
    {
        "rule": "!has(self.makeupWorkingDays) || self.makeupWorkingDays.all(d, d.getFullYear() == self.year)",
        "message": "every make-up working day must fall inside spec.year",
        "fieldPath": ".makeupWorkingDays"
    },
    {
        "rule": "!has(self.makeupWorkingDays) || self.makeupWorkingDays.all(d, d.getDayOfWeek() == 0 || d.getDayOfWeek() == 6)",
        "message": "a make-up working day must be a Saturday or Sunday (Monday to Friday are working days already)",
        "fieldPath": ".makeupWorkingDays"
    },
    {
        "rule": "!has(self.makeupWorkingDays) || self.makeupWorkingDays.all(d, !self.holidays.exists(h, h.start <= d && d <= h.end))",
        "message": "a make-up working day must not fall inside a holiday period",
        "fieldPath": ".makeupWorkingDays"
    }
]))]
pub struct WorkCalendarSpec {
    /// Calendar year described by this object, e.g. 2026. Exactly one WorkCalendar may
    /// exist per year; all dates below must fall inside this year.
    #[schemars(range(min = 2000, max = 2100))]
    pub year: i32,

    /// Statutory holiday periods of the year, each a run of consecutive days off
    /// (weekends inside the run included), e.g. Spring Festival 2026-02-15 to 2026-02-23.
    /// Copy them from the State Council notice; periods must not overlap.
    #[schemars(length(min = 1, max = 32))]
    pub holidays: Vec<HolidayPeriod>,

    /// Saturdays and Sundays that the notice declares working days (调休上班), e.g.
    /// 2026-02-14 and 2026-02-28 around the Spring Festival. Dates as YYYY-MM-DD.
    #[serde(default)]
    #[schemars(length(max = 32), extend("x-kubernetes-list-type" = "set"))]
    pub makeup_working_days: Vec<NaiveDate>,
}

/// What the operator found when it last read this calendar.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkCalendarStatus {
    /// `Ready` is True when the calendar is valid and in use; otherwise its reason
    /// and message say which field to fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl YearNotice for WorkCalendarSpec {
    fn year(&self) -> i32 {
        self.year
    }
    fn holidays(&self) -> &[HolidayPeriod] {
        &self.holidays
    }
    fn makeup_working_days(&self) -> &[NaiveDate] {
        &self.makeup_working_days
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn date(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    pub(crate) fn fixture(yaml: &str) -> WorkCalendar {
        serde_yaml::from_str(yaml).expect("fixture parses as a WorkCalendar")
    }

    pub(crate) fn cn_2025() -> WorkCalendar {
        fixture(include_str!("../../e2e/fixtures/calendars/2025.yaml"))
    }

    pub(crate) fn cn_2026() -> WorkCalendar {
        fixture(include_str!("../../e2e/fixtures/calendars/2026.yaml"))
    }

    /// Both fixture years loaded.
    pub(crate) fn both() -> Calendar {
        Calendar::from_specs([&cn_2025().spec, &cn_2026().spec]).expect("fixtures are valid")
    }

    fn spec(year: i32, holidays: &[(&str, &str, &str)], makeup: &[&str]) -> WorkCalendarSpec {
        WorkCalendarSpec {
            year,
            holidays: holidays
                .iter()
                .map(|(n, s, e)| HolidayPeriod {
                    name: (*n).into(),
                    start: date(s),
                    end: date(e),
                })
                .collect(),
            makeup_working_days: makeup.iter().map(|d| date(d)).collect(),
        }
    }

    fn fields(spec: &WorkCalendarSpec) -> Vec<String> {
        validate_work_calendar(spec)
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn fixtures_are_named_per_year_and_valid() {
        let (c25, c26) = (cn_2025(), cn_2026());
        assert_eq!(c25.metadata.name.as_deref(), Some("cn-2025"));
        assert_eq!(c26.metadata.name.as_deref(), Some("cn-2026"));
        assert_eq!(c25.spec.year, 2025);
        assert_eq!(c26.spec.year, 2026);
        assert_eq!(validate_work_calendar(&c25.spec), vec![]);
        assert_eq!(validate_work_calendar(&c26.spec), vec![]);
        assert_eq!(both().years(), vec![2025, 2026]);
    }

    #[test]
    fn each_fixture_year_has_248_working_days() {
        let cal = both();
        // (from, to] excludes `from`, so 2024 need not be loaded for the first count.
        assert_eq!(
            cal.working_days_between(date("2024-12-31"), date("2025-12-31")),
            Ok(248)
        );
        assert_eq!(
            cal.working_days_between(date("2025-12-31"), date("2026-12-31")),
            Ok(248)
        );
    }

    #[test]
    fn weekends_holidays_and_makeup_days_2025() {
        let cal = both();
        let cases = [
            ("2025-01-01", false), // 元旦, Wednesday
            ("2025-01-02", true),
            ("2025-01-26", true),  // make-up Sunday before 春节
            ("2025-01-28", false), // 春节 starts, Tuesday
            ("2025-02-04", false), // 春节 ends
            ("2025-02-05", true),
            ("2025-02-08", true),  // make-up Saturday
            ("2025-02-09", false), // ordinary Sunday
            ("2025-03-01", false), // ordinary Saturday
            ("2025-03-03", true),  // ordinary Monday
            ("2025-04-04", false), // 清明, Friday
            ("2025-04-27", true),  // make-up Sunday before 劳动节
            ("2025-05-05", false), // 劳动节, Monday
            ("2025-06-02", false), // 端午, Monday
            ("2025-09-28", true),  // make-up Sunday
            ("2025-10-08", false), // 国庆中秋, Wednesday
            ("2025-10-09", true),
            ("2025-10-11", true), // make-up Saturday
        ];
        for (d, expected) in cases {
            assert_eq!(cal.is_working_day(date(d)), Ok(expected), "{d}");
        }
    }

    #[test]
    fn weekends_holidays_and_makeup_days_2026() {
        let cal = both();
        let cases = [
            ("2026-01-02", false), // 元旦, Friday
            ("2026-01-04", true),  // make-up Sunday
            ("2026-02-14", true),  // make-up Saturday
            ("2026-02-16", false), // 春节, Monday
            ("2026-02-23", false), // 春节 ends, Monday
            ("2026-02-24", true),
            ("2026-02-28", true), // make-up Saturday
            ("2026-05-09", true), // make-up Saturday
            ("2026-06-19", false),
            ("2026-09-20", true), // make-up Sunday
            ("2026-09-25", false),
            ("2026-10-07", false),
            ("2026-10-10", true), // make-up Saturday
        ];
        for (d, expected) in cases {
            assert_eq!(cal.is_working_day(date(d)), Ok(expected), "{d}");
        }
    }

    #[test]
    fn seven_working_days_after_feb_12_2026_skip_the_spring_festival() {
        let cal = both();
        // Fri 13 (1), make-up Sat 14 (2), 15–23 off, 24..27 (3–6), make-up Sat 28 (7).
        assert_eq!(
            cal.add_working_days(date("2026-02-12"), 7),
            Ok(date("2026-02-28"))
        );
        assert_eq!(
            cal.add_working_days(date("2026-02-12"), 2),
            Ok(date("2026-02-14"))
        );
        assert_eq!(
            cal.add_working_days(date("2026-02-12"), 3),
            Ok(date("2026-02-24"))
        );
    }

    #[test]
    fn twenty_working_days_after_national_day_2025() {
        let cal = both();
        // Decision on Tue 2025-09-30: Oct 1–8 off, Oct 9 (1), 10 (2), make-up Sat 11 (3) ...
        let due = cal.add_working_days(date("2025-09-30"), 20).unwrap();
        assert_eq!(due, date("2025-11-04"));
        assert_eq!(cal.working_days_between(date("2025-09-30"), due), Ok(20));
        assert_eq!(
            cal.working_days_between(date("2025-09-30"), date("2025-10-11")),
            Ok(3)
        );
    }

    #[test]
    fn zero_working_days_returns_start_even_on_a_holiday() {
        let cal = both();
        assert_eq!(
            cal.add_working_days(date("2026-02-16"), 0),
            Ok(date("2026-02-16"))
        );
    }

    #[test]
    fn spanning_the_year_boundary_needs_both_years() {
        let only_2025 = Calendar::from_specs([&cn_2025().spec]).unwrap();
        // Mon 2025-12-29: Dec 30 (1), Dec 31 (2), Jan 1–3 off, make-up Sun Jan 4 (3), 5 (4), 6 (5).
        assert_eq!(
            both().add_working_days(date("2025-12-29"), 5),
            Ok(date("2026-01-06"))
        );
        assert_eq!(
            only_2025.add_working_days(date("2025-12-29"), 2),
            Ok(date("2025-12-31"))
        );
        assert_eq!(
            only_2025.add_working_days(date("2025-12-29"), 5),
            Err(CalendarError::MissingYear(2026))
        );
        assert_eq!(
            only_2025.working_days_between(date("2025-12-29"), date("2026-01-06")),
            Err(CalendarError::MissingYear(2026))
        );
        assert_eq!(
            only_2025.next_working_day_on_or_after(date("2026-01-01")),
            Err(CalendarError::MissingYear(2026))
        );
        assert_eq!(
            only_2025.is_working_day(date("2024-12-31")),
            Err(CalendarError::MissingYear(2024))
        );
    }

    #[test]
    fn missing_year_message_tells_the_admin_what_to_load() {
        assert_eq!(
            CalendarError::MissingYear(2027).to_string(),
            "no WorkCalendar for year 2027: load the State Council holiday notice for 2027 as a WorkCalendar"
        );
        assert_eq!(
            Calendar::default().is_working_day(date("2026-03-02")),
            Err(CalendarError::MissingYear(2026))
        );
    }

    #[test]
    fn working_days_between_counts_the_half_open_interval() {
        let cal = both();
        assert_eq!(
            cal.working_days_between(date("2026-02-12"), date("2026-02-28")),
            Ok(7)
        );
        assert_eq!(
            cal.working_days_between(date("2026-02-12"), date("2026-02-12")),
            Ok(0)
        );
        assert_eq!(
            cal.working_days_between(date("2026-02-28"), date("2026-02-12")),
            Ok(0)
        );
        // Across the year boundary: Dec 30, Dec 31, Jan 4 (make-up), Jan 5.
        assert_eq!(
            cal.working_days_between(date("2025-12-29"), date("2026-01-05")),
            Ok(4)
        );
    }

    #[test]
    fn add_and_between_are_inverse() {
        let cal = both();
        let mut start = date("2025-01-01");
        while start < date("2026-11-01") {
            for n in [0, 1, 3, 7, 20] {
                let end = cal.add_working_days(start, n).unwrap();
                assert_eq!(cal.working_days_between(start, end), Ok(n), "{start} + {n}");
                if n > 0 {
                    assert_eq!(cal.is_working_day(end), Ok(true), "{start} + {n}");
                }
            }
            start = start.succ_opt().unwrap();
        }
    }

    #[test]
    fn next_working_day_on_or_after() {
        let cal = both();
        assert_eq!(
            cal.next_working_day_on_or_after(date("2026-02-15")),
            Ok(date("2026-02-24"))
        );
        assert_eq!(
            cal.next_working_day_on_or_after(date("2026-01-01")),
            Ok(date("2026-01-04"))
        );
        assert_eq!(
            cal.next_working_day_on_or_after(date("2025-12-31")),
            Ok(date("2025-12-31"))
        );
        assert_eq!(
            cal.next_working_day_on_or_after(date("2025-03-01")),
            Ok(date("2025-03-03"))
        );
    }

    #[test]
    fn duplicate_year_is_invalid() {
        let c = cn_2026();
        let err = Calendar::from_specs([&c.spec, &c.spec]).unwrap_err();
        match err {
            CalendarError::Invalid { year, reason } => {
                assert_eq!(year, 2026);
                assert!(reason.contains("duplicate year"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn from_specs_rejects_an_invalid_spec_naming_the_field() {
        let bad = spec(2026, &[("元旦", "2026-01-03", "2026-01-01")], &[]);
        let err = Calendar::from_specs([&bad]).unwrap_err();
        assert_eq!(
            err,
            CalendarError::Invalid {
                year: 2026,
                reason: "spec.holidays[0].end: 2026-01-01 is before start 2026-01-03".into()
            }
        );
        assert_eq!(Calendar::validate_spec(&bad), Err(err));
        assert_eq!(Calendar::validate_spec(&cn_2026().spec), Ok(()));
    }

    #[test]
    fn year_must_be_in_range() {
        let ok = spec(2026, &[("元旦", "2026-01-01", "2026-01-01")], &[]);
        assert!(fields(&ok).is_empty());
        let mut bad = spec(1999, &[("元旦", "1999-01-01", "1999-01-01")], &[]);
        assert_eq!(fields(&bad), vec!["spec.year"]);
        bad.year = 2101;
        bad.holidays[0].start = date("2101-01-01");
        bad.holidays[0].end = date("2101-01-01");
        assert_eq!(fields(&bad), vec!["spec.year"]);
    }

    #[test]
    fn holidays_must_be_present_and_named() {
        assert_eq!(fields(&spec(2026, &[], &[])), vec!["spec.holidays"]);
        assert_eq!(
            fields(&spec(2026, &[(" ", "2026-01-01", "2026-01-01")], &[])),
            vec!["spec.holidays[0].name"]
        );
    }

    #[test]
    fn holiday_dates_must_be_inside_the_year() {
        let bad = spec(2026, &[("元旦", "2025-12-31", "2026-01-02")], &[]);
        assert_eq!(fields(&bad), vec!["spec.holidays[0].start"]);
        let bad = spec(2025, &[("元旦", "2025-12-31", "2026-01-02")], &[]);
        assert_eq!(fields(&bad), vec!["spec.holidays[0].end"]);
    }

    #[test]
    fn holidays_must_not_overlap() {
        let bad = spec(
            2026,
            &[
                ("劳动节", "2026-05-01", "2026-05-05"),
                ("元旦", "2026-01-01", "2026-01-03"),
                ("重复", "2026-05-05", "2026-05-06"),
            ],
            &[],
        );
        let errs = validate_work_calendar(&bad);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].field, "spec.holidays[2]");
        assert!(
            errs[0].message.contains("overlaps spec.holidays[0] 劳动节"),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn makeup_days_must_be_weekend_days_of_the_year_outside_holidays() {
        let holidays = [("春节", "2026-02-15", "2026-02-23")];
        assert!(fields(&spec(2026, &holidays, &["2026-02-14", "2026-02-28"])).is_empty());
        // Friday.
        let errs = validate_work_calendar(&spec(2026, &holidays, &["2026-02-13"]));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.makeupWorkingDays[0]");
        assert!(
            errs[0].message.contains("Saturday or Sunday"),
            "{}",
            errs[0]
        );
        // Other year (a Saturday).
        assert_eq!(
            fields(&spec(2026, &holidays, &["2026-02-14", "2025-02-08"])),
            vec!["spec.makeupWorkingDays[1]"]
        );
        // Inside the holiday (Saturday 21st).
        assert_eq!(
            fields(&spec(2026, &holidays, &["2026-02-21"])),
            vec!["spec.makeupWorkingDays[0]"]
        );
        // Duplicate.
        assert_eq!(
            fields(&spec(2026, &holidays, &["2026-02-14", "2026-02-14"])),
            vec!["spec.makeupWorkingDays[1]"]
        );
    }

    #[test]
    fn spec_serializes_in_camel_case() {
        let json = serde_json::to_value(&cn_2026().spec).unwrap();
        assert!(json.get("makeupWorkingDays").is_some());
        assert_eq!(json["holidays"][0]["start"], "2026-01-01");
        let minimal: WorkCalendarSpec =
            serde_json::from_str(r#"{"year":2026,"holidays":[]}"#).unwrap();
        assert!(minimal.makeup_working_days.is_empty());
    }
}
