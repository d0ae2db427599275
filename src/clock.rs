//! The time, as a value the tests can move forward instead of sleeping, and the local
//! date of the programme: dates entered by staff ("today", "not in the future") are
//! Vietnamese dates, not UTC ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, FixedOffset, NaiveDate, Offset, Utc};

/// Vietnam's offset from UTC (no daylight saving).
pub const DEFAULT_UTC_OFFSET_MINUTES: i32 = 7 * 60;

#[derive(Clone, Debug)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
    local: FixedOffset,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new(DEFAULT_UTC_OFFSET_MINUTES)
    }
}

impl Clock {
    /// A clock whose local dates are `utc_offset_minutes` ahead of UTC (out-of-range
    /// offsets fall back to Vietnam's).
    pub fn new(utc_offset_minutes: i32) -> Self {
        let local = FixedOffset::east_opt(utc_offset_minutes * 60)
            .or_else(|| FixedOffset::east_opt(DEFAULT_UTC_OFFSET_MINUTES * 60))
            .unwrap_or_else(|| Utc.fix());
        Self {
            offset_seconds: Arc::default(),
            local,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_seconds.load(Ordering::Relaxed))
    }

    /// Today's date where the programme runs.
    pub fn today(&self) -> NaiveDate {
        self.now().with_timezone(&self.local).date_naive()
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_seconds.fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_local_date() {
        let clock = Clock::new(7 * 60);
        let local = clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap());
        assert_eq!(clock.today(), local.date_naive());
        let utc = Clock::new(0);
        assert_eq!(utc.today(), utc.now().date_naive());
    }
}
