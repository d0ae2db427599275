//! Dates as people in Vietnam write them: dd/mm/yyyy; times in Vietnam time (UTC+7, no
//! daylight saving).

use chrono::{DateTime, FixedOffset};

const VIETNAM_OFFSET_SECS: i32 = 7 * 3600;

/// `2024-03-15` → `15/03/2024`; anything else is shown as it is.
pub fn date(iso: &str) -> String {
    match crate::dates::parse_iso(iso.get(..10).unwrap_or(iso)) {
        Some(d) => d.format("%d/%m/%Y").to_string(),
        None => iso.to_owned(),
    }
}

/// An RFC 3339 timestamp → `15/03/2024 14:05` in Vietnam time.
pub fn datetime(rfc3339: &str) -> String {
    let Some(offset) = FixedOffset::east_opt(VIETNAM_OFFSET_SECS) else {
        return rfc3339.to_owned();
    };
    match DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t.with_timezone(&offset).format("%d/%m/%Y %H:%M").to_string(),
        Err(_) => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_day_month_year() {
        assert_eq!(date("2024-03-05"), "05/03/2024");
        assert_eq!(date("oops"), "oops");
        assert_eq!(datetime("2024-03-05T20:30:00Z"), "06/03/2024 03:30");
    }
}
