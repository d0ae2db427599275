//! Login throttling, kept in the database so every app server sees the same counts.
//! Per account: after 5 failures, a lockout that doubles with each further failure
//! (30 s, 1 min, 2 min … at most 15 min). Per address: at most 30 failures in 15 minutes.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::db::Db;

const ACCOUNT_FREE_FAILURES: i64 = 5;
const ACCOUNT_BASE_LOCK_SECS: i64 = 30;
const ACCOUNT_MAX_LOCK_SECS: i64 = 15 * 60;
const ADDRESS_MAX_FAILURES: i64 = 30;
const ADDRESS_WINDOW_SECS: i64 = 15 * 60;

pub fn account_key(username: &str) -> String {
    format!("user:{}", username.trim().to_lowercase())
}

pub fn address_key(ip: std::net::IpAddr) -> String {
    format!("addr:{ip}")
}

/// Seconds until the first of `keys` is unlocked, if any is locked now.
pub async fn locked_for(db: &Db, keys: &[&str], now: DateTime<Utc>) -> Result<Option<i64>, sqlx::Error> {
    let now = now.timestamp();
    let mut longest = None;
    for key in keys {
        let until: Option<i64> = sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE key = $1")
            .bind(*key)
            .fetch_optional(&db.pool)
            .await?;
        if let Some(until) = until.filter(|u| *u > now) {
            longest = Some(longest.map_or(until - now, |l: i64| l.max(until - now)));
        }
    }
    Ok(longest)
}

/// Counts a failure against a key and sets its lock when the limit is passed.
pub async fn record_failure(db: &Db, key: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let now_s = now.timestamp();
    let is_address = key.starts_with("addr:");
    let mut tx = db.pool.begin().await?;
    let row = sqlx::query(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, 1, $2, 0) \
         ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1 RETURNING failures, window_start",
    )
    .bind(key)
    .bind(now_s)
    .fetch_one(&mut *tx)
    .await?;
    let mut failures: i64 = row.try_get("failures")?;
    let window_start: i64 = row.try_get("window_start")?;
    if is_address && now_s - window_start > ADDRESS_WINDOW_SECS {
        // A new window for this address.
        failures = 1;
        sqlx::query("UPDATE login_throttle SET failures = 1, window_start = $1, locked_until = 0 WHERE key = $2")
            .bind(now_s)
            .bind(key)
            .execute(&mut *tx)
            .await?;
    }
    let lock_until = if is_address {
        (failures >= ADDRESS_MAX_FAILURES)
            .then_some(window_start.max(now_s - ADDRESS_WINDOW_SECS) + ADDRESS_WINDOW_SECS)
    } else if failures >= ACCOUNT_FREE_FAILURES {
        let doublings = u32::try_from((failures - ACCOUNT_FREE_FAILURES).min(10)).unwrap_or(10);
        Some(now_s + (ACCOUNT_BASE_LOCK_SECS << doublings).min(ACCOUNT_MAX_LOCK_SECS))
    } else {
        None
    };
    if let Some(until) = lock_until {
        sqlx::query("UPDATE login_throttle SET locked_until = $1 WHERE key = $2")
            .bind(until)
            .bind(key)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// A successful login clears the account's count (not the address's).
pub async fn clear(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(&db.pool)
        .await?;
    Ok(())
}
