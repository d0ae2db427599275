//! Reporting periods: a half-year (`2024-H1`, `2024-H2`), a year (`2024`) or an ad-hoc range
//! of whole months `{"from", "to"}` (both days included; `from` the first day of a month, `to`
//! the last day of a month). Releases follow this calendar so that periods nest in each other
//! (months in half-years in years) instead of differing by a day (see `docs/disclosure.md`).

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::Value;

/// A closed range of days with the label it is published under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    /// `2024-H1`, `2024`, or `2024-03-01..2024-05-31` for a custom range.
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Why a period was refused; each maps to a `field-*` message on `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodError {
    /// Not one of the three accepted forms, or a date that does not exist.
    Malformed,
    /// `from` after `to`.
    Reversed,
    /// A range that does not start on the first day of a month or end on the last day of one.
    NotWholeMonths,
}

impl PeriodError {
    pub fn message_id(self) -> &'static str {
        match self {
            Self::Malformed => "field-stats_period_invalid",
            Self::Reversed => "field-stats_period_reversed",
            Self::NotWholeMonths => "field-stats_period_not_calendar",
        }
    }
}

/// Years outside this range are typing mistakes, not reporting periods.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate, PeriodError> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or(PeriodError::Malformed)
}

fn parse_day(value: Option<&Value>) -> Result<NaiveDate, PeriodError> {
    let text = value.and_then(Value::as_str).ok_or(PeriodError::Malformed)?;
    let day = crate::dates::parse_iso(text).ok_or(PeriodError::Malformed)?;
    if YEARS.contains(&day.year()) {
        Ok(day)
    } else {
        Err(PeriodError::Malformed)
    }
}

impl Period {
    pub fn half_year(year: i32, half: u8) -> Result<Self, PeriodError> {
        let (from, to) = match half {
            1 => (date(year, 1, 1)?, date(year, 6, 30)?),
            2 => (date(year, 7, 1)?, date(year, 12, 31)?),
            _ => return Err(PeriodError::Malformed),
        };
        Ok(Self {
            label: format!("{year}-H{half}"),
            from,
            to,
        })
    }

    pub fn year(year: i32) -> Result<Self, PeriodError> {
        Ok(Self {
            label: year.to_string(),
            from: date(year, 1, 1)?,
            to: date(year, 12, 31)?,
        })
    }

    /// A range of whole months. A range that is exactly a half-year or a year *is* that
    /// period (same label, same versions).
    pub fn custom(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if from > to {
            return Err(PeriodError::Reversed);
        }
        let last_of_month = to.succ_opt().is_none_or(|next| next.day() == 1);
        if from.day() != 1 || !last_of_month {
            return Err(PeriodError::NotWholeMonths);
        }
        for calendar in [Self::year(from.year()), Self::half_year_of(from)]
            .into_iter()
            .flatten()
        {
            if calendar.from == from && calendar.to == to {
                return Ok(calendar);
            }
        }
        Ok(Self {
            label: format!("{from}..{to}"),
            from,
            to,
        })
    }

    /// Not a half-year or a year: an ad-hoc range of months, published only with a reason.
    pub fn is_ad_hoc(&self) -> bool {
        [Self::year(self.from.year()), Self::half_year_of(self.from)]
            .into_iter()
            .flatten()
            .all(|calendar| calendar != *self)
    }

    /// Whether the two periods share at least one day.
    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.from <= to && from <= self.to
    }

    /// The half-year containing `day`.
    pub fn half_year_of(day: NaiveDate) -> Result<Self, PeriodError> {
        Self::half_year(day.year(), if day.month() <= 6 { 1 } else { 2 })
    }

    /// Parses `"2024-H1"`, `"2024"` or `{"from": "2024-01-01", "to": "2024-03-31"}`.
    pub fn parse(value: &Value) -> Result<Self, PeriodError> {
        match value {
            Value::String(text) => Self::parse_label(text),
            Value::Object(map) => {
                if map.keys().any(|k| k != "from" && k != "to") {
                    return Err(PeriodError::Malformed);
                }
                Self::custom(parse_day(map.get("from"))?, parse_day(map.get("to"))?)
            }
            _ => Err(PeriodError::Malformed),
        }
    }

    fn parse_label(text: &str) -> Result<Self, PeriodError> {
        let text = text.trim();
        let year = |y: &str| -> Result<i32, PeriodError> {
            if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PeriodError::Malformed);
            }
            let y: i32 = y.parse().map_err(|_| PeriodError::Malformed)?;
            if YEARS.contains(&y) {
                Ok(y)
            } else {
                Err(PeriodError::Malformed)
            }
        };
        match text.split_once('-') {
            None => Self::year(year(text)?),
            Some((y, "H1" | "h1")) => Self::half_year(year(y)?, 1),
            Some((y, "H2" | "h2")) => Self::half_year(year(y)?, 2),
            Some(_) => Err(PeriodError::Malformed),
        }
    }

    /// A period has ended once its last day is over: `to` is before `today`.
    pub fn has_ended(&self, today: NaiveDate) -> bool {
        self.to < today
    }

    pub fn from_text(&self) -> String {
        self.from.to_string()
    }

    pub fn to_text(&self) -> String {
        self.to.to_string()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_three_forms_parse() {
        let h1 = Period::parse(&json!("2024-H1")).unwrap();
        assert_eq!(
            (h1.label.as_str(), h1.from, h1.to),
            ("2024-H1", d("2024-01-01"), d("2024-06-30"))
        );
        let h2 = Period::parse(&json!("2024-H2")).unwrap();
        assert_eq!((h2.from, h2.to), (d("2024-07-01"), d("2024-12-31")));
        let y = Period::parse(&json!("2024")).unwrap();
        assert_eq!(
            (y.label.as_str(), y.from, y.to),
            ("2024", d("2024-01-01"), d("2024-12-31"))
        );
        let c = Period::parse(&json!({"from": "2024-02-01", "to": "2024-02-29"})).unwrap();
        assert_eq!(c.label, "2024-02-01..2024-02-29");
    }

    #[test]
    fn malformed_periods_are_refused() {
        for bad in [
            json!("2024-H3"),
            json!("24"),
            json!("2024-1"),
            json!("abcd"),
            json!("1850"),
            json!(2024),
            json!(null),
            json!({"from": "2024-02-30", "to": "2024-03-01"}),
            json!({"from": "2024-02-01"}),
            json!({"from": "2024-2-1", "to": "2024-03-01"}),
            json!({"from": "2024-02-01", "to": "2024-03-01", "x": 1}),
        ] {
            assert_eq!(Period::parse(&bad), Err(PeriodError::Malformed), "{bad}");
        }
        assert_eq!(
            Period::parse(&json!({"from": "2024-03-01", "to": "2024-02-01"})),
            Err(PeriodError::Reversed)
        );
    }

    #[test]
    fn ranges_are_whole_months_and_calendar_ranges_are_calendar_periods() {
        let range = |from: &str, to: &str| Period::parse(&json!({"from": from, "to": to}));
        assert_eq!(range("2024-01-01", "2024-06-29"), Err(PeriodError::NotWholeMonths));
        assert_eq!(range("2024-01-02", "2024-01-31"), Err(PeriodError::NotWholeMonths));
        assert_eq!(range("2024-02-01", "2024-02-28"), Err(PeriodError::NotWholeMonths));
        assert_eq!(
            range("2023-02-01", "2023-02-28").unwrap().label,
            "2023-02-01..2023-02-28"
        );
        let h1 = range("2024-01-01", "2024-06-30").unwrap();
        assert_eq!(h1, Period::half_year(2024, 1).unwrap());
        assert!(!h1.is_ad_hoc());
        assert_eq!(range("2024-07-01", "2024-12-31").unwrap().label, "2024-H2");
        assert_eq!(range("2024-01-01", "2024-12-31").unwrap().label, "2024");
        let months = range("2024-01-01", "2024-05-31").unwrap();
        assert!(months.is_ad_hoc());
        assert_eq!(
            range("2024-11-01", "2025-01-31").unwrap().label,
            "2024-11-01..2025-01-31"
        );
        assert!(months.overlaps(d("2024-05-31"), d("2024-06-30")));
        assert!(!months.overlaps(d("2024-06-01"), d("2024-06-30")));
        assert!(!Period::year(2024).unwrap().is_ad_hoc());
    }

    #[test]
    fn a_period_ends_after_its_last_day() {
        let h1 = Period::half_year(2024, 1).unwrap();
        assert!(!h1.has_ended(d("2024-06-30")));
        assert!(h1.has_ended(d("2024-07-01")));
        assert_eq!(Period::half_year_of(d("2025-07-01")).unwrap().label, "2025-H2");
        assert_eq!(Period::half_year_of(d("2025-06-30")).unwrap().label, "2025-H1");
    }
}
