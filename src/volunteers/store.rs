//! The volunteers' SQL: assignments, support logs and their follow-ups. A note is
//! opened with the client's data key only for the callers the service says may read it.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::model::{Assignment, SupportFollowUp, SupportLog};
use crate::AppState;
use crate::clients::{FieldClasses, ListScope};
use crate::db::{Db, DbDate, Flag, Sql, timestamp};
use crate::error::Error;

pub(super) const TABLE: &str = "support_logs";
pub(super) const NOTE: &str = "note";

/// The volunteers assigned to a client.
pub async fn assignments(state: &AppState, client_id: &str) -> Result<Vec<Assignment>, Error> {
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
        .map_err(Error::from)
}

/// The support logs of a client, newest first. A note is opened when `classes.narrative`
/// allows it or the log is `own_by`'s.
pub async fn support_logs(
    state: &AppState,
    client_id: &str,
    classes: FieldClasses,
    own_by: Option<&str>,
) -> Result<Vec<SupportLog>, Error> {
    let rows = sqlx::query(
        "SELECT id, client_id, volunteer_id, kind, on_date, duration_minutes, note_sealed, needs_follow_up, \
         follow_up_done, follow_up_done_at, created_at FROM support_logs WHERE client_id = $1 \
         ORDER BY on_date DESC, created_at DESC, id",
    )
    .bind(client_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut logs = Vec::with_capacity(rows.len());
    let mut key = None;
    for row in rows {
        let id: String = row.try_get("id")?;
        let volunteer_id: String = row.try_get("volunteer_id")?;
        let sealed: Option<Vec<u8>> = row.try_get("note_sealed")?;
        let readable = classes.narrative || own_by == Some(volunteer_id.as_str());
        let note = match &sealed {
            Some(bytes) if readable => {
                let key = match &mut key {
                    Some(key) => key,
                    empty => empty.insert(state.clients.key(client_id).await?),
                };
                Some(key.open(TABLE, NOTE, &id, bytes)?)
            }
            _ => None,
        };
        logs.push(SupportLog {
            id,
            client_id: row.try_get("client_id")?,
            volunteer_id,
            kind: row.try_get("kind")?,
            on: row.try_get("on_date")?,
            duration_minutes: row.try_get("duration_minutes")?,
            needs_follow_up: row.try_get::<crate::db::Flag, _>("needs_follow_up")?.0,
            follow_up_done: row.try_get::<crate::db::Flag, _>("follow_up_done")?.0,
            follow_up_done_at: row.try_get("follow_up_done_at")?,
            created_at: row.try_get("created_at")?,
            has_note: sealed.is_some(),
            note,
        });
    }
    Ok(logs)
}

/// Assigns a volunteer to a client; `false` when she was already assigned.
pub async fn assign(
    conn: &mut sqlx::AnyConnection,
    client_id: &str,
    volunteer_id: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO client_volunteers (client_id, user_id, assigned_by, assigned_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (client_id, user_id) DO NOTHING",
    )
    .bind(client_id)
    .bind(volunteer_id)
    .bind(by)
    .bind(timestamp(at))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}

/// Ends an assignment; `false` when there was none.
pub async fn unassign(
    conn: &mut sqlx::AnyConnection,
    client_id: &str,
    volunteer_id: &str,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM client_volunteers WHERE client_id = $1 AND user_id = $2")
        .bind(client_id)
        .bind(volunteer_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

/// A support log to write, its note already sealed.
pub struct NewSupportLog<'a> {
    pub id: &'a str,
    pub client_id: &'a str,
    pub volunteer_id: &'a str,
    pub kind: &'a str,
    pub on: NaiveDate,
    pub duration_minutes: Option<i64>,
    pub note_sealed: Option<Vec<u8>>,
    pub needs_follow_up: bool,
    pub at: DateTime<Utc>,
}

pub async fn insert_support_log(conn: &mut sqlx::AnyConnection, log: NewSupportLog<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO support_logs (id, client_id, volunteer_id, kind, on_date, duration_minutes, note_sealed, \
         needs_follow_up, follow_up_done, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(log.id)
    .bind(log.client_id)
    .bind(log.volunteer_id)
    .bind(log.kind)
    .bind(DbDate(log.on))
    .bind(log.duration_minutes)
    .bind(log.note_sealed)
    .bind(log.needs_follow_up)
    .bind(false)
    .bind(timestamp(log.at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Logs flagged for a follow-up on the clients of `scope`, newest first; open ones only
/// unless `include_done`.
pub async fn follow_ups(db: &Db, scope: &ListScope, include_done: bool) -> Result<Vec<SupportFollowUp>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT s.id, s.client_id, c.code, s.kind, s.on_date, s.volunteer_id, u.display_name, \
         s.follow_up_done, s.follow_up_done_at FROM support_logs s JOIN clients c ON c.id = s.client_id \
         JOIN users u ON u.id = s.volunteer_id WHERE s.needs_follow_up = ",
    );
    sql.bind(true)
        .filter(" AND s.follow_up_done = ", (!include_done).then_some(false));
    sql.push(" AND ");
    if !crate::clients::push_scope(&mut sql, scope) {
        return Ok(Vec::new());
    }
    sql.push(" ORDER BY s.on_date DESC, s.created_at DESC, s.id");
    sql.fetch_all(&db.pool)
        .await?
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
                done: r.try_get::<Flag, _>("follow_up_done")?.0,
                done_at: r.try_get("follow_up_done_at")?,
            })
        })
        .collect()
}

/// The client of a log flagged for a follow-up.
pub async fn client_of_follow_up(db: &Db, log_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT client_id FROM support_logs WHERE id = $1 AND needs_follow_up = $2")
        .bind(log_id)
        .bind(true)
        .fetch_optional(&db.pool)
        .await
}

/// Marks a follow-up done; `false` when it was done already.
pub async fn mark_follow_up_done(
    conn: &mut sqlx::AnyConnection,
    log_id: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE support_logs SET follow_up_done = $1, follow_up_done_at = $2, follow_up_done_by = $3 \
         WHERE id = $4 AND follow_up_done = $5",
    )
    .bind(true)
    .bind(timestamp(at))
    .bind(by)
    .bind(log_id)
    .bind(false)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(updated > 0)
}
