//! An area (an administrative unit), its period of validity, and the catalogue of them the
//! service holds.

use std::sync::{Arc, PoisonError, RwLock};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::SeedError;
use crate::db::Db;
use crate::policy::{AreaNode, Areas};

/// The kinds of unit the hierarchy may hold, at any depth.
pub const KINDS: &[&str] = &["province", "city", "town", "district", "commune", "ward"];

/// One administrative unit. A retired unit (`valid_to` in the past) stays: its history
/// and its clients keep their area until they are moved.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct Area {
    /// National statistical code, e.g. "40" for the province, "412" for Vinh (2024).
    pub code: String,
    pub name: String,
    /// One of [`KINDS`].
    pub kind: String,
    /// The enclosing unit; `None` for the province.
    pub parent: Option<String>,
    /// First day the unit exists; `None`: since before any record.
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_from: Option<NaiveDate>,
    /// Last day the unit exists; `None`: until further notice.
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_to: Option<NaiveDate>,
    /// The units this one took over (a 2025 ward's 2024 district).
    pub predecessors: Vec<String>,
}

impl Area {
    /// Whether the unit exists on `day`.
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.in_force_during(day, day)
    }

    /// Whether the unit was retired before `day` (its last day came earlier).
    pub fn ended_before(&self, day: NaiveDate) -> bool {
        self.valid_to.is_some_and(|end| end < day)
    }

    /// Whether the unit exists on any day from `from` to `to`.
    pub fn in_force_during(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.valid_from.is_none_or(|start| start <= to) && self.valid_to.is_none_or(|end| end >= from)
    }
}

/// The name of the unit `code` among `areas`, or the code itself when it is not there.
pub fn name_of(areas: &[Area], code: &str) -> String {
    areas
        .iter()
        .find(|a| a.code == code)
        .map_or_else(|| code.to_owned(), |a| a.name.clone())
}

/// An admin's new unit (`POST /areas`), or the same shape read from a CSV file.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewArea {
    pub code: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub parent: Option<String>,
    /// `YYYY-MM-DD`; empty or absent: since before any record.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// `YYYY-MM-DD`; empty or absent: until further notice.
    #[serde(default)]
    pub valid_to: Option<String>,
    #[serde(default)]
    pub predecessors: Vec<String>,
}

/// An admin's change to a unit (`PATCH /areas/{code}`): only the fields given change;
/// an empty date clears it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AreaPatch {
    pub name: Option<String>,
    pub kind: Option<String>,
    /// An empty string makes the unit a root.
    pub parent: Option<String>,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
}

/// Every unit, and the hierarchy the policies decide over, as read at one moment and as
/// it stands on one day.
#[derive(Debug)]
pub struct AreaCatalog {
    all: Vec<Area>,
    tree: Areas,
    /// The day the hierarchy stands on: a unit retired before it lies inside its
    /// successors. `None`: no unit does (a hierarchy only being checked).
    day: Option<NaiveDate>,
}

impl AreaCatalog {
    /// Checks a list of units (unique codes, known parents, no cycle) and indexes it,
    /// without successor links (for checking an edit).
    pub fn new(all: Vec<Area>) -> Result<Self, crate::policy::PolicyError> {
        Self::build(all, None)
    }

    /// [`AreaCatalog::new`], the hierarchy as it stands on `day`: a unit retired before
    /// it (`valid_to < day`) also lies inside each unit that took it over. A unit whose
    /// end is still to come does not: its successors' staff see its clients only once it
    /// is gone.
    pub fn on(all: Vec<Area>, day: NaiveDate) -> Result<Self, crate::policy::PolicyError> {
        Self::build(all, Some(day))
    }

    fn build(all: Vec<Area>, day: Option<NaiveDate>) -> Result<Self, crate::policy::PolicyError> {
        let tree = Areas::new(all.iter().map(|a| AreaNode {
            code: a.code.clone(),
            kind: a.kind.clone(),
            parent: a.parent.clone(),
            successors: match day {
                Some(day) if a.ended_before(day) => successors(&all, &a.code),
                _ => Vec::new(),
            },
        }))?;
        Ok(Self { all, tree, day })
    }

    /// Reads and checks the hierarchy as it stands on `day`.
    pub async fn load(db: &Db, day: NaiveDate) -> Result<Self, SeedError> {
        Ok(Self::on(super::store::list(db).await?, day)?)
    }

    /// Every unit, retired ones included, by code (the province first). Names of retired
    /// units are still needed: their clients and their history show them.
    pub fn all(&self) -> &[Area] {
        &self.all
    }

    /// The units in force on `day`: those a new record, account or transfer may name.
    pub fn in_force_on(&self, day: NaiveDate) -> Vec<Area> {
        self.all.iter().filter(|a| a.in_force_on(day)).cloned().collect()
    }

    /// The unit with this code, retired or not.
    pub fn get(&self, code: &str) -> Option<&Area> {
        self.all.iter().find(|a| a.code == code)
    }

