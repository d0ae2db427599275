//! The categories' SQL.

use sqlx::Row;

use super::model::{Category, CategoryInput};
use crate::db::Db;

fn decode(row: &sqlx::any::AnyRow) -> Result<Category, sqlx::Error> {
    Ok(Category {
        code: row.try_get("code")?,
        name_vi: row.try_get("name_vi")?,
        name_en: row.try_get("name_en")?,
        sort: row.try_get("sort")?,
        active: row.try_get::<crate::db::Flag, _>("active")?.0,
    })
}

/// Every category, active or not, in display order.
pub async fn list(db: &Db) -> Result<Vec<Category>, sqlx::Error> {
    sqlx::query("SELECT code, name_vi, name_en, sort, active FROM service_categories ORDER BY sort, code")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// One category by code, active or not.
pub async fn get(db: &Db, code: &str) -> Result<Option<Category>, sqlx::Error> {
    sqlx::query("SELECT code, name_vi, name_en, sort, active FROM service_categories WHERE code = $1")
        .bind(code)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(decode)
        .transpose()
}

/// Whether `code` names an active category (what new needs, providers and referrals need).
pub async fn is_active(db: &Db, code: &str) -> Result<bool, sqlx::Error> {
    Ok(get(db, code).await?.is_some_and(|c| c.active))
}

/// Adds a category or renames an existing one (already validated by `service::save`), in
/// one transaction. Returns the stored category and whether it was new.
pub async fn save(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    input: &CategoryInput,
) -> Result<(Category, bool), sqlx::Error> {
    // The update comes first: it is a write, so SQLite takes the write lock at once.
    let updated = sqlx::query(
        "UPDATE service_categories SET name_vi = $2, name_en = $3, sort = COALESCE($4, sort), \
         active = COALESCE($5, active) WHERE code = $1",
    )
    .bind(&input.code)
    .bind(&input.name_vi)
    .bind(&input.name_en)
    .bind(input.sort)
    .bind(input.active)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let created = updated == 0;
    if created {
        sqlx::query(
            "INSERT INTO service_categories (code, name_vi, name_en, sort, active) VALUES ($1, $2, $3, \
             COALESCE($4, (SELECT COALESCE(MAX(sort), 0) + 1 FROM service_categories)), $5)",
        )
        .bind(&input.code)
        .bind(&input.name_vi)
        .bind(&input.name_en)
        .bind(input.sort)
        .bind(input.active.unwrap_or(true))
        .execute(&mut **tx)
        .await?;
    }
    let row = sqlx::query("SELECT code, name_vi, name_en, sort, active FROM service_categories WHERE code = $1")
        .bind(&input.code)
        .fetch_one(&mut **tx)
        .await?;
    let category = decode(&row)?;
    Ok((category, created))
}
