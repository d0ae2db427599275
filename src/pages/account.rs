//! The user's own account: `GET /account` (who am I, second-factor status) and the
//! second-factor enrolment: `GET /account/mfa`, `POST /account/mfa/start` (a QR code and
//! the secret, once), `POST /account/mfa/confirm` (a first code; the recovery codes,
//! once). Enrolment pages take a session whose enrolment is still pending.
//! `GET/POST /account/password`: change one's own password (the current one required);
//! the only page a session whose password must be changed may open.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::ctx::{PageCtx, PageSessionUser, PageUser};
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use super::lang::PageLang;
use super::routes::PageRoutes;
use crate::AppState;
use crate::auth::extract::CSRF_KEY;
use crate::auth::{LoginUser, mfa, own_password};
use crate::web::ApiError;

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/account", account_page)
        .get("/account/mfa", mfa_page)
        .post("/account/mfa/start", mfa_start)
        .post("/account/mfa/confirm", mfa_confirm)
        .get("/account/password", password_page)
        .post("/account/password", password_submit)
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ctx: PageCtx,
    username: String,
    area: String,
    totp_enabled: bool,
    codes_left: i64,
    mfa_required: bool,
}

async fn account_page(State(state): State<AppState>, page: PageUser) -> Result<Response, PageError> {
    let account = &page.user.account;
    let codes_left = mfa::recovery_codes_left(&state.db, &account.id).await?;
    let area = area_name(&state, &account.area);
    render(
        &AccountPage {
            username: account.username.clone(),
            area,
            totp_enabled: account.totp_enabled,
            codes_left,
            mfa_required: mfa_required(&state, account.role.as_str()),
            ctx: page.ctx,
        },
        StatusCode::OK,
    )
}

fn mfa_required(state: &AppState, role: &str) -> bool {
    state.settings.auth.mfa_required_roles.iter().any(|r| r == role)
}

pub(super) fn area_name(state: &AppState, code: &str) -> String {
    state
        .areas
        .current()
        .get(code)
        .map_or_else(|| code.to_owned(), |a| a.name.clone())
}

/// The enrolment's forms post to paths without a page; the language switch returns to
/// the enrolment page.
fn at_mfa(mut ctx: PageCtx) -> PageCtx {
    ctx.here = "/account/mfa".to_owned();
    ctx
}

