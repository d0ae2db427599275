//! The areas' SQL and the shipped seed.

use chrono::NaiveDate;
use sqlx::AnyConnection;
use sqlx::{Any, Row, Transaction};

use super::model::Area;
use crate::config::AreaSeed;
use crate::db::{Db, DbDate, Engine};
use crate::policy::PolicyError;

/// The 2024 units (national statistical codes): the province and its 21 districts.
const SEED_2024: &str = include_str!("../../seed/areas-nghe-an-2024.csv");
/// The units after the 2025 reform, each with the 2024 district it came from.
const SEED_2025: &str = include_str!("../../seed/areas-nghe-an-2025.csv");

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the area seed is malformed at line {0}")]
    Malformed(usize),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Hierarchy(#[from] PolicyError),
}

/// The rows of a shipped seed file: `code,name,kind,parent[,predecessor_2024]`.
fn parse_seed(text: &str) -> Result<Vec<Area>, SeedError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .enumerate()
        .map(|(i, rec)| {
            let rec = rec.map_err(|_| SeedError::Malformed(i + 2))?;
            let field = |n: usize| rec.get(n).map(str::trim).ok_or(SeedError::Malformed(i + 2));
            let parent = field(3)?;
            let predecessor = rec.get(4).map(str::trim).unwrap_or_default();
            Ok(Area {
                code: field(0)?.to_owned(),
                name: field(1)?.to_owned(),
                kind: field(2)?.to_owned(),
                parent: (!parent.is_empty()).then(|| parent.to_owned()),
                valid_from: None,
                valid_to: None,
                predecessors: (!predecessor.is_empty())
                    .then(|| predecessor.to_owned())
                    .into_iter()
                    .collect(),
            })
        })
        .collect()
}

/// The units of a seed, parents first. The 2025 seed holds the 2024 districts too,
/// retired the day before the reform, so older records and the predecessor links have
/// the units they name.
fn seed_units(seed: AreaSeed) -> Result<Vec<Area>, SeedError> {
    let mut units = parse_seed(SEED_2024)?;
    if seed == AreaSeed::NgheAn2025 {
        let reform = NaiveDate::from_ymd_opt(2025, 7, 1).ok_or(SeedError::Malformed(0))?;
        let last_day = reform.pred_opt().ok_or(SeedError::Malformed(0))?;
        for district in units.iter_mut().filter(|u| u.parent.is_some()) {
            district.valid_to = Some(last_day);
        }
        for mut unit in parse_seed(SEED_2025)? {
            if units.iter().any(|u| u.code == unit.code) {
                continue;
            }
            unit.valid_from = Some(reform);
            units.push(unit);
        }
    }
    Ok(units)
}

