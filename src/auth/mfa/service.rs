//! Enrolment, confirmation, login codes and reset of the second factor.

use chrono::{DateTime, Utc};
use ring::digest;
use serde::Serialize;
use zeroize::Zeroize;

use super::store::{self, TOTP_COLUMN};
use crate::AppState;
use crate::audit::actions;
use crate::audit::{Event, Outcome};
use crate::auth::accounts::Account;
use crate::auth::extract::{AuthUser, ENROLMENT_PENDING_KEY};
use crate::crypto::Sensitive;
use crate::error::{Error, Internal};

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
        let stored = store::stored(&state.db, &account.id).await?;
        let (Some(sealed), true) = (stored.sealed, stored.enabled) else {
            return Ok(false);
        };
        let Some(step) = matching_step(state, account, &sealed, code)? else {
            return Ok(false);
        };
        return Ok(store::claim_step(&state.db, &account.id, step).await?);
    }
    let used = store::use_recovery_code(&state.db, &account.id, &hash_recovery_code(code), state.clock.now()).await?;
    if used {
        state
            .audit(
                Event::new(account.id.clone(), actions::MFA_RECOVERY_CODE_USED, Outcome::Success)
                    .role(account.role.as_str()),
            )
            .await?;
    }
    Ok(used)
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
    let mut tx = state.begin().await?;
    let started = store::start_enrolment(&mut tx, &account.id, &sealed, state.clock.now()).await?;
    if !started {
        // Nothing written: end the transaction before the refusal is recorded.
        drop(tx);
        state
            .audit(
                user.event(actions::MFA_ENROL, Outcome::Failure)
                    .reason("already enrolled"),
            )
            .await?;
        return Err(Error::conflict("mfa_already_enrolled"));
    }
    state
        .commit_audited(tx, &[user.event(actions::MFA_ENROL, Outcome::Success)])
        .await?;
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
    let stored = store::stored(&state.db, &account.id).await?;
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
    let hashes: Vec<String> = codes.iter().map(|code| hash_recovery_code(code)).collect();
    let mut tx = state.begin().await?;
    if !store::enable(&mut tx, &account.id, &sealed, step, &hashes, state.clock.now()).await? {
        return Err(Error::conflict("mfa_not_started"));
    }
    state
        .commit_audited(tx, &[user.event(actions::MFA_CONFIRM, Outcome::Success)])
        .await?;
    // A stronger login from now on: a new session id, the same CSRF token.
    user.session.cycle_id().await?;
    user.session.insert(ENROLMENT_PENDING_KEY, false).await?;
    Ok(codes)
}
