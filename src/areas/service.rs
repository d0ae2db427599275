//! Keeping the area hierarchy: the admin's (`areas_manage`), audited. Every change is
//! checked against the whole hierarchy it would make (known parent, no cycle), as it is
//! at that moment (edits of areas take turns, [`store::lock`]), written in one
//! transaction, and then put in force for the requests that follow.

use chrono::NaiveDate;

use super::model::{Area, AreaCatalog, AreaPatch, KINDS, NewArea};
use super::store;
use crate::AppState;
use crate::audit::{Event, Outcome, actions};
use crate::authz::Authz;
use crate::db::is_unique_violation;
use crate::error::{Error, FieldErrors};
use crate::policy::{Action, Resource};

const NAME_MAX: usize = 100;

/// One line of an area file: its values by column name.
type CsvRow = std::collections::HashMap<String, String>;

/// Every unit, retired ones included (any logged-in user: forms and scripts need them).
pub fn list(user: &Authz) -> Vec<Area> {
    user.catalog().all().to_vec()
}

/// Every unit, for the admin's page of areas: `areas_manage`, a refusal audited.
pub async fn for_admin(user: &Authz) -> Result<Vec<Area>, Error> {
    user.require(Action::AreasManage, Resource::system()).await?;
    Ok(list(user))
}

/// Adds a unit. 422 names each bad field: a code already used (`code`), an unknown kind,
/// parent or predecessor, a malformed date, `valid_to` before `valid_from`.
pub async fn create(state: &AppState, user: &Authz, input: &NewArea) -> Result<Area, Error> {
    user.require(Action::AreasManage, Resource::system()).await?;
    let (mut tx, catalog) = begin(state).await?;
    let catalog = &catalog;
    let mut fields = FieldErrors::new();
    let code = input.code.trim().to_owned();
    if !valid_code(&code) {
        fields.insert("code".into(), "field-areas-invalid_code");
    } else if catalog.get(&code).is_some() {
        fields.insert("code".into(), "field-areas-duplicate_code");
    }
    let mut predecessors: Vec<String> = input
        .predecessors
        .iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    predecessors.sort();
    predecessors.dedup();
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
    match store::insert(&mut tx, &area).await {
        Err(e) if is_unique_violation(&e) => return Err(Error::field("code", "field-areas-duplicate_code")),
        other => other?,
    }
    state
        .commit_audited(
            tx,
            &[user.event(actions::AREA_CREATE, Outcome::Success).object(&area.code)],
        )
        .await?;
    put_in_force(state).await?;
    Ok(area)
}

/// Renames, moves, re-kinds or (by `valid_to`) retires a unit. A retired unit keeps its
/// clients and its history. 404 for an unknown code; 422 as for [`create`], and for a
/// parent that would make a cycle.
pub async fn update(state: &AppState, user: &Authz, code: &str, patch: &AreaPatch) -> Result<Area, Error> {
    user.require(Action::AreasManage, Resource::system()).await?;
    // The patch applies to the unit as it is now, not as the request first saw it, so a
    // rename never undoes a retirement made meanwhile.
    let (mut tx, catalog) = begin(state).await?;
    let catalog = &catalog;
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
    store::update(&mut tx, &area).await?;
    state
        .commit_audited(
            tx,
            &[user.event(actions::AREA_UPDATE, Outcome::Success).object(&area.code)],
        )
        .await?;
    put_in_force(state).await?;
    Ok(area)
}

/// What an import or a reform did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// Units added.
    pub added: usize,
    /// Units already present with the same fields, left as they were.
    pub unchanged: usize,
    /// Predecessors retired by a reform.
    pub retired: usize,
}

