//! `POST/DELETE /api/v1/session`, `GET /api/v1/me`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use tower_sessions::Session;

use super::service::{self, client_address};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::accounts::Account;
use crate::auth::extract::LoginUser;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login, logout)).routes(routes!(me))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    #[schema(value_type = String)]
    pub password: SecretString,
    /// A TOTP code or an unused recovery code, for accounts with a second factor.
    pub totp: Option<String>,
}

pub fn user_json(account: &Account) -> Value {
    json!({
        "id": account.id,
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role,
        "area": account.area,
        "totp_enabled": account.totp_enabled,
        "password_change_required": account.password_change_required,
    })
}

/// Logs in; answers the user and the CSRF token for later state-changing requests.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginRequest,
    responses((status = 200, description = "Logged in: `{user, csrf_token, mfa_enrolment_required}`"),
        (status = 401, description = "`invalid_credentials` or `totp_required`"),
        (status = 429, description = "`too_many_attempts`, with `Retry-After`"),
        (status = 503, description = "`busy`: too many logins at once, with `Retry-After`")))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    session: Session,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<Value>, ApiError> {
    let address = client_address(&state, peer.ip(), &headers);
    let signed_in = service::check_login(&state, address, &body.username, body.password, body.totp.as_deref()).await?;
    let csrf = service::start(&state, &session, &signed_in).await?;
    Ok(Json(json!({
        "user": user_json(&signed_in.account),
        "csrf_token": csrf,
        "mfa_enrolment_required": signed_in.enrolment_pending,
        "password_change_required": signed_in.account.password_change_required,
    })))
}

/// Logs out.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "Logged out"), (status = 401, description = "Not logged in")))]
pub async fn logout(State(state): State<AppState>, LoginUser(user): LoginUser) -> Result<StatusCode, ApiError> {
    service::end(&state, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The logged-in user and the session's CSRF token.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, description = "`{user, csrf_token, mfa_enrolment_required, password_change_required}`"),
        (status = 401, description = "Not logged in")))]
pub async fn me(LoginUser(user): LoginUser) -> Result<Json<Value>, ApiError> {
    let (csrf, pending) = service::of(&user).await?;
    Ok(Json(json!({
        "user": user_json(&user.account),
        "csrf_token": csrf,
        "mfa_enrolment_required": pending,
        "password_change_required": user.account.password_change_required,
    })))
}
