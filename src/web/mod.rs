//! The HTTP layer shared by every feature: errors, language, security headers, tracing.

pub mod error;
pub mod extract;
pub mod i18n;
pub mod proxy;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::trace::TraceLayer;
use tracing::Span;

pub use error::ApiError;
pub use extract::ApiJson;
pub use i18n::Lang;

/// Pages load only their own stylesheet and images; no scripts at all, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// HSTS for a year, sent only on responses that travelled over HTTPS.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Whether the request came over HTTPS: the server itself speaks plain HTTP, so only a
/// trusted proxy (`auth.trusted_proxies`) saying `X-Forwarded-Proto: https` counts.
fn came_over_https(settings: &crate::config::Settings, request: &Request) -> bool {
    if request.uri().scheme_str() == Some("https") {
        return true;
    }
    if settings.auth.trusted_proxies.is_empty() {
        return false;
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| {
            proxy::TrustedProxies::of(settings).forwarded_https(peer.ip(), request.headers())
        })
}

/// Headers on every response; `no-store` everywhere but static assets, so no client
/// data lingers in a browser or proxy cache; `Strict-Transport-Security` over HTTPS.
pub async fn security_headers(
    State(settings): State<Arc<crate::config::Settings>>,
    request: Request,
    next: Next,
) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    let https = came_over_https(&settings, &request);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if is_static { "public, max-age=3600" } else { "no-store" }),
    );
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    response
}

/// A random id for one request, in its log span and in the `X-Request-Id` response
/// header, so an operator can find the log lines of a request a user reports. Always
/// made here: an id sent by the caller is ignored, so no caller writes into the logs.
#[derive(Debug, Clone, Copy)]
pub struct RequestId(uuid::Uuid);

const REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

/// Gives the request its [`RequestId`]; outside the trace layer, which logs it.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = RequestId(uuid::Uuid::new_v4());
    request.extensions_mut().insert(id);
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id.0.to_string()) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// A span per request named by the matched route (`/api/v1/clients/{id}`), never the
/// concrete URI, so ids and query strings stay out of the logs; with its [`RequestId`].
pub fn trace_layer() -> TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    impl Fn(&Request) -> Span + Clone,
> {
    TraceLayer::new_for_http().make_span_with(|request: &Request| {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str)
            .unwrap_or("unmatched");
        let id = request.extensions().get::<RequestId>().map(|id| id.0.to_string());
        tracing::info_span!("request", method = %request.method(), route, request_id = id.as_deref().unwrap_or("-"))
    })
}
