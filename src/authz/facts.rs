//! What the policies need to know about clients, read from the database: four queries
//! for up to [`CHUNK`] clients, whether one is asked about or a whole list.

use std::collections::HashMap;

use sqlx::Row;

use crate::AppState;
use crate::db::{Sql, timestamp};
use crate::policy::ClientFacts;

/// Clients read per round of queries: far below either engine's limit on bound values
/// (SQLite 32,766, PostgreSQL 65,535), so one list never makes an oversized statement.
const CHUNK: usize = 500;

/// The code and facts of each client of `ids` that exists, keyed by id; ids that do not
/// exist are absent.
pub(super) async fn of_many(
    state: &AppState,
    ids: &[&str],
) -> Result<HashMap<String, (String, ClientFacts)>, sqlx::Error> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        read_chunk(state, chunk, &mut found).await?;
    }
    Ok(found)
}

/// The client's code and facts, or `None` if it does not exist.
pub(super) async fn of(state: &AppState, client_id: &str) -> Result<Option<(String, ClientFacts)>, sqlx::Error> {
    Ok(of_many(state, &[client_id]).await?.remove(client_id))
}

/// `SELECT {columns_and_table} WHERE {id_column} IN (ids…)`, for more conditions to be
/// pushed after it.
fn among<'q>(columns_and_table: &str, id_column: &str, ids: &[&'q str]) -> Sql<'q> {
    let mut sql = Sql::new(&format!("SELECT {columns_and_table} WHERE {id_column} IN ("));
    sql.bind_all(ids.iter().copied()).push(")");
    sql
}

async fn read_chunk(
    state: &AppState,
    ids: &[&str],
    found: &mut HashMap<String, (String, ClientFacts)>,
) -> Result<(), sqlx::Error> {
    let pool = &state.db.pool;
    let mut existing = 0;
    for row in among("id, code, area, assigned_worker FROM clients", "id", ids)
        .fetch_all(pool)
        .await?
    {
        let id: String = row.try_get("id")?;
        let facts = ClientFacts {
            client_id: id.clone(),
            area: row.try_get("area")?,
            assigned_worker: row.try_get("assigned_worker")?,
            ..ClientFacts::default()
        };
        found.insert(id, (row.try_get("code")?, facts));
        existing += 1;
    }
    if existing == 0 {
        return Ok(());
    }
    for row in among("client_id, user_id FROM client_volunteers", "client_id", ids)
        .fetch_all(pool)
        .await?
    {
        if let Some((_, facts)) = found.get_mut(&row.try_get::<String, _>("client_id")?) {
            facts.volunteers.push(row.try_get("user_id")?);
        }
    }
    let mut grants = among("client_id, user_id FROM break_glass_grants", "client_id", ids);
    grants.push(" AND expires_at > ").bind(timestamp(state.clock.now()));
    for row in grants.fetch_all(pool).await? {
        if let Some((_, facts)) = found.get_mut(&row.try_get::<String, _>("client_id")?) {
            facts.break_glass.push(row.try_get("user_id")?);
        }
    }
    let today = state.clock.today().to_string();
    let mut consents = among("DISTINCT client_id FROM consents", "client_id", ids);
    consents
        .push(" AND scope = 'volunteer_contact' AND withdrawn_on IS NULL AND given_on <= ")
        .bind(today.clone())
        .push(" AND (expires_on IS NULL OR expires_on >= ")
        .bind(today)
        .push(")");
    for row in consents.fetch_all(pool).await? {
        if let Some((_, facts)) = found.get_mut(&row.try_get::<String, _>("client_id")?) {
            facts.contact_consent = true;
        }
    }
    Ok(())
}
