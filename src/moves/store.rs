//! SQL of moves. Each batch is one transaction: every client's area and area history, or
//! every account's scope, or nothing.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use crate::db::{Db, Sql, timestamp};

/// A client found by code: where she is and since when.
pub struct Located {
    pub id: String,
    pub code: String,
    pub area: String,
    /// The first day of her current area (`YYYY-MM-DD`).
    pub since: Option<String>,
}

/// A staff account found by username or by area.
pub struct Account {
    pub id: String,
    pub username: String,
    pub role: String,
    pub area: String,
}

/// One row to move: the id, the area it must still be in, and the area it goes to.
pub struct Move<'a> {
    pub id: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum MoveStoreError {
    /// A row was moved or changed meanwhile; nothing was written.
    #[error("a row moved meanwhile")]
    Stale,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The clients with these codes, in one query.
pub async fn clients_by_code(db: &Db, codes: &[&str]) -> Result<Vec<Located>, sqlx::Error> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "SELECT c.id, c.code, c.area, (SELECT MAX(h.from_date) FROM client_areas h WHERE h.client_id = c.id) AS since \
         FROM clients c WHERE c.code IN (",
    );
    sql.bind_all(codes.iter().copied()).push(")");
    sql.fetch_all(&db.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(Located {
                id: row.try_get("id")?,
                code: row.try_get("code")?,
                area: row.try_get("area")?,
                since: row.try_get("since")?,
            })
        })
        .collect()
}

/// One page of the clients of these areas, by area then code, and how many there are.
pub async fn clients_in(db: &Db, areas: &[&str], limit: i64, offset: i64) -> Result<(Vec<Located>, i64), sqlx::Error> {
    if areas.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let mut count = Sql::new("SELECT COUNT(*) AS n FROM clients c WHERE c.area IN (");
    count.bind_all(areas.iter().copied()).push(")");
    let total: i64 = count.fetch_one(&db.pool).await?.try_get("n")?;
    let mut sql = Sql::new("SELECT c.id, c.code, c.area, NULL AS since FROM clients c WHERE c.area IN (");
    sql.bind_all(areas.iter().copied())
        .push(") ORDER BY c.area, c.code LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = sql
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(Located {
                id: row.try_get("id")?,
                code: row.try_get("code")?,
                area: row.try_get("area")?,
                since: None,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok((rows, total))
}

fn account(row: &sqlx::any::AnyRow) -> Result<Account, sqlx::Error> {
    Ok(Account {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: row.try_get("role")?,
        area: row.try_get("area")?,
    })
}

/// The accounts with these usernames, in one query.
pub async fn accounts_by_username(db: &Db, usernames: &[&str]) -> Result<Vec<Account>, sqlx::Error> {
    if usernames.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT id, username, role, area FROM users WHERE username IN (");
    sql.bind_all(usernames.iter().copied()).push(")");
    sql.fetch_all(&db.pool).await?.iter().map(account).collect()
}

/// The accounts scoped to these areas, by area then username.
pub async fn accounts_in(db: &Db, areas: &[&str]) -> Result<Vec<Account>, sqlx::Error> {
    if areas.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT id, username, role, area FROM users WHERE area IN (");
    sql.bind_all(areas.iter().copied()).push(") ORDER BY area, username");
    sql.fetch_all(&db.pool).await?.iter().map(account).collect()
}

/// Moves clients: each one's area, and a row of her area history from `on`. `Stale`
/// (nothing written) when one of them is no longer in the area she was found in.
pub async fn move_clients(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    moves: &[Move<'_>],
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), MoveStoreError> {
    let ts = timestamp(now);
    let on = on.to_string();
    for m in moves {
        let moved = sqlx::query(
            "UPDATE clients SET area = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND area = $4",
        )
        .bind(m.to)
        .bind(&ts)
        .bind(m.id)
        .bind(m.from)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Err(MoveStoreError::Stale);
        }
        sqlx::query("INSERT INTO client_areas (id, client_id, area, from_date, moved_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(m.id)
            .bind(m.to)
            .bind(&on)
            .bind(&ts)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Moves staff accounts' scopes. `Stale` (nothing written) when one of them changed area
/// meanwhile.
pub async fn move_accounts(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    moves: &[Move<'_>],
    now: DateTime<Utc>,
) -> Result<(), MoveStoreError> {
    let ts = timestamp(now);
    for m in moves {
        let moved = sqlx::query("UPDATE users SET area = $1, updated_at = $2 WHERE id = $3 AND area = $4")
            .bind(m.to)
            .bind(&ts)
            .bind(m.id)
            .bind(m.from)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if moved == 0 {
            return Err(MoveStoreError::Stale);
        }
    }
    Ok(())
}
