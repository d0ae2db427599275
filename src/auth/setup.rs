//! First-admin setup: while no active admin exists, `serve` prints (to stdout, never to
//! the log) a one-time link `http://{listen}/setup/{token}` that lets whoever reads the
//! server console create the first admin.
//!
//! - The token is 32 random bytes as 64 lowercase hex digits; only its SHA-256 hash is
//!   stored (`setup_tokens`), so a copy of the database does not give the link.
//! - A token is valid for [`TOKEN_LIFETIME_MINUTES`] after it was issued (by
//!   `state.clock`), and once: creating the admin uses up every outstanding token.
//! - Each start of the server issues a new token while no active admin exists; older
//!   unused tokens stay valid until they expire.
//!
//! For the setup pages (`GET`/`POST /setup/{token}`):
//! - `GET`: call [`check_setup_token`]; `false` → show "link not valid" (status 404 or
//!   410), without saying why.
//! - `POST`: call [`create_first_admin`] with the form's username, display name and
//!   password. [`SetupError::InvalidToken`] → the same "link not valid" answer;
//!   [`SetupError::Invalid`] → show the form again with a message for each field
//!   (`fields` maps field name → `field-*` message id, both languages exist);
//!   [`SetupError::UsernameTaken`] → the form again with `field-username_taken` on
//!   `username` (the token is not used up by a failed attempt); anything else → 500.
//!   On success, send the user to `/login`: the new admin logs in normally (and, if the
//!   `admin` role is in `[auth] mfa_required_roles`, enrols a second factor first).
//! - `impl From<SetupError> for ApiError` gives the matching API error if wanted.
//! - The CSRF layer exempts `POST /setup/…` from the token check (there is no session
//!   yet) but still checks the origin.
//!
//! The admin's area is the province (`settings.programme.province_area`). Issuing a
//! token and creating the admin are audited (`setup_token_issue`, `first_admin_create`).

use std::collections::BTreeMap;

use chrono::Duration;
use ring::digest;
use secrecy::SecretString;
use sqlx::Row;

use super::accounts::{self, Account};
use super::password;
use crate::AppState;
use crate::audit::actions;
use crate::audit::{Event, Outcome};
use crate::db::{is_unique_violation, timestamp};
use crate::policy::Role;
use crate::web::ApiError;

/// How long a setup link is valid.
pub const TOKEN_LIFETIME_MINUTES: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Unknown, expired or used token, or an active admin exists already.
    #[error("the setup link is not valid")]
    InvalidToken,
    /// Field name → `field-*` message id, for every bad field.
    #[error("some fields are not valid: {}", .0.keys().cloned().collect::<Vec<_>>().join(", "))]
    Invalid(BTreeMap<&'static str, &'static str>),
    #[error("the username is taken")]
    UsernameTaken,
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error(transparent)]
    Hash(#[from] password::HashError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("the audit trail cannot be written")]
    Audit,
}

