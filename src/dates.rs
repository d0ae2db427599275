//! Dates as hoanhap reads them from people: exactly `YYYY-MM-DD` from the API, and what
//! people type into a form. Every reader of a date goes through here, so the two cannot
//! drift apart; the store's dates are decoded by [`crate::db::DbDate`].

use chrono::NaiveDate;

/// A `YYYY-MM-DD` date (exactly that form): what the API accepts.
pub fn parse_iso(value: &str) -> Option<NaiveDate> {
    let v = value.trim();
    if v.len() != 10 || v.as_bytes()[4] != b'-' || v.as_bytes()[7] != b'-' {
        return None;
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()
}

/// A date typed in a form: `YYYY-MM-DD` (what `<input type="date">` sends) or
/// `dd/mm/yyyy` (what people type where the browser has no date picker).
pub fn parse_typed(input: &str) -> Option<NaiveDate> {
    let s = input.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_takes_only_iso_dates() {
        assert!(parse_iso("2024-03-05").is_some());
        assert!(parse_iso("2024-3-5").is_none());
        assert!(parse_iso("05/03/2024").is_none());
        assert!(parse_iso("2024-02-30").is_none());
    }

    #[test]
    fn forms_take_day_month_year_too() {
        assert_eq!(parse_typed("05/03/2024"), parse_typed("2024-03-05"));
        assert!(parse_typed("2024-02-30").is_none());
    }
}
