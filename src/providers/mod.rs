//! The service-provider directory: organisations clients are referred to (a vocational
//! school, the Social Policy Bank branch, a district health centre…). Organisation data,
//! not client data: names and contacts are plain. Read by everyone who refers or supports
//! clients and by the admin ([`Action::ProvidersRead`]); kept by supervisors and admins
//! ([`Action::ProvidersManage`]).
//!
//! The functions taking an [`Authz`] authorise and audit; the pages and the JSON API
//! both call them.

mod handlers;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::Authz;
use crate::db::{Db, timestamp};
use crate::policy::{Action, Areas, Resource};
use crate::web::ApiError;

pub use handlers::api;

const NAME_MAX: usize = 200;
const CONTACT_MAX: usize = 500;

/// One provider.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Provider {
    pub id: String,
    pub name: String,
    /// Service category code.
    pub category: String,
    /// Area code of the place the provider serves from.
    pub area: String,
    /// The organisation's contact (office phone, address): never a client's.
    pub contact: Option<String>,
    /// Deactivated providers stay on past referrals but take no new ones.
    pub active: bool,
    pub created_at: String,
}

/// A new provider, as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    pub name: String,
    pub category: String,
    pub area: String,
    pub contact: Option<String>,
}

/// Changes to a provider; a field left out stays as it is. An empty `contact` clears it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderPatch {
    pub name: Option<String>,
    pub category: Option<String>,
    pub area: Option<String>,
    pub contact: Option<String>,
    pub active: Option<bool>,
}

/// Which providers to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProviderFilter {
    /// Only this service category.
    pub category: Option<String>,
    /// Only providers serving this area: in it, in an area inside it, or in an area that
    /// contains it (a province-wide provider serves every district).
    pub area: Option<String>,
    /// Also list deactivated providers.
    pub include_inactive: Option<bool>,
}

const COLUMNS: &str = "id, name, category, area, contact, active, created_at";

fn decode(row: &sqlx::any::AnyRow) -> Result<Provider, sqlx::Error> {
    Ok(Provider {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        category: row.try_get("category")?,
        area: row.try_get("area")?,
        contact: row.try_get("contact")?,
        active: crate::db::flag(row, "active")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Providers matching the filter, by name. Not audited: the directory holds no client data.
pub async fn list(db: &Db, areas: &Areas, filter: &ProviderFilter) -> Result<Vec<Provider>, sqlx::Error> {
    let include_inactive = filter.include_inactive.unwrap_or(false);
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM providers WHERE ($1 = '' OR category = $1) ORDER BY name, id"
    ))
    .bind(filter.category.as_deref().unwrap_or(""))
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let provider = decode(row)?;
        if !include_inactive && !provider.active {
            continue;
        }
        if let Some(area) = filter.area.as_deref().filter(|a| !a.is_empty())
            && !(areas.covers(area, &provider.area) || areas.covers(&provider.area, area))
        {
            continue;
        }
        out.push(provider);
    }
    Ok(out)
}

/// One provider, active or not.
pub async fn get(db: &Db, id: &str) -> Result<Option<Provider>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM providers WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(decode)
        .transpose()
}

fn check_name(name: &str, fields: &mut BTreeMap<String, &'static str>) {
    if name.is_empty() {
        fields.insert("name".into(), "field-required");
    } else if name.chars().count() > NAME_MAX {
        fields.insert("name".into(), "field-too_long");
    }
}

async fn check_category(db: &Db, category: &str, fields: &mut BTreeMap<String, &'static str>) -> Result<(), ApiError> {
    if category.is_empty() {
        fields.insert("category".into(), "field-required");
    } else if !crate::categories::is_active(db, category).await? {
        fields.insert("category".into(), "field-referrals-unknown_category");
    }
    Ok(())
}

fn check_area(areas: &Areas, area: &str, fields: &mut BTreeMap<String, &'static str>) {
    if area.is_empty() {
        fields.insert("area".into(), "field-required");
    } else if areas.get(area).is_none() {
        fields.insert("area".into(), "field-unknown_area");
    }
}