/// Loads units from a CSV file (`code,name,kind,parent`, and optionally `valid_from`,
/// `valid_to` and `predecessors`, or `predecessor_2024` as in the shipped 2025 file) in
/// one transaction, audited with `actor`. With `reform_on`, it applies a reorganisation:
/// each unit of the file is valid from that day, and each predecessor it names is retired
/// the day before. A code already present is left alone when its row says the same, and
/// refused otherwise; nothing is written unless every line is good.
pub async fn import(state: &AppState, actor: &str, csv: &str, reform_on: Option<NaiveDate>) -> Result<Imported, Error> {
    let (mut tx, catalog) = begin(state).await?;
    let mut fields = FieldErrors::new();
    let mut done = Imported::default();
    let mut added: Vec<Area> = Vec::new();
    for (line, row) in read_csv(csv)? {
        let mut errors = FieldErrors::new();
        let mut area = checked_row(&row, &mut errors);
        if let Some(on) = reform_on {
            area.valid_from = Some(on);
        }
        check_period(&area, &mut errors);
        for (field, message) in errors {
            fields.insert(format!("line {line}: {field}"), message);
        }
        match catalog.get(&area.code) {
            Some(existing) if says_the_same(existing, &area, reform_on.is_some()) => done.unchanged += 1,
            Some(_) => {
                fields.insert(format!("line {line}: code"), "field-areas-duplicate_code");
            }
            None if added.iter().any(|a| a.code == area.code) => {
                fields.insert(format!("line {line}: code"), "field-areas-duplicate_code");
            }
            None => added.push(area),
        }
    }
    let mut retired: Vec<Area> = Vec::new();
    if let Some(on) = reform_on {
        let last_day = on.pred_opt().unwrap_or(on);
        for code in added.iter().flat_map(|a| &a.predecessors) {
            let Some(old) = catalog.get(code) else { continue };
            if retired.iter().any(|r| r.code == *code) || old.valid_to.is_some_and(|end| end <= last_day) {
                continue;
            }
            if old.valid_from.is_some_and(|start| start > last_day) {
                fields.insert(
                    format!("unit {code}: valid_from"),
                    "field-areas-predecessor_after_reform",
                );
                continue;
            }
            let mut old = old.clone();
            old.valid_to = Some(last_day);
            retired.push(old);
        }
    }
    // The hierarchy as it would be: parents and predecessors known, no cycle.
    let mut all: Vec<Area> = catalog
        .all()
        .iter()
        .map(|a| retired.iter().find(|r| r.code == a.code).unwrap_or(a).clone())
        .collect();
    all.extend(added.iter().cloned());
    for area in &added {
        if let Some(parent) = &area.parent
            && !all.iter().any(|a| a.code == *parent)
        {
            fields.insert(format!("unit {}: parent", area.code), "field-areas-unknown_parent");
        }
        if area
            .predecessors
            .iter()
            .any(|p| !all.iter().any(|a| a.code == *p) || *p == area.code)
        {
            fields.insert(
                format!("unit {}: predecessors", area.code),
                "field-areas-unknown_predecessor",
            );
        }
    }
    if fields.is_empty() && AreaCatalog::new(all).is_err() {
        fields.insert("parent".into(), "field-areas-cycle");
    }
    if !fields.is_empty() {
        return Err(Error::Validation(fields));
    }
    for area in parents_first(&added) {
        store::insert(&mut tx, area).await?;
    }
    for area in &retired {
        store::update(&mut tx, area).await?;
    }
    let events: Vec<Event> = added
        .iter()
        .map(|area| Event::new(actor, actions::AREA_CREATE, Outcome::Success).object(&area.code))
        .chain(
            retired
                .iter()
                .map(|area| Event::new(actor, actions::AREA_UPDATE, Outcome::Success).object(&area.code)),
        )
        .collect();
    state.commit_audited(tx, &events).await?;
    put_in_force(state).await?;
    done.added = added.len();
    done.retired = retired.len();
    Ok(done)
}

