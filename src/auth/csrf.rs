//! CSRF protection: every state-changing request carries the session's token, in the
//! `X-CSRF-Token` header (API) or a `csrf_token` form field (pages), and a same-origin
//! `Origin` / `Sec-Fetch-Site` when the browser sends them. Login and first-admin setup
//! have no session yet; they get the origin check only.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use super::extract::CSRF_KEY;
use crate::web::ApiError;

const FORM_LIMIT: usize = 256 * 1024;

fn csrf_error() -> Response {
    ApiError::new(axum::http::StatusCode::FORBIDDEN, "csrf").into_response()
}

/// Logging in and first-admin setup: no session exists yet to hold a token.
fn is_exempt(method: &Method, path: &str) -> bool {
    method == Method::POST && (path == "/api/v1/session" || path == "/login" || path.starts_with("/setup/"))
}

/// Browsers send `Sec-Fetch-Site` (scripts cannot forge it): when present it decides.
/// Otherwise an `Origin`, if any, must name this host. (`Origin: null` is what Chromium
/// sends on same-site form posts under `Referrer-Policy: no-referrer`, so it is only
/// trusted together with `Sec-Fetch-Site: same-origin`.)
fn same_origin(request: &Request) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        return origin != "null" && origin_host == host;
    }
    true
}

pub async fn protect(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    if !same_origin(&request) {
        return csrf_error();
    }
    if is_exempt(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        return csrf_error();
    };
    let expected: Option<String> = session.get(CSRF_KEY).await.ok().flatten();
    let Some(expected) = expected else {
        // No login, no token: let the handler answer 401 rather than 403.
        return next.run(request).await;
    };
    let header_token = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    let (request, token) = match header_token {
        Some(t) => (request, Some(t)),
        None if is_form => {
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
                return ApiError::new(axum::http::StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").into_response();
            };
            let token = form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == "csrf_token")
                .map(|(_, v)| v.into_owned());
            (Request::from_parts(parts, Body::from(bytes)), token)
        }
        None => (request, None),
    };
    match token {
        Some(t) if bool::from(subtle::ConstantTimeEq::ct_eq(t.as_bytes(), expected.as_bytes())) => {
            next.run(request).await
        }
        _ => csrf_error(),
    }
}
