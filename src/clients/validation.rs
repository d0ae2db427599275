//! Checks shared by intake, edits, consents, needs and support logs: the `validator`
//! derive does lengths, required fields and formats; the functions here do what needs
//! context (today, the client's dates, the categories and areas in the database).
//!
//! Every check adds to one [`FieldErrors`] map so a 422 names every bad field at once.
//! Messages are Fluent ids (`field-*`), in `locales/*/core.ftl` and `cases.ftl`.
//!
//! `validator` copies the value of a failing field into its error's parameters: its
//! errors are turned into codes here at once and never logged or returned.

use std::borrow::Cow;

use chrono::NaiveDate;
use validator::{ValidateLength, ValidationError, ValidationErrors, ValidationErrorsKind};

use crate::crypto::Sensitive;
use crate::dates::parse_iso;
use crate::db::Db;
use crate::error::Error;

/// Field name (dotted for nested bodies, e.g. `consents.data_processing`) → message id.
pub use crate::error::FieldErrors;

pub const MAX_NAME: u64 = 100;
pub const MAX_ID_NUMBER: u64 = 20;
pub const MAX_ADDRESS: u64 = 300;
pub const MAX_NOTES: u64 = 2000;
pub const MAX_REASON: u64 = 500;
/// Erasure is final: its reason must say something.
pub const MIN_ERASE_REASON: usize = 10;
/// The earliest date of birth accepted (typing errors such as 0990 are caught).
const EARLIEST_BIRTH: (i32, u32, u32) = (1900, 1, 1);

impl ValidateLength<u64> for Sensitive<String> {
    fn length(&self) -> Option<u64> {
        Some(self.expose().chars().count() as u64)
    }
}

/// The message id for a `validator` error code.
fn message_for(code: &str) -> &'static str {
    match code {
        "required" | "blank" => "field-required",
        "too_long" | "length" => "field-too_long",
        "too_short" => "field-too_short",
        "invalid_phone" => "field-invalid_phone",
        "invalid_id_number" => "field-cases-invalid_id_number",
        "range" | "out_of_range" => "field-cases-out_of_range",
        "consent_required" => "field-cases-consent_required",
        _ => "field-invalid",
    }
}

fn flatten(prefix: &str, errors: &ValidationErrors, out: &mut FieldErrors) {
    for (field, kind) in errors.errors() {
        let name = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                if let Some(first) = list.first() {
                    out.entry(name).or_insert_with(|| message_for(&first.code));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(&name, inner, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    flatten(&format!("{name}[{i}]"), inner, out);
                }
            }
        }
    }
}

/// The field errors of a `validator` derive, as message ids (the values are dropped).
pub fn check<T: validator::Validate>(value: &T) -> FieldErrors {
    let mut out = FieldErrors::new();
    if let Err(errors) = value.validate() {
        flatten("", &errors, &mut out);
    }
    out
}

/// 422 if any field is bad.
pub fn finish(errors: FieldErrors) -> Result<(), Error> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

fn error(code: &'static str) -> ValidationError {
    ValidationError {
        code: Cow::Borrowed(code),
        message: None,
        params: Default::default(),
    }
}

/// Not empty once trimmed (for `#[validate(custom(function = ...))]`).
pub fn not_blank(value: &Sensitive<String>) -> Result<(), ValidationError> {
    if value.expose().trim().is_empty() {
        Err(error("blank"))
    } else {
        Ok(())
    }
}

/// Not empty once trimmed, for plain strings.
pub fn not_blank_str(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(error("blank"))
    } else {
        Ok(())
    }
}

/// A Vietnamese phone number: digits with optional spaces, dots or hyphens, starting with
/// `0` or `+84`, 9 to 11 digits in all (`0912 345 678`, `+84 912 345 678`, `024 3826 4321`).
pub fn phone(value: &Sensitive<String>) -> Result<(), ValidationError> {
    if is_vietnamese_phone(value.expose()) {
        Ok(())
    } else {
        Err(error("invalid_phone"))
    }
}

