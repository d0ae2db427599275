//! Dates as hoanhap reads them: exactly `YYYY-MM-DD` from the API and the store, and what
//! people type into a form. Every reader of a date goes through here, so the three
//! cannot drift apart.

use chrono::NaiveDate;

use crate::error::{Error, Internal};

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

/// A date read back from a `TEXT` column; a malformed one is an internal error.
pub fn stored(text: &str) -> Result<NaiveDate, Error> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| Error::Internal(Internal::Inconsistent("a stored date is malformed".into())))
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
        assert!(stored("2024-02-30").is_err());
        assert_eq!(stored("2024-03-05").ok(), parse_iso("2024-03-05"));
    }
}
