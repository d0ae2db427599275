//! The directory's operations: reading it needs `providers_read`, keeping it
//! `providers_manage` in the provider's area; changes are audited. The API and the pages
//! both call these.

use std::collections::BTreeMap;

use super::model::{Provider, ProviderFilter, ProviderInput, ProviderPatch};
use super::store::{self, NewProvider, ProviderChange};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::Authz;
use crate::db::Db;
use crate::error::Error;
use crate::policy::{Action, Areas, Resource};

const NAME_MAX: usize = 200;
const CONTACT_MAX: usize = 500;

/// Authorises reading the directory, before a request's filter is even looked at.
pub async fn open(user: &Authz) -> Result<(), Error> {
    user.require(Action::ProvidersRead, Resource::system()).await
}

/// Providers matching the filter, by name. Not audited: the directory holds no client
/// data.
pub async fn directory(state: &AppState, user: &Authz, filter: &ProviderFilter) -> Result<Vec<Provider>, Error> {
    open(user).await?;
    Ok(store::list(&state.db, user.areas(), filter).await?)
}

/// One provider, active or not.
pub async fn one(state: &AppState, user: &Authz, id: &str) -> Result<Provider, Error> {
    open(user).await?;
    store::get(&state.db, id).await?.ok_or(Error::NotFound)
}

fn check_name(name: &str, fields: &mut BTreeMap<String, &'static str>) {
    if name.is_empty() {
        fields.insert("name".into(), "field-required");
    } else if name.chars().count() > NAME_MAX {
        fields.insert("name".into(), "field-too_long");
    }
}

async fn check_category(db: &Db, category: &str, fields: &mut BTreeMap<String, &'static str>) -> Result<(), Error> {
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
pub async fn create(state: &AppState, user: &Authz, input: &ProviderInput) -> Result<Provider, Error> {
    // A role that manages no providers at all is refused whatever the body.
    user.require(Action::ProvidersManage, Resource::in_area(&user.account.area))
        .await?;
    let name = input.name.trim().to_owned();
    let category = input.category.trim().to_owned();
    let area = input.area.trim().to_owned();
    let contact = trimmed(input.contact.as_ref()).filter(|c| !c.is_empty());
    let areas = user.areas();
    let mut fields = BTreeMap::new();
    check_name(&name, &mut fields);
    check_category(&state.db, &category, &mut fields).await?;
    check_area(areas, &area, &mut fields);
    check_contact(contact.as_deref(), &mut fields);
    if !fields.is_empty() {
        return Err(Error::Validation(fields));
    }
    // A supervisor adds providers of her own area only.
    user.require(Action::ProvidersManage, Resource::in_area(&area)).await?;
    let new = NewProvider {
        name,
        category,
        area,
        contact,
    };
    let mut tx = state.begin().await?;
    let provider = store::insert(&mut tx, &new, state.clock.now()).await?;
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::PROVIDER_CREATE, Outcome::Success)
                .object(&provider.id)],
        )
        .await?;
    Ok(provider)
}

/// Renames, moves, recategorises, (de)activates a provider (a supervisor of its area, or
/// the admin). 404 for
/// an unknown id; 422 names every bad field. Audited.
pub async fn update(state: &AppState, user: &Authz, id: &str, patch: &ProviderPatch) -> Result<Provider, Error> {
    user.require(Action::ProvidersManage, Resource::in_area(&user.account.area))
        .await?;
    let Some(current) = store::get(&state.db, id).await? else {
        return Err(Error::NotFound);
    };
    let name = trimmed(patch.name.as_ref());
    let category = trimmed(patch.category.as_ref());
    let area = trimmed(patch.area.as_ref());
    let contact = trimmed(patch.contact.as_ref());
    let areas = user.areas();
    let mut fields = BTreeMap::new();
    if let Some(name) = &name {
        check_name(name, &mut fields);
    }
    if let Some(category) = &category {
        check_category(&state.db, category, &mut fields).await?;
    }
    if let Some(area) = &area {
        check_area(areas, area, &mut fields);
    }
    check_contact(contact.as_deref(), &mut fields);
    if !fields.is_empty() {
        return Err(Error::Validation(fields));
    }
    // A supervisor changes providers of her own area only, and cannot move one out of it.
    user.require(Action::ProvidersManage, Resource::in_area(&current.area))
        .await?;
    if let Some(area) = &area {
        user.require(Action::ProvidersManage, Resource::in_area(area)).await?;
    }
    let change = ProviderChange {
        name,
        category,
        area,
        contact,
        active: patch.active,
    };
    let mut tx = state.begin().await?;
    let Some(provider) = store::update(&mut tx, id, change).await? else {
        return Err(Error::NotFound);
    };
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::PROVIDER_UPDATE, Outcome::Success)
                .object(&provider.id)],
        )
        .await?;
    Ok(provider)
}
