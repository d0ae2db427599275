//! Areas: the province and its district-level units, as data. The 2024 units of Nghệ An
//! are the default seed; an admin edits them when units are reorganised.

use serde::Serialize;
use sqlx::Row;

use crate::db::Db;
use crate::policy::{AreaNode, Areas, PolicyError};

/// The seed shipped with hoanhap (national statistical codes, 2024).
const SEED_CSV: &str = include_str!("../../seed/areas-nghe-an-2024.csv");

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Area {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent: Option<String>,
}

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

async fn list(db: &Db) -> Result<Vec<Area>, sqlx::Error> {
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

/// The active areas, loaded once when the service starts and held in
/// [`crate::AppState`]: every authorisation decision needs the hierarchy, and reading it
/// from the database for each one cost a case page a dozen queries. Nothing edits areas
/// while the service runs; whatever comes to edit them must replace this value.
#[derive(Debug)]
pub struct AreaCatalog {
    list: Vec<Area>,
    tree: Areas,
}

impl AreaCatalog {
    /// Reads and checks the hierarchy (unique codes, known parents, no cycle).
    pub async fn load(db: &Db) -> Result<Self, SeedError> {
        let list = list(db).await?;
        let tree = Areas::new(list.iter().map(|a| AreaNode {
            code: a.code.clone(),
            kind: a.kind.clone(),
            parent: a.parent.clone(),
        }))?;
        Ok(Self { list, tree })
    }

    /// Every active area, by code (the province first).
    pub fn list(&self) -> &[Area] {
        &self.list
    }

    /// The hierarchy the policies decide over.
    pub fn tree(&self) -> &Areas {
        &self.tree
    }
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

/// `GET /api/v1/areas`: the area hierarchy, for forms and scripts of any logged-in user.
#[utoipa::path(get, path = "/api/v1/areas", tag = "areas",
    responses((status = 200, description = "`{items: [{code, name, kind, parent}]}`, the province first"),
        (status = 401, description = "Not logged in")))]
async fn list_areas(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    _user: crate::auth::AuthUser,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "items": state.areas.list() }))
}

pub fn api() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(list_areas))
}
