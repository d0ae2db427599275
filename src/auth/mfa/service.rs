//! Enrolment, confirmation, login codes and reset of the second factor.

use chrono::{DateTime, Utc};
use ring::digest;
use serde::Serialize;
use sqlx::Row;
use zeroize::Zeroize;

use crate::AppState;
use crate::audit::actions;
use crate::audit::{Event, Outcome};
use crate::auth::accounts::Account;
use crate::auth::extract::{AuthUser, ENROLMENT_PENDING_KEY};
use crate::crypto::Sensitive;
use crate::db::{Db, timestamp};
use crate::error::{Error, Internal};

pub const TOTP_COLUMN: &str = "totp_secret_sealed";
/// How many recovery codes a confirmed enrolment hands out.
pub const RECOVERY_CODES: usize = 10;
const SECRET_BYTES: usize = 20;
const ISSUER: &str = "hoanhap";

pub fn totp_for(secret: Vec<u8>, username: &str) -> Result<totp_rs::Totp, totp_rs::TotpError> {
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_account_name(username)
        .with_issuer(Some(ISSUER))
        .build()
}

pub fn hash_recovery_code(code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(digest::digest(&digest::SHA256, normalised.as_bytes()))
}

/// A fresh recovery code: 80 random bits as 20 hex digits in groups of five.
fn new_recovery_code() -> Result<String, Error> {
    let hex = crate::crypto::random_hex::<10>()?;
    let groups: Vec<&str> = (0..4).filter_map(|i| hex.get(i * 5..i * 5 + 5)).collect();
    Ok(groups.join("-"))
}

fn is_totp_format(code: &str) -> bool {
    code.len() == 6 && code.chars().all(|c| c.is_ascii_digit())
}

fn unix_seconds(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

/// The stored second-factor state of an account.
struct Stored {
    sealed: Option<Vec<u8>>,
    enabled: bool,
}

async fn stored(state: &AppState, user_id: &str) -> Result<Stored, Error> {
    let row = sqlx::query("SELECT totp_secret_sealed, totp_enabled FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&state.db.pool)
        .await?;
    Ok(Stored {
        sealed: row.try_get(TOTP_COLUMN)?,
        enabled: row.try_get::<crate::db::Flag, _>("totp_enabled")?.0,
    })
}

/// The time step `code` is valid for under the sealed secret (±1 step of skew), if any.
fn matching_step(state: &AppState, account: &Account, sealed: &[u8], code: &str) -> Result<Option<i64>, Error> {
    if !is_totp_format(code) {
        return Ok(None);
    }
    let secret = state.keyring.open_account_secret(&account.id, TOTP_COLUMN, sealed)?;
    let totp = totp_for(secret.expose().clone(), &account.username)
        .map_err(|e| Error::Internal(Internal::SecondFactor(e.to_string())))?;
    Ok(totp
        .check(code, unix_seconds(state.clock.now()))
        .and_then(|step| i64::try_from(step).ok()))
}

/// Checks a login code: a current TOTP code not used before, or an unused recovery code
/// (then used up). Only for accounts whose second factor is enabled.
pub async fn verify_login_code(state: &AppState, account: &Account, code: &str) -> Result<bool, Error> {
    let code = code.trim();
    if is_totp_format(code) {
        let stored = stored(state, &account.id).await?;
        let (Some(sealed), true) = (stored.sealed, stored.enabled) else {
            return Ok(false);
        };
        let Some(step) = matching_step(state, account, &sealed, code)? else {
            return Ok(false);
        };
        // Claims the step atomically: of two logins with the same code, one wins.
        let claimed = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_enabled = $3 \
             AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(&account.id)
        .bind(true)
        .execute(&state.db.pool)
        .await?
        .rows_affected();
        return Ok(claimed == 1);
    }
    let used =
        sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(timestamp(state.clock.now()))
            .bind(&account.id)
            .bind(hash_recovery_code(code))
            .execute(&state.db.pool)
            .await?
            .rows_affected();
    if used == 1 {
        state
            .audit(
                Event::new(account.id.clone(), actions::MFA_RECOVERY_CODE_USED, Outcome::Success)
                    .role(account.role.as_str()),
            )
            .await?;
    }
    Ok(used == 1)
}

/// What an authenticator app needs to add the account. Shown once; never logged.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    /// The secret in base32, for typing into the app by hand.
    pub secret: String,
    /// `otpauth://totp/hoanhap:<username>?secret=…&issuer=hoanhap`.
    pub otpauth_url: String,
    /// The same URL as a QR code, an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(<redacted>)")
    }
}

/// All three fields carry the TOTP secret: wiped when the answer has been sent.
impl Drop for Enrolment {
    fn drop(&mut self) {
        self.secret.zeroize();
        self.otpauth_url.zeroize();
        self.qr_svg.zeroize();
    }
}

