//! `GET/POST /setup/{token}`: the one-time link `serve` prints while no admin exists
//! creates the first admin (in the province area), then sends them to log in.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;

use super::ctx::PageCtx;
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use super::lang::PageLang;
use super::routes::PageRoutes;
use crate::AppState;
use crate::auth::setup::{self, SetupError};

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/setup/{token}", setup_form)
        .post("/setup/{token}", setup_submit)
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    ctx: PageCtx,
    valid: bool,
    username: String,
    display_name: String,
    errs: FormErrors,
}

fn invalid(lang: crate::web::Lang, here: &str) -> Result<Response, PageError> {
    render(
        &SetupPage {
            ctx: PageCtx::anonymous(lang, here),
            valid: false,
            username: String::new(),
            display_name: String::new(),
            errs: FormErrors::new(),
        },
        StatusCode::NOT_FOUND,
    )
}

async fn setup_form(
    State(state): State<AppState>,
    axum::Extension(PageLang(lang)): axum::Extension<PageLang>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let here = format!("/setup/{token}");
    let valid = setup::check_setup_token(&state, &token)
        .await
        .map_err(|e| PageError::from(crate::web::ApiError::from(e)))?;
    if !valid {
        return invalid(lang, &here);
    }
    render(
        &SetupPage {
            ctx: PageCtx::anonymous(lang, &here),
            valid: true,
            username: String::new(),
            display_name: String::new(),
            errs: FormErrors::new(),
        },
        StatusCode::OK,
    )
}

async fn setup_submit(
    State(state): State<AppState>,
    axum::Extension(PageLang(lang)): axum::Extension<PageLang>,
    Path(token): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let here = format!("/setup/{token}");
    let raw = |name: &str| {
        form.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let password = raw("password");
    let mut errs = FormErrors::new();
    if password != raw("password_confirm") {
        errs.add("password_confirm", "setup-password-mismatch");
    }
    let username = form.text("username");
    let display_name = form.text("display_name");
    if errs.is_empty() {
        match setup::create_first_admin(&state, &token, &username, &display_name, SecretString::from(password)).await {
            Ok(_) => return Ok(Redirect::to("/login").into_response()),
            Err(SetupError::InvalidToken) => return invalid(lang, &here),
            Err(SetupError::Invalid(fields)) => {
                for (field, message) in fields {
                    errs.add(field, message);
                }
            }
            Err(SetupError::UsernameTaken) => errs.add("username", "field-username_taken"),
            Err(other) => return Err(PageError::from(crate::web::ApiError::from(other))),
        }
    } else if !setup::check_setup_token(&state, &token)
        .await
        .map_err(|e| PageError::from(crate::web::ApiError::from(e)))?
    {
        return invalid(lang, &here);
    }
    render(
        &SetupPage {
            ctx: PageCtx::anonymous(lang, &here),
            valid: true,
            username,
            display_name,
            errs,
        },
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}
