//! The date in China, where every deadline is counted, and a clock tests can set.
//!
//! China Standard Time is UTC+8 all year (no daylight saving), so a fixed offset is
//! exact. Business dates (decision dates, due dates) are local dates: a decision taken at
//! 07:00 on 2 February in Shenyang was taken on 2 February even though it is still
//! 1 February in UTC.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};

/// Offset of China Standard Time from UTC, in seconds.
pub const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

/// China Standard Time (UTC+8).
pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(CHINA_OFFSET_SECONDS).expect("UTC+8 is a valid offset")
}

/// The date in China at instant `at`.
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&china_offset()).date_naive()
}

/// The instant at which `date` begins in China (its midnight, UTC+8).
pub fn china_midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN)
        .and_local_timezone(china_offset())
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

/// The notion of "now": the system clock, or a fixed instant set by tests (`--now`,
/// `SANXIANG_TEST_NOW`) that can be moved while the program runs.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Arc<RwLock<Option<DateTime<Utc>>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock standing at `at` until moved.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self {
            fixed: Arc::new(RwLock::new(Some(at))),
        }
    }

    /// A fixed clock from an RFC 3339 instant, as given by `--now`.
    pub fn parse_fixed(s: &str) -> Result<Self, chrono::ParseError> {
        Ok(Self::fixed(
            DateTime::parse_from_rfc3339(s)?.with_timezone(&Utc),
        ))
    }

    /// Moves the clock to `at`, or back to the system clock with `None`.
    pub fn set(&self, at: Option<DateTime<Utc>>) {
        *self.fixed.write().expect("clock lock") = at;
    }

    /// The instant the clock is fixed at; `None`: it follows the system clock.
    pub fn fixed_at(&self) -> Option<DateTime<Utc>> {
        *self.fixed.read().expect("clock lock")
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        self.fixed
            .read()
            .expect("clock lock")
            .unwrap_or_else(Utc::now)
    }

    /// Today's date in China.
    pub fn today(&self) -> NaiveDate {
        china_date(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn fixed_clock_and_local_date() {
        let c = Clock::parse_fixed("2026-01-31T20:00:00Z").unwrap();
        assert_eq!(c.today(), date("2026-02-01"));
        c.set(None);
        assert!(c.now() > DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap());
    }

    #[test]
    fn midnight_in_china_is_16_00_utc_the_day_before() {
        assert_eq!(
            china_midnight(date("2026-12-21")).timestamp(),
            1_797_782_400
        );
        assert_eq!(
            china_midnight(date("1970-01-02")).timestamp(),
            86_400 - 8 * 3600
        );
        assert_eq!(
            china_date(china_midnight(date("2026-02-01"))),
            date("2026-02-01")
        );
    }
}
