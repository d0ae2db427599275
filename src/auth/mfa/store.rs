//! SQL of the second factor: the sealed secret on the account row, the last time step
//! accepted, and the recovery codes' hashes.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::db::{Db, Flag, timestamp};

pub const TOTP_COLUMN: &str = "totp_secret_sealed";

/// The stored second-factor state of an account.
pub struct Stored {
    pub sealed: Option<Vec<u8>>,
    pub enabled: bool,
}

pub async fn stored(db: &Db, user_id: &str) -> Result<Stored, sqlx::Error> {
    let row = sqlx::query("SELECT totp_secret_sealed, totp_enabled FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?;
    Ok(Stored {
        sealed: row.try_get(TOTP_COLUMN)?,
        enabled: row.try_get::<Flag, _>("totp_enabled")?.0,
    })
}

/// Claims a TOTP time step atomically: of two logins with the same code, one wins.
pub async fn claim_step(db: &Db, user_id: &str, step: i64) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query(
        "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_enabled = $3 \
         AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(user_id)
    .bind(true)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// Uses up an unused recovery code with this hash; false if there is none.
pub async fn use_recovery_code(
    db: &Db,
    user_id: &str,
    code_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let used =
        sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(timestamp(now))
            .bind(user_id)
            .bind(code_hash)
            .execute(&db.pool)
            .await?
            .rows_affected();
    Ok(used == 1)
}

/// Stores a new sealed secret, not yet enabled; false if the factor is already enabled.
pub async fn start_enrolment(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    sealed: &[u8],
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE users SET totp_secret_sealed = $1, totp_last_step = NULL, updated_at = $2 \
         WHERE id = $3 AND totp_enabled = $4",
    )
    .bind(sealed)
    .bind(timestamp(now))
    .bind(user_id)
    .bind(false)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Enables the factor and replaces the recovery codes, in one transaction, if the secret
/// is still `sealed` (no enrolment restarted meanwhile); false otherwise.
pub async fn enable(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    sealed: &[u8],
    step: i64,
    code_hashes: &[String],
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let enabled = sqlx::query(
        "UPDATE users SET totp_enabled = $1, totp_last_step = $2, updated_at = $3 \
         WHERE id = $4 AND totp_enabled = $5 AND totp_secret_sealed = $6",
    )
    .bind(true)
    .bind(step)
    .bind(timestamp(now))
    .bind(user_id)
    .bind(false)
    .bind(sealed)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if enabled != 1 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for hash in code_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(hash)
            .execute(&mut **tx)
            .await?;
    }
    Ok(true)
}

/// Removes an account's second factor and recovery codes and ends its sessions, in one
/// transaction. Returns false for an unknown account.
pub async fn reset(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE users SET totp_secret_sealed = NULL, totp_enabled = $1, totp_last_step = NULL, updated_at = $2 \
         WHERE id = $3",
    )
    .bind(false)
    .bind(timestamp(now))
    .bind(user_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

/// How many unused recovery codes an account has left.
pub async fn recovery_codes_left(db: &Db, user_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await
}
