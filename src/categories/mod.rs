//! Service categories (vocational training, loan, health care…): data, not code, so an
//! admin can add one or rename it. Codes are stable identifiers used in needs, consents,
//! providers, referrals and statistics; only the names and the order change.

mod handlers;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::db::Db;
use crate::web::ApiError;

pub use handlers::api;

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

fn valid_code(code: &str) -> bool {
    (2..=40).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Checks an input; returns it trimmed, or the 422 naming each bad field.
pub fn validate(input: &CategoryInput) -> Result<CategoryInput, ApiError> {
    let mut fields = BTreeMap::new();
    let code = input.code.trim().to_owned();
    if !valid_code(&code) {
        fields.insert("code".to_owned(), "field-referrals-invalid_category_code");
    }
    let name_vi = input.name_vi.trim().to_owned();
    let name_en = input.name_en.trim().to_owned();
    for (field, name) in [("name_vi", &name_vi), ("name_en", &name_en)] {
        if name.is_empty() {
            fields.insert(field.to_owned(), "field-required");
        } else if name.chars().count() > 100 {
            fields.insert(field.to_owned(), "field-too_long");
        }
    }
    if input.sort.is_some_and(|s| !(0..=10_000).contains(&s)) {
        fields.insert("sort".to_owned(), "field-invalid");
    }
    if !fields.is_empty() {
        return Err(ApiError::validation(fields));
    }
    Ok(CategoryInput {
        code,
        name_vi,
        name_en,
        sort: input.sort,
        active: input.active,
    })
}

fn decode(row: &sqlx::any::AnyRow) -> Result<Category, sqlx::Error> {
    Ok(Category {
        code: row.try_get("code")?,
        name_vi: row.try_get("name_vi")?,
        name_en: row.try_get("name_en")?,
        sort: row.try_get("sort")?,
        active: crate::db::flag(row, "active")?,
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

/// Adds a category or renames an existing one (already validated with [`validate`]), in
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_lowercase_identifiers() {
        assert!(valid_code("legal_aid"));
        assert!(valid_code("housing2"));
        assert!(!valid_code("Legal"));
        assert!(!valid_code("2x"));
        assert!(!valid_code("a"));
        assert!(!valid_code("legal aid"));
        assert!(!valid_code("pháp_lý"));
    }
}
