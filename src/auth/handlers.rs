//! `POST/DELETE /api/v1/session`, `GET /api/v1/me`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use tower_sessions::Session;

use super::accounts::{self, Account};
use super::extract::{ACTIVE_AT_KEY, AUTHENTICATED_AT_KEY, CSRF_KEY, ENROLMENT_PENDING_KEY, LoginUser};
use super::session_store::USER_ID_KEY;
use super::{password, throttle};
use crate::AppState;
use crate::audit::actions;
use crate::audit::{Event, Outcome};
use crate::web::{ApiError, ApiJson};

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

fn with_retry_after(mut response: Response, seconds: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

fn too_many(retry_after: i64) -> Response {
    with_retry_after(
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").into_response(),
        retry_after,
    )
}

/// Every password check is busy and the short queue is full or its wait ran out.
fn busy() -> Response {
    with_retry_after(
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy").into_response(),
        1,
    )
}

/// The address a login is counted against: the TCP peer, or the client named by a
/// trusted proxy (`auth.trusted_proxies`).
pub fn client_address(state: &AppState, peer: std::net::IpAddr, headers: &axum::http::HeaderMap) -> std::net::IpAddr {
    crate::web::proxy::TrustedProxies::of(&state.settings).client_address(peer, headers)
}

/// The outcome of checking a username, password and optional second-factor code, shared
/// by the API and the login page.
pub enum LoginOutcome {
    Success { account: Account, enrolment_pending: bool },
    Rejected(Response),
}

/// Checks a login. The account's attempt is claimed (counted) before the slow password
/// check, so parallel guesses cannot outrun the lockout; an address over its limit is
/// only slowed down. `address` comes from [`client_address`].
pub async fn check_login(
    state: &AppState,
    address: std::net::IpAddr,
    username: &str,
    password_given: SecretString,
    totp: Option<&str>,
) -> Result<LoginOutcome, ApiError> {
    let now = state.clock.now();
    let account_key = throttle::account_key(username);
    let address_key = throttle::address_key(address);
    if password::saturated() {
        // Shed before any database work: nothing was checked or counted, so nothing is
        // audited either (a storm must not turn into a storm of writes).
        tracing::debug!("login shed: every password check is busy");
        return Ok(LoginOutcome::Rejected(busy()));
    }
    if throttle::address_is_hot(&state.db, &address_key, now).await? {
        tokio::time::sleep(throttle::ADDRESS_SLOWDOWN).await;
    }
    if let throttle::Claim::Refused { retry_after } = throttle::claim(&state.db, &account_key, now).await? {
        state
            .audit(Event::new("anonymous", actions::LOGIN, Outcome::Denied).reason("throttled"))
            .await?;
        return Ok(LoginOutcome::Rejected(too_many(retry_after)));
    }
    let found = accounts::for_login(&state.db, username).await?;
    let (account, hash) = match found {
        Some((a, h)) => (Some(a), Some(h)),
        None => (None, None),
    };
    let Ok(password_ok) = password::verify_or_shed(hash, password_given).await else {
        // Not checked, so not counted.
        throttle::release(&state.db, &account_key).await?;
        state
            .audit(Event::new("anonymous", actions::LOGIN, Outcome::Denied).reason("busy"))
            .await?;
        return Ok(LoginOutcome::Rejected(busy()));
    };
    let account = account.filter(|a| password_ok && a.is_active());
    let Some(account) = account else {
        throttle::record_address_failure(&state.db, &address_key, now).await?;
        state
            .audit(Event::new("anonymous", actions::LOGIN, Outcome::Failure).reason("invalid credentials"))
            .await?;
        return Ok(LoginOutcome::Rejected(
            ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials").into_response(),
        ));
    };
    if account.totp_enabled {
        match totp {
            None => {
                // The password was right: this was not a guess.
                throttle::release(&state.db, &account_key).await?;
                return Ok(LoginOutcome::Rejected(
                    ApiError::new(StatusCode::UNAUTHORIZED, "totp_required").into_response(),
                ));
            }
            Some(code) => {
                if !super::mfa::verify_login_code(state, &account, code).await? {
                    // The claim stays counted.
                    throttle::record_address_failure(&state.db, &address_key, now).await?;
                    state
                        .audit(
                            Event::new(account.id.clone(), actions::LOGIN_SECOND_FACTOR, Outcome::Failure)
                                .role(account.role.as_str()),
                        )
                        .await?;
                    return Ok(LoginOutcome::Rejected(
                        ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials").into_response(),
                    ));
                }
            }
        }
    }
    throttle::clear(&state.db, &account_key).await?;
    let enrolment_pending = !account.totp_enabled
        && state
            .settings
            .auth
            .mfa_required_roles
            .iter()
            .any(|r| r == account.role.as_str());
    Ok(LoginOutcome::Success {
        account,
        enrolment_pending,
    })
}

/// Starts a fresh session (new id) for a user who passed the login checks.
pub async fn start_session(
    state: &AppState,
    session: &Session,
    account: &Account,
    enrolment_pending: bool,
) -> Result<String, ApiError> {
    session.cycle_id().await?;
    let csrf = crate::crypto::random_hex::<32>()?;
    session.insert(USER_ID_KEY, &account.id).await?;
    session.insert(AUTHENTICATED_AT_KEY, state.clock.now()).await?;
    session.insert(ACTIVE_AT_KEY, state.clock.now()).await?;
    session.insert(CSRF_KEY, &csrf).await?;
    session.insert(ENROLMENT_PENDING_KEY, enrolment_pending).await?;
    session.save().await?;
    state
        .audit(Event::new(account.id.clone(), actions::LOGIN, Outcome::Success).role(account.role.as_str()))
        .await?;
    Ok(csrf)
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
) -> Result<Response, ApiError> {
    let address = client_address(&state, peer.ip(), &headers);
    let outcome = check_login(&state, address, &body.username, body.password, body.totp.as_deref()).await?;
    match outcome {
        LoginOutcome::Rejected(response) => Ok(response),
        LoginOutcome::Success {
            account,
            enrolment_pending,
        } => {
            let csrf = start_session(&state, &session, &account, enrolment_pending).await?;
            Ok(Json(json!({
                "user": user_json(&account),
                "csrf_token": csrf,
                "mfa_enrolment_required": enrolment_pending,
                "password_change_required": account.password_change_required,
            }))
            .into_response())
        }
    }
}

/// Logs out.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "Logged out"), (status = 401, description = "Not logged in")))]
pub async fn logout(State(state): State<AppState>, LoginUser(user): LoginUser) -> Result<StatusCode, ApiError> {
    state.audit(user.event(actions::LOGOUT, Outcome::Success)).await?;
    user.session.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The logged-in user and the session's CSRF token.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, description = "`{user, csrf_token, mfa_enrolment_required, password_change_required}`"),
        (status = 401, description = "Not logged in")))]
pub async fn me(LoginUser(user): LoginUser) -> Result<Json<Value>, ApiError> {
    let csrf: Option<String> = user.session.get(CSRF_KEY).await?;
    let pending: bool = user.session.get(ENROLMENT_PENDING_KEY).await?.unwrap_or(false);
    Ok(Json(json!({
        "user": user_json(&user.account),
        "csrf_token": csrf,
        "mfa_enrolment_required": pending,
        "password_change_required": user.account.password_change_required,
    })))
}
