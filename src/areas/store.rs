//! The areas' SQL and the shipped seed.

use sqlx::Row;

use super::model::Area;
use crate::db::Db;
use crate::policy::PolicyError;

/// The seed shipped with hoanhap (national statistical codes, 2024).
const SEED_CSV: &str = include_str!("../../seed/areas-nghe-an-2024.csv");

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the area seed is malformed at line {0}")]
    Malformed(usize),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Hierarchy(#[from] PolicyError),
}

fn parse_seed() -> Result<Vec<Area>, SeedError> {
    let mut reader = csv::Reader::from_reader(SEED_CSV.as_bytes());
    reader
        .records()
        .enumerate()
        .map(|(i, rec)| {
            let rec = rec.map_err(|_| SeedError::Malformed(i + 2))?;
            let field = |n: usize| rec.get(n).map(str::trim).ok_or(SeedError::Malformed(i + 2));
            let parent = field(3)?;
            Ok(Area {
                code: field(0)?.to_owned(),
                name: field(1)?.to_owned(),
                kind: field(2)?.to_owned(),
                parent: (!parent.is_empty()).then(|| parent.to_owned()),
            })
        })
        .collect()
}

/// Inserts the seed when the table is empty, in one transaction (parents first).
pub async fn seed_if_empty(db: &Db) -> Result<bool, SeedError> {
    let areas = parse_seed()?;
    let mut tx = db.pool.begin().await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM areas")
        .fetch_one(&mut *tx)
        .await?;
    if count > 0 {
        return Ok(false);
    }
    for area in &areas {
        sqlx::query("INSERT INTO areas (code, name, kind, parent) VALUES ($1, $2, $3, $4)")
            .bind(&area.code)
            .bind(&area.name)
            .bind(&area.kind)
            .bind(&area.parent)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub async fn list(db: &Db) -> Result<Vec<Area>, sqlx::Error> {
    let rows = sqlx::query("SELECT code, name, kind, parent FROM areas WHERE active ORDER BY code")
        .fetch_all(&db.pool)
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Area {
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
                parent: r.try_get("parent")?,
            })
        })
        .collect()
}

pub async fn exists(db: &Db, code: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM areas WHERE code = $1 AND active")
        .bind(code)
        .fetch_one(&db.pool)
        .await?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_seed_has_the_province_and_21_units() {
        let areas = super::parse_seed().unwrap();
        assert_eq!(areas.len(), 22);
        assert_eq!(areas[0].kind, "province");
        assert!(areas[1..].iter().all(|a| a.parent.as_deref() == Some("40")));
        assert!(areas.iter().any(|a| a.name == "Thành phố Vinh"));
    }
}
