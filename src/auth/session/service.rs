//! Signing in and out, shared by the JSON API and the login page: the throttled
//! password and second-factor check, the fresh session, and their audit entries.

use secrecy::SecretString;
use tower_sessions::Session;

use crate::AppState;
use crate::audit::actions;
use crate::audit::{Event, Outcome};
use crate::auth::accounts::{self, Account};
use crate::auth::extract::{ACTIVE_AT_KEY, AUTHENTICATED_AT_KEY, AuthUser, CSRF_KEY, ENROLMENT_PENDING_KEY};
use crate::auth::session_store::USER_ID_KEY;
use crate::auth::{mfa, password, throttle};
use crate::error::Error;

/// The address a login is counted against: the TCP peer, or the client named by a
/// trusted proxy (`auth.trusted_proxies`).
pub fn client_address(state: &AppState, peer: std::net::IpAddr, headers: &axum::http::HeaderMap) -> std::net::IpAddr {
    crate::web::proxy::TrustedProxies::of(&state.settings).client_address(peer, headers)
}

/// Who passed the login checks, and whether they must still enrol a second factor.
pub struct SignedIn {
    pub account: Account,
    pub enrolment_pending: bool,
}

/// Checks a login. The account's attempt is claimed (counted) before the slow password
/// check, so parallel guesses cannot outrun the lockout; an address over its limit is
/// only slowed down. `address` comes from [`client_address`]. A refusal is
/// [`Error::Busy`], [`Error::Throttled`] or [`Error::Unauthenticated`]
/// (`invalid_credentials`, `totp_required`).
pub async fn check_login(
    state: &AppState,
    address: std::net::IpAddr,
    username: &str,
    password_given: SecretString,
    totp: Option<&str>,
) -> Result<SignedIn, Error> {
    let now = state.clock.now();
    let account_key = throttle::account_key(username);
    let address_key = throttle::address_key(address);
    if password::saturated() {
        // Shed before any database work: nothing was checked or counted, so nothing is
        // audited either (a storm must not turn into a storm of writes).
        tracing::debug!("login shed: every password check is busy");
        return Err(Error::Busy);
    }
    if throttle::address_is_hot(&state.db, &address_key, now).await? {
        tokio::time::sleep(throttle::ADDRESS_SLOWDOWN).await;
    }
    if let throttle::Claim::Refused { retry_after } = throttle::claim(&state.db, &account_key, now).await? {
        state
            .audit(Event::new("anonymous", actions::LOGIN, Outcome::Denied).reason("throttled"))
            .await?;
        return Err(Error::Throttled { retry_after });
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
        return Err(Error::Busy);
    };
    let account = account.filter(|a| password_ok && a.is_active());
    let Some(account) = account else {
        throttle::record_address_failure(&state.db, &address_key, now).await?;
        crate::metrics::login_failed();
        state
            .audit(Event::new("anonymous", actions::LOGIN, Outcome::Failure).reason("invalid credentials"))
            .await?;
        return Err(Error::Unauthenticated("invalid_credentials"));
    };
    if account.totp_enabled {
        let Some(code) = totp else {
            // The password was right: this was not a guess.
            throttle::release(&state.db, &account_key).await?;
            return Err(Error::Unauthenticated("totp_required"));
        };
        if !mfa::verify_login_code(state, &account, code).await? {
            // The claim stays counted.
            throttle::record_address_failure(&state.db, &address_key, now).await?;
            crate::metrics::login_failed();
            state
                .audit(
                    Event::new(account.id.clone(), actions::LOGIN_SECOND_FACTOR, Outcome::Failure)
                        .role(account.role.as_str()),
                )
                .await?;
            return Err(Error::Unauthenticated("invalid_credentials"));
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
    Ok(SignedIn {
        account,
        enrolment_pending,
    })
}

/// Starts a fresh session (new id) for a user who passed the login checks; answers the
/// session's CSRF token. Audited `login`.
pub async fn start(state: &AppState, session: &Session, signed_in: &SignedIn) -> Result<String, Error> {
    let account = &signed_in.account;
    session.cycle_id().await?;
    let csrf = crate::crypto::random_hex::<32>()?;
    session.insert(USER_ID_KEY, &account.id).await?;
    session.insert(AUTHENTICATED_AT_KEY, state.clock.now()).await?;
    session.insert(ACTIVE_AT_KEY, state.clock.now()).await?;
    session.insert(CSRF_KEY, &csrf).await?;
    session
        .insert(ENROLMENT_PENDING_KEY, signed_in.enrolment_pending)
        .await?;
    session.save().await?;
    state
        .audit(Event::new(account.id.clone(), actions::LOGIN, Outcome::Success).role(account.role.as_str()))
        .await?;
    Ok(csrf)
}

/// Ends the session (also one that must still change its password or enrol). Audited
/// `logout` first: a logout that cannot be recorded does not happen.
pub async fn end(state: &AppState, user: &AuthUser) -> Result<(), Error> {
    state.audit(user.event(actions::LOGOUT, Outcome::Success)).await?;
    user.session.flush().await?;
    Ok(())
}

/// The session's CSRF token and whether it must still enrol a second factor.
pub async fn of(user: &AuthUser) -> Result<(Option<String>, bool), Error> {
    let csrf: Option<String> = user.session.get(CSRF_KEY).await?;
    let pending: bool = user.session.get(ENROLMENT_PENDING_KEY).await?.unwrap_or(false);
    Ok((csrf, pending))
}
