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
        Principal {
            user_id: self.account.id.clone(),
            role: self.account.role,
            area: self.account.area.clone(),
            active: self.account.is_active(),
        }
    }

    /// An audit event with this user as actor.
    pub fn event(&self, action: &str, outcome: crate::audit::Outcome) -> crate::audit::Event {
        crate::audit::Event::new(self.account.id.clone(), action, outcome).role(self.account.role.as_str())
    }
}

/// A user who passed the password (and second factor, if enrolled) but may still have to
/// enrol one: accepted only by the enrolment routes and logout.
#[derive(Debug, Clone)]
pub struct SessionUser(pub AuthUser);

async fn from_session(parts: &mut Parts, state: &AppState) -> Result<(AuthUser, bool), ApiError> {
    let session = Session::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::unauthenticated())?;
    let user_id: Option<String> = session.get(USER_ID_KEY).await.map_err(|e| ApiError::internal(&e))?;
    let Some(user_id) = user_id else {
        return Err(ApiError::unauthenticated());
    };
    let at: Option<DateTime<Utc>> = session
        .get(AUTHENTICATED_AT_KEY)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let lifetime = chrono::Duration::hours(i64::try_from(state.settings.auth.absolute_timeout_hours).unwrap_or(12));
    if at.is_none_or(|at| state.clock.now() - at > lifetime) {
        let _ = session.flush().await;
        return Err(ApiError::unauthenticated());
    }
    let account = accounts::by_id(&state.db, &user_id)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .filter(Account::is_active);
    let Some(account) = account else {
        let _ = session.flush().await;
        return Err(ApiError::unauthenticated());
    };
    let pending: bool = session
        .get(ENROLMENT_PENDING_KEY)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .unwrap_or(false);
    Ok((AuthUser { account, session }, pending))
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (user, pending) = from_session(parts, state).await?;
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
        Ok(Self(from_session(parts, state).await?.0))
    }
}
