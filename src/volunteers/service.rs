//! Assigning volunteers, logging support and following it up: authorised on the client,
//! audited, each write one statement or one transaction. The API and the pages both call
//! these.

use chrono::NaiveDate;
use sqlx::Row;

use super::model::{AssignInput, Assignment, SUPPORT_KINDS, SupportFollowUp, SupportLog, SupportLogInput};
use super::store::{NOTE, TABLE, assignments, support_logs};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::auth::accounts;
use crate::authz::Authz;
use crate::clients::FieldClasses;
use crate::clients::alerts::placeholders;
use crate::clients::validation::{self as v};
use crate::db::timestamp;
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
    let inserted = sqlx::query(
        "INSERT INTO client_volunteers (client_id, user_id, assigned_by, assigned_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (client_id, user_id) DO NOTHING",
    )
    .bind(&client.id)
    .bind(&volunteer.id)
    .bind(user.id())
    .bind(timestamp(now))
    .execute(&state.db.pool)
    .await?
    .rows_affected()
        > 0;
    state
        .audit(
            user.event(actions::VOLUNTEER_ASSIGN, Outcome::Success)
                .client(&client.code)
                .object(&volunteer.id),
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
    let n = sqlx::query("DELETE FROM client_volunteers WHERE client_id = $1 AND user_id = $2")
        .bind(&client.id)
        .bind(volunteer_id)
        .execute(&state.db.pool)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::NotFound);
    }
    state
        .audit(
            user.event(actions::VOLUNTEER_UNASSIGN, Outcome::Success)
                .client(&client.code)
                .object(volunteer_id),
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
    let now = state.clock.now();
    sqlx::query(
        "INSERT INTO support_logs (id, client_id, volunteer_id, kind, on_date, duration_minutes, note_sealed, \
         needs_follow_up, follow_up_done, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(&client.id)
    .bind(user.id())
    .bind(input.kind.as_deref().unwrap_or_default())
    .bind(on.to_string())
    .bind(input.duration_minutes)
    .bind(sealed)
    .bind(follow_up)
    .bind(false)
    .bind(timestamp(now))
    .execute(&state.db.pool)
    .await?;
    let mut event = user
        .event(actions::SUPPORT_LOG, Outcome::Success)
        .client(&client.code)
        .object(&id);
    if follow_up {
        event = event.reason("needs_follow_up");
    }
    state.audit(event).await?;
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
    // Open follow-ups: done IN (false, false); with the done ones: done IN (false, true).
    let select = "SELECT s.id, s.client_id, c.code, s.kind, s.on_date, s.volunteer_id, u.display_name, \
                  s.follow_up_done, s.follow_up_done_at FROM support_logs s JOIN clients c ON c.id = s.client_id \
                  JOIN users u ON u.id = s.volunteer_id WHERE s.needs_follow_up = $1 AND s.follow_up_done IN ($2, $3)";
    let order = " ORDER BY s.on_date DESC, s.created_at DESC, s.id";
    let rows = match user.principal().reach(user.areas()) {
        Reach::Areas(areas) => {
            if areas.is_empty() {
                Vec::new()
            } else {
                let sql = format!("{select} AND c.area IN ({}){order}", placeholders(4, areas.len()));
                let mut query = sqlx::query(&sql).bind(true).bind(false).bind(include_done);
                for area in &areas {
                    query = query.bind(area);
                }
                query.fetch_all(&state.db.pool).await?
            }
        }
        _ => {
            let sql = format!("{select} AND c.assigned_worker = $4{order}");
            sqlx::query(&sql)
                .bind(true)
                .bind(false)
                .bind(include_done)
                .bind(user.id())
                .fetch_all(&state.db.pool)
                .await?
        }
    };
    let items = rows
        .iter()
        .map(|r| {
            Ok(SupportFollowUp {
                id: r.try_get("id")?,
                client_id: r.try_get("client_id")?,
                client_code: r.try_get("code")?,
                kind: r.try_get("kind")?,
                on: r.try_get("on_date")?,
                volunteer_id: r.try_get("volunteer_id")?,
                volunteer: r.try_get("display_name")?,
                done: r.try_get::<crate::db::Flag, _>("follow_up_done")?.0,
                done_at: r.try_get("follow_up_done_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    state
        .audit(user.event(actions::FOLLOWUPS_READ, Outcome::Success))
        .await?;
    Ok(items)
}

/// Marks a follow-up done (`client_update` on its client: the assigned worker or a
/// supervisor of the district). Audited; 409 if it was done already.
pub async fn follow_up_done(state: &AppState, user: &Authz, log_id: &str) -> Result<SupportLog, Error> {
    let client_id: Option<String> =
        sqlx::query_scalar("SELECT client_id FROM support_logs WHERE id = $1 AND needs_follow_up = $2")
            .bind(log_id)
            .bind(true)
            .fetch_optional(&state.db.pool)
            .await?;
    let Some(client_id) = client_id else {
        return Err(Error::NotFound);
    };
    let client = user.require_client(&client_id, Action::ClientUpdate).await?;
    let n = sqlx::query(
        "UPDATE support_logs SET follow_up_done = $1, follow_up_done_at = $2, follow_up_done_by = $3 \
         WHERE id = $4 AND follow_up_done = $5",
    )
    .bind(true)
    .bind(timestamp(state.clock.now()))
    .bind(user.id())
    .bind(log_id)
    .bind(false)
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(Error::conflict("follow_up_done"));
    }
    state
        .audit(
            user.event(actions::FOLLOWUP_DONE, Outcome::Success)
                .client(&client.code)
                .object(log_id),
        )
        .await?;
    let classes = crate::clients::service::field_classes(user, &client);
    support_logs(state, &client.id, classes, None)
        .await?
        .into_iter()
        .find(|l| l.id == log_id)
        .ok_or(Error::NotFound)
}
