//! Second factor: TOTP (RFC 6238, SHA-1, 6 digits, 30 s; what every authenticator app
//! speaks) with the secret sealed in the database, and one-time recovery codes stored as
//! SHA-256 hashes (they are long random strings, so a slow hash adds nothing).

use ring::digest;
use sqlx::Row;

use super::accounts::Account;
use crate::AppState;
use crate::web::ApiError;

pub const TOTP_COLUMN: &str = "totp_secret_sealed";

pub fn totp_for(secret: Vec<u8>, username: &str) -> Result<totp_rs::Totp, totp_rs::TotpError> {
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_account_name(username)
        .with_issuer(Some("hoanhap"))
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

/// Checks a login code: a current TOTP code, or an unused recovery code (then used up).
pub async fn verify_login_code(state: &AppState, account: &Account, code: &str) -> Result<bool, ApiError> {
    let code = code.trim();
    let internal = |e: sqlx::Error| ApiError::internal(&e);
    if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
        let row = sqlx::query("SELECT totp_secret_sealed FROM users WHERE id = $1")
            .bind(&account.id)
            .fetch_one(&state.db.pool)
            .await
            .map_err(internal)?;
        let sealed: Option<Vec<u8>> = row.try_get(TOTP_COLUMN).map_err(internal)?;
        let Some(sealed) = sealed else { return Ok(false) };
        let secret = state
            .keyring
            .open_account_secret(&account.id, TOTP_COLUMN, &sealed)
            .map_err(|e| ApiError::internal(&e))?;
        let totp = totp_for(secret.to_vec(), &account.username).map_err(|e| ApiError::internal(&e))?;
        let now = u64::try_from(state.clock.now().timestamp()).unwrap_or(0);
        return Ok(totp.check(code, now).is_some());
    }
    let used =
        sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(crate::db::timestamp(state.clock.now()))
            .bind(&account.id)
            .bind(hash_recovery_code(code))
            .execute(&state.db.pool)
            .await
            .map_err(internal)?
            .rows_affected();
    Ok(used == 1)
}
