//! The HTTP error: a status, a stable code and, for validation, the bad fields. The
//! message shown to the user is looked up in their language by [`localise_errors`]; the
//! cause of a server error is logged, never shown.

use std::collections::BTreeMap;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::i18n::Lang;
use crate::error::Error;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    /// Field name → message id (`field-*`).
    pub fields: BTreeMap<String, &'static str>,
    /// Extra details safe to show (e.g. allowed next states).
    pub details: Option<serde_json::Value>,
    /// Seconds to wait before trying again (`Retry-After`); a lockout lasts minutes.
    pub retry_after: Option<u16>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        Self {
            status,
            code,
            fields: BTreeMap::new(),
            details: None,
            retry_after: None,
        }
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found")
    }
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden")
    }
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated")
    }
    pub fn bad_request() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request")
    }
    pub fn conflict() -> Self {
        Self::new(StatusCode::CONFLICT, "conflict")
    }
    /// 422 naming each bad field.
    pub fn validation(fields: BTreeMap<String, &'static str>) -> Self {
        Self {
            fields,
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation")
        }
    }
    pub fn field(name: &str, message: &'static str) -> Self {
        Self::validation(BTreeMap::from([(name.to_owned(), message)]))
    }
    /// A server-side failure: the cause goes to the log (ids and error kinds only),
    /// the user sees a generic message.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal")
    }

    /// The JSON body in one language, in the shape API.md gives.
    pub fn body(&self, lang: Lang) -> serde_json::Value {
        let mut error = json!({
            "code": self.code,
            "message": lang.t_args(&format!("error-{}", self.code), self.details.as_ref()),
        });
        if !self.fields.is_empty() {
            let fields: serde_json::Map<String, serde_json::Value> =
                self.fields.iter().map(|(k, v)| (k.clone(), json!(lang.t(v)))).collect();
            error["fields"] = fields.into();
        }
        if let Some(details) = &self.details {
            error["details"] = details.clone();
        }
        json!({ "error": error })
    }
}

impl ApiError {
    /// Writes this answer's `Retry-After`, if it has one, into a response (the API's or a
    /// page's).
    pub fn set_retry_after(&self, response: &mut Response) {
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The body is written by `localise_errors`, which knows the request's language.
        let mut response = (self.status, axum::Json(self.body(Lang::Vi))).into_response();
        self.set_retry_after(&mut response);
        response.extensions_mut().insert(self);
        response
    }
}

/// The one mapping of the domain error onto HTTP.
impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound => Self::not_found(),
            Error::Forbidden => Self::forbidden(),
            Error::Conflict { code, details } => Self {
                details,
                ..Self::new(StatusCode::CONFLICT, code)
            },
            Error::Validation(fields) => Self::validation(fields),
            Error::Rejected { code, details } => Self {
                details,
                ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, code)
            },
            Error::Taken { code, field, message } => Self {
                status: StatusCode::CONFLICT,
                code,
                ..Self::field(field, message)
            },
            Error::Unauthenticated(code) => Self::new(StatusCode::UNAUTHORIZED, code),
            Error::Throttled { retry_after } => Self {
                details: Some(json!({ "retry_after": retry_after })),
                retry_after: Some(u16::try_from(retry_after.max(1)).unwrap_or(u16::MAX)),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
            },
            Error::Busy => Self {
                retry_after: Some(1),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy")
            },
            Error::Unavailable => Self {
                retry_after: Some(5),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            },
            Error::Internal(cause) => Self::internal(&cause),
        }
    }
}

/// `?` on the machinery under a handler, through [`Error`].
macro_rules! api_error_from {
    ($($source:ty),*) => {$(
        impl From<$source> for ApiError {
            fn from(e: $source) -> Self {
                Error::from(e).into()
            }
        }
    )*};
}
api_error_from!(
    sqlx::Error,
    crate::crypto::CryptoError,
    crate::audit::AuditError,
    tower_sessions::session::Error
);

/// Rewrites error bodies in the language of the request, and turns axum's own plain-text
/// rejections (bad JSON, wrong content type, unknown route) into the JSON error shape.
pub async fn localise_errors(request: Request, next: Next) -> Response {
    let lang = Lang::from_accept_language(
        request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let response = next.run(request).await;
    let error = match response.extensions().get::<ApiError>() {
        Some(e) => e.clone(),
        None if response.status().is_client_error() || response.status().is_server_error() => {
            let is_json = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
                v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
            });
            if is_json {
                return response;
            }
            let status = response.status();
            let code = match status {
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => "not_found",
                StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "bad_request",
                // A bare 500 comes from a layer, not a handler: the session store, when
                // the database does not answer. Worth a retry.
                StatusCode::INTERNAL_SERVER_ERROR | StatusCode::SERVICE_UNAVAILABLE => "unavailable",
                s if s.is_server_error() => "internal",
                _ => "bad_request",
            };
            let status = match status {
                StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
                StatusCode::INTERNAL_SERVER_ERROR => StatusCode::SERVICE_UNAVAILABLE,
                other => other,
            };
            ApiError {
                retry_after: (code == "unavailable").then_some(5),
                ..ApiError::new(status, code)
            }
        }
        None => return response,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    parts
        .headers
        .insert(header::CONTENT_LANGUAGE, header::HeaderValue::from_static(lang.code()));
    parts.status = error.status;
    Response::from_parts(parts, axum::body::Body::from(error.body(lang).to_string()))
}
