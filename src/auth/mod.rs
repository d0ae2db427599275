//! Staff accounts, passwords, sessions, second factor, login throttling and CSRF.

pub mod accounts;
pub mod csrf;
pub mod extract;
pub mod mfa;
pub mod own_password;
pub mod password;
pub mod session;
pub mod session_store;
pub mod setup;
pub mod throttle;
pub mod users;

use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use utoipa_axum::router::OpenApiRouter;

pub use extract::{AuthUser, LoginUser, SessionUser};
pub use session_store::DbSessionStore;

use crate::AppState;
use crate::config::Settings;
use crate::db::Db;

/// The session cookie: `__Host-` prefixed and `Secure` unless plain-HTTP local use is
/// configured; `HttpOnly`, `SameSite=Strict`, idle timeout from the settings.
pub fn session_layer(settings: &Settings, db: Db) -> SessionManagerLayer<DbSessionStore> {
    let secure = !settings.auth.insecure_cookies;
    let idle = i64::try_from(settings.auth.idle_timeout_minutes).unwrap_or(30);
    SessionManagerLayer::new(DbSessionStore::new(db))
        .with_name(if secure { "__Host-hoanhap" } else { "hoanhap" })
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(idle)))
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(session::api())
        .merge(own_password::api())
        .merge(mfa::api())
        .merge(users::api())
}
