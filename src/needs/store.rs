//! The needs table; details are sealed with the client's data key before they are
//! written and opened only for the classes the caller may read.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::model::{Need, detail_visible};
use crate::AppState;
use crate::clients::FieldClasses;
use crate::clients::Pii;
use crate::db::timestamp;
use crate::error::Error;

const TABLE: &str = "needs";
const DETAIL: &str = "detail";

/// The needs of a client, oldest first, details opened where `classes` allow.
pub async fn list(state: &AppState, client_id: &str, classes: FieldClasses) -> Result<Vec<Need>, Error> {
    let rows = sqlx::query(
        "SELECT id, category, assessed_on, recorded_by, created_at, detail_sealed FROM needs WHERE client_id = $1 \
         ORDER BY assessed_on, created_at, id",
    )
    .bind(client_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut needs = Vec::with_capacity(rows.len());
    let mut key = None;
    for row in rows {
        let id: String = row.try_get("id")?;
        let category: String = row.try_get("category")?;
        let sealed: Option<Vec<u8>> = row.try_get("detail_sealed")?;
        let detail = match &sealed {
            Some(bytes) if detail_visible(classes, &category) => {
                let key = match &mut key {
                    Some(key) => key,
                    empty => empty.insert(state.clients.key(client_id).await?),
                };
                Some(key.open(TABLE, DETAIL, &id, bytes)?)
            }
            _ => None,
        };
        needs.push(Need {
            id,
            category,
            assessed_on: row.try_get("assessed_on")?,
            recorded_by: row.try_get("recorded_by")?,
            created_at: row.try_get("created_at")?,
            has_detail: sealed.is_some(),
            detail,
        });
    }
    Ok(needs)
}

/// Stores a need (already validated) inside the caller's transaction; the detail is
/// sealed with the client's key before it is written.
pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    key: &crate::clients::ClientKey,
    category: &str,
    detail: Option<&Pii>,
    assessed_on: NaiveDate,
    recorded_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let id = uuid::Uuid::new_v4().to_string();
    let sealed = detail.map(|d| key.seal(TABLE, DETAIL, &id, d.expose())).transpose()?;
    sqlx::query(
        "INSERT INTO needs (id, client_id, category, detail_sealed, assessed_on, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(key.client_id())
    .bind(category)
    .bind(sealed)
    .bind(assessed_on.to_string())
    .bind(recorded_by)
    .bind(timestamp(now))
    .execute(&mut *conn)
    .await?;
    Ok(id)
}
