//! The consents table. Functions take a connection (inside the transaction of a larger
//! write, such as intake) or the pool.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AnyConnection, Row};

use super::model::{Consent, NewConsent};
use crate::db::{Db, timestamp};

const COLUMNS: &str = "id, scope, category, given_on, expires_on, withdrawn_on, recorded_by, withdrawn_by";

fn decode(row: &sqlx::any::AnyRow, today: NaiveDate) -> Result<Consent, sqlx::Error> {
    let given_on: String = row.try_get("given_on")?;
    let expires_on: Option<String> = row.try_get("expires_on")?;
    let withdrawn_on: Option<String> = row.try_get("withdrawn_on")?;
    let today = today.to_string();
    let active = given_on <= today
        && withdrawn_on.as_ref().is_none_or(|w| *w > today)
        && expires_on.as_ref().is_none_or(|e| *e >= today);
    Ok(Consent {
        id: row.try_get("id")?,
        scope: row.try_get("scope")?,
        category: row.try_get("category")?,
        given_on,
        expires_on,
        withdrawn_on,
        recorded_by: row.try_get("recorded_by")?,
        withdrawn_by: row.try_get("withdrawn_by")?,
        active,
    })
}

/// Inserts one consent in the caller's transaction.
pub async fn insert(
    conn: &mut AnyConnection,
    client_id: &str,
    consent: &NewConsent,
    recorded_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Consent, sqlx::Error> {
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO consents (id, client_id, scope, category, given_on, recorded_by, expires_on, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(client_id)
    .bind(&consent.scope)
    .bind(&consent.category)
    .bind(consent.given_on.to_string())
    .bind(recorded_by)
    .bind(consent.expires_on.map(|d| d.to_string()))
    .bind(timestamp(now))
    .execute(conn)
    .await?;
    // Validation keeps `given_on` at or before the programme's local today, which is the
    // UTC date or the day after it.
    let today = consent.given_on.max(now.date_naive());
    Ok(Consent {
        id,
        scope: consent.scope.clone(),
        category: consent.category.clone(),
        given_on: consent.given_on.to_string(),
        expires_on: consent.expires_on.map(|d| d.to_string()),
        withdrawn_on: None,
        recorded_by: recorded_by.map(str::to_owned),
        withdrawn_by: None,
        active: consent.given_on <= today && consent.expires_on.is_none_or(|e| e >= today),
    })
}

/// Every consent of a client, oldest first; `active` as of `today`.
pub async fn list(db: &Db, client_id: &str, today: NaiveDate) -> Result<Vec<Consent>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM consents WHERE client_id = $1 ORDER BY given_on, created_at, id"
    ))
    .bind(client_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| decode(r, today)).collect()
}

/// One consent of a client.
pub async fn get(db: &Db, client_id: &str, id: &str, today: NaiveDate) -> Result<Option<Consent>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM consents WHERE id = $1 AND client_id = $2"
    ))
    .bind(id)
    .bind(client_id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(|r| decode(r, today)).transpose()
}

/// Dates the withdrawal of a consent still in force; false if it was withdrawn already.
pub async fn mark_withdrawn(
    conn: &mut AnyConnection,
    client_id: &str,
    consent_id: &str,
    on: NaiveDate,
    by: &str,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE consents SET withdrawn_on = $1, withdrawn_by = $2 WHERE id = $3 AND client_id = $4 \
         AND withdrawn_on IS NULL",
    )
    .bind(on.to_string())
    .bind(by)
    .bind(consent_id)
    .bind(client_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}
