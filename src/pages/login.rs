//! `GET/POST /login` and `POST /logout`: the same checks, throttling and session start
//! as the API (`auth::session::service`); a second-factor field when the account has
//! one.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;
use tower_sessions::Session;

use super::ctx::{PageCtx, safe_next};
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use super::lang::PageLang;
use super::routes::PageRoutes;
use crate::AppState;
use crate::auth::LoginUser;
use crate::auth::session::service::{self as session_service, check_login, client_address};
use crate::error::Error;
use crate::web::ApiError;

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/login", login_form)
        .post("/login", login_submit)
        .post("/logout", logout)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageCtx,
    username: String,
    next: String,
    show_totp: bool,
    /// A message about the whole form (wrong credentials, too many attempts).
    form_error: String,
    errs: FormErrors,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_form(
    axum::Extension(PageLang(lang)): axum::Extension<PageLang>,
    query: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let next = query
        .ok()
        .and_then(|Query(q)| q.next)
        .and_then(|n| safe_next(&n).map(str::to_owned))
        .unwrap_or_default();
    render(
        &LoginPage {
            ctx: PageCtx::anonymous(lang, "/login"),
            username: String::new(),
            next,
            show_totp: false,
            form_error: String::new(),
            errs: FormErrors::new(),
        },
        StatusCode::OK,
    )
}

async fn login_submit(
    State(state): State<AppState>,
    axum::Extension(PageLang(lang)): axum::Extension<PageLang>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    session: Session,
    form: FormData,
) -> Result<Response, PageError> {
    let mut errs = FormErrors::new();
    let username = errs.required(&form, "username", 64).map(str::to_owned);
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty());
    if password.is_none() {
        errs.add("password", "field-required");
    }
    let totp = form.get("totp").map(str::to_owned);
    let next = form
        .get("next")
        .and_then(safe_next)
        .map(str::to_owned)
        .unwrap_or_default();
    let mut page = LoginPage {
        ctx: PageCtx::anonymous(lang, "/login"),
        username: form.text("username"),
        next: next.clone(),
        show_totp: totp.is_some() || form.checked("totp_step"),
        form_error: String::new(),
        errs,
    };
    let (Some(username), Some(password)) = (username, password) else {
        return render(&page, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let outcome = check_login(
        &state,
        client_address(&state, peer.ip(), &headers),
        &username,
        SecretString::from(password),
        totp.as_deref(),
    )
    .await;
    match outcome {
        Ok(signed_in) => {
            session_service::start(&state, &session, &signed_in).await?;
            let target = if signed_in.account.password_change_required {
                "/account/password"
            } else if signed_in.enrolment_pending {
                "/account/mfa"
            } else if next.is_empty() {
                "/"
            } else {
                next.as_str()
            };
            Ok(Redirect::to(target).into_response())
        }
        Err(refused @ (Error::Unauthenticated(_) | Error::Throttled { .. } | Error::Busy)) => {
            page.form_error = match refused {
                Error::Unauthenticated("totp_required") => {
                    page.show_totp = true;
                    "login-totp-needed"
                }
                Error::Throttled { .. } => "error-too_many_attempts",
                Error::Busy => "error-busy",
                _ => "error-invalid_credentials",
            }
            .to_owned();
            let answer = ApiError::from(refused);
            let mut rendered = render(&page, answer.status)?;
            answer.set_retry_after(&mut rendered);
            Ok(rendered)
        }
        Err(e) => Err(e.into()),
    }
}

/// Logs out any session, also one that must still change its password or enrol.
async fn logout(State(state): State<AppState>, user: Result<LoginUser, ApiError>) -> Result<Response, PageError> {
    if let Ok(LoginUser(user)) = user {
        session_service::end(&state, &user).await?;
    }
    Ok(Redirect::to("/login").into_response())
}
