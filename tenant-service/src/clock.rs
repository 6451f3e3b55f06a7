//! Clock with a test override (`--now` / `SANXIANG_TEST_NOW`).

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use std::sync::{Arc, RwLock};

/// China Standard Time: business dates (decision dates, deadlines) are local dates.
pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// The service's notion of "now". A fixed instant can be set for tests; it can be moved.
#[derive(Clone, Default)]
pub struct Clock {
    fixed: Arc<RwLock<Option<DateTime<Utc>>>>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self {
            fixed: Arc::new(RwLock::new(Some(at))),
        }
    }
    /// Parses an RFC 3339 instant, as given by `--now` or `SANXIANG_TEST_NOW`.
    pub fn parse_fixed(s: &str) -> Result<Self, chrono::ParseError> {
        Ok(Self::fixed(
            DateTime::parse_from_rfc3339(s)?.with_timezone(&Utc),
        ))
    }
    pub fn set(&self, at: Option<DateTime<Utc>>) {
        *self.fixed.write().expect("clock lock") = at;
    }
    pub fn now(&self) -> DateTime<Utc> {
        self.fixed
            .read()
            .expect("clock lock")
            .unwrap_or_else(Utc::now)
    }
    /// Today's date in China Standard Time.
    pub fn today(&self) -> NaiveDate {
        self.now().with_timezone(&china_offset()).date_naive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_and_local_date() {
        let c = Clock::parse_fixed("2026-01-31T20:00:00Z").unwrap();
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        c.set(None);
        assert!(c.now() > DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap());
    }
}
