//! The ledger's rows: `erasures` (one row per erased code, with its place in the chain)
//! and `erasure_head`.

use chrono::{DateTime, Utc};
use ring::hmac;
use sqlx::{AnyConnection, Row};

use super::model::LedgerEntry;
use crate::db::{Db, timestamp};

/// Appends the ledger entry of an erasure, inside the erasure's transaction. Updating the
/// head first locks it, so erasures on several app servers take turns.
pub async fn append(
    conn: &mut AnyConnection,
    key: &hmac::Key,
    client_id: &str,
    code: &str,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<LedgerEntry, sqlx::Error> {
    let head = sqlx::query("UPDATE erasure_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, mac")
        .fetch_one(&mut *conn)
        .await?;
    let seq: i64 = head.try_get("seq")?;
    let previous: Vec<u8> = head.try_get("mac")?;
    let mut entry = LedgerEntry {
        seq,
        client_id: client_id.to_owned(),
        code: code.to_owned(),
        erased_at: timestamp(now),
        erased_by: by.map(str::to_owned),
        mac: Vec::new(),
    };
    entry.mac = entry.compute_mac(key, &previous);
    put(conn, &entry).await?;
    sqlx::query("UPDATE erasure_head SET mac = $1 WHERE id = 1")
        .bind(&entry.mac)
        .execute(&mut *conn)
        .await?;
    Ok(entry)
}

/// Every chained entry, in order.
pub async fn entries(conn: &mut AnyConnection) -> Result<Vec<LedgerEntry>, sqlx::Error> {
    entries_after(conn, 0).await
}

/// The chained entries after `seq`, in order.
pub async fn entries_after(conn: &mut AnyConnection, seq: i64) -> Result<Vec<LedgerEntry>, sqlx::Error> {
    sqlx::query("SELECT seq, client_id, code, erased_at, erased_by, mac FROM erasures WHERE seq > $1 ORDER BY seq")
        .bind(seq)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok(LedgerEntry {
                seq: row.try_get("seq")?,
                client_id: row.try_get("client_id")?,
                code: row.try_get("code")?,
                erased_at: row.try_get("erased_at")?,
                erased_by: row.try_get("erased_by")?,
                mac: row.try_get::<Option<Vec<u8>>, _>("mac")?.unwrap_or_default(),
            })
        })
        .collect()
}

/// Records an entry the file holds and the database lacks (a backup older than the
/// erasure was restored), and moves the head past it.
pub async fn insert(conn: &mut AnyConnection, entry: &LedgerEntry) -> Result<(), sqlx::Error> {
    put(conn, entry).await?;
    sqlx::query("UPDATE erasure_head SET seq = $1, mac = $2 WHERE id = 1 AND seq < $1")
        .bind(entry.seq)
        .bind(&entry.mac)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The ids of those of `client_ids` that still have a client row or a data key.
pub async fn still_present(conn: &mut AnyConnection, client_ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    let mut present = Vec::new();
    for chunk in client_ids.chunks(500) {
        let mut sql = crate::db::Sql::new("SELECT id FROM clients WHERE id IN (");
        sql.bind_all(chunk.iter().cloned())
            .push(") UNION SELECT client_id FROM client_keys WHERE client_id IN (");
        sql.bind_all(chunk.iter().cloned()).push(")");
        for row in sql.fetch_all(&mut *conn).await? {
            present.push(row.try_get::<String, _>(0)?);
        }
    }
    present.sort();
    present.dedup();
    Ok(present)
}

/// The ledger entries in the database after `seq` (what a file ending there lacks).
pub async fn after(db: &Db, seq: i64) -> Result<Vec<LedgerEntry>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    entries_after(&mut conn, seq).await
}

/// The row of an entry (a code erased before the ledger existed gets its place in it).
async fn put(conn: &mut AnyConnection, entry: &LedgerEntry) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO erasures (code, client_id, erased_at, erased_by, seq, mac) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (code) DO UPDATE SET seq = excluded.seq, mac = excluded.mac",
    )
    .bind(&entry.code)
    .bind(&entry.client_id)
    .bind(&entry.erased_at)
    .bind(&entry.erased_by)
    .bind(entry.seq)
    .bind(&entry.mac)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
