//! Alerts for the people responsible for a case: the supervisors of the client's district
//! and the assigned worker. An alert is a coded kind and a client id, never content.
//!
//! Kinds raised here: [`CHILD_PROTECTION`] (under 18 at intake or after a corrected birth
//! date), [`CLOSURE_REVIEW`] (a worker closed a case; a supervisor reviews it),
//! [`DATA_PROCESSING_WITHDRAWN`] (the client withdrew consent to processing: erasure is
//! to be considered), [`POSSIBLE_DUPLICATE`] (a case opened elsewhere matches this
//! client). Other features may raise their own kinds with [`raise`].

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::db::{Db, Sql, timestamp};

pub const CHILD_PROTECTION: &str = "child_protection";
pub const CLOSURE_REVIEW: &str = "closure_review";
pub const DATA_PROCESSING_WITHDRAWN: &str = "data_processing_withdrawn";
/// A case opened in another area (its code in `related_code`) matches this client's name
/// and birth date or ID number. The worker who opened it is never told (that a person is
/// a client at all is the most sensitive fact held); this area's supervisors are, and may
/// start a transfer.
pub const POSSIBLE_DUPLICATE: &str = "possible_duplicate";

/// One alert as listed: codes and dates only.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub id: String,
    pub kind: String,
    pub client_id: String,
    pub client_code: String,
    /// The client's area now.
    pub area: String,
    pub raised_at: String,
    /// A user id, or `system`.
    pub raised_by: Option<String>,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    /// The code of a second case the alert is about ([`POSSIBLE_DUPLICATE`]).
    pub related_code: Option<String>,
}

/// Whose alerts to list.
#[derive(Debug, Clone)]
pub enum AlertScope {
    /// Clients in these areas (a supervisor's district, from `Areas::within`).
    Areas(Vec<String>),
    /// Clients assigned to this worker.
    AssignedTo(String),
}

/// Raises an alert inside the caller's transaction, so it commits with the change that
/// caused it. Returns the alert id.
pub async fn raise(
    conn: &mut AnyConnection,
    client_id: &str,
    kind: &str,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    insert(conn, client_id, kind, by, None, now).await
}

/// Raises an alert that points at a second case by its code, inside the caller's
/// transaction.
pub async fn raise_related(
    conn: &mut AnyConnection,
    client_id: &str,
    kind: &str,
    by: Option<&str>,
    related_code: &str,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    insert(conn, client_id, kind, by, Some(related_code), now).await
}

async fn insert(
    conn: &mut AnyConnection,
    client_id: &str,
    kind: &str,
    by: Option<&str>,
    related_code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO case_alerts (id, client_id, kind, raised_at, raised_by, related_code) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(client_id)
    .bind(kind)
    .bind(timestamp(now))
    .bind(by)
    .bind(related_code)
    .execute(conn)
    .await?;
    Ok(id)
}

const SELECT: &str = "SELECT a.id, a.kind, a.client_id, c.code, c.area, a.raised_at, a.raised_by, a.acknowledged_at, \
     a.acknowledged_by, a.related_code FROM case_alerts a JOIN clients c ON c.id = a.client_id";

fn decode(row: &sqlx::any::AnyRow) -> Result<Alert, sqlx::Error> {
    Ok(Alert {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        client_id: row.try_get("client_id")?,
        client_code: row.try_get("code")?,
        area: row.try_get("area")?,
        raised_at: row.try_get("raised_at")?,
        raised_by: row.try_get("raised_by")?,
        acknowledged_at: row.try_get("acknowledged_at")?,
        acknowledged_by: row.try_get("acknowledged_by")?,
        related_code: row.try_get("related_code")?,
    })
}

/// Alerts of a scope, newest first; acknowledged ones only when asked.
pub async fn list(db: &Db, scope: &AlertScope, include_acknowledged: bool) -> Result<Vec<Alert>, sqlx::Error> {
    let mut sql = Sql::new(&format!("{SELECT} WHERE "));
    match scope {
        AlertScope::Areas(areas) if areas.is_empty() => return Ok(Vec::new()),
        AlertScope::Areas(areas) => sql
            .push("c.area IN (")
            .bind_all(areas.iter().map(String::as_str))
            .push(")"),
        AlertScope::AssignedTo(user) => sql.push("c.assigned_worker = ").bind(user.as_str()),
    };
    if !include_acknowledged {
        sql.push(" AND a.acknowledged_at IS NULL");
    }
    sql.push(" ORDER BY a.raised_at DESC, a.id");
    sql.fetch_all(&db.pool).await?.iter().map(decode).collect()
}

/// One alert, if it exists.
pub async fn get(db: &Db, id: &str) -> Result<Option<Alert>, sqlx::Error> {
    let row = sqlx::query(&format!("{SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Marks an alert as seen; false if it was already.
pub async fn acknowledge(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE case_alerts SET acknowledged_at = $1, acknowledged_by = $2 WHERE id = $3 AND acknowledged_at IS NULL",
    )
    .bind(timestamp(now))
    .bind(by)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}