impl From<SetupError> for ApiError {
    fn from(e: SetupError) -> Self {
        match e {
            SetupError::InvalidToken => ApiError::new(axum::http::StatusCode::NOT_FOUND, "setup_token_invalid"),
            SetupError::Invalid(fields) => {
                ApiError::validation(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }
            SetupError::UsernameTaken => {
                let mut error = ApiError::field("username", "field-username_taken");
                error.status = axum::http::StatusCode::CONFLICT;
                error.code = "username_taken";
                error
            }
            SetupError::Audit => ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            other => ApiError::internal(&other),
        }
    }
}

/// The stored form of a token; `None` when it cannot be one of ours (so no lookup).
fn token_hash(token: &str) -> Option<String> {
    let token = token.trim().to_ascii_lowercase();
    (token.len() == 64 && token.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| hex::encode(digest::digest(&digest::SHA256, token.as_bytes())))
}

/// Whether the installation still needs its first admin (no active admin exists).
pub async fn needs_first_admin(state: &AppState) -> Result<bool, sqlx::Error> {
    Ok(!accounts::any_admin(&state.db).await?)
}

/// The link printed by `serve`.
pub fn setup_link(listen: std::net::SocketAddr, token: &str) -> String {
    format!("http://{listen}/setup/{token}")
}

/// Issues a new one-time token valid for [`TOKEN_LIFETIME_MINUTES`] and returns it (the
/// only time it exists in clear). Expired and used tokens are removed. The caller checks
/// [`needs_first_admin`] first; `serve` does.
pub async fn issue_setup_token(state: &AppState) -> Result<String, SetupError> {
    let token = crate::crypto::random_hex::<32>()?;
    let hash = token_hash(&token).ok_or(SetupError::InvalidToken)?;
    let now = state.clock.now();
    let mut tx = state.db.pool.begin().await?;
    sqlx::query("DELETE FROM setup_tokens WHERE used_at IS NOT NULL OR expires_at <= $1")
        .bind(timestamp(now))
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
        .bind(&hash)
        .bind(timestamp(now))
        .bind(timestamp(now + Duration::minutes(TOKEN_LIFETIME_MINUTES)))
        .execute(&mut *tx)
        .await?;
    state
        .audit_log
        .append_in(
            &mut tx,
            &[Event::new("system", actions::SETUP_TOKEN_ISSUE, Outcome::Success)],
            now,
        )
        .await
        .map_err(|_| SetupError::Audit)?;
    tx.commit().await?;
    Ok(token)
}

/// Whether `token` is a setup token that is unused, unexpired, and no active admin
/// exists yet. Changes nothing.
pub async fn check_setup_token(state: &AppState, token: &str) -> Result<bool, SetupError> {
    let Some(hash) = token_hash(token) else {
        return Ok(false);
    };
    let valid: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(hash)
    .bind(timestamp(state.clock.now()))
    .fetch_one(&state.db.pool)
    .await?;
    Ok(valid > 0 && needs_first_admin(state).await?)
}

fn check_fields(username: &str, display_name: &str, password: &SecretString) -> Result<String, SetupError> {
    let mut fields = BTreeMap::new();
    let username = match accounts::normalise_username(username) {
        Ok(name) => name,
        Err(_) => {
            fields.insert("username", "field-invalid_username");
            String::new()
        }
    };
    let display = display_name.trim();
    if display.is_empty() {
        fields.insert("display_name", "field-required");
    } else if display.chars().count() > 100 {
        fields.insert("display_name", "field-too_long");
    }
    if let Err(message) = password::check_strength(password) {
        fields.insert("password", message);
    }
    if fields.is_empty() {
        Ok(username)
    } else {
        Err(SetupError::Invalid(fields))
    }
}

/// Creates the first admin in the province area, in one transaction that uses up the
/// token (and every other outstanding setup token). Refused with
/// [`SetupError::InvalidToken`] when the token is unknown, expired or used, or an active
/// admin exists; a bad field or a taken username leaves the token usable.
pub async fn create_first_admin(
    state: &AppState,
    token: &str,
    username: &str,
    display_name: &str,
    password: SecretString,
) -> Result<Account, SetupError> {
    let hash = token_hash(token).ok_or(SetupError::InvalidToken)?;
    if !check_setup_token(state, token).await? {
        return Err(SetupError::InvalidToken);
    }
    let username = check_fields(username, display_name, &password)?;
    let password_hash = password::hash(password).await?;
    let now = state.clock.now();
    let ts = timestamp(now);
    let mut tx = state.db.pool.begin().await?;
    // One statement uses up every outstanding token (a write first, so SQLite takes its
    // write lock now and PostgreSQL locks the rows against a concurrent setup).
    let outstanding =
        sqlx::query("UPDATE setup_tokens SET used_at = $1 WHERE used_at IS NULL RETURNING token_hash, expires_at")
            .bind(&ts)
            .fetch_all(&mut *tx)
            .await?;
    let mut ours = false;
    for row in &outstanding {
        let h: String = row.try_get("token_hash")?;
        let expires: String = row.try_get("expires_at")?;
        ours |= h == hash && expires > ts;
    }
    if !ours {
        return Err(SetupError::InvalidToken);
    }
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND status = 'active'")
        .fetch_one(&mut *tx)
        .await?;
    if admins > 0 {
        return Err(SetupError::InvalidToken);
    }
    let id = uuid::Uuid::new_v4().to_string();
    let inserted = sqlx::query(
        "INSERT INTO users (id, username, display_name, role, area, status, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $7)",
    )
    .bind(&id)
    .bind(&username)
    .bind(display_name.trim())
    .bind(Role::Admin.as_str())
    .bind(&state.settings.programme.province_area)
    .bind(password_hash)
    .bind(&ts)
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => return Err(SetupError::UsernameTaken),
        other => {
            other?;
        }
    }
    state
        .audit_log
        .append_in(
            &mut tx,
            &[Event::new(id.clone(), actions::FIRST_ADMIN_CREATE, Outcome::Success)
                .role(Role::Admin.as_str())
                .object(&id)],
            now,
        )
        .await
        .map_err(|_| SetupError::Audit)?;
    tx.commit().await?;
    accounts::by_id(&state.db, &id)
        .await?
        .ok_or(SetupError::Db(sqlx::Error::RowNotFound))
}
