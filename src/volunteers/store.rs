//! Reading assignments and support logs; a note is opened with the client's data key
//! only for the callers the service says may read it.

use sqlx::Row;

use super::model::{Assignment, SupportLog};
use crate::AppState;
use crate::clients::FieldClasses;
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
