//! The statements of a backup and a restore: reading a table whole inside the snapshot's
//! transaction, and inserting its rows many to a statement.

use futures_util::TryStreamExt;
use sqlx::{AnyConnection, Row};

use super::format::{self, Typed};
use super::schema::{Kind, Table};
use super::service::BackupError;
use crate::db::{Engine, Flag, Sql};

/// `seq:mac` of the audit trail's head.
pub async fn audit_head(conn: &mut AnyConnection) -> Result<String, sqlx::Error> {
    let head = sqlx::query("SELECT seq, mac FROM audit_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok(format!(
        "{}:{}",
        head.try_get::<i64, _>("seq")?,
        hex::encode(head.try_get::<Vec<u8>, _>("mac")?)
    ))
}

/// Streams every row of `table` as backup values to `row`, which returns false to stop.
pub async fn each_row(
    conn: &mut AnyConnection,
    table: &Table,
    engine: Engine,
    mut row: impl FnMut(Vec<serde_json::Value>) -> bool,
) -> Result<(), sqlx::Error> {
    let select = select_all(table, engine);
    let mut rows = sqlx::query(&select).fetch(&mut *conn);
    while let Some(found) = rows.try_next().await? {
        let values = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| value_of(&found, i, *kind))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        if !row(values) {
            break;
        }
    }
    Ok(())
}

/// The rows of a table (its name comes from the database's own catalogue).
pub async fn count(conn: &mut AnyConnection, table: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{table}\""))
        .fetch_one(&mut *conn)
        .await
}

/// Deletes the rows the migrations seeded, for the backup's to take their place.
pub async fn clear(conn: &mut AnyConnection, table: &str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("DELETE FROM \"{table}\""))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `SELECT` of every column in a stable order (PostgreSQL's 4-byte integers widened, so
/// every integer decodes alike).
fn select_all(table: &Table, engine: Engine) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|(c, kind)| match (engine, kind) {
            (Engine::Postgres, Kind::Int) => format!("CAST(\"{c}\" AS BIGINT) AS \"{c}\""),
            _ => format!("\"{c}\""),
        })
        .collect();
    let order: Vec<String> = (1..=table.columns.len()).map(|i| i.to_string()).collect();
    format!(
        "SELECT {} FROM \"{}\" ORDER BY {}",
        columns.join(", "),
        table.name,
        order.join(", ")
    )
}

fn value_of(row: &sqlx::any::AnyRow, i: usize, kind: Kind) -> Result<serde_json::Value, sqlx::Error> {
    use serde_json::Value;
    Ok(match kind {
        // As 0 or 1: SQLite declares most yes/no columns INTEGER, so this is what both
        // engines agree on.
        Kind::Bool => row
            .try_get::<Option<Flag>, _>(i)?
            .map_or(Value::Null, |f| Value::from(i64::from(f.0))),
        Kind::Int => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::from),
        Kind::Text => row.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::from),
        Kind::Bytes => row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map_or(Value::Null, |b| format::bytes(&b)),
    })
}

/// The rows of one table being restored, inserted many to a statement.
pub struct Section {
    pub table: Table,
    /// For each column of the backup, its kind in this database.
    kinds: Vec<Kind>,
    columns: Vec<String>,
    pending: Vec<Vec<Typed>>,
    pub count: u64,
}

/// Both engines cap the parameters of one statement (SQLite at 32,766).
const MAX_BOUND: usize = 8_000;

impl Section {
    pub fn new(table: Table, columns: &[String]) -> Result<Self, BackupError> {
        let mismatch = |reason: String| BackupError::SchemaMismatch {
            table: table.name.clone(),
            reason,
        };
        let mut kinds = Vec::with_capacity(columns.len());
        for column in columns {
            let kind = table
                .columns
                .iter()
                .find(|(c, _)| c == column)
                .map(|(_, k)| *k)
                .ok_or_else(|| mismatch(format!("no column {column} here")))?;
            kinds.push(kind);
        }
        if let Some((missing, _)) = table.columns.iter().find(|(c, _)| !columns.contains(c)) {
            return Err(mismatch(format!("the backup lacks column {missing}")));
        }
        Ok(Self {
            table,
            kinds,
            columns: columns.to_vec(),
            pending: Vec::new(),
            count: 0,
        })
    }