pub fn is_vietnamese_phone(raw: &str) -> bool {
    let trimmed = raw.trim();
    let rest = if let Some(rest) = trimmed.strip_prefix("+84") {
        rest
    } else if trimmed.starts_with('0') {
        trimmed
    } else {
        return false;
    };
    if !rest.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-')) {
        return false;
    }
    let digits = trimmed.chars().filter(char::is_ascii_digit).count();
    (9..=11).contains(&digits)
}

/// An identity-card number: 6 to 20 letters and digits (CMND 9, CCCD 12, passports),
/// spaces allowed between groups.
pub fn id_number(value: &Sensitive<String>) -> Result<(), ValidationError> {
    let v = value.expose().trim();
    let alnum = v.chars().filter(char::is_ascii_alphanumeric).count();
    if (6..=20).contains(&alnum) && v.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') {
        Ok(())
    } else {
        Err(error("invalid_id_number"))
    }
}

/// Parses an optional date that must not be after `today`; records the error.
pub fn past_date(errors: &mut FieldErrors, field: &str, value: Option<&str>, today: NaiveDate) -> Option<NaiveDate> {
    let value = value?;
    match parse_iso(value) {
        None => {
            errors.insert(field.to_owned(), "field-invalid_date");
            None
        }
        Some(d) if d > today => {
            errors.insert(field.to_owned(), "field-future_date");
            None
        }
        Some(d) => Some(d),
    }
}

/// Parses an optional date with no bound (e.g. a consent's expiry).
pub fn any_date(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<NaiveDate> {
    let value = value?;
    let parsed = parse_iso(value);
    if parsed.is_none() {
        errors.insert(field.to_owned(), "field-invalid_date");
    }
    parsed
}

/// A date of birth: a date, not in the future, not before 1900.
pub fn birth_date(errors: &mut FieldErrors, field: &str, value: Option<&str>, today: NaiveDate) -> Option<NaiveDate> {
    let d = past_date(errors, field, value, today)?;
    let (y, m, day) = EARLIEST_BIRTH;
    if NaiveDate::from_ymd_opt(y, m, day).is_some_and(|earliest| d < earliest) {
        errors.insert(field.to_owned(), "field-cases-too_old");
        return None;
    }
    Some(d)
}

/// Records `field` as dated before the client's case was opened.
pub fn not_before_opened(errors: &mut FieldErrors, field: &str, date: Option<NaiveDate>, opened_on: NaiveDate) {
    if date.is_some_and(|d| d < opened_on) {
        errors.insert(field.to_owned(), "field-cases-before_opened");
    }
}

/// Records `field` unless `code` is an active service category.
pub async fn known_category(db: &Db, errors: &mut FieldErrors, field: &str, code: &str) -> Result<(), Error> {
    if !crate::categories::is_active(db, code).await? {
        errors.insert(field.to_owned(), "field-cases-unknown_category");
    }
    Ok(())
}

/// Records `field` unless `value` is one of `allowed`.
pub fn one_of(errors: &mut FieldErrors, field: &str, value: &str, allowed: &[&str]) {
    if !allowed.contains(&value) {
        errors.insert(field.to_owned(), "field-invalid");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_phone_numbers() {
        for ok in [
            "0912 345 678",
            "0912345678",
            "+84 912 345 678",
            "+84912345678",
            "024 3826 4321",
            "0912.345.678",
        ] {
            assert!(is_vietnamese_phone(ok), "{ok}");
        }
        for bad in [
            "912345678",
            "0912",
            "+1 212 555 0100",
            "0912 345 678 901 2",
            "09a2345678",
            "",
            "+84",
        ] {
            assert!(!is_vietnamese_phone(bad), "{bad}");
        }
    }

    #[test]
    fn dates_are_exactly_iso() {
        assert!(parse_iso("2024-03-05").is_some());
        assert!(parse_iso("2024-3-5").is_none());
        assert!(parse_iso("05/03/2024").is_none());
        assert!(parse_iso("2024-02-30").is_none());
        let today = parse_iso("2024-06-01").unwrap();
        let mut errors = FieldErrors::new();
        assert!(past_date(&mut errors, "on", Some("2024-06-02"), today).is_none());
        assert_eq!(errors["on"], "field-future_date");
        assert!(birth_date(&mut errors, "dob", Some("1890-01-01"), today).is_none());
        assert_eq!(errors["dob"], "field-cases-too_old");
    }
}
