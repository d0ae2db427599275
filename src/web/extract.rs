//! A JSON body extractor whose rejections are API errors: malformed JSON is 400, a missing
//! or mistyped field is 422 naming the field.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::ApiError;

pub struct ApiJson<T>(pub T);

fn field_between_backticks(message: &str, after: &str) -> Option<String> {
    let rest = &message[message.find(after)? + after.len()..];
    let rest = rest.strip_prefix('`')?;
    Some(rest[..rest.find('`')?].to_owned())
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(e)) => {
                let text = e.body_text();
                let detail = text.split_once("target type: ").map_or(text.as_str(), |(_, d)| d);
                if let Some(field) = field_between_backticks(detail, "missing field ") {
                    return Err(ApiError::field(&field, "field-required"));
                }
                if let Some(field) = field_between_backticks(detail, "unknown field ") {
                    return Err(ApiError::field(&field, "field-unknown"));
                }
                let path = detail.split_once(": ").map_or("body", |(p, _)| p);
                let path = if path == "." { "body" } else { path };
                Err(ApiError::field(path, "field-invalid"))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            )),
            Err(JsonRejection::BytesRejection(_)) => Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            )),
            Err(_) => Err(ApiError::bad_request()),
        }
    }
}
