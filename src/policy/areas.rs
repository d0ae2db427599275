//! The area hierarchy (province > district > commune ...).
//!
//! Areas are editable rows in the database, so the engine does not keep
//! them: callers hold an [`Areas`] value (cheap to rebuild after an edit)
//! and pass it to every decision.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::PolicyError;

/// One row of the area table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaNode {
    /// Area code, e.g. "40" for the province, "412" for a district.
    pub code: String,
    /// "province", "district", "city", "town", ...; the policies only test
    /// `principal.area.kind == "province"`.
    pub kind: String,
    /// Code of the enclosing area; None for a root (province).
    pub parent: Option<String>,
    /// For a retired unit, the units that took it over (a 2024 district's 2025 wards).
    /// Until its clients are moved, each successor's scope covers them as its own: the
    /// retired unit lies inside each of them as well as inside its parent.
    #[serde(default)]
    pub successors: Vec<String>,
}

/// A checked area hierarchy: unique codes, known parents, no cycles.
#[derive(Debug, Clone, Default)]
pub struct Areas {
    nodes: HashMap<String, AreaNode>,
}

impl Areas {
    /// Checks and indexes the hierarchy. Fails on a duplicate code, a parent
    /// that is not in the list, or a cycle, since any of these would make
    /// scope checks meaningless.
    pub fn new(nodes: impl IntoIterator<Item = AreaNode>) -> Result<Self, PolicyError> {
        let mut map = HashMap::new();
        for node in nodes {
            if let Some(old) = map.insert(node.code.clone(), node) {
                return Err(PolicyError::Areas(format!("duplicate area code {:?}", old.code)));
            }
        }
        let areas = Areas { nodes: map };
        for node in areas.nodes.values() {
            for parent in node.parent.iter().chain(&node.successors) {
                if !areas.nodes.contains_key(parent) {
                    return Err(PolicyError::Areas(format!(
                        "area {:?} has unknown parent or successor {:?}",
                        node.code, parent
                    )));
                }
            }
            areas.chain(&node.code)?;
        }
        Ok(areas)
    }

    /// The node for `code`, if known.
    pub fn get(&self, code: &str) -> Option<&AreaNode> {
        self.nodes.get(code)
    }

    /// True when `area` is `scope` or lies inside it, through its parents or, for a
    /// retired unit, its successors — the same test as the policies'
    /// `resource.area in principal.area`, for SQL-side filtering.
    pub fn covers(&self, scope: &str, area: &str) -> bool {
        self.ancestors(area)
            .map(|all| all.iter().any(|node| node.code == scope))
            .unwrap_or(false)
    }

    /// Every area code covered by `scope` (itself included), sorted; e.g. to
    /// build `WHERE area IN (...)` for list screens. Empty if unknown.
    pub fn within(&self, scope: &str) -> Vec<String> {
        let mut codes: Vec<String> = self
            .nodes
            .keys()
            .filter(|code| self.covers(scope, code))
            .cloned()
            .collect();
        codes.sort();
        codes
    }

    /// `code` and every unit it lies inside: its parents up to the root and, for a retired
    /// unit, its successors and theirs. Errors on an unknown code. Each unit once.
    pub(crate) fn ancestors(&self, code: &str) -> Result<Vec<&AreaNode>, PolicyError> {
        let start = self
            .nodes
            .get(code)
            .ok_or_else(|| PolicyError::UnknownArea(code.to_owned()))?;
        let mut found = vec![start];
        let mut seen = HashSet::from([code]);
        let mut next = 0;
        while let Some(node) = found.get(next) {
            next += 1;
            for up in node.parent.iter().chain(&node.successors) {
                if seen.insert(up) {
                    found.push(self.nodes.get(up).ok_or_else(|| PolicyError::UnknownArea(up.clone()))?);
                }
            }
        }
        Ok(found)
    }

    /// `code` followed by its parents up to the root. Errors on an unknown
    /// code or a cycle, so a broken hierarchy denies rather than loops.
    fn chain(&self, code: &str) -> Result<Vec<&AreaNode>, PolicyError> {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(code);
        while let Some(code) = next {
            let node = self
                .nodes
                .get(code)
                .ok_or_else(|| PolicyError::UnknownArea(code.to_owned()))?;
            if !seen.insert(code) {
                return Err(PolicyError::Areas(format!("cycle in area hierarchy at {code:?}")));
            }
            chain.push(node);
            next = node.parent.as_deref();
        }
        Ok(chain)
    }
}
