//! Report addressees as authorised operations: the admin lists and adds entries
//! (`settings_manage`, audited); any export or slip reads the names in force on a day.

use chrono::NaiveDate;

use super::model::{Addressee, AddresseeRole, Addressees, MAX_NAME, NewAddressee};
use super::store;
use crate::AppState;
use crate::audit::{Outcome, actions};
use crate::authz::Authz;
use crate::error::{Error, FieldErrors};
use crate::policy::{Action, Resource};

/// Every entry, for the admin.
pub async fn list(state: &AppState, user: &Authz) -> Result<Vec<Addressee>, Error> {
    user.require(Action::SettingsManage, Resource::system()).await?;
    Ok(store::list(&state.db).await?)
}

/// Adds an entry (admin). 422 naming `role` (not `recipient` or `owner`), `name` (blank or
/// longer than 200 characters) or `valid_from` (missing or not a date); 409
/// `addressee_taken` naming `valid_from` when the role already has an entry from that day.
/// Audited `addressee_create`, with the role and the day.
pub async fn create(state: &AppState, user: &Authz, input: &NewAddressee) -> Result<Addressee, Error> {
    user.require(Action::SettingsManage, Resource::system()).await?;
    let mut fields = FieldErrors::new();
    let role = AddresseeRole::parse(input.role.trim());
    if role.is_none() {
        fields.insert("role".into(), "field-addressees-unknown_role");
    }
    let name = input.name.trim();
    if name.is_empty() {
        fields.insert("name".into(), "field-required");
    } else if name.chars().count() > MAX_NAME {
        fields.insert("name".into(), "field-too_long");
    } else if name.chars().any(char::is_control) {
        // Printed on exports and slips: one line of text.
        fields.insert("name".into(), "field-addressees-one_line");
    }
    let valid_from = match input.valid_from.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => {
            fields.insert("valid_from".into(), "field-required");
            None
        }
        Some(day) => {
            let parsed = crate::dates::parse_iso(day);
            if parsed.is_none() {
                fields.insert("valid_from".into(), "field-invalid_date");
            }
            parsed
        }
    };
    let (Some(role), Some(valid_from), true) = (role, valid_from, fields.is_empty()) else {
        return Err(Error::Validation(fields));
    };
    let mut tx = state.begin().await?;
    let added = match store::insert(&mut tx, role, name, valid_from, user.id(), state.clock.now()).await {
        Ok(added) => added,
        Err(e) if crate::db::is_unique_violation(&e) => {
            return Err(Error::Taken {
                code: "addressee_taken",
                field: "valid_from",
                message: "field-addressees-taken",
            });
        }
        Err(e) => return Err(e.into()),
    };
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::ADDRESSEE_CREATE, Outcome::Success)
                .object(&added.id)
                .reason(&format!("{} from {valid_from}", role.as_str()))],
        )
        .await?;
    Ok(added)
}

/// The recipient and owner in force on `day`; the settings where no entry is.
pub async fn in_force_on(state: &AppState, day: NaiveDate) -> Result<Addressees, Error> {
    let programme = &state.settings.programme;
    let mut names = Addressees {
        recipient: programme.report_recipient.clone(),
        owner: programme.programme_owner.clone(),
    };
    for entry in store::in_force_on(&state.db, day).await? {
        match entry.role {
            AddresseeRole::Recipient => names.recipient = entry.name,
            AddresseeRole::Owner => names.owner = entry.name,
        }
    }
    Ok(names)
}
