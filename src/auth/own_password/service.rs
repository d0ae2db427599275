//! Checking the current password, storing the new one, ending the other sessions.

use secrecy::{ExposeSecret, SecretString};

use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::auth::extract::AuthUser;
use crate::auth::{accounts, password, throttle};
use crate::error::Error;

/// Checks the current password and stores the new one; every other session of the
/// account ends and this one gets a new id. Errors name `current_password` or
/// `new_password` (422), or are 429/503 like a login.
pub async fn change(state: &AppState, user: &AuthUser, current: SecretString, new: SecretString) -> Result<(), Error> {
    if let Err(message) = password::check_strength(&new) {
        return Err(Error::field("new_password", message));
    }
    if new.expose_secret() == current.expose_secret() {
        return Err(Error::field("new_password", "field-password_unchanged"));
    }
    let now = state.clock.now();
    let key = throttle::account_key(&user.account.username);
    if let throttle::Claim::Refused { retry_after } = throttle::claim(&state.db, &key, now).await? {
        return Err(Error::Throttled { retry_after });
    }
    let stored = accounts::for_login(&state.db, &user.account.username)
        .await?
        .map(|(_, hash)| hash);
    let Ok(ok) = password::verify_or_shed(stored, current).await else {
        throttle::release(&state.db, &key).await?;
        return Err(Error::Busy);
    };
    if !ok {
        state
            .audit(user.event(actions::PASSWORD_CHANGE, Outcome::Failure))
            .await?;
        return Err(Error::field("current_password", "field-wrong_password"));
    }
    throttle::clear(&state.db, &key).await?;
    let event = user
        .event(actions::PASSWORD_CHANGE, Outcome::Success)
        .object(&user.account.id);
    accounts::change_own_password(&state.db, &user.account.id, new, now, (&state.audit_log, event)).await?;
    // The row of this session went with the others; a new id is saved at the response.
    user.session.cycle_id().await?;
    Ok(())
}
