//! Submitted forms, read by hand so that no input can make the extractor fail: bad
//! input becomes field errors on the re-rendered form (422), never a bare rejection.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use super::error::PageError;
use crate::web::ApiError;

const LIMIT: usize = 64 * 1024;

/// The fields of an `application/x-www-form-urlencoded` body, in order.
#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), LIMIT).await.map_err(|_| {
            PageError::from(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")).into_response()
        })?;
        Ok(Self::parse(&bytes))
    }
}

impl FormData {
    pub fn parse(bytes: &Bytes) -> Self {
        Self(
            form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first value of `name`, trimmed, or "" (to put back in the form).
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").to_owned()
    }

    /// Every non-blank value of `name` (checkbox groups).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// Whether a checkbox was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// The bad fields of a submitted form (field name → message id), shown beside them; built
/// from the domain's [`crate::error::FieldErrors`] or by the page's own checks.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(pub BTreeMap<String, String>);

impl FormErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message_id: &str) {
        self.0.entry(field.to_owned()).or_insert_with(|| message_id.to_owned());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The status of a form page shown with these errors: 422 when there are any.
    pub fn status(&self) -> axum::http::StatusCode {
        if self.is_empty() {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// The message id for `field` ("" when none).
    pub fn get(&self, field: &str) -> &str {
        self.0.get(field).map_or("", String::as_str)
    }

    /// The field errors of a refused operation, to show on its form: the bad fields, or
    /// the field whose value is taken.
    pub fn from_error(e: &crate::error::Error) -> Option<Self> {
        use crate::error::Error;
        match e {
            Error::Validation(fields) => Some(Self(fields.iter().map(|(k, v)| (k.clone(), (*v).to_owned())).collect())),
            Error::Taken { field, message, .. } => {
                let mut errs = Self::new();
                errs.add(field, message);
                Some(errs)
            }
            _ => None,
        }
    }

    /// A required text field, at most `max` characters.
    pub fn required<'a>(&mut self, form: &'a FormData, field: &str, max: usize) -> Option<&'a str> {
        match form.get(field) {
            None => {
                self.add(field, "field-required");
                None
            }
            Some(v) if v.chars().count() > max => {
                self.add(field, "field-too_long");
                None
            }
            Some(v) => Some(v),
        }
    }

    /// An optional text field, at most `max` characters.
    pub fn optional<'a>(&mut self, form: &'a FormData, field: &str, max: usize) -> Option<&'a str> {
        match form.get(field) {
            Some(v) if v.chars().count() > max => {
                self.add(field, "field-too_long");
                None
            }
            other => other,
        }
    }

    /// An optional date, not in the future.
    pub fn date(&mut self, form: &FormData, field: &str, today: NaiveDate) -> Option<NaiveDate> {
        let raw = form.get(field)?;
        match crate::dates::parse_typed(raw) {
            None => {
                self.add(field, "field-invalid_date");
                None
            }
            Some(d) if d > today => {
                self.add(field, "field-future_date");
                None
            }
            Some(d) => Some(d),
        }
    }

    /// A value that must be one of `allowed`.
    pub fn one_of<'a>(&mut self, form: &'a FormData, field: &str, allowed: &[&str]) -> Option<&'a str> {
        match form.get(field) {
            None => {
                self.add(field, "field-required");
                None
            }
            Some(v) if allowed.contains(&v) => Some(v),
            Some(_) => {
                self.add(field, "field-invalid");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_trimmed_and_checked() {
        let form = FormData::parse(&Bytes::from_static(b"a=+x+&b=&c=1&c=2&d=2099-01-01&e=31%2F12%2F2023"));
        assert_eq!(form.get("a"), Some("x"));
        assert_eq!(form.get("b"), None);
        assert_eq!(form.all("c"), vec!["1", "2"]);
        let mut errors = FormErrors::new();
        let today = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        assert!(errors.date(&form, "d", today).is_none());
        assert_eq!(errors.get("d"), "field-future_date");
        assert_eq!(errors.date(&form, "e", today), NaiveDate::from_ymd_opt(2023, 12, 31));
        assert!(errors.required(&form, "b", 10).is_none());
        assert_eq!(errors.get("b"), "field-required");
    }
}
