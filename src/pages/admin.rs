//! Accounts, for admins (`users_manage`): the list with a creation form, and one page per
//! account to disable or enable it, set a new password or reset its second factor. The
//! same rules and audit events as the accounts API.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use secrecy::SecretString;
use serde::Deserialize;

use super::ctx::{PageCtx, PageUser};
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use crate::AppState;
use crate::areas::Area;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::auth::accounts::{self, Account, AccountError, NewAccount};
use crate::auth::{mfa, password};
use crate::policy::{Action, Resource, Role};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list_page).post(create))
        .route("/admin/users/{id}", get(account_page))
        .route("/admin/users/{id}/disable", post(disable))
        .route("/admin/users/{id}/enable", post(enable))
        .route("/admin/users/{id}/reset-password", post(reset_password))
        .route("/admin/users/{id}/reset-mfa", post(reset_mfa))
}

/// Confirmation messages after a change (post, redirect, get).
const DONE: &[&str] = &["created", "disabled", "enabled", "password", "mfa"];

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

fn done_message(q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>) -> String {
    q.ok()
        .map(|Query(q)| q.done)
        .filter(|d| DONE.contains(&d.as_str()))
        .map(|d| format!("admin-done-{d}"))
        .unwrap_or_default()
}

#[derive(Default)]
struct NewForm {
    username: String,
    display_name: String,
    role: String,
    area: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct ListPage {
    ctx: PageCtx,
    accounts: Vec<Account>,
    areas: Vec<Area>,
    roles: Vec<&'static str>,
    form: NewForm,
    errs: FormErrors,
    done: String,
}

impl ListPage {
    fn area_name(&self, code: &str) -> String {
        self.areas
            .iter()
            .find(|a| a.code == code)
            .map_or_else(|| code.to_owned(), |a| a.name.clone())
    }
}

async fn show_list(
    state: &AppState,
    page: PageUser,
    form: NewForm,
    errs: FormErrors,
    done: String,
) -> Result<Response, PageError> {
    let accounts = accounts::list(&state.db).await?;
    let areas = state.areas.list().to_vec();
    state
        .audit(page.user.event(actions::USERS_LIST, Outcome::Success))
        .await?;
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut ctx = page.ctx;
    ctx.here = "/admin/users".to_owned();
    render(
        &ListPage {
            ctx,
            accounts,
            areas,
            roles: Role::ALL.iter().map(Role::as_str).collect(),
            form,
            errs,
            done,
        },
        status,
    )
}

async fn list_page(
    State(state): State<AppState>,
    page: PageUser,
    q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    page.user.require(Action::UsersManage, Resource::system()).await?;
    show_list(&state, page, NewForm::default(), FormErrors::new(), done_message(q)).await
}

fn raw(form: &FormData, name: &str) -> String {
    form.0
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

async fn create(State(state): State<AppState>, page: PageUser, form: FormData) -> Result<Response, PageError> {
    page.user.require(Action::UsersManage, Resource::system()).await?;
    let input = NewForm {
        username: form.text("username"),
        display_name: form.text("display_name"),
        role: form.text("role"),
        area: form.text("area"),
    };
    let password = SecretString::from(raw(&form, "password"));
    let mut errs = FormErrors::new();
    if accounts::normalise_username(&input.username).is_err() {
        errs.add("username", "field-invalid_username");
    }
    if input.display_name.is_empty() {
        errs.add("display_name", "field-required");
    } else if input.display_name.chars().count() > 100 {
        errs.add("display_name", "field-too_long");
    }
    let role = input.role.parse::<Role>().ok();
    if role.is_none() {
        errs.add("role", "field-invalid_role");
    }
    if !crate::areas::exists(&state.db, &input.area).await? {
        errs.add("area", "field-unknown_area");
    }
    if let Err(message) = password::check_strength(&password) {
        errs.add("password", message);
    }
    if let (Some(role), true) = (role, errs.is_empty()) {
        let created = accounts::create_issued(
            &state.db,
            NewAccount {
                username: input.username.clone(),
                display_name: input.display_name.clone(),
                role,
                area: input.area.clone(),
                password,
            },
            state.clock.now(),
        )
        .await;
        match created {
            Ok(account) => {
                let mut event = page
                    .user
                    .event(actions::USER_CREATE, Outcome::Success)
                    .object(&account.id);
                if crate::auth::users::reads_client_content(&state, &account) {
                    event = event.flagged();
                }
                state.audit(event).await?;
                return Ok(Redirect::to("/admin/users?done=created").into_response());
            }
            Err(AccountError::Invalid(field, message)) => errs.add(field, message),
            Err(AccountError::UsernameTaken) => errs.add("username", "field-username_taken"),
            Err(other) => return Err(PageError::internal(&other)),
        }
    }
    show_list(&state, page, input, errs, String::new()).await
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct AccountPage {
    ctx: PageCtx,
    account: Account,
    area: String,
    errs: FormErrors,
    done: String,
    is_self: bool,
}

async fn target(state: &AppState, id: &str) -> Result<Account, PageError> {
    accounts::by_id(&state.db, id).await?.ok_or_else(PageError::not_found)
}

async fn show_account(
    state: &AppState,
    page: PageUser,
    id: &str,
    errs: FormErrors,
    done: String,
) -> Result<Response, PageError> {
    let account = target(state, id).await?;
    let area = super::account::area_name(state, &account.area);
    state
        .audit(
            page.user
                .event(actions::USER_READ, Outcome::Success)
                .object(&account.id),
        )
        .await?;
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut ctx = page.ctx;
    ctx.here = format!("/admin/users/{}", account.id);
    render(
        &AccountPage {
            is_self: account.id == page.user.account.id,
            ctx,
            account,
            area,
            errs,
            done,
        },
        status,
    )
}

async fn account_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    page.user.require(Action::UsersManage, Resource::system()).await?;
    show_account(&state, page, &id, FormErrors::new(), done_message(q)).await
}

fn back(id: &str, done: &str) -> Response {
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    Redirect::to(&format!("/admin/users/{id}?done={done}")).into_response()
}

async fn disable(State(state): State<AppState>, page: PageUser, Path(id): Path<String>) -> Result<Response, PageError> {
    page.user.require(Action::UsersManage, Resource::system()).await?;
    let account = target(&state, &id).await?;
    crate::auth::users::check_may_disable(&state, &page.user, &account).await?;
    accounts::set_active(&state.db, &id, false, state.clock.now())
        .await
        .map_err(|e| PageError::internal(&e))?;
    state
        .audit(page.user.event(actions::USER_DISABLE, Outcome::Success).object(&id))
        .await?;
    Ok(back(&id, "disabled"))
}

async fn enable(State(state): State<AppState>, page: PageUser, Path(id): Path<String>) -> Result<Response, PageError> {
    page.user.require(Action::UsersManage, Resource::system()).await?;
    target(&state, &id).await?;
    accounts::set_active(&state.db, &id, true, state.clock.now())
        .await
        .map_err(|e| PageError::internal(&e))?;
    state
        .audit(page.user.event(actions::USER_ENABLE, Outcome::Success).object(&id))
        .await?;
    Ok(back(&id, "enabled"))
}

async fn reset_password(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    page.user.require(Action::UsersManage, Resource::system()).await?;
    target(&state, &id).await?;
    let password = SecretString::from(raw(&form, "password"));
    let mut errs = FormErrors::new();
    if let Err(message) = password::check_strength(&password) {
        errs.add("password", message);
        return show_account(&state, page, &id, errs, String::new()).await;
    }
    accounts::set_password(&state.db, &id, password, state.clock.now())
        .await
        .map_err(|e| PageError::internal(&e))?;
    state
        .audit(
            page.user
                .event(actions::USER_RESET_PASSWORD, Outcome::Success)
                .object(&id)
                .flagged(),
        )
        .await?;
    Ok(back(&id, "password"))
}

async fn reset_mfa(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page.user.require(Action::UsersManage, Resource::system()).await?;
    if !mfa::reset(&state.db, &id, state.clock.now()).await? {
        return Err(PageError::not_found());
    }
    state
        .audit(
            page.user
                .event(actions::USER_RESET_MFA, Outcome::Success)
                .object(&id)
                .flagged(),
        )
        .await?;
    Ok(back(&id, "mfa"))
}