/// Inserts the seed when the table is empty, in one transaction (parents first); says
/// whether it did.
pub async fn seed_if_empty(db: &Db, seed: AreaSeed) -> Result<bool, SeedError> {
    let areas = seed_units(seed)?;
    let mut tx = db.pool.begin().await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM areas")
        .fetch_one(&mut *tx)
        .await?;
    if count > 0 {
        return Ok(false);
    }
    for area in &areas {
        insert(&mut tx, area).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Every unit, retired ones included, by code, each with its predecessors: two queries.
pub async fn list(db: &Db) -> Result<Vec<Area>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    read_all(&mut conn).await
}

/// Makes `tx` the only transaction editing areas until it ends, so that the hierarchy it
/// reads next is the one its change lands on (two edits checked against the same old
/// hierarchy could together make a cycle).
pub async fn lock(tx: &mut Transaction<'_, Any>, engine: Engine) -> Result<(), sqlx::Error> {
    let statement = match engine {
        Engine::Postgres => "SELECT pg_advisory_xact_lock(4201)",
        // A write, even of no row, takes SQLite's single write lock for the transaction.
        Engine::Sqlite => "UPDATE areas SET code = code WHERE code IS NULL",
    };
    sqlx::query(statement).execute(&mut **tx).await?;
    Ok(())
}

/// [`list`] inside a transaction (after [`lock`]).
pub async fn list_locked(tx: &mut Transaction<'_, Any>) -> Result<Vec<Area>, sqlx::Error> {
    read_all(tx).await
}

async fn read_all(conn: &mut AnyConnection) -> Result<Vec<Area>, sqlx::Error> {
    let rows = sqlx::query("SELECT code, name, kind, parent, valid_from, valid_to FROM areas ORDER BY code")
        .fetch_all(&mut *conn)
        .await?;
    let mut areas = rows
        .iter()
        .map(|r| {
            Ok(Area {
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
                parent: r.try_get("parent")?,
                valid_from: r.try_get::<Option<DbDate>, _>("valid_from")?.map(|d| d.0),
                valid_to: r.try_get::<Option<DbDate>, _>("valid_to")?.map(|d| d.0),
                predecessors: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let links = sqlx::query("SELECT area, predecessor FROM area_predecessors ORDER BY area, predecessor")
        .fetch_all(&mut *conn)
        .await?;
    for link in links {
        let area: String = link.try_get("area")?;
        if let Some(a) = areas.iter_mut().find(|a| a.code == area) {
            a.predecessors.push(link.try_get("predecessor")?);
        }
    }
    Ok(areas)
}

/// Adds a unit and its predecessor links.
pub async fn insert(tx: &mut Transaction<'_, Any>, area: &Area) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO areas (code, name, kind, parent, valid_from, valid_to) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&area.code)
        .bind(&area.name)
        .bind(&area.kind)
        .bind(&area.parent)
        .bind(area.valid_from.map(DbDate))
        .bind(area.valid_to.map(DbDate))
        .execute(&mut **tx)
        .await?;
    for predecessor in &area.predecessors {
        sqlx::query("INSERT INTO area_predecessors (area, predecessor) VALUES ($1, $2)")
            .bind(&area.code)
            .bind(predecessor)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Writes a unit's name, kind, parent and validity.
pub async fn update(tx: &mut Transaction<'_, Any>, area: &Area) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE areas SET name = $2, kind = $3, parent = $4, valid_from = $5, valid_to = $6 WHERE code = $1")
        .bind(&area.code)
        .bind(&area.name)
        .bind(&area.kind)
        .bind(&area.parent)
        .bind(area.valid_from.map(DbDate))
        .bind(area.valid_to.map(DbDate))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Whether a unit with this code exists on `day` (what a new account may be scoped to).
pub async fn in_force(db: &Db, code: &str, day: NaiveDate) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM areas WHERE code = $1 AND (valid_from IS NULL OR valid_from <= $2) \
         AND (valid_to IS NULL OR valid_to >= $2)",
    )
    .bind(code)
    .bind(DbDate(day))
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_2024_seed_has_the_province_and_21_units() {
        let areas = seed_units(AreaSeed::NgheAn2024).unwrap();
        assert_eq!(areas.len(), 22);
        assert_eq!(areas[0].kind, "province");
        assert!(areas[1..].iter().all(|a| a.parent.as_deref() == Some("40")));
        assert!(areas.iter().any(|a| a.name == "Thành phố Vinh"));
        assert!(areas.iter().all(|a| a.valid_to.is_none() && a.predecessors.is_empty()));
    }

    #[test]
    fn the_2025_seed_has_130_units_in_force_and_the_2024_districts_retired() {
        let areas = seed_units(AreaSeed::NgheAn2025).unwrap();
        let reform: NaiveDate = "2025-07-01".parse().unwrap();
        let in_force: Vec<&Area> = areas.iter().filter(|a| a.in_force_on(reform)).collect();
        assert_eq!(in_force.len(), 131, "the province and 130 units");
        assert_eq!(in_force.iter().filter(|a| a.kind == "ward").count(), 11);
        assert_eq!(in_force.iter().filter(|a| a.kind == "commune").count(), 119);
        let before: Vec<&Area> = areas
            .iter()
            .filter(|a| a.in_force_on(reform.pred_opt().unwrap()))
            .collect();
        assert_eq!(before.len(), 22, "the 2024 units the day before");
        let vinh = areas.iter().find(|a| a.code == "16681").unwrap();
        assert_eq!(vinh.predecessors, ["412"]);
        // Parents come first, and the whole is a checked hierarchy.
        assert_eq!(areas[0].code, "40");
        crate::areas::AreaCatalog::new(areas).unwrap();
    }
}
