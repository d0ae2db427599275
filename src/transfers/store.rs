//! SQL of transfers. The acceptance is one transaction: the client's area and worker,
//! her area history, the end of her volunteer assignments and the transfer's state.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::model::TransferStatus;
use crate::db::{Db, Sql, is_unique_violation, timestamp};

/// A transfer row as stored, its sealed texts with the client's wrapped key.
pub struct StoredTransfer {
    pub id: String,
    pub client_id: String,
    pub client_code: String,
    /// The client's assigned worker now.
    pub assigned_worker: Option<String>,
    pub from_area: String,
    pub to_area: String,
    pub status: TransferStatus,
    pub reason_sealed: Vec<u8>,
    pub requested_by: String,
    pub requested_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub note_sealed: Option<Vec<u8>>,
    pub effective_on: Option<String>,
    pub wrapped_key: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum TransferStoreError {
    /// The client already has an open transfer request.
    #[error("the client already has an open transfer")]
    Pending,
    /// The transfer is no longer `requested`, or the client is no longer in its sending
    /// area.
    #[error("the transfer was already decided or the client moved")]
    Stale,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const SELECT: &str = "SELECT t.id, t.client_id, c.code, c.assigned_worker, t.from_area, t.to_area, t.status, t.reason_sealed, \
     t.requested_by, t.requested_at, t.decided_by, t.decided_at, t.note_sealed, t.effective_on, k.wrapped_key \
     FROM client_transfers t JOIN clients c ON c.id = t.client_id JOIN client_keys k ON k.client_id = t.client_id";

fn decode(row: &AnyRow) -> Result<StoredTransfer, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(StoredTransfer {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        client_code: row.try_get("code")?,
        assigned_worker: row.try_get("assigned_worker")?,
        from_area: row.try_get("from_area")?,
        to_area: row.try_get("to_area")?,
        status: TransferStatus::parse(&status).ok_or_else(|| sqlx::Error::Decode("transfer status".into()))?,
        reason_sealed: row.try_get("reason_sealed")?,
        requested_by: row.try_get("requested_by")?,
        requested_at: row.try_get("requested_at")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get("decided_at")?,
        note_sealed: row.try_get("note_sealed")?,
        effective_on: row.try_get("effective_on")?,
        wrapped_key: row.try_get("wrapped_key")?,
    })
}

/// A new request, as the service validated it.
pub struct NewTransfer<'a> {
    pub id: &'a str,
    pub client_id: &'a str,
    pub from_area: &'a str,
    pub to_area: &'a str,
    pub reason_sealed: &'a [u8],
    pub requested_by: &'a str,
}

pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    new: &NewTransfer<'_>,
    now: DateTime<Utc>,
) -> Result<(), TransferStoreError> {
    let inserted = sqlx::query(
        "INSERT INTO client_transfers (id, client_id, from_area, to_area, status, reason_sealed, requested_by, \
         requested_at) VALUES ($1, $2, $3, $4, 'requested', $5, $6, $7)",
    )
    .bind(new.id)
    .bind(new.client_id)
    .bind(new.from_area)
    .bind(new.to_area)
    .bind(new.reason_sealed)
    .bind(new.requested_by)
    .bind(timestamp(now))
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(TransferStoreError::Pending),
        Err(e) => Err(e.into()),
    }
}

