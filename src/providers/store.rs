//! The directory's SQL.

use sqlx::Row;

use super::model::{Provider, ProviderFilter};
use crate::db::{Db, Sql, timestamp};
use crate::policy::Areas;

const COLUMNS: &str = "id, name, category, area, contact, active, created_at";

fn decode(row: &sqlx::any::AnyRow) -> Result<Provider, sqlx::Error> {
    Ok(Provider {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        category: row.try_get("category")?,
        area: row.try_get("area")?,
        contact: row.try_get("contact")?,
        active: row.try_get::<crate::db::Flag, _>("active")?.0,
        created_at: row.try_get("created_at")?,
    })
}

/// Providers matching the filter, by name. Not audited: the directory holds no client data.
pub async fn list(db: &Db, areas: &Areas, filter: &ProviderFilter) -> Result<Vec<Provider>, sqlx::Error> {
    let include_inactive = filter.include_inactive.unwrap_or(false);
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM providers WHERE 1 = 1"));
    sql.filter(" AND category = ", filter.category.clone().filter(|c| !c.is_empty()))
        .push(" ORDER BY name, id");
    let rows = sql.fetch_all(&db.pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let provider = decode(row)?;
        if !include_inactive && !provider.active {
            continue;
        }
        if let Some(area) = filter.area.as_deref().filter(|a| !a.is_empty())
            && !(areas.covers(area, &provider.area) || areas.covers(&provider.area, area))
        {
            continue;
        }
        out.push(provider);
    }
    Ok(out)
}

/// One provider, active or not.
pub async fn get(db: &Db, id: &str) -> Result<Option<Provider>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM providers WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(decode)
        .transpose()
}

/// The fields of a new provider, checked.
pub struct NewProvider {
    pub name: String,
    pub category: String,
    pub area: String,
    pub contact: Option<String>,
}

pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    new: &NewProvider,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Provider, sqlx::Error> {
    let row = sqlx::query(&format!(
        "INSERT INTO providers (id, name, category, area, contact, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ))
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(&new.name)
    .bind(&new.category)
    .bind(&new.area)
    .bind(&new.contact)
    .bind(true)
    .bind(timestamp(now))
    .fetch_one(&mut *conn)
    .await?;
    decode(&row)
}

/// A change to a provider, checked; `None` leaves a field as it is, and `contact`
/// `Some("")` clears it.
pub struct ProviderChange {
    pub name: Option<String>,
    pub category: Option<String>,
    pub area: Option<String>,
    pub contact: Option<String>,
    pub active: Option<bool>,
}

/// The provider after the change, or `None` if there is no such provider.
pub async fn update(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    change: ProviderChange,
) -> Result<Option<Provider>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "UPDATE providers SET name = COALESCE($2, name), category = COALESCE($3, category), \
         area = COALESCE($4, area), contact = CASE WHEN $5 = 1 THEN $6 ELSE contact END, \
         active = COALESCE($7, active) WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(change.name)
    .bind(change.category)
    .bind(change.area)
    .bind(i64::from(change.contact.is_some()))
    .bind(change.contact.filter(|c| !c.is_empty()))
    .bind(change.active)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(decode).transpose()
}
