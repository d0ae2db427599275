//! Volunteers: their assignment to clients (by a supervisor of the client's district),
//! the support contacts they log, and the follow-ups they flag for the assigned worker.
//!
//! A support log's kind and date are coded (statistics count contacts); its note is
//! sealed with the client's data key in `support_logs.note_sealed`. A volunteer reads the
//! notes of their own logs only; case workers read every note with
//! `client_read_narrative`.

mod handlers;

use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use validator::Validate;

pub use handlers::api;

use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::auth::accounts;
use crate::authz::Authz;
use crate::clients::alerts::placeholders;
use crate::clients::validation::{self as v};
use crate::clients::{FieldClasses, Pii};
use crate::db::{flag, timestamp};
use crate::policy::{Action, Reach, Resource};
use crate::web::ApiError;

pub const SUPPORT_KINDS: [&str; 6] = [
    "home_visit",
    "phone_call",
    "accompaniment",
    "peer_group",
    "material_support",
    "other",
];

const TABLE: &str = "support_logs";
const NOTE: &str = "note";

/// A volunteer assigned to a client.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Assignment {
    pub user_id: String,
    pub display_name: String,
    pub assigned_by: Option<String>,
    pub assigned_at: String,
}

/// A logged support contact, as the caller may see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SupportLog {
    pub id: String,
    pub client_id: String,
    pub volunteer_id: String,
    pub kind: String,
    pub on: String,
    pub duration_minutes: Option<i64>,
    pub needs_follow_up: bool,
    pub follow_up_done: bool,
    pub follow_up_done_at: Option<String>,
    pub created_at: String,
    pub has_note: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Pii>,
}

/// A support contact flagged for follow-up, for the assigned worker's list: codes only.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SupportFollowUp {
    /// The support log's id (`POST /follow-ups/{id}/done`).
    pub id: String,
    pub client_id: String,
    pub client_code: String,
    pub kind: String,
    pub on: String,
    pub volunteer_id: String,
    pub volunteer: String,
    pub done: bool,
    pub done_at: Option<String>,
}

/// `POST /clients/{id}/volunteers`.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// An active volunteer whose area covers the client's area.
    #[validate(required)]
    pub user_id: Option<String>,
}

/// `POST /clients/{id}/support-logs`.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportLogInput {
    /// `home_visit`, `phone_call`, `accompaniment`, `peer_group`, `material_support`, `other`.
    #[validate(required)]
    pub kind: Option<String>,
    /// The day of the contact: not in the future, not before the case was opened.
    #[validate(required)]
    pub on: Option<String>,
    /// 1 to 1440.
    #[validate(range(min = 1, max = 1440, code = "out_of_range"))]
    pub duration_minutes: Option<i64>,
    /// Free text, sealed; at most 2000 characters.
    #[validate(length(max = 2000, code = "too_long"))]
    #[schema(value_type = Option<String>)]
    pub note: Option<Pii>,
    /// Ask the assigned worker to follow up.
    pub needs_follow_up: Option<bool>,
}