    pub async fn push(
        &mut self,
        conn: &mut AnyConnection,
        values: &[serde_json::Value],
        line: u64,
    ) -> Result<(), BackupError> {
        if values.len() != self.kinds.len() {
            return Err(BackupError::Malformed {
                line,
                reason: format!("{} values for {} columns", values.len(), self.kinds.len()),
            });
        }
        let row = values
            .iter()
            .zip(&self.kinds)
            .map(|(v, k)| format::typed(v, *k))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| BackupError::Malformed {
                line,
                reason: format!("a value does not fit its column in table {}", self.table.name),
            })?;
        self.pending.push(row);
        self.count += 1;
        // A table referencing itself is inserted whole, parents first, at its end.
        if self.table.self_reference.is_none() && self.pending.len() * self.kinds.len() >= MAX_BOUND {
            self.flush(conn).await?;
        }
        Ok(())
    }

    pub async fn finish(mut self, conn: &mut AnyConnection) -> Result<u64, BackupError> {
        if let Some((column, referenced)) = self.table.self_reference.clone() {
            self.parents_first(&column, &referenced);
        }
        while !self.pending.is_empty() {
            self.flush(conn).await?;
        }
        Ok(self.count)
    }

    /// Orders the pending rows so that each comes after the row it references.
    fn parents_first(&mut self, column: &str, referenced: &str) {
        let (Some(from), Some(to)) = (
            self.columns.iter().position(|c| c == column),
            self.columns.iter().position(|c| c == referenced),
        ) else {
            return;
        };
        let key = |row: &[Typed], i: usize| match &row[i] {
            Typed::Text(t) => t.clone(),
            Typed::Int(n) => n.map(|n| n.to_string()),
            _ => None,
        };
        let mut remaining: Vec<Vec<Typed>> = std::mem::take(&mut self.pending);
        let present: std::collections::BTreeSet<String> = remaining.iter().filter_map(|r| key(r, to)).collect();
        let mut placed = std::collections::BTreeSet::new();
        while !remaining.is_empty() {
            let (ready, waiting): (Vec<_>, Vec<_>) = remaining.into_iter().partition(|row| {
                key(row, from).is_none_or(|parent| placed.contains(&parent) || !present.contains(&parent))
            });
            if ready.is_empty() {
                // A cycle cannot be ordered; the insert reports the broken reference.
                self.pending.extend(waiting);
                break;
            }
            placed.extend(ready.iter().filter_map(|r| key(r, to)));
            self.pending.extend(ready);
            remaining = waiting;
        }
    }

    async fn flush(&mut self, conn: &mut AnyConnection) -> Result<(), BackupError> {
        let per_statement = (MAX_BOUND / self.kinds.len().max(1)).max(1);
        let take = self.pending.len().min(per_statement);
        let rows: Vec<Vec<Typed>> = self.pending.drain(..take).collect();
        if rows.is_empty() {
            return Ok(());
        }
        let quoted: Vec<String> = self.columns.iter().map(|c| format!("\"{c}\"")).collect();
        let mut sql = Sql::new(&format!(
            "INSERT INTO \"{}\" ({}) VALUES ",
            self.table.name,
            quoted.join(", ")
        ));
        for (r, row) in rows.into_iter().enumerate() {
            sql.push(if r == 0 { "(" } else { ", (" });
            for (i, value) in row.into_iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                match value {
                    Typed::Bool(v) => sql.bind(v),
                    Typed::Int(v) => sql.bind(v),
                    Typed::Text(v) => sql.bind(v),
                    Typed::Bytes(v) => sql.bind(v),
                };
            }
            sql.push(")");
        }
        sql.execute(&mut *conn).await?;
        Ok(())
    }
}
