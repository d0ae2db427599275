//! The grants table.

use sqlx::Row;

use super::model::Grant;
use crate::db::{Db, Sql};

pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    user_id: &str,
    client_id: &str,
    reason: &str,
    granted_at: &str,
    expires_at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO break_glass_grants (id, user_id, client_id, reason, granted_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(client_id)
    .bind(reason)
    .bind(granted_at)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Grants newest first (at most 1000), only those in force at `now` if `active_only`.
/// `scope` (a user id and areas) keeps that user's own grants, those on clients assigned
/// to her and those on clients of these areas; `None` keeps them all.
pub async fn list(
    db: &Db,
    now: &str,
    active_only: bool,
    scope: Option<(&str, &[String])>,
) -> Result<Vec<Grant>, sqlx::Error> {
    // Who may see which rows is decided here in SQL.
    let mut sql = Sql::new(
        "SELECT g.id, g.client_id, c.code, g.user_id, u.username, g.reason, g.granted_at, g.expires_at \
         FROM break_glass_grants g JOIN clients c ON c.id = g.client_id JOIN users u ON u.id = g.user_id WHERE 1 = 1",
    );
    sql.filter(" AND g.expires_at > ", active_only.then_some(now));
    if let Some((user_id, areas)) = scope {
        sql.push(" AND (c.assigned_worker = ")
            .bind(user_id)
            .push(" OR g.user_id = ")
            .bind(user_id);
        if !areas.is_empty() {
            sql.push(" OR c.area IN (")
                .bind_all(areas.iter().map(String::as_str))
                .push(")");
        }
        sql.push(")");
    }
    sql.push(" ORDER BY g.granted_at DESC, g.id LIMIT 1000");
    let rows = sql.fetch_all(&db.pool).await?;
    let mut grants = Vec::with_capacity(rows.len());
    for row in &rows {
        let expires_at: String = row.try_get("expires_at")?;
        grants.push(Grant {
            id: row.try_get("id")?,
            client_id: row.try_get("client_id")?,
            client_code: row.try_get("code")?,
            user_id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            reason: row.try_get("reason")?,
            granted_at: row.try_get("granted_at")?,
            active: expires_at.as_str() > now,
            expires_at,
        });
    }
    Ok(grants)
}
