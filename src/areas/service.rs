//! Keeping the area hierarchy: the admin's (`areas_manage`), audited. Every change is
//! checked against the whole hierarchy it would make (known parent, no cycle), written
//! in one transaction, and then put in force for the requests that follow.

use chrono::NaiveDate;

use super::model::{Area, AreaCatalog, AreaPatch, KINDS, NewArea};
use super::store;
use crate::AppState;
use crate::audit::{Outcome, actions};
use crate::authz::Authz;
use crate::db::is_unique_violation;
use crate::error::{Error, FieldErrors};
use crate::policy::{Action, Resource};

const NAME_MAX: usize = 100;

/// Every unit, retired ones included (any logged-in user: forms and scripts need them).
pub fn list(user: &Authz) -> Vec<Area> {
    user.catalog().all().to_vec()
}

/// Adds a unit. 422 names each bad field: a code already used (`code`), an unknown kind,
/// parent or predecessor, a malformed date, `valid_to` before `valid_from`.
pub async fn create(state: &AppState, user: &Authz, input: &NewArea) -> Result<Area, Error> {
    user.require(Action::AreasManage, Resource::system()).await?;
    let catalog = user.catalog();
    let mut fields = FieldErrors::new();
    let code = input.code.trim().to_owned();
    if !valid_code(&code) {
        fields.insert("code".into(), "field-areas-invalid_code");
    } else if catalog.get(&code).is_some() {
        fields.insert("code".into(), "field-areas-duplicate_code");
    }
    let predecessors: Vec<String> = input
        .predecessors
        .iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    if predecessors.iter().any(|p| catalog.get(p).is_none() || *p == code) {
        fields.insert("predecessors".into(), "field-areas-unknown_predecessor");
    }
    let area = Area {
        name: checked_name(&input.name, &mut fields),
        kind: checked_kind(&input.kind, &mut fields),
        parent: checked_parent(catalog, input.parent.as_deref(), &mut fields),
        valid_from: checked_date(input.valid_from.as_deref(), "valid_from", &mut fields),
        valid_to: checked_date(input.valid_to.as_deref(), "valid_to", &mut fields),
        predecessors,
        code,
    };
    check_period(&area, &mut fields);
    if !fields.is_empty() {
        return Err(Error::Validation(fields));
    }
    let mut tx = state.db.pool.begin().await?;
    match store::insert(&mut tx, &area).await {
        Err(e) if is_unique_violation(&e) => return Err(Error::field("code", "field-areas-duplicate_code")),
        other => other?,
    }
    tx.commit().await?;
    put_in_force(state).await?;
    state
        .audit(user.event(actions::AREA_CREATE, Outcome::Success).object(&area.code))
        .await?;
    Ok(area)
}

/// Renames, moves, re-kinds or (by `valid_to`) retires a unit. A retired unit keeps its
/// clients and its history. 404 for an unknown code; 422 as for [`create`], and for a
/// parent that would make a cycle.
pub async fn update(state: &AppState, user: &Authz, code: &str, patch: &AreaPatch) -> Result<Area, Error> {
    user.require(Action::AreasManage, Resource::system()).await?;
    let catalog = user.catalog();
    let mut area = catalog.get(code).cloned().ok_or(Error::NotFound)?;
    let mut fields = FieldErrors::new();
    if let Some(name) = &patch.name {
        area.name = checked_name(name, &mut fields);
    }
    if let Some(kind) = &patch.kind {
        area.kind = checked_kind(kind, &mut fields);
    }
    if let Some(parent) = &patch.parent {
        area.parent = checked_parent(catalog, Some(parent), &mut fields);
        if area.parent.as_deref() == Some(code) || !fields.contains_key("parent") && makes_cycle(catalog, &area) {
            fields.insert("parent".into(), "field-areas-cycle");
        }
    }
    if let Some(from) = &patch.valid_from {
        area.valid_from = checked_date(Some(from), "valid_from", &mut fields);
    }
    if let Some(to) = &patch.valid_to {
        area.valid_to = checked_date(Some(to), "valid_to", &mut fields);
    }
    check_period(&area, &mut fields);
    if !fields.is_empty() {
        return Err(Error::Validation(fields));
    }
    let mut tx = state.db.pool.begin().await?;
    store::update(&mut tx, &area).await?;
    tx.commit().await?;
    put_in_force(state).await?;
    state
        .audit(user.event(actions::AREA_UPDATE, Outcome::Success).object(&area.code))
        .await?;
    Ok(area)
}

/// Reads the hierarchy again and puts it in force.
async fn put_in_force(state: &AppState) -> Result<(), Error> {
    let catalog = AreaCatalog::new(store::list(&state.db).await?)
        .map_err(|e| crate::error::Internal::Inconsistent(e.to_string()))?;
    state.areas.replace(catalog);
    Ok(())
}

/// Whether the hierarchy with `changed` in place of its old row has a cycle.
fn makes_cycle(catalog: &AreaCatalog, changed: &Area) -> bool {
    let all = catalog
        .all()
        .iter()
        .map(|a| {
            if a.code == changed.code {
                changed.clone()
            } else {
                a.clone()
            }
        })
        .collect();
    AreaCatalog::new(all).is_err()
}

/// National statistical codes are digits; letters, `.`, `-` and `_` are allowed for
/// local units.
fn valid_code(code: &str) -> bool {
    (1..=20).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn checked_name(name: &str, fields: &mut FieldErrors) -> String {
    let name = name.trim();
    if name.is_empty() {
        fields.insert("name".into(), "field-required");
    } else if name.chars().count() > NAME_MAX {
        fields.insert("name".into(), "field-too_long");
    }
    name.to_owned()
}

fn checked_kind(kind: &str, fields: &mut FieldErrors) -> String {
    let kind = kind.trim();
    if !KINDS.contains(&kind) {
        fields.insert("kind".into(), "field-areas-unknown_kind");
    }
    kind.to_owned()
}

/// An empty parent makes a root; any other must be a known unit.
fn checked_parent(catalog: &AreaCatalog, parent: Option<&str>, fields: &mut FieldErrors) -> Option<String> {
    let parent = parent.map(str::trim).filter(|p| !p.is_empty())?;
    if catalog.get(parent).is_none() {
        fields.insert("parent".into(), "field-areas-unknown_parent");
    }
    Some(parent.to_owned())
}

/// An empty date is none; any other must be `YYYY-MM-DD`.
fn checked_date(value: Option<&str>, field: &str, fields: &mut FieldErrors) -> Option<NaiveDate> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    let date = crate::dates::parse_iso(value);
    if date.is_none() {
        fields.insert(field.into(), "field-invalid_date");
    }
    date
}

fn check_period(area: &Area, fields: &mut FieldErrors) {
    if let (Some(from), Some(to)) = (area.valid_from, area.valid_to)
        && to < from
    {
        fields.insert("valid_to".into(), "field-areas-ends_before_start");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_short_and_plain() {
        assert!(valid_code("40"));
        assert!(valid_code("16681"));
        assert!(valid_code("VN-40_a.1"));
        assert!(!valid_code(""));
        assert!(!valid_code("41 2"));
        assert!(!valid_code("phường"));
        assert!(!valid_code(&"1".repeat(21)));
    }
}
