//! The logged-in user, taken from the session on every request.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use tower_sessions::Session;

use super::accounts::{self, Account};
use super::session_store::USER_ID_KEY;
use crate::AppState;
use crate::policy::Principal;
use crate::web::ApiError;

pub const AUTHENTICATED_AT_KEY: &str = "authenticated_at";
pub const CSRF_KEY: &str = "csrf";
/// Set while a user whose role needs a second factor has not enrolled one yet: only the
/// enrolment routes accept such a session.
pub const ENROLMENT_PENDING_KEY: &str = "mfa_enrolment_pending";
/// The last time (by `state.clock`) the session's idle expiry was pushed forward.
pub const ACTIVE_AT_KEY: &str = "active_at";
/// How often activity pushes the idle expiry forward: at most one session write a minute,
/// so reads stay cheap.
const SLIDE_EVERY_SECS: i64 = 60;

/// A logged-in, active user with a complete login.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub account: Account,
    pub session: Session,
}

impl AuthUser {
    pub fn id(&self) -> &str {
        &self.account.id
    }

    pub fn principal(&self) -> Principal {
        self.account.principal()
    }

    /// An audit event with this user as actor.
    pub fn event(&self, action: &str, outcome: crate::audit::Outcome) -> crate::audit::Event {
        crate::audit::Event::new(self.account.id.clone(), action, outcome).role(self.account.role.as_str())
    }
}

/// A user who passed the password (and second factor, if enrolled) but may still have to
/// enrol one: accepted only by the enrolment routes. Refused while the password must be
/// changed.
#[derive(Debug, Clone)]
pub struct SessionUser(pub AuthUser);

/// Any logged-in session, even one that must still change its password or enrol a
/// second factor: accepted by `me`, logout and the change of one's own password.
#[derive(Debug, Clone)]
pub struct LoginUser(pub AuthUser);

fn password_change_required() -> ApiError {
    ApiError::new(axum::http::StatusCode::FORBIDDEN, "password_change_required")
}

async fn from_session(parts: &mut Parts, state: &AppState) -> Result<(AuthUser, bool), ApiError> {
    let session = Session::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::unauthenticated())?;
    let user_id: Option<String> = session.get(USER_ID_KEY).await?;
    let Some(user_id) = user_id else {
        return Err(ApiError::unauthenticated());
    };
    let at: Option<DateTime<Utc>> = session.get(AUTHENTICATED_AT_KEY).await?;
    let now = state.clock.now();
    let lifetime = chrono::Duration::hours(i64::try_from(state.settings.auth.absolute_timeout_hours).unwrap_or(12));
    let Some(at) = at.filter(|at| now - *at <= lifetime) else {
        let _ = session.flush().await;
        return Err(ApiError::unauthenticated());
    };
    // The idle timeout is the store's expiry, which tower-sessions pushes forward each
    // time the session is written: write it on activity, at most once a minute, so the
    // timeout slides and reads stay cheap. (A clock that went back also slides it.)
    let active_at: DateTime<Utc> = session.get(ACTIVE_AT_KEY).await?.unwrap_or(at);
    if (now - active_at).num_seconds().abs() >= SLIDE_EVERY_SECS {
        session.insert(ACTIVE_AT_KEY, now).await?;
    }
    let account = accounts::by_id(&state.db, &user_id).await?.filter(Account::is_active);
    let Some(account) = account else {
        let _ = session.flush().await;
        return Err(ApiError::unauthenticated());
    };
    let pending: bool = session.get(ENROLMENT_PENDING_KEY).await?.unwrap_or(false);
    Ok((AuthUser { account, session }, pending))
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (user, pending) = from_session(parts, state).await?;
        if user.account.password_change_required {
            return Err(password_change_required());
        }
        if pending {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "mfa_enrolment_required",
            ));
        }
        Ok(user)
    }
}

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (user, _) = from_session(parts, state).await?;
        if user.account.password_change_required {
            return Err(password_change_required());
        }
        Ok(Self(user))
    }
}

impl FromRequestParts<AppState> for LoginUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(from_session(parts, state).await?.0))
    }
}
