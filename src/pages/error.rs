//! Errors of pages: handlers return [`PageError`] (usually the domain error of a
//! service, via `?`, mapped like the API's); the pages middleware turns it into an HTML
//! error page in the user's language, keeping their header and navigation.

use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ctx::{CtxSlot, PageCtx};
use super::lang::{self, PageLang};
use crate::web::ApiError;

/// A failed page request; rendered by [`page_layer`].
#[derive(Debug, Clone)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl<E: Into<crate::error::Error>> From<E> for PageError {
    fn from(e: E) -> Self {
        Self(ApiError::from(e.into()))
    }
}

impl PageError {
    pub fn not_found() -> Self {
        Self(ApiError::not_found())
    }
    pub fn forbidden() -> Self {
        Self(ApiError::forbidden())
    }
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        Self(ApiError::internal(cause))
    }
}

/// Marks a response to be replaced by the error page.
#[derive(Debug, Clone)]
struct PageFailure(ApiError);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut response = self.0.status.into_response();
        response.extensions_mut().insert(PageFailure(self.0));
        response
    }
}

/// An HTML response from a template.
pub fn render<T: Template>(template: &T, status: StatusCode) -> Result<Response, PageError> {
    let html = template.render().map_err(|e| PageError::internal(&e))?;
    Ok((
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageCtx,
    status: u16,
    title_id: &'static str,
    message_id: String,
}

fn error_page(ctx: PageCtx, error: &ApiError) -> Response {
    let title_id = match error.status {
        StatusCode::FORBIDDEN => "error-page-forbidden",
        StatusCode::NOT_FOUND => "error-page-not-found",
        StatusCode::CONFLICT => "error-page-conflict",
        s if s.is_server_error() => "error-page-server",
        _ => "error-page-other",
    };
    let page = ErrorPage {
        ctx,
        status: error.status.as_u16(),
        title_id,
        message_id: format!("error-{}", error.code),
    };
    match render(&page, error.status) {
        Ok(response) => response,
        Err(_) => error.status.into_response(),
    }
}

/// The middleware of every page route: picks the language (and remembers a choice made
/// with `?lang=`), and renders [`PageError`]s as HTML pages.
pub async fn page_layer(mut request: Request, next: Next) -> Response {
    let query = request.uri().query();
    let lang = lang::negotiate(query, request.headers());
    let chosen = lang::from_query(query);
    let here = request.uri().path().to_owned();
    let slot = CtxSlot::default();
    request.extensions_mut().insert(PageLang(lang));
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    if let Some(PageFailure(error)) = response.extensions().get::<PageFailure>().cloned() {
        let ctx = slot.get().unwrap_or_else(|| PageCtx::anonymous(lang, &here));
        response = error_page(ctx, &error);
    }
    let headers = response.headers_mut();
    if let Some(chosen) = chosen {
        headers.append(header::SET_COOKIE, lang::cookie(chosen));
    }
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
    {
        headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.code()));
    }
    response
}

/// Unknown paths: an HTML 404 page, except under `/api`, where the API's JSON error
/// is written by the shared error middleware.
pub async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        StatusCode::NOT_FOUND.into_response()
    } else {
        PageError::not_found().into_response()
    }
}
