//! The accounts API (admin, `users_manage`): list, create, disable, enable, reset a
//! password or a second factor. Every change is audited with the account id as object;
//! disabling and resets end the account's sessions at once.
//!
//! An admin never learns a working password: the password given when creating an account
//! or resetting one only lets its owner in to choose their own (every other route answers
//! `403 password_change_required` until then). Creating an account that may read client
//! content, and every reset, is flagged for the auditor.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::accounts::{self, Account, AccountError, NewAccount};
use super::{mfa, password};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::Authz;
use crate::policy::{Action, Resource, Role};
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(reset_password))
        .routes(routes!(reset_mfa))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub display_name: String,
    /// `admin`, `supervisor`, `social_worker`, `volunteer`, `manager` or `auditor`.
    pub role: String,
    /// Area code of the account's scope.
    pub area: String,
    /// At least 12 characters.
    #[schema(value_type = String)]
    pub password: SecretString,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// At least 12 characters.
    #[schema(value_type = String)]
    pub password: SecretString,
}

/// The API error for an account-store error: 422 naming the field, 409 `username_taken`
/// (with `fields.username`), 404.
pub fn account_error(e: AccountError) -> ApiError {
    match e {
        AccountError::Invalid(field, message) => ApiError::field(field, message),
        AccountError::UsernameTaken => {
            let mut error = ApiError::field("username", "field-username_taken");
            error.status = StatusCode::CONFLICT;
            error.code = "username_taken";
            error
        }
        AccountError::NotFound => ApiError::not_found(),
        other => ApiError::internal(&other),
    }
}

/// Every field problem of a new account at once, so a form can show them together.
async fn check_new(state: &AppState, body: &CreateUser) -> Result<Role, ApiError> {
    let mut fields: BTreeMap<String, &'static str> = BTreeMap::new();
    if let Err(AccountError::Invalid(field, message)) = accounts::normalise_username(&body.username) {
        fields.insert(field.into(), message);
    }
    let display = body.display_name.trim();
    if display.is_empty() {
        fields.insert("display_name".into(), "field-required");
    } else if display.chars().count() > 100 {
        fields.insert("display_name".into(), "field-too_long");
    }
    let role = body.role.parse::<Role>().ok();
    if role.is_none() {
        fields.insert("role".into(), "field-invalid_role");
    }
    if !crate::areas::exists(&state.db, body.area.trim()).await? {
        fields.insert("area".into(), "field-unknown_area");
    }
    if let Err(message) = password::check_strength(&body.password) {
        fields.insert("password".into(), message);
    }
    match role {
        Some(role) if fields.is_empty() => Ok(role),
        _ => Err(ApiError::validation(fields)),
    }
}

async fn target(state: &AppState, id: &str) -> Result<Account, ApiError> {
    accounts::by_id(&state.db, id).await?.ok_or_else(ApiError::not_found)
}

/// Every account (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, description = "`{items: [{id, username, display_name, role, area, status, totp_enabled}]}`"),
        (status = 403, description = "Not an admin")))]
async fn list_users(State(state): State<AppState>, user: Authz) -> Result<Json<Value>, ApiError> {
    user.require(Action::UsersManage, Resource::system()).await?;
    let items = accounts::list(&state.db).await?;
    state.audit(user.event(actions::USERS_LIST, Outcome::Success)).await?;
    Ok(Json(json!({ "items": items })))
}

/// Creates an account (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, description = "The account: `{id, username, display_name, role, area, status, totp_enabled}`"),
        (status = 403, description = "Not an admin"),
        (status = 409, description = "`username_taken`, with `fields.username`"),
        (status = 422, description = "`fields` names each bad field")))]