/// The steps of the enrolment page.
enum Step {
    /// Not enrolled: explain, offer to start.
    Intro,
    /// A new secret: the QR code (a data: URI) and the secret to type by hand.
    Scan { qr_data_uri: String, secret: String },
    /// The confirming code was wrong: try again, or start over.
    Retry,
    /// Enrolled: the recovery codes, shown this once.
    Done { codes: Vec<String> },
    /// Already enrolled.
    Enabled,
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage {
    ctx: PageCtx,
    step: Step,
    pending: bool,
    errs: FormErrors,
}

async fn mfa_page(page: PageSessionUser) -> Result<Response, PageError> {
    let step = if page.user.account.totp_enabled {
        Step::Enabled
    } else {
        Step::Intro
    };
    render(
        &MfaPage {
            ctx: at_mfa(page.ctx),
            step,
            pending: page.enrolment_pending,
            errs: FormErrors::new(),
        },
        StatusCode::OK,
    )
}

async fn mfa_start(State(state): State<AppState>, page: PageSessionUser) -> Result<Response, PageError> {
    if page.user.account.totp_enabled {
        return Ok(Redirect::to("/account/mfa").into_response());
    }
    let enrolment = mfa::enrol(&state, &page.user).await?;
    let qr_data_uri = format!(
        "data:image/svg+xml;base64,{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, enrolment.qr_svg.as_bytes())
    );
    render(
        &MfaPage {
            ctx: at_mfa(page.ctx),
            step: Step::Scan {
                qr_data_uri,
                secret: group(&enrolment.secret),
            },
            pending: page.enrolment_pending,
            errs: FormErrors::new(),
        },
        StatusCode::OK,
    )
}

/// The secret in groups of four, easier to type.
fn group(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn mfa_confirm(
    State(state): State<AppState>,
    page: PageSessionUser,
    form: FormData,
) -> Result<Response, PageError> {
    let mut errs = FormErrors::new();
    let code: String = form
        .get("code")
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if code.is_empty() {
        errs.add("code", "field-required");
    } else if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        errs.add("code", "account-mfa-code-format");
    }
    if errs.is_empty() {
        match mfa::confirm(&state, &page.user, &code).await {
            Ok(codes) => {
                return render(
                    &MfaPage {
                        ctx: at_mfa(page.ctx),
                        step: Step::Done { codes },
                        pending: false,
                        errs,
                    },
                    StatusCode::OK,
                );
            }
            Err(e) => match FormErrors::from_error(&e) {
                Some(fields) => errs = fields,
                None if matches!(e, crate::error::Error::Conflict { .. }) => {
                    return Ok(Redirect::to("/account/mfa").into_response());
                }
                None => return Err(e.into()),
            },
        }
    }
    render(
        &MfaPage {
            ctx: at_mfa(page.ctx),
            step: Step::Retry,
            pending: page.enrolment_pending,
            errs,
        },
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

#[derive(Template)]
#[template(path = "account_password.html")]
struct PasswordPage {
    ctx: PageCtx,
    /// The password was set by someone else and must be changed before anything else.
    required: bool,
    form_error: String,
    errs: FormErrors,
}

/// The page context of a session that may still have to change its password (then
/// without navigation: nothing else opens until it is changed).
async fn password_ctx(lang: crate::web::Lang, user: &crate::auth::AuthUser) -> Result<PageCtx, PageError> {
    let csrf: Option<String> = user.session.get(CSRF_KEY).await?;
    Ok(PageCtx::for_user(
        lang,
        "/account/password",
        user,
        csrf.unwrap_or_default(),
        !user.account.password_change_required,
    ))
}

/// The answer to a request without a usable session: the login form, or the error.
fn not_logged_in(e: ApiError) -> Response {
    if e.status == StatusCode::UNAUTHORIZED {
        Redirect::to("/login").into_response()
    } else {
        PageError::from(e).into_response()
    }
}

async fn password_page(
    axum::Extension(PageLang(lang)): axum::Extension<PageLang>,
    user: Result<LoginUser, ApiError>,
) -> Result<Response, PageError> {
    let user = match user {
        Ok(LoginUser(user)) => user,
        Err(e) => return Ok(not_logged_in(e)),
    };
    render(
        &PasswordPage {
            ctx: password_ctx(lang, &user).await?,
            required: user.account.password_change_required,
            form_error: String::new(),
            errs: FormErrors::new(),
        },
        StatusCode::OK,
    )
}

async fn password_submit(
    State(state): State<AppState>,
    axum::Extension(PageLang(lang)): axum::Extension<PageLang>,
    user: Result<LoginUser, ApiError>,
    form: FormData,
) -> Result<Response, PageError> {
    let user = match user {
        Ok(LoginUser(user)) => user,
        Err(e) => return Ok(not_logged_in(e)),
    };
    let field = |name: &str| {
        form.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (current, new, again) = (
        field("current_password"),
        field("new_password"),
        field("new_password_again"),
    );
    let mut errs = FormErrors::new();
    if current.is_empty() {
        errs.add("current_password", "field-required");
    }
    if new.is_empty() {
        errs.add("new_password", "field-required");
    } else if new != again {
        errs.add("new_password_again", "setup-password-mismatch");
    }
    let mut form_error = String::new();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errs.is_empty() {
        let changed = own_password::change(
            &state,
            &user,
            secrecy::SecretString::from(current),
            secrecy::SecretString::from(new),
        )
        .await;
        match changed {
            Ok(()) => {
                let target = if user.account.password_change_required {
                    "/"
                } else {
                    "/account"
                };
                return Ok(Redirect::to(target).into_response());
            }
            Err(e) => match FormErrors::from_error(&e) {
                Some(fields) => errs = fields,
                None if matches!(e, crate::error::Error::Throttled { .. } | crate::error::Error::Busy) => {
                    let answer = crate::web::ApiError::from(e);
                    form_error = format!("error-{}", answer.code);
                    status = answer.status;
                }
                None => return Err(e.into()),
            },
        }
    }
    render(
        &PasswordPage {
            ctx: password_ctx(lang, &user).await?,
            required: user.account.password_change_required,
            form_error,
            errs,
        },
        status,
    )
}
