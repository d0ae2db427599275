//! Service categories (vocational training, loan, health care…): data, not code, so an
//! admin can add one or rename it. Codes are stable identifiers used in needs, consents,
//! providers, referrals and statistics; only the names and the order change.

mod api;
pub mod service;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::db::Db;

pub use api::api;

/// One service category.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Category {
    /// Stable code, e.g. `vocational_training`.
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub sort: i64,
    /// Inactive categories stay in history and statistics but take no new needs,
    /// providers or referrals.
    pub active: bool,
}

impl Category {
    /// The name in the given language.
    pub fn name(&self, lang: crate::web::Lang) -> &str {
        match lang {
            crate::web::Lang::Vi => &self.name_vi,
            crate::web::Lang::En => &self.name_en,
        }
    }
}

/// An added or renamed category, as the admin sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    /// Lowercase letters, digits and underscores, starting with a letter (2–40).
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    /// Position in lists; new categories go last when it is left out.
    pub sort: Option<i64>,
    /// Defaults to true for a new category and to unchanged for an existing one.
    pub active: Option<bool>,
}

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
pub async fn save(db: &Db, input: &CategoryInput) -> Result<(Category, bool), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
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
    .execute(&mut *tx)
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
        .execute(&mut *tx)
        .await?;
    }
    let row = sqlx::query("SELECT code, name_vi, name_en, sort, active FROM service_categories WHERE code = $1")
        .bind(&input.code)
        .fetch_one(&mut *tx)
        .await?;
    let category = decode(&row)?;
    tx.commit().await?;
    Ok((category, created))
}
