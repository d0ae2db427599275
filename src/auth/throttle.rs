//! Login throttling, kept in the database so every app server sees the same counts.
//!
//! Per account: every attempt is *claimed* before the password is checked, in one
//! statement that counts it and refuses it while the account is locked, so N parallel
//! guesses cost N attempts. After 5 attempts that were not successful logins, a lockout
//! doubles with each further one (30 s, 1 min, 2 min … at most 15 min); a successful login
//! clears the count. Per address: more than 30 failures in 15 minutes only *slows* the
//! address down (each further attempt waits), so a shared proxy address never locks out
//! an account that has not itself failed.
//!
//! Rows whose last attempt is older than [`FORGET_SECS`] and that hold no active lock are
//! removed on each failure (through an index on `last_at`), so a storm of made-up
//! usernames leaves at most the rows of the last hour.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::db::Db;

const ACCOUNT_FREE_FAILURES: i64 = 5;
const ACCOUNT_BASE_LOCK_SECS: i64 = 30;
const ACCOUNT_MAX_LOCK_SECS: i64 = 15 * 60;
const ADDRESS_MAX_FAILURES: i64 = 30;
const ADDRESS_WINDOW_SECS: i64 = 15 * 60;
/// How long an unlocked row is remembered after its last attempt.
pub const FORGET_SECS: i64 = 60 * 60;
/// The wait of each attempt from an address over its limit.
pub const ADDRESS_SLOWDOWN: std::time::Duration = std::time::Duration::from_secs(1);

pub fn account_key(username: &str) -> String {
    format!("user:{}", username.trim().to_lowercase())
}

pub fn address_key(ip: std::net::IpAddr) -> String {
    format!("addr:{ip}")
}

/// The answer to a claim of one login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The attempt may check the password; it counts until [`clear`] or [`release`].
    Granted,
    /// The account is locked for this many more seconds; nothing was counted.
    Refused { retry_after: i64 },
}

fn lock_secs(attempts: i64) -> i64 {
    let doublings = u32::try_from((attempts - ACCOUNT_FREE_FAILURES).clamp(0, 10)).unwrap_or(10);
    (ACCOUNT_BASE_LOCK_SECS << doublings).min(ACCOUNT_MAX_LOCK_SECS)
}

/// Claims one attempt against an account key before its password is checked: one upsert
/// counts it, or leaves the row as it is when the key is locked (then refused). The claim
/// that reaches the limit sets the lock in the same transaction, so every parallel claim
/// after it is refused.
pub async fn claim(db: &Db, key: &str, now: DateTime<Utc>) -> Result<Claim, sqlx::Error> {
    let now_s = now.timestamp();
    let mut tx = db.pool.begin().await?;
    let row = sqlx::query(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until, last_at) VALUES ($1, 1, $2, 0, $2) \
         ON CONFLICT (key) DO UPDATE SET \
         failures = CASE WHEN login_throttle.locked_until > $2 THEN login_throttle.failures \
                         ELSE login_throttle.failures + 1 END, \
         last_at = CASE WHEN login_throttle.locked_until > $2 THEN login_throttle.last_at ELSE $2 END \
         RETURNING failures, locked_until",
    )
    .bind(key)
    .bind(now_s)
    .fetch_one(&mut *tx)
    .await?;
    let attempts: i64 = row.try_get("failures")?;
    let locked_until: i64 = row.try_get("locked_until")?;
    if locked_until > now_s {
        tx.commit().await?;
        return Ok(Claim::Refused {
            retry_after: locked_until - now_s,
        });
    }
    if attempts >= ACCOUNT_FREE_FAILURES {
        sqlx::query("UPDATE login_throttle SET locked_until = $1 WHERE key = $2")
            .bind(now_s + lock_secs(attempts))
            .bind(key)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Claim::Granted)
}

/// Gives back a claim whose password was right but whose login needs one more step (the
/// second-factor code): it was not a guess. Lifts the lock the claim may have set.
pub async fn release(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE login_throttle SET failures = failures - 1, locked_until = 0 WHERE key = $1 AND failures > 0")
        .bind(key)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Whether the address is over its limit of failures in the current window (its attempts
/// are then slowed down, never refused).
pub async fn address_is_hot(db: &Db, key: &str, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let failures: Option<i64> =
        sqlx::query_scalar("SELECT failures FROM login_throttle WHERE key = $1 AND window_start > $2")
            .bind(key)
            .bind(now.timestamp() - ADDRESS_WINDOW_SECS)
            .fetch_optional(&db.pool)
            .await?;
    Ok(failures.is_some_and(|f| f >= ADDRESS_MAX_FAILURES))
}

/// Counts a failure against an address (a new window when the last one has passed), then
/// purges expired rows.
pub async fn record_address_failure(db: &Db, key: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let now_s = now.timestamp();
    sqlx::query(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until, last_at) VALUES ($1, 1, $2, 0, $2) \
         ON CONFLICT (key) DO UPDATE SET \
         failures = CASE WHEN login_throttle.window_start <= $3 THEN 1 ELSE login_throttle.failures + 1 END, \
         window_start = CASE WHEN login_throttle.window_start <= $3 THEN $2 ELSE login_throttle.window_start END, \
         last_at = $2",
    )
    .bind(key)
    .bind(now_s)
    .bind(now_s - ADDRESS_WINDOW_SECS)
    .execute(&db.pool)
    .await?;
    purge_expired(db, now).await?;
    Ok(())
}

/// Removes rows that hold no lock and whose last attempt is older than [`FORGET_SECS`].
pub async fn purge_expired(db: &Db, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let now_s = now.timestamp();
    Ok(
        sqlx::query("DELETE FROM login_throttle WHERE last_at < $1 AND locked_until <= $2")
            .bind(now_s - FORGET_SECS)
            .bind(now_s)
            .execute(&db.pool)
            .await?
            .rows_affected(),
    )
}

/// A successful login clears the account's count (not the address's).
pub async fn clear(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(&db.pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_from_the_fifth_attempt_up_to_fifteen_minutes() {
        assert_eq!(lock_secs(5), 30);
        assert_eq!(lock_secs(6), 60);
        assert_eq!(lock_secs(9), 480);
        assert_eq!(lock_secs(10), 900);
        assert_eq!(lock_secs(40), 900);
    }
}
