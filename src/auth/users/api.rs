//! `/api/v1/users`: thin adapters over [`super::service`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{CreateUser, ResetPassword};
use super::service;
use crate::AppState;
use crate::auth::accounts::Account;
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(reset_password))
        .routes(routes!(reset_mfa))
}

/// Every account (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, description = "`{items: [{id, username, display_name, role, area, status, totp_enabled}]}`"),
        (status = 403, description = "Not an admin")))]
async fn list_users(State(state): State<AppState>, user: Authz) -> Result<Json<Value>, ApiError> {
    let items = service::list(&state, &user).await?;
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
    let account = service::create(&state, &user, body).await?;
    Ok((StatusCode::CREATED, Json(account)))
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
    Ok(Json(service::disable(&state, &user, &id).await?))
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
    Ok(Json(service::enable(&state, &user, &id).await?))
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
    service::reset_password(&state, &user, &id, body.password).await?;
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
    Ok(Json(service::reset_mfa(&state, &user, &id).await?))
}