/// The volunteers assigned to a client.
pub async fn assignments(state: &AppState, client_id: &str) -> Result<Vec<Assignment>, ApiError> {
    let rows = sqlx::query(
        "SELECT v.user_id, u.display_name, v.assigned_by, v.assigned_at FROM client_volunteers v \
         JOIN users u ON u.id = v.user_id WHERE v.client_id = $1 ORDER BY v.assigned_at, v.user_id",
    )
    .bind(client_id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Assignment {
                user_id: r.try_get("user_id")?,
                display_name: r.try_get("display_name")?,
                assigned_by: r.try_get("assigned_by")?,
                assigned_at: r.try_get("assigned_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ApiError::from)
}

/// The support logs of a client, newest first. A note is opened when `classes.narrative`
/// allows it or the log is `own_by`'s.
pub async fn support_logs(
    state: &AppState,
    client_id: &str,
    classes: FieldClasses,
    own_by: Option<&str>,
) -> Result<Vec<SupportLog>, ApiError> {
    let rows = sqlx::query(
        "SELECT id, client_id, volunteer_id, kind, on_date, duration_minutes, note_sealed, needs_follow_up, \
         follow_up_done, follow_up_done_at, created_at FROM support_logs WHERE client_id = $1 \
         ORDER BY on_date DESC, created_at DESC, id",
    )
    .bind(client_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut logs = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get("id")?;
        let volunteer_id: String = row.try_get("volunteer_id")?;
        let sealed: Option<Vec<u8>> = row.try_get("note_sealed")?;
        let readable = classes.narrative || own_by == Some(volunteer_id.as_str());
        let note = match &sealed {
            Some(bytes) if readable => Some(state.clients.open(client_id, TABLE, NOTE, &id, bytes).await?),
            _ => None,
        };
        logs.push(SupportLog {
            id,
            client_id: row.try_get("client_id")?,
            volunteer_id,
            kind: row.try_get("kind")?,
            on: row.try_get("on_date")?,
            duration_minutes: row.try_get("duration_minutes")?,
            needs_follow_up: flag(&row, "needs_follow_up")?,
            follow_up_done: flag(&row, "follow_up_done")?,
            follow_up_done_at: row.try_get("follow_up_done_at")?,
            created_at: row.try_get("created_at")?,
            has_note: sealed.is_some(),
            note,
        });
    }
    Ok(logs)
}

/// Assigns a volunteer (`volunteer_assign`, a supervisor of the client's area). Answers
/// whether the assignment is new. Audited.
pub async fn assign(
    state: &AppState,
    user: &Authz,
    client_id: &str,
    input: &AssignInput,
) -> Result<(bool, Assignment), ApiError> {
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
        return Err(ApiError::field("user_id", "field-cases-invalid_volunteer"));
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
        .ok_or_else(ApiError::not_found)?;
    Ok((inserted, assignment))
}

/// Ends a volunteer's assignment (`volunteer_assign`). Audited; 404 if not assigned.
pub async fn unassign(state: &AppState, user: &Authz, client_id: &str, volunteer_id: &str) -> Result<(), ApiError> {
    let client = user.require_client(client_id, Action::VolunteerAssign).await?;
    let n = sqlx::query("DELETE FROM client_volunteers WHERE client_id = $1 AND user_id = $2")
        .bind(&client.id)
        .bind(volunteer_id)
        .execute(&state.db.pool)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(ApiError::not_found());
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
) -> Result<SupportLog, ApiError> {
    let client = user.require_client(client_id, Action::SupportLog).await?;
    let follow_up = input.needs_follow_up.unwrap_or(false);
    if follow_up && !user.can_on(Action::FollowupFlag, &client) {
        state
            .audit(user.event(actions::FOLLOWUP_FLAG, Outcome::Denied).client(&client.code))
            .await?;
        return Err(ApiError::forbidden());
    }
    let today = state.clock.today();
    let coded = state
        .clients
        .get(&client.id, FieldClasses::NONE)
        .await
        .map_err(crate::clients::service::store_error)?;
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
        Some(n) => Some(state.clients.seal(&client.id, TABLE, NOTE, &id, n.expose()).await?),
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
        .ok_or_else(ApiError::not_found)
}

/// The follow-ups flagged on the caller's clients (`followups_read`): a social worker's
/// own caseload, a supervisor's district. Open ones only unless `include_done`. Audited.
pub async fn follow_ups(state: &AppState, user: &Authz, include_done: bool) -> Result<Vec<SupportFollowUp>, ApiError> {
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
                done: flag(r, "follow_up_done")?,
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
pub async fn follow_up_done(state: &AppState, user: &Authz, log_id: &str) -> Result<SupportLog, ApiError> {
    let client_id: Option<String> =
        sqlx::query_scalar("SELECT client_id FROM support_logs WHERE id = $1 AND needs_follow_up = $2")
            .bind(log_id)
            .bind(true)
            .fetch_optional(&state.db.pool)
            .await?;
    let Some(client_id) = client_id else {
        return Err(ApiError::not_found());
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
        return Err(ApiError::new(StatusCode::CONFLICT, "follow_up_done"));
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
        .ok_or_else(ApiError::not_found)
}
