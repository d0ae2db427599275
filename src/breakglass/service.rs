//! Breaking the glass and listing grants; every grant and every list is audited, and a
//! grant whose audit entry cannot be written is removed.

use chrono::Duration;

use super::model::{GRANT_MINUTES, Grant, MAX_REASON_CHARS, MIN_REASON_CHARS};
use super::store;
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::Authz;
use crate::db::timestamp;
use crate::error::Error;
use crate::policy::{Action, Reach};

/// Checks the reason: trimmed, 20 to 1000 characters.
pub fn check_reason(reason: &str) -> Result<&str, Error> {
    let reason = reason.trim();
    let n = reason.chars().count();
    if n < MIN_REASON_CHARS {
        Err(Error::field("reason", "field-reason_too_short"))
    } else if n > MAX_REASON_CHARS {
        Err(Error::field("reason", "field-too_long"))
    } else {
        Ok(reason)
    }
}

/// Grants the caller one hour of access to a client outside their scope; the path takes
/// the client id or its code. Returns the grant. The reason is flagged for the auditor.
pub async fn break_glass(state: &AppState, user: &Authz, client: &str, reason: &str) -> Result<Grant, Error> {
    // The input first: a bad reason is refused before anything is looked up, so the
    // answer to it says nothing about the client.
    let reason = check_reason(reason)?;
    // A worker usually starts from a code heard on the phone; accept it as well as the id.
    // An unknown one is refused like a client the caller may not know of (404), audited
    // without the text typed (it could be anything, a name even).
    let client_id = match state.clients.id_for_code(client).await? {
        Some(id) => id,
        None if user.client_exists(client).await? => client.to_owned(),
        None => {
            state
                .audit(
                    user.event(Action::BreakGlass.name(), Outcome::Denied)
                        .reason("no such client"),
                )
                .await?;
            return Err(Error::NotFound);
        }
    };
    let client = user.require_client(&client_id, Action::BreakGlass).await?;
    let now = state.clock.now();
    let id = uuid::Uuid::new_v4().to_string();
    let granted_at = timestamp(now);
    let expires_at = timestamp(now + Duration::minutes(GRANT_MINUTES));
    // The grant and its audit entry commit together: no access without its entry.
    let mut tx = state.begin().await?;
    store::insert(&mut tx, &id, user.id(), &client.id, reason, &granted_at, &expires_at).await?;
    state
        .commit_audited(
            tx,
            &[user
                .event(Action::BreakGlass.name(), Outcome::Success)
                .client(&client.code)
                .object(&id)
                .reason(reason)
                .flagged()],
        )
        .await?;
    Ok(Grant {
        id,
        client_id: client.id,
        client_code: client.code,
        user_id: user.id().to_owned(),
        username: user.account.username.clone(),
        reason: reason.to_owned(),
        granted_at,
        expires_at,
        active: true,
    })
}

/// Grants the caller may see: an auditor all of them; a social worker her own and those
/// on clients assigned to her; a supervisor also those on clients of her area.
pub async fn visible_grants(state: &AppState, user: &Authz, active_only: bool) -> Result<Vec<Grant>, Error> {
    let principal = user.principal();
    let everything = principal.is_auditor();
    let areas: Vec<String> = match principal.reach(user.areas()) {
        _ if everything => Vec::new(),
        Reach::Areas(areas) => areas,
        Reach::Assigned => Vec::new(),
        Reach::Supported | Reach::Nobody => {
            state
                .audit(user.event(actions::BREAK_GLASS_LIST, Outcome::Denied))
                .await?;
            return Err(Error::Forbidden);
        }
    };
    let now = timestamp(state.clock.now());
    let scope = (!everything).then_some((user.id(), areas.as_slice()));
    let grants = store::list(&state.db, &now, active_only, scope).await?;
    state
        .audit(user.event(actions::BREAK_GLASS_LIST, Outcome::Success))
        .await?;
    Ok(grants)
}