async fn create_user(
    State(state): State<AppState>,
    user: Authz,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    user.require(Action::UsersManage, Resource::system()).await?;
    let role = check_new(&state, &body).await?;
    let account = accounts::create_issued(
        &state.db,
        NewAccount {
            username: body.username,
            display_name: body.display_name,
            role,
            area: body.area.trim().to_owned(),
            password: body.password,
        },
        state.clock.now(),
    )
    .await
    .map_err(account_error)?;
    let mut event = user.event(actions::USER_CREATE, Outcome::Success).object(&account.id);
    if reads_client_content(&state, &account) {
        event = event.flagged();
    }
    state.audit(event).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

/// Refuses disabling one's own account (`own_account`) or the last active admin
/// (`last_admin`), both 409; shared by the API and the admin pages.
pub async fn check_may_disable(state: &AppState, user: &Authz, account: &Account) -> Result<(), ApiError> {
    if account.id == user.account.id {
        return Err(ApiError::new(StatusCode::CONFLICT, "own_account"));
    }
    if account.principal().is_active_admin() {
        let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND status = 'active'")
            .fetch_one(&state.db.pool)
            .await?;
        if admins <= 1 {
            return Err(ApiError::new(StatusCode::CONFLICT, "last_admin"));
        }
    }
    Ok(())
}

/// Whether the policies let `account` read a client's content (flagged in the audit
/// trail when such an account is made).
pub fn reads_client_content(state: &AppState, account: &Account) -> bool {
    state
        .policy
        .reads_client_content(state.areas.tree(), &account.principal())
}

/// Disables an account and ends its sessions at once (admin). An admin cannot disable
/// their own account, nor the last active admin.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "users",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, description = "The account"), (status = 403, description = "Not an admin"),
        (status = 404, description = "No such account"),
        (status = 409, description = "`own_account` or `last_admin`")))]
async fn disable_user(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
) -> Result<Json<Account>, ApiError> {
    user.require(Action::UsersManage, Resource::system()).await?;
    let account = target(&state, &id).await?;
    check_may_disable(&state, &user, &account).await?;
    accounts::set_active(&state.db, &id, false, state.clock.now())
        .await
        .map_err(account_error)?;
    state
        .audit(user.event(actions::USER_DISABLE, Outcome::Success).object(&id))
        .await?;
    Ok(Json(target(&state, &id).await?))
}

/// Re-enables a disabled account (admin).
#[utoipa::path(post, path = "/api/v1/users/{id}/enable", tag = "users",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, description = "The account"), (status = 403, description = "Not an admin"),
        (status = 404, description = "No such account")))]
async fn enable_user(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
) -> Result<Json<Account>, ApiError> {
    user.require(Action::UsersManage, Resource::system()).await?;
    accounts::set_active(&state.db, &id, true, state.clock.now())
        .await
        .map_err(account_error)?;
    state
        .audit(user.event(actions::USER_ENABLE, Outcome::Success).object(&id))
        .await?;
    Ok(Json(target(&state, &id).await?))
}

/// Sets a new password and ends the account's sessions (admin); the owner must change it
/// at the next login. Flagged for the auditor.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-password", tag = "users", request_body = ResetPassword,
    params(("id" = String, Path, description = "Account id")),
    responses((status = 204, description = "Done"), (status = 403, description = "Not an admin"),
        (status = 404, description = "No such account"), (status = 422, description = "`fields.password`")))]
async fn reset_password(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResetPassword>,
) -> Result<StatusCode, ApiError> {
    user.require(Action::UsersManage, Resource::system()).await?;
    target(&state, &id).await?;
    accounts::set_password(&state.db, &id, body.password, state.clock.now())
        .await
        .map_err(account_error)?;
    state
        .audit(
            user.event(actions::USER_RESET_PASSWORD, Outcome::Success)
                .object(&id)
                .flagged(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the account's second factor and recovery codes and ends its sessions; the
/// user enrols again at the next login (admin).
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-mfa", tag = "users",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, description = "The account"), (status = 403, description = "Not an admin"),
        (status = 404, description = "No such account")))]
async fn reset_mfa(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
) -> Result<Json<Account>, ApiError> {
    user.require(Action::UsersManage, Resource::system()).await?;
    if !mfa::reset(&state.db, &id, state.clock.now()).await? {
        return Err(ApiError::not_found());
    }
    state
        .audit(
            user.event(actions::USER_RESET_MFA, Outcome::Success)
                .object(&id)
                .flagged(),
        )
        .await?;
    Ok(Json(target(&state, &id).await?))
}