fn check_contact(contact: Option<&str>, fields: &mut BTreeMap<String, &'static str>) {
    if contact.is_some_and(|c| c.chars().count() > CONTACT_MAX) {
        fields.insert("contact".into(), "field-too_long");
    }
}

fn trimmed(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned())
}

/// Adds a provider (a supervisor in her own area, or the admin); 422 names every bad
/// field. Audited.
pub async fn create(state: &AppState, user: &Authz, input: &ProviderInput) -> Result<Provider, ApiError> {
    // A role that manages no providers at all is refused whatever the body.
    user.require(Action::ProvidersManage, Resource::in_area(&user.account.area))
        .await?;
    let name = input.name.trim().to_owned();
    let category = input.category.trim().to_owned();
    let area = input.area.trim().to_owned();
    let contact = trimmed(input.contact.as_ref()).filter(|c| !c.is_empty());
    let areas = state.areas.tree();
    let mut fields = BTreeMap::new();
    check_name(&name, &mut fields);
    check_category(&state.db, &category, &mut fields).await?;
    check_area(&areas, &area, &mut fields);
    check_contact(contact.as_deref(), &mut fields);
    if !fields.is_empty() {
        return Err(ApiError::validation(fields));
    }
    // A supervisor adds providers of her own area only.
    user.require(Action::ProvidersManage, Resource::in_area(&area)).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let row = sqlx::query(&format!(
        "INSERT INTO providers (id, name, category, area, contact, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(&name)
    .bind(&category)
    .bind(&area)
    .bind(&contact)
    .bind(true)
    .bind(timestamp(state.clock.now()))
    .fetch_one(&state.db.pool)
    .await?;
    let provider = decode(&row)?;
    state
        .audit(
            user.event(actions::PROVIDER_CREATE, Outcome::Success)
                .object(&provider.id),
        )
        .await?;
    Ok(provider)
}

/// Renames, moves, recategorises, (de)activates a provider (a supervisor of its area, or
/// the admin). 404 for
/// an unknown id; 422 names every bad field. Audited.
pub async fn update(state: &AppState, user: &Authz, id: &str, patch: &ProviderPatch) -> Result<Provider, ApiError> {
    user.require(Action::ProvidersManage, Resource::in_area(&user.account.area))
        .await?;
    let Some(current) = get(&state.db, id).await? else {
        return Err(ApiError::not_found());
    };
    let name = trimmed(patch.name.as_ref());
    let category = trimmed(patch.category.as_ref());
    let area = trimmed(patch.area.as_ref());
    let contact = trimmed(patch.contact.as_ref());
    let areas = state.areas.tree();
    let mut fields = BTreeMap::new();
    if let Some(name) = &name {
        check_name(name, &mut fields);
    }
    if let Some(category) = &category {
        check_category(&state.db, category, &mut fields).await?;
    }
    if let Some(area) = &area {
        check_area(&areas, area, &mut fields);
    }
    check_contact(contact.as_deref(), &mut fields);
    if !fields.is_empty() {
        return Err(ApiError::validation(fields));
    }
    // A supervisor changes providers of her own area only, and cannot move one out of it.
    user.require(Action::ProvidersManage, Resource::in_area(&current.area))
        .await?;
    if let Some(area) = &area {
        user.require(Action::ProvidersManage, Resource::in_area(area)).await?;
    }
    let row = sqlx::query(&format!(
        "UPDATE providers SET name = COALESCE($2, name), category = COALESCE($3, category), \
         area = COALESCE($4, area), contact = CASE WHEN $5 = 1 THEN $6 ELSE contact END, \
         active = COALESCE($7, active) WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(&name)
    .bind(&category)
    .bind(&area)
    .bind(i64::from(contact.is_some()))
    .bind(contact.filter(|c| !c.is_empty()))
    .bind(patch.active)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(row) = row else {
        return Err(ApiError::not_found());
    };
    let provider = decode(&row)?;
    state
        .audit(
            user.event(actions::PROVIDER_UPDATE, Outcome::Success)
                .object(&provider.id),
        )
        .await?;
    Ok(provider)
}