pub async fn get(db: &Db, id: &str) -> Result<Option<StoredTransfer>, sqlx::Error> {
    let row = sqlx::query(&format!("{SELECT} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Whose transfers to list.
pub enum Scope<'a> {
    /// Into or out of these areas (a supervisor's area and everything inside it).
    Areas(&'a [String]),
    /// Asked by this worker, or about a client assigned to her.
    Worker(&'a str),
}

/// Appends the scope's condition; false when the scope holds nothing.
fn push_scope<'q>(sql: &mut Sql<'q>, scope: &Scope<'q>) -> bool {
    match scope {
        Scope::Areas([]) => return false,
        // The receiving side sees a request while it waits and once accepted; a declined
        // or withdrawn one is the sending side's business only.
        Scope::Areas(areas) => sql
            .push("(t.from_area IN (")
            .bind_all(areas.iter().map(String::as_str))
            .push(") OR (t.to_area IN (")
            .bind_all(areas.iter().map(String::as_str))
            .push(") AND t.status IN ('requested', 'accepted')))"),
        Scope::Worker(user) => sql
            .push("(t.requested_by = ")
            .bind(*user)
            .push(" OR c.assigned_worker = ")
            .bind(*user)
            .push(")"),
    };
    true
}

/// How many transfers of a scope wait for a decision.
pub async fn count_waiting(db: &Db, scope: &Scope<'_>) -> Result<i64, sqlx::Error> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM client_transfers t JOIN clients c ON c.id = t.client_id WHERE ");
    if !push_scope(&mut sql, scope) {
        return Ok(0);
    }
    sql.push(" AND t.status = 'requested'");
    sql.fetch_one(&db.pool).await?.try_get(0)
}

/// One page of transfers, newest first: one query whatever the page holds.
pub async fn list(
    db: &Db,
    scope: &Scope<'_>,
    status: Option<TransferStatus>,
    limit: i64,
    offset: i64,
) -> Result<Vec<StoredTransfer>, sqlx::Error> {
    let mut sql = Sql::new(&format!("{SELECT} WHERE "));
    if !push_scope(&mut sql, scope) {
        return Ok(Vec::new());
    }
    sql.filter(" AND t.status = ", status.map(TransferStatus::as_str))
        .push(" ORDER BY t.requested_at DESC, t.id LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    sql.fetch_all(&db.pool).await?.iter().map(decode).collect()
}

/// The day the client came to her current area.
pub async fn current_area_since(db: &Db, client_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT MAX(from_date) FROM client_areas WHERE client_id = $1")
        .bind(client_id)
        .fetch_one(&db.pool)
        .await
}

/// How a request is closed.
pub struct Decision<'a> {
    pub transfer_id: &'a str,
    pub by: &'a str,
    pub note_sealed: Option<&'a [u8]>,
}

/// Accepts a transfer: the client moves to the receiving area from `on`, with `worker`
/// (or none), her area history gains a row, her volunteer assignments (people of the
/// area she leaves) end, and the transfer is closed — all or nothing. `Stale` when the
/// transfer was decided meanwhile or the client is no longer in the sending area.
pub async fn accept(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    decision: &Decision<'_>,
    worker: Option<&str>,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), TransferStoreError> {
    let ts = timestamp(now);
    // Claim the request first (a write), so two deciders serialise on it.
    let row = sqlx::query(
        "UPDATE client_transfers SET status = 'accepted', decided_by = $1, decided_at = $2, note_sealed = $3, \
         effective_on = $4 WHERE id = $5 AND status = 'requested' RETURNING client_id, from_area, to_area",
    )
    .bind(decision.by)
    .bind(&ts)
    .bind(decision.note_sealed)
    .bind(on.to_string())
    .bind(decision.transfer_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Err(TransferStoreError::Stale);
    };
    let client_id: String = row.try_get("client_id")?;
    let from_area: String = row.try_get("from_area")?;
    let to_area: String = row.try_get("to_area")?;
    let moved = sqlx::query(
        "UPDATE clients SET area = $1, assigned_worker = $2, version = version + 1, updated_at = $3 \
         WHERE id = $4 AND area = $5 AND status = 'open'",
    )
    .bind(&to_area)
    .bind(worker)
    .bind(&ts)
    .bind(&client_id)
    .bind(&from_area)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if moved == 0 {
        return Err(TransferStoreError::Stale);
    }
    sqlx::query("INSERT INTO client_areas (id, client_id, area, from_date, moved_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&client_id)
        .bind(&to_area)
        .bind(on.to_string())
        .bind(&ts)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM client_volunteers WHERE client_id = $1")
        .bind(&client_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Declines or cancels a request; `Stale` when it is no longer `requested`.
pub async fn close(
    conn: &mut sqlx::AnyConnection,
    decision: &Decision<'_>,
    status: TransferStatus,
    now: DateTime<Utc>,
) -> Result<(), TransferStoreError> {
    let n = sqlx::query(
        "UPDATE client_transfers SET status = $1, decided_by = $2, decided_at = $3, note_sealed = $4 \
         WHERE id = $5 AND status = 'requested'",
    )
    .bind(status.as_str())
    .bind(decision.by)
    .bind(timestamp(now))
    .bind(decision.note_sealed)
    .bind(decision.transfer_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(TransferStoreError::Stale);
    }
    Ok(())
}