/// Starts (or restarts) enrolment: a new secret, sealed and stored with the factor still
/// disabled. Refused with 409 `mfa_already_enrolled` once the factor is enabled (an admin
/// resets it first). Audited as `mfa_enrol`.
pub async fn enrol(state: &AppState, user: &AuthUser) -> Result<Enrolment, Error> {
    let account = &user.account;
    let secret = Sensitive::new(crate::crypto::random_bytes::<SECRET_BYTES>()?);
    let sealed = state
        .keyring
        .seal_account_secret(&account.id, TOTP_COLUMN, secret.expose())?;
    let totp = totp_for(secret.expose().to_vec(), &account.username)
        .map_err(|e| Error::Internal(Internal::SecondFactor(e.to_string())))?;
    let otpauth_url = totp
        .to_url()
        .map_err(|e| Error::Internal(Internal::SecondFactor(e.to_string())))?;
    let qr_svg = qrcode::QrCode::new(otpauth_url.as_bytes())
        .map_err(|e| Error::Internal(Internal::SecondFactor(e.to_string())))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    let updated = sqlx::query(
        "UPDATE users SET totp_secret_sealed = $1, totp_last_step = NULL, updated_at = $2 \
         WHERE id = $3 AND totp_enabled = $4",
    )
    .bind(sealed)
    .bind(timestamp(state.clock.now()))
    .bind(&account.id)
    .bind(false)
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if updated != 1 {
        state
            .audit(
                user.event(actions::MFA_ENROL, Outcome::Failure)
                    .reason("already enrolled"),
            )
            .await?;
        return Err(Error::conflict("mfa_already_enrolled"));
    }
    state.audit(user.event(actions::MFA_ENROL, Outcome::Success)).await?;
    Ok(Enrolment {
        secret: totp.secret().to_base32(),
        otpauth_url,
        qr_svg,
    })
}

/// Confirms enrolment with a first code from the app: enables the factor, ends the
/// session's enrolment-pending state and returns ten new recovery codes (only their
/// hashes are stored). A wrong code is 422 with `fields.code`; no pending enrolment is
/// 409 `mfa_not_started`; an enabled factor is 409 `mfa_already_enrolled`. Audited as
/// `mfa_confirm` (success or failure).
pub async fn confirm(state: &AppState, user: &AuthUser, code: &str) -> Result<Vec<String>, Error> {
    let account = &user.account;
    let stored = stored(state, &account.id).await?;
    if stored.enabled {
        return Err(Error::conflict("mfa_already_enrolled"));
    }
    let Some(sealed) = stored.sealed else {
        return Err(Error::conflict("mfa_not_started"));
    };
    let Some(step) = matching_step(state, account, &sealed, code.trim())? else {
        state
            .audit(user.event(actions::MFA_CONFIRM, Outcome::Failure).reason("wrong code"))
            .await?;
        return Err(Error::field("code", "field-invalid_totp"));
    };
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| new_recovery_code())
        .collect::<Result<_, _>>()?;
    let mut tx = state.db.pool.begin().await?;
    // The secret must still be the one the code was checked against (no enrolment
    // restarted meanwhile).
    let enabled = sqlx::query(
        "UPDATE users SET totp_enabled = $1, totp_last_step = $2, updated_at = $3 \
         WHERE id = $4 AND totp_enabled = $5 AND totp_secret_sealed = $6",
    )
    .bind(true)
    .bind(step)
    .bind(timestamp(state.clock.now()))
    .bind(&account.id)
    .bind(false)
    .bind(&sealed)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if enabled != 1 {
        return Err(Error::conflict("mfa_not_started"));
    }
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(&account.id)
        .execute(&mut *tx)
        .await?;
    for code in &codes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(&account.id)
            .bind(hash_recovery_code(code))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    // A stronger login from now on: a new session id, the same CSRF token.
    user.session.cycle_id().await?;
    user.session.insert(ENROLMENT_PENDING_KEY, false).await?;
    state.audit(user.event(actions::MFA_CONFIRM, Outcome::Success)).await?;
    Ok(codes)
}

/// Removes an account's second factor and recovery codes and ends its sessions (lost
/// phone). The user enrols again at the next login. Returns false for an unknown account.
pub async fn reset(db: &Db, user_id: &str, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let n = sqlx::query(
        "UPDATE users SET totp_secret_sealed = NULL, totp_enabled = $1, totp_last_step = NULL, updated_at = $2 \
         WHERE id = $3",
    )
    .bind(false)
    .bind(timestamp(now))
    .bind(user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// How many unused recovery codes an account has left.
pub async fn recovery_codes_left(db: &Db, user_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await
}
