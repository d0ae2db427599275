//! An area, and the catalogue of them the service holds.

use serde::Serialize;

use super::store::SeedError;
use crate::db::Db;
use crate::policy::{AreaNode, Areas};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Area {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent: Option<String>,
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
        let list = super::store::list(db).await?;
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
