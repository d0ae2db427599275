//! Staff accounts: username, display name, role, area scope, status, password hash.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::password;
use crate::audit::{AuditLog, Event};
use crate::db::{Db, is_unique_violation, timestamp};
use crate::policy::{Principal, Role};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub area: String,
    pub status: String,
    pub totp_enabled: bool,
    /// Someone else (an admin, the command line) chose the password: the owner must
    /// change it before anything else.
    pub password_change_required: bool,
}

impl Account {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    /// The account as the policies see it.
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.id.clone(),
            role: self.role,
            area: self.area.clone(),
            active: self.is_active(),
        }
    }
}

#[derive(Debug)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub area: String,
    pub password: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A field is not acceptable; `(field, message id)`.
    #[error("invalid {0}")]
    Invalid(&'static str, &'static str),
    #[error("the username is taken")]
    UsernameTaken,
    #[error("no such account")]
    NotFound,
    #[error(transparent)]
    Hash(#[from] password::HashError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<AccountError> for crate::error::Error {
    fn from(e: AccountError) -> Self {
        use crate::error::{Error, Internal};
        match e {
            AccountError::Invalid(field, message) => Error::field(field, message),
            AccountError::UsernameTaken => Error::Taken {
                code: "username_taken",
                field: "username",
                message: "field-username_taken",
            },
            AccountError::NotFound => Error::NotFound,
            AccountError::Hash(e) => Internal::Hashing(e.to_string()).into(),
            AccountError::Db(e) => e.into(),
        }
    }
}

const COLUMNS: &str = "id, username, display_name, role, area, status, totp_enabled, password_change_required";

fn decode(row: &AnyRow) -> Result<Account, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(Account {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: role.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        area: row.try_get("area")?,
        status: row.try_get("status")?,
        totp_enabled: row.try_get::<crate::db::Flag, _>("totp_enabled")?.0,
        password_change_required: row.try_get::<crate::db::Flag, _>("password_change_required")?.0,
    })
}

/// Usernames: 3–64 characters of lowercase letters, digits, `.`, `_`, `-`.
pub fn normalise_username(raw: &str) -> Result<String, AccountError> {
    let name = raw.trim().to_lowercase();
    let ok = (3..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
    if ok {
        Ok(name)
    } else {
        Err(AccountError::Invalid("username", "field-invalid_username"))
    }
}

/// Creates an account whose password its owner chose (demo data, tests).
pub async fn create(db: &Db, new: NewAccount, now: DateTime<Utc>) -> Result<Account, AccountError> {
    insert(db, new, false, now, None).await
}

/// Creates an account for someone else (an admin, the command line): the password only
/// opens the door to choosing their own, at the first login. `audit` records it (the new
/// id is set as its object here), committed with it.
pub async fn create_issued(
    db: &Db,
    new: NewAccount,
    now: DateTime<Utc>,
    audit: (&AuditLog, Event),
) -> Result<Account, AccountError> {
    insert(db, new, true, now, Some(audit)).await
}

async fn insert(
    db: &Db,
    new: NewAccount,
    change_required: bool,
    now: DateTime<Utc>,
    audit: Option<(&AuditLog, Event)>,
) -> Result<Account, AccountError> {
    let username = normalise_username(&new.username)?;
    let display_name = new.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        return Err(AccountError::Invalid("display_name", "field-required"));
    }
    password::check_strength(&new.password).map_err(|m| AccountError::Invalid("password", m))?;
    if !crate::areas::in_force(db, &new.area, now.date_naive()).await? {
        return Err(AccountError::Invalid("area", "field-unknown_area"));
    }
    let hash = password::hash(new.password).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let ts = timestamp(now);
    let mut tx = db.pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, username, display_name, role, area, status, password_hash, created_at, updated_at, \
         password_change_required) VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $7, $8)",
    )
    .bind(&id)
    .bind(&username)
    .bind(&display_name)
    .bind(new.role.as_str())
    .bind(&new.area)
    .bind(hash)
    .bind(ts)
    .bind(change_required)
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => return Err(AccountError::UsernameTaken),
        other => {
            other?;
        }
    }
    if let Some((log, event)) = audit {
        log.append_in(&mut tx, &[event.object(&id)], now).await?;
    }
    tx.commit().await?;
    by_id(db, &id).await?.ok_or(AccountError::NotFound)
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(decode)
        .transpose()
}

/// The account and its password hash, for login.
pub async fn for_login(db: &Db, username: &str) -> Result<Option<(Account, String)>, sqlx::Error> {
    let Ok(username) = normalise_username(username) else {
        return Ok(None);
    };
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, password_hash FROM users WHERE username = $1"
    ))
    .bind(username)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| Ok((decode(&r)?, r.try_get("password_hash")?))).transpose()
}

pub async fn by_username(db: &Db, username: &str) -> Result<Option<Account>, sqlx::Error> {
    Ok(for_login(db, username).await?.map(|(a, _)| a))
}

pub async fn list(db: &Db) -> Result<Vec<Account>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY username"))
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(decode)
        .collect()
}

pub async fn any_admin(db: &Db) -> Result<bool, sqlx::Error> {
    Ok(active_admins(db).await? > 0)
}

/// How many admin accounts are active (the last one cannot be disabled).
pub async fn active_admins(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND status = 'active'")
        .fetch_one(&db.pool)
        .await
}

/// Disables or re-enables an account; disabling ends its sessions at once.
pub async fn set_active(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    active: bool,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let n = sqlx::query("UPDATE users SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(if active { "active" } else { "disabled" })
        .bind(timestamp(now))
        .bind(user_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(AccountError::NotFound);
    }
    if !active {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Sets a new password chosen by someone else (an admin, the command line) and ends the
/// account's sessions; the owner must change it at the next login. `audit` is the entry
/// that records it, committed with it.
pub async fn set_password(
    db: &Db,
    user_id: &str,
    password: SecretString,
    now: DateTime<Utc>,
    audit: (&AuditLog, Event),
) -> Result<(), AccountError> {
    store_password(db, user_id, password, true, now, audit).await
}

/// The owner's own new password: clears the change requirement and ends the account's
/// sessions (the caller gives its own session a new id, saved afterwards).
pub async fn change_own_password(
    db: &Db,
    user_id: &str,
    password: SecretString,
    now: DateTime<Utc>,
    audit: (&AuditLog, Event),
) -> Result<(), AccountError> {
    store_password(db, user_id, password, false, now, audit).await
}

/// Hashes first (Argon2 takes a while: no transaction waits for it), then stores the hash,
/// ends the sessions and writes the audit entry in one transaction.
async fn store_password(
    db: &Db,
    user_id: &str,
    password: SecretString,
    change_required: bool,
    now: DateTime<Utc>,
    (log, event): (&AuditLog, Event),
) -> Result<(), AccountError> {
    password::check_strength(&password).map_err(|m| AccountError::Invalid("password", m))?;
    let hash = password::hash(password).await?;
    let mut tx = db.pool.begin().await?;
    let n = sqlx::query(
        "UPDATE users SET password_hash = $1, password_change_required = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(hash)
    .bind(change_required)
    .bind(timestamp(now))
    .bind(user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AccountError::NotFound);
    }
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    log.append_in(&mut tx, &[event], now).await?;
    tx.commit().await?;
    Ok(())
}
