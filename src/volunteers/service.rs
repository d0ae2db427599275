//! Assigning volunteers, logging support and following it up: authorised on the client,
//! audited, each write one statement or one transaction. The API and the pages both call
//! these.

use chrono::NaiveDate;

use super::model::{AssignInput, Assignment, SUPPORT_KINDS, SupportFollowUp, SupportLog, SupportLogInput};
use super::store::{self, NOTE, NewSupportLog, TABLE, assignments, support_logs};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::auth::accounts;
use crate::authz::Authz;
use crate::clients::validation::{self as v};
use crate::clients::{FieldClasses, ListScope};
use crate::error::Error;
use crate::policy::{Action, Reach, Resource};

/// Assigns a volunteer (`volunteer_assign`, a supervisor of the client's area). Answers
/// whether the assignment is new. Audited.
pub async fn assign(
    state: &AppState,
    user: &Authz,
    client_id: &str,
    input: &AssignInput,
) -> Result<(bool, Assignment), Error> {
    let client = user.require_client(client_id, Action::VolunteerAssign).await?;
    let mut errors = v::check(input);
    let target = match &input.user_id {
        Some(id) => accounts::by_id(&state.db, id).await?,
        None => None,
    };
    let fits = target
        .as_ref()
        .is_some_and(|a| a.principal().supports_in(user.areas(), &client.facts.area));
    if input.user_id.is_some() && !fits {
        errors.insert("user_id".into(), "field-cases-invalid_volunteer");
    }
    v::finish(errors)?;
    let Some(volunteer) = target else {
        return Err(Error::field("user_id", "field-cases-invalid_volunteer"));
    };
    let now = state.clock.now();
    let mut tx = state.begin().await?;
    let inserted = store::assign(&mut tx, &client.id, &volunteer.id, user.id(), now).await?;
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::VOLUNTEER_ASSIGN, Outcome::Success)
                .client(&client.code)
                .object(&volunteer.id)],
        )
        .await?;
    let assignment = assignments(state, &client.id)
        .await?
        .into_iter()
        .find(|a| a.user_id == volunteer.id)
        .ok_or(Error::NotFound)?;
    Ok((inserted, assignment))
}

/// Ends a volunteer's assignment (`volunteer_assign`). Audited; 404 if not assigned.
pub async fn unassign(state: &AppState, user: &Authz, client_id: &str, volunteer_id: &str) -> Result<(), Error> {
    let client = user.require_client(client_id, Action::VolunteerAssign).await?;
    let mut tx = state.begin().await?;
    if !store::unassign(&mut tx, &client.id, volunteer_id).await? {
        return Err(Error::NotFound);
    }
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::VOLUNTEER_UNASSIGN, Outcome::Success)
                .client(&client.code)
                .object(volunteer_id)],
        )
        .await?;
    Ok(())
}

/// Logs a support contact (`support_log`: a volunteer assigned to the client; flagging a
/// follow-up also needs `followup_flag`). The note is sealed. Audited.
pub async fn log_support(
    state: &AppState,
    user: &Authz,
    client_id: &str,
    input: &SupportLogInput,
) -> Result<SupportLog, Error> {
    let client = user.require_client(client_id, Action::SupportLog).await?;
    let follow_up = input.needs_follow_up.unwrap_or(false);
    if follow_up && !user.can_on(Action::FollowupFlag, &client) {
        state
            .audit(user.event(actions::FOLLOWUP_FLAG, Outcome::Denied).client(&client.code))
            .await?;
        return Err(Error::Forbidden);
    }
    let today = state.clock.today();
    let coded = state.clients.get(&client.id, FieldClasses::NONE).await?;
    let mut errors = v::check(input);
    if let Some(kind) = &input.kind {
        v::one_of(&mut errors, "kind", kind, &SUPPORT_KINDS);
    }
    let on = v::past_date(&mut errors, "on", input.on.as_deref(), today);
    if let Some(opened) = crate::dates::parse_iso(&coded.opened_on) {
        v::not_before_opened(&mut errors, "on", on, opened);
    }
    v::finish(errors)?;
    let on: NaiveDate = on.unwrap_or(today);
    let id = uuid::Uuid::new_v4().to_string();
    let note = input.note.as_ref().filter(|n| !n.expose().trim().is_empty());
    let sealed = match note {
        Some(n) => Some(
            state
                .clients
                .key(&client.id)
                .await?
                .seal(TABLE, NOTE, &id, n.expose())?,
        ),
        None => None,
    };
    let mut tx = state.begin().await?;
    store::insert_support_log(
        &mut tx,
        NewSupportLog {
            id: &id,
            client_id: &client.id,
            volunteer_id: user.id(),
            kind: input.kind.as_deref().unwrap_or_default(),
            on,
            duration_minutes: input.duration_minutes,
            note_sealed: sealed,
            needs_follow_up: follow_up,
            at: state.clock.now(),
        },
    )
    .await?;
    let mut event = user
        .event(actions::SUPPORT_LOG, Outcome::Success)
        .client(&client.code)
        .object(&id);
    if follow_up {
        event = event.reason("needs_follow_up");
    }
    state.commit_audited(tx, &[event]).await?;
    let classes = crate::clients::service::field_classes(user, &client);
    support_logs(state, &client.id, classes, Some(user.id()))
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or(Error::NotFound)
}

/// The follow-ups flagged on the caller's clients (`followups_read`): a social worker's
/// own caseload, a supervisor's district. Open ones only unless `include_done`. Audited.
pub async fn follow_ups(state: &AppState, user: &Authz, include_done: bool) -> Result<Vec<SupportFollowUp>, Error> {
    user.require(Action::FollowupsRead, Resource::system()).await?;
    let scope = match user.principal().reach(user.areas()) {
        Reach::Areas(areas) => ListScope::Areas(areas),
        _ => ListScope::AssignedTo(user.id().to_owned()),
    };
    let items = store::follow_ups(&state.db, &scope, include_done).await?;
    state
        .audit(user.event(actions::FOLLOWUPS_READ, Outcome::Success))
        .await?;
    Ok(items)
}

/// Marks a follow-up done (`client_update` on its client: the assigned worker or a
/// supervisor of the district). Audited; 409 if it was done already.
pub async fn follow_up_done(state: &AppState, user: &Authz, log_id: &str) -> Result<SupportLog, Error> {
    let Some(client_id) = store::client_of_follow_up(&state.db, log_id).await? else {
        return Err(Error::NotFound);
    };
    let client = user.require_client(&client_id, Action::ClientUpdate).await?;
    let mut tx = state.begin().await?;
    if !store::mark_follow_up_done(&mut tx, log_id, user.id(), state.clock.now()).await? {
        return Err(Error::conflict("follow_up_done"));
    }
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::FOLLOWUP_DONE, Outcome::Success)
                .client(&client.code)
                .object(log_id)],
        )
        .await?;
    let classes = crate::clients::service::field_classes(user, &client);
    support_logs(state, &client.id, classes, None)
        .await?
        .into_iter()
        .find(|l| l.id == log_id)
        .ok_or(Error::NotFound)
}
