//! `POST /api/v1/me/password`: staff change their own password, giving the current one.
//! The only route (with `me` and logout) a session accepts while its password must be
//! changed. Wrong current passwords count against the account like failed logins, so a
//! stolen session cannot be used to guess it.

use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::extract::{AuthUser, LoginUser};
use super::{accounts, password, throttle};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::web::{ApiError, ApiJson};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(value_type = String)]
    pub current_password: SecretString,
    /// At least 12 characters, different from the current one.
    #[schema(value_type = String)]
    pub new_password: SecretString,
}

/// Checks the current password and stores the new one; every other session of the
/// account ends and this one gets a new id. Errors name `current_password` or
/// `new_password` (422), or are 429/503 like a login.
pub async fn change(
    state: &AppState,
    user: &AuthUser,
    current: SecretString,
    new: SecretString,
) -> Result<(), ApiError> {
    if let Err(message) = password::check_strength(&new) {
        return Err(ApiError::field("new_password", message));
    }
    if new.expose_secret() == current.expose_secret() {
        return Err(ApiError::field("new_password", "field-password_unchanged"));
    }
    let now = state.clock.now();
    let key = throttle::account_key(&user.account.username);
    if let throttle::Claim::Refused { retry_after } = throttle::claim(&state.db, &key, now).await? {
        let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        error.details = Some(serde_json::json!({ "retry_after": retry_after }));
        return Err(error);
    }
    let stored = accounts::for_login(&state.db, &user.account.username)
        .await?
        .map(|(_, hash)| hash);
    let Ok(ok) = password::verify_or_shed(stored, current).await else {
        throttle::release(&state.db, &key).await?;
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy"));
    };
    if !ok {
        state
            .audit(user.event(actions::PASSWORD_CHANGE, Outcome::Failure))
            .await?;
        return Err(ApiError::field("current_password", "field-wrong_password"));
    }
    throttle::clear(&state.db, &key).await?;
    accounts::change_own_password(&state.db, &user.account.id, new, now)
        .await
        .map_err(crate::error::Error::from)?;
    // The row of this session went with the others; a new id is saved at the response.
    user.session.cycle_id().await?;
    state
        .audit(
            user.event(actions::PASSWORD_CHANGE, Outcome::Success)
                .object(&user.account.id),
        )
        .await?;
    Ok(())
}

/// Changes the logged-in user's own password (current password required). Other sessions
/// of the account end; this one continues under a new id.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "session", request_body = ChangePassword,
    responses((status = 204, description = "Changed"), (status = 401, description = "Not logged in"),
        (status = 422, description = "`fields.current_password` (wrong) or `fields.new_password`"),
        (status = 429, description = "`too_many_attempts`: too many wrong current passwords"),
        (status = 503, description = "`busy`: too many password checks at once")))]
pub async fn change_api(
    State(state): State<AppState>,
    LoginUser(user): LoginUser,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    change(&state, &user, body.current_password, body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
