//! What the policies need to know about one client, read from the database.

use sqlx::Row;

use crate::AppState;
use crate::db::timestamp;
use crate::policy::ClientFacts;

/// The client's code and facts, or `None` if it does not exist.
pub(super) async fn of(state: &AppState, client_id: &str) -> Result<Option<(String, ClientFacts)>, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT code, area, assigned_worker FROM clients WHERE id = $1")
        .bind(client_id)
        .fetch_optional(&state.db.pool)
        .await?
    else {
        return Ok(None);
    };
    let volunteers: Vec<String> = sqlx::query_scalar("SELECT user_id FROM client_volunteers WHERE client_id = $1")
        .bind(client_id)
        .fetch_all(&state.db.pool)
        .await?;
    let break_glass: Vec<String> =
        sqlx::query_scalar("SELECT user_id FROM break_glass_grants WHERE client_id = $1 AND expires_at > $2")
            .bind(client_id)
            .bind(timestamp(state.clock.now()))
            .fetch_all(&state.db.pool)
            .await?;
    let consents: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM consents WHERE client_id = $1 AND scope = 'volunteer_contact' \
         AND withdrawn_on IS NULL AND given_on <= $2 AND (expires_on IS NULL OR expires_on >= $2)",
    )
    .bind(client_id)
    .bind(state.clock.today().to_string())
    .fetch_one(&state.db.pool)
    .await?;
    let facts = ClientFacts {
        client_id: client_id.to_owned(),
        area: row.try_get("area")?,
        assigned_worker: row.try_get("assigned_worker")?,
        volunteers,
        break_glass,
        contact_consent: consents > 0,
    };
    Ok(Some((row.try_get("code")?, facts)))
}
