//! Managing accounts (`users_manage`): every operation is authorised here and audited
//! with the account id as object; resets and accounts that may read client content are
//! flagged for the auditor.

use std::collections::BTreeMap;

use secrecy::SecretString;

use super::model::CreateUser;
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::auth::accounts::{self, Account, AccountError, NewAccount};
use crate::auth::{mfa, password};
use crate::authz::Authz;
use crate::error::Error;
use crate::policy::{Action, Resource, Role};

/// Authorises managing accounts, for a page that shows a form before anything is done.
pub async fn open(user: &Authz) -> Result<(), Error> {
    user.require(Action::UsersManage, Resource::system()).await
}

async fn target(state: &AppState, id: &str) -> Result<Account, Error> {
    accounts::by_id(&state.db, id).await?.ok_or(Error::NotFound)
}

/// Every account. Audited `users_list`.
pub async fn list(state: &AppState, user: &Authz) -> Result<Vec<Account>, Error> {
    open(user).await?;
    let items = accounts::list(&state.db).await?;
    state.audit(user.event(actions::USERS_LIST, Outcome::Success)).await?;
    Ok(items)
}

/// One account. Audited `user_read`.
pub async fn read(state: &AppState, user: &Authz, id: &str) -> Result<Account, Error> {
    open(user).await?;
    let account = target(state, id).await?;
    state
        .audit(user.event(actions::USER_READ, Outcome::Success).object(&account.id))
        .await?;
    Ok(account)
}

/// Every field problem of a new account at once, so a form can show them together.
async fn check_new(state: &AppState, body: &CreateUser) -> Result<Role, Error> {
    let mut fields: BTreeMap<String, &'static str> = BTreeMap::new();
    if let Err(AccountError::Invalid(field, message)) = accounts::normalise_username(&body.username) {
        fields.insert(field.into(), message);
    }
    let display = body.display_name.trim();
    if display.is_empty() {
        fields.insert("display_name".into(), "field-required");
    } else if display.chars().count() > 100 {
        fields.insert("display_name".into(), "field-too_long");
    }
    let role = body.role.parse::<Role>().ok();
    if role.is_none() {
        fields.insert("role".into(), "field-invalid_role");
    }
    if !crate::areas::in_force(&state.db, body.area.trim(), state.clock.today()).await? {
        fields.insert("area".into(), "field-unknown_area");
    }
    if let Err(message) = password::check_strength(&body.password) {
        fields.insert("password".into(), message);
    }
    match role {
        Some(role) if fields.is_empty() => Ok(role),
        _ => Err(Error::Validation(fields)),
    }
}

/// Creates an account whose password only lets its owner in to choose their own.
/// Audited `user_create`, flagged when the account may read client content.
pub async fn create(state: &AppState, user: &Authz, body: CreateUser) -> Result<Account, Error> {
    open(user).await?;
    let role = check_new(state, &body).await?;
    let area = body.area.trim().to_owned();
    let mut event = user.event(actions::USER_CREATE, Outcome::Success);
    if reads_client_content(state, role, &area) {
        event = event.flagged();
    }
    let account = accounts::create_issued(
        &state.db,
        NewAccount {
            username: body.username,
            display_name: body.display_name.trim().to_owned(),
            role,
            area,
            password: body.password,
        },
        state.clock.now(),
        (&state.audit_log, event),
    )
    .await?;
    Ok(account)
}

/// Whether the policies let an account with `role` in `area` read a client's content
/// (flagged in the audit trail when such an account is made): decided before the account
/// exists, so the entry commits with it.
pub fn reads_client_content(state: &AppState, role: crate::policy::Role, area: &str) -> bool {
    let principal = crate::policy::Principal {
        user_id: "new-account".to_owned(),
        role,
        area: area.to_owned(),
        active: true,
    };
    state
        .policy
        .reads_client_content(state.areas.current().tree(), &principal)
}

/// Disables an account and ends its sessions at once. Refuses disabling one's own
/// account (`own_account`) or the last active admin (`last_admin`), both 409. Audited.
pub async fn disable(state: &AppState, user: &Authz, id: &str) -> Result<Account, Error> {
    open(user).await?;
    let account = target(state, id).await?;
    if account.id == user.account.id {
        return Err(Error::conflict("own_account"));
    }
    if account.principal().is_active_admin() && accounts::active_admins(&state.db).await? <= 1 {
        return Err(Error::conflict("last_admin"));
    }
    let mut tx = state.begin().await?;
    accounts::set_active(&mut tx, id, false, state.clock.now()).await?;
    state
        .commit_audited(tx, &[user.event(actions::USER_DISABLE, Outcome::Success).object(id)])
        .await?;
    target(state, id).await
}

/// Re-enables a disabled account. Audited.
pub async fn enable(state: &AppState, user: &Authz, id: &str) -> Result<Account, Error> {
    open(user).await?;
    let mut tx = state.begin().await?;
    accounts::set_active(&mut tx, id, true, state.clock.now()).await?;
    state
        .commit_audited(tx, &[user.event(actions::USER_ENABLE, Outcome::Success).object(id)])
        .await?;
    target(state, id).await
}

/// Sets a new password and ends the account's sessions; the owner must change it at the
/// next login. Audited, flagged.
pub async fn reset_password(state: &AppState, user: &Authz, id: &str, password: SecretString) -> Result<(), Error> {
    open(user).await?;
    target(state, id).await?;
    let event = user
        .event(actions::USER_RESET_PASSWORD, Outcome::Success)
        .object(id)
        .flagged();
    accounts::set_password(&state.db, id, password, state.clock.now(), (&state.audit_log, event)).await?;
    Ok(())
}

/// Removes the account's second factor and recovery codes and ends its sessions; the
/// user enrols again at the next login. Audited, flagged.
pub async fn reset_mfa(state: &AppState, user: &Authz, id: &str) -> Result<Account, Error> {
    open(user).await?;
    let mut tx = state.begin().await?;
    if !mfa::reset(&mut tx, id, state.clock.now()).await? {
        return Err(Error::NotFound);
    }
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::USER_RESET_MFA, Outcome::Success)
                .object(id)
                .flagged()],
        )
        .await?;
    target(state, id).await
}