/// Whether a file's row describes the unit already held: the same name, kind and parent,
/// and the same validity and predecessors where the row gives them. A reform's rows give
/// no validity of their own (a unit that stays, such as the province, is unchanged).
fn says_the_same(existing: &Area, row: &Area, reform: bool) -> bool {
    let given = |row: Option<NaiveDate>, held: Option<NaiveDate>| reform || row.is_none() || row == held;
    existing.name == row.name
        && existing.kind == row.kind
        && existing.parent == row.parent
        && given(row.valid_from, existing.valid_from)
        && given(row.valid_to, existing.valid_to)
        && (row.predecessors.is_empty() || row.predecessors == existing.predecessors)
}

/// The rows of a CSV file by header name, each with its line number; 422 when the file
/// cannot be read as CSV or lacks a required column.
fn read_csv(csv: &str) -> Result<Vec<(usize, CsvRow)>, Error> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|_| Error::field("file", "field-areas-unreadable_file"))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    for required in ["code", "name", "kind", "parent"] {
        if !headers.iter().any(|h| h == required) {
            return Err(Error::field(required, "field-areas-missing_column"));
        }
    }
    reader
        .records()
        .enumerate()
        .map(|(i, record)| {
            let record = record.map_err(|_| Error::field(&format!("line {}", i + 2), "field-areas-unreadable_file"))?;
            let row = headers
                .iter()
                .cloned()
                .zip(record.iter().map(|v| v.trim().to_owned()))
                .collect();
            Ok((i + 2, row))
        })
        .collect()
}

/// A unit from one CSV row, its fields checked as an admin's would be.
fn checked_row(row: &CsvRow, fields: &mut FieldErrors) -> Area {
    let value = |name: &str| row.get(name).map(String::as_str).unwrap_or_default();
    let code = value("code").to_owned();
    if !valid_code(&code) {
        fields.insert("code".into(), "field-areas-invalid_code");
    }
    let mut predecessors: Vec<String> = [value("predecessors"), value("predecessor_2024")]
        .iter()
        .flat_map(|list| list.split([';', ' ']))
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    predecessors.sort();
    predecessors.dedup();
    Area {
        name: checked_name(value("name"), fields),
        kind: checked_kind(value("kind"), fields),
        parent: Some(value("parent").to_owned()).filter(|p| !p.is_empty()),
        valid_from: checked_date(Some(value("valid_from")), "valid_from", fields),
        valid_to: checked_date(Some(value("valid_to")), "valid_to", fields),
        predecessors,
        code,
    }
}

/// The units in an order where each parent comes before its children.
fn parents_first(areas: &[Area]) -> Vec<&Area> {
    let mut ordered: Vec<&Area> = Vec::with_capacity(areas.len());
    let mut left: Vec<&Area> = areas.iter().collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|area| {
            let waits = area
                .parent
                .as_ref()
                .is_some_and(|p| areas.iter().any(|a| a.code == *p) && !ordered.iter().any(|o| o.code == *p));
            if !waits {
                ordered.push(area);
            }
            waits
        });
        if left.len() == before {
            // A cycle, refused before this is called; keep the rest in file order.
            ordered.append(&mut left);
        }
    }
    ordered
}

/// Opens the transaction of an edit of the hierarchy, alone among edits, with the
/// hierarchy as it is now: the change is checked against that, never against a copy
/// another edit has since changed.
async fn begin(state: &AppState) -> Result<(sqlx::Transaction<'static, sqlx::Any>, AreaCatalog), Error> {
    let mut tx = state.db.pool.begin().await?;
    store::lock(&mut tx, state.db.engine).await?;
    let catalog = AreaCatalog::new(store::list_locked(&mut tx).await?)
        .map_err(|e| crate::error::Internal::Inconsistent(e.to_string()))?;
    Ok((tx, catalog))
}

/// Reads the hierarchy again and puts it in force.
async fn put_in_force(state: &AppState) -> Result<(), Error> {
    let catalog = AreaCatalog::on(store::list(&state.db).await?, state.clock.today())
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
