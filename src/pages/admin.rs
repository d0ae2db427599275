//! Accounts, for admins (`users_manage`): the list with a creation form, and one page per
//! account to disable or enable it, set a new password or reset its second factor. The
//! same rules and audit events as the accounts API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::ctx::{PageCtx, PageUser};
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use super::routes::PageRoutes;
use crate::AppState;
use crate::areas::Area;
use crate::auth::accounts::Account;
use crate::auth::users::CreateUser;
use crate::auth::users::service as users;
use crate::policy::Role;

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/admin/users", list_page)
        .post("/admin/users", create)
        .get("/admin/users/{id}", account_page)
        .post("/admin/users/{id}/disable", disable)
        .post("/admin/users/{id}/enable", enable)
        .post("/admin/users/{id}/reset-password", reset_password)
        .post("/admin/users/{id}/reset-mfa", reset_mfa)
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
        crate::areas::name_of(&self.areas, code)
    }
}

async fn show_list(
    state: &AppState,
    page: PageUser,
    form: NewForm,
    errs: FormErrors,
    done: String,
) -> Result<Response, PageError> {
    let accounts = users::list(state, &page.user).await?;
    let areas = state.areas.current().all().to_vec();
    let status = errs.status();
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
    let input = NewForm {
        username: form.text("username"),
        display_name: form.text("display_name"),
        role: form.text("role"),
        area: form.text("area"),
    };
    let body = CreateUser {
        username: input.username.clone(),
        display_name: input.display_name.clone(),
        role: input.role.clone(),
        area: input.area.clone(),
        password: SecretString::from(raw(&form, "password")),
    };
    match users::create(&state, &page.user, body).await {
        Ok(_) => Ok(Redirect::to("/admin/users?done=created").into_response()),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show_list(&state, page, input, errs, String::new()).await,
            None => Err(e.into()),
        },
    }
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

async fn show_account(
    state: &AppState,
    page: PageUser,
    id: &str,
    errs: FormErrors,
    done: String,
) -> Result<Response, PageError> {
    let account = users::read(state, &page.user, id).await?;
    let area = super::account::area_name(state, &account.area);
    let status = errs.status();
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
    show_account(&state, page, &id, FormErrors::new(), done_message(q)).await
}

fn back(id: &str, done: &str) -> Response {
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    Redirect::to(&format!("/admin/users/{id}?done={done}")).into_response()
}

async fn disable(State(state): State<AppState>, page: PageUser, Path(id): Path<String>) -> Result<Response, PageError> {
    users::disable(&state, &page.user, &id).await?;
    Ok(back(&id, "disabled"))
}

async fn enable(State(state): State<AppState>, page: PageUser, Path(id): Path<String>) -> Result<Response, PageError> {
    users::enable(&state, &page.user, &id).await?;
    Ok(back(&id, "enabled"))
}

async fn reset_password(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let password = SecretString::from(raw(&form, "password"));
    match users::reset_password(&state, &page.user, &id, password).await {
        Ok(()) => Ok(back(&id, "password")),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show_account(&state, page, &id, errs, String::new()).await,
            None => Err(e.into()),
        },
    }
}

async fn reset_mfa(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    users::reset_mfa(&state, &page.user, &id).await?;
    Ok(back(&id, "mfa"))
}