    /// Where a client of `code` goes once it is retired: the units that took over `code`
    /// or a retired unit it lies in (a 2024 commune goes where its district went), by code.
    pub fn successors_of(&self, code: &str) -> Vec<&Area> {
        let mut found: Vec<&Area> = Vec::new();
        let mut next = self.get(code);
        let mut depth = 0;
        while let Some(unit) = next
            && depth < self.all.len()
        {
            if unit.valid_to.is_some() {
                for successor in self.all.iter().filter(|a| a.predecessors.contains(&unit.code)) {
                    if !found.iter().any(|f| f.code == successor.code) {
                        found.push(successor);
                    }
                }
            }
            next = unit.parent.as_deref().and_then(|parent| self.get(parent));
            depth += 1;
        }
        found.sort_by(|a, b| a.code.cmp(&b.code));
        found
    }

    /// The hierarchy the policies decide over: every unit, so that a retired unit's staff
    /// and the province keep the clients not yet moved; a unit retired before the
    /// catalogue's day also lies inside its successors, whose staff take those clients over.
    pub fn tree(&self) -> &Areas {
        &self.tree
    }
}

/// The units that name `code` among their predecessors, by code.
fn successors(all: &[Area], code: &str) -> Vec<String> {
    all.iter()
        .filter(|a| a.predecessors.iter().any(|p| p == code))
        .map(|a| a.code.clone())
        .collect()
}

/// The catalogue in force, shared by every request and replaced whole when an admin
/// edits areas: a request takes one snapshot ([`AreaCatalogs::current`]) and decides
/// over it throughout, so an edit never changes the hierarchy under a request.
#[derive(Debug, Clone)]
pub struct AreaCatalogs(Arc<RwLock<Arc<AreaCatalog>>>);

impl AreaCatalogs {
    pub fn new(catalog: AreaCatalog) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(catalog))))
    }

    /// The catalogue as it is now.
    pub fn current(&self) -> Arc<AreaCatalog> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The catalogue as it stands on `day` (today, for a request's decisions): rebuilt in
    /// memory, once, when the day has changed since it was read, so a unit retired
    /// overnight lies inside its successors from its first day gone.
    pub fn on(&self, day: NaiveDate) -> Arc<AreaCatalog> {
        let current = self.current();
        if current.day == Some(day) {
            return current;
        }
        match AreaCatalog::on(current.all.clone(), day) {
            Ok(rebuilt) => {
                let rebuilt = Arc::new(rebuilt);
                *self.0.write().unwrap_or_else(PoisonError::into_inner) = rebuilt.clone();
                rebuilt
            }
            // The units were checked when read; keep them as they are.
            Err(_) => current,
        }
    }

    /// Puts a freshly read catalogue in force for the requests that start after this.
    pub fn replace(&self, catalog: AreaCatalog) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(catalog);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(from: Option<&str>, to: Option<&str>) -> Area {
        Area {
            code: "412".into(),
            name: "Thành phố Vinh".into(),
            kind: "city".into(),
            parent: None,
            valid_from: from.map(|d| d.parse().unwrap()),
            valid_to: to.map(|d| d.parse().unwrap()),
            predecessors: vec![],
        }
    }

    #[test]
    fn a_unit_is_in_force_from_its_first_to_its_last_day() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let retired = area(None, Some("2025-06-30"));
        assert!(retired.in_force_on(d("2025-06-30")));
        assert!(!retired.in_force_on(d("2025-07-01")));
        assert!(retired.in_force_during(d("2025-01-01"), d("2025-12-31")));
        let new = area(Some("2025-07-01"), None);
        assert!(!new.in_force_on(d("2025-06-30")));
        assert!(new.in_force_on(d("2030-01-01")));
        assert!(new.in_force_during(d("2025-01-01"), d("2025-12-31")));
        assert!(!new.in_force_during(d("2024-01-01"), d("2024-12-31")));
    }

    #[test]
    fn a_unit_lies_inside_its_successors_only_from_the_day_after_it_ends() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let unit = |code: &str, to: Option<&str>, predecessors: &[&str]| Area {
            code: code.into(),
            name: code.into(),
            kind: "ward".into(),
            parent: (code != "40").then(|| "40".to_owned()),
            valid_from: None,
            valid_to: to.map(d),
            predecessors: predecessors.iter().map(|p| (*p).to_owned()).collect(),
        };
        let all = vec![
            unit("40", None, &[]),
            unit("412", Some("2025-06-30"), &[]),
            unit("16681", None, &["412"]),
        ];
        let catalogs = AreaCatalogs::new(AreaCatalog::on(all, d("2025-06-30")).unwrap());
        assert!(
            !catalogs.current().tree().covers("16681", "412"),
            "412 is still in force"
        );
        let next_day = catalogs.on(d("2025-07-01"));
        assert!(next_day.tree().covers("16681", "412"));
        assert!(
            catalogs.current().tree().covers("16681", "412"),
            "the rebuilt catalogue is kept"
        );
        assert!(
            !AreaCatalog::new(next_day.all().to_vec())
                .unwrap()
                .tree()
                .covers("16681", "412")
        );
    }
}
