//! SQL of report addressees.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::model::{Addressee, AddresseeRole};
use crate::db::{Db, timestamp};

fn decode(row: &sqlx::any::AnyRow) -> Result<Addressee, sqlx::Error> {
    let role: String = row.try_get("role")?;
    let valid_from: String = row.try_get("valid_from")?;
    Ok(Addressee {
        id: row.try_get("id")?,
        role: AddresseeRole::parse(&role).ok_or_else(|| sqlx::Error::Decode(format!("role {role:?}").into()))?,
        name: row.try_get("name")?,
        valid_from: crate::dates::parse_iso(&valid_from)
            .ok_or_else(|| sqlx::Error::Decode(format!("date {valid_from:?}").into()))?,
        created_at: row.try_get("created_at")?,
    })
}

const COLUMNS: &str = "id, role, name, valid_from, created_at";

/// Every entry, by role then day.
pub async fn list(db: &Db) -> Result<Vec<Addressee>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM report_addressees ORDER BY role DESC, valid_from"
    ))
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(decode)
    .collect()
}

/// The entry of each role in force on `day` (the latest on or before it), in one query.
pub async fn in_force_on(db: &Db, day: NaiveDate) -> Result<Vec<Addressee>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM report_addressees a WHERE a.valid_from = \
         (SELECT MAX(b.valid_from) FROM report_addressees b WHERE b.role = a.role AND b.valid_from <= $1)"
    ))
    .bind(day.to_string())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(decode)
    .collect()
}

/// Stores an entry; a unique violation when the role already has one from that day.
pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    role: AddresseeRole,
    name: &str,
    valid_from: NaiveDate,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Addressee, sqlx::Error> {
    let row = sqlx::query(&format!(
        "INSERT INTO report_addressees (id, role, name, valid_from, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(role.as_str())
    .bind(name)
    .bind(valid_from.to_string())
    .bind(by)
    .bind(timestamp(now))
    .fetch_one(&mut *conn)
    .await?;
    decode(&row)
}
