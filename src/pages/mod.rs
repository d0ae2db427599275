//! The server-rendered pages: plain HTML forms (no scripts), Vietnamese by default and
//! English on request, usable on a 360 px phone. Every page that touches client data or
//! an admin function authorises and audits exactly as the JSON API does.
//!
//! Other features' pages follow the same pattern: a handler takes a [`PageUser`], its
//! template has a field `ctx: PageCtx` and `{% extends "layout.html" %}` (blocks `title`
//! and `content`), and it answers `render(&template, StatusCode::OK)` or a [`PageError`].

pub mod ctx;
pub mod error;
pub mod fmt;
pub mod form;
pub mod lang;
mod account;
mod admin;
mod audit;
mod login;
mod setup;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

pub use ctx::{PageCtx, PageSessionUser, PageUser};
pub use error::{PageError, render};
pub use form::{FieldErrors, FormData};

use crate::AppState;

const STYLESHEET: &str = include_str!("../../static/hoanhap.css");

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"))],
        STYLESHEET,
    )
}

/// Every page route, with the pages middleware and the HTML 404 for unknown paths.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/static/hoanhap.css", get(stylesheet))
        .merge(login::routes())
        .merge(audit::routes())
        .merge(account::routes())
        .merge(setup::routes())
        .merge(admin::routes())
        .fallback(error::fallback)
        .layer(axum::middleware::from_fn(error::page_layer))
}
