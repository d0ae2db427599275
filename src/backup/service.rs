//! Taking a backup and restoring one.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use futures_util::TryStreamExt;
use sqlx::{AnyConnection, Row};

use super::format::{self, FORMAT, Header, Line, Manifest, Typed};
use super::schema::{self, Kind, SEEDED, Table};
use crate::crypto::{Chain, Keyring};
use crate::db::{Db, Engine, Flag, Sql};
use crate::erasures::LedgerEntry;
use crate::erasures::service::{LedgerError, Reapplied, reapply};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot write the backup: {0}")]
    Write(#[source] std::io::Error),
    #[error("cannot read the backup: {0}")]
    Read(#[source] std::io::Error),
    #[error("the backup is not a hoanhap backup or is damaged (line {line}): {reason}")]
    Malformed { line: u64, reason: String },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the database is not empty: table {table} holds {rows} row(s); restore into a new, empty database")]
    NotEmpty { table: String, rows: i64 },
    #[error(
        "the backup has schema version {backup} and this hoanhap has {here}; restore it with the hoanhap version \
         that took it"
    )]
    SchemaVersion { backup: i64, here: i64 },
    #[error("the backup's table {table} does not match this database's ({reason})")]
    SchemaMismatch { table: String, reason: String },
    #[error("table {table}: the manifest counts {manifest} row(s) but the backup holds {read}")]
    Counts { table: String, manifest: u64, read: u64 },
    #[error("the backup ends before its manifest: it was cut short")]
    Truncated,
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Keys(#[from] crate::keys::store::KeyStoreError),
}

/// How far a backup or restore has gone: a table and its rows so far.
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64);

/// Reports progress every this many rows of a table.
const PROGRESS_EVERY: u64 = 10_000;

/// Writes a consistent snapshot of every table to `out` (the caller wraps it in age).
/// SQLite: one read transaction, which sees one state of the WAL database however many
/// writes come meanwhile; PostgreSQL: one `REPEATABLE READ READ ONLY` transaction.
pub async fn backup(
    db: &Db,
    mut header: Header,
    out: &mut dyn Write,
    progress: Progress<'_>,
) -> Result<Manifest, BackupError> {
    let mut conn = db.pool.acquire().await?;
    let begin = match db.engine {
        Engine::Sqlite => "BEGIN",
        Engine::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    sqlx::raw_sql(begin).execute(&mut *conn).await?;
    let result = snapshot(&mut conn, db.engine, &mut header, out, progress).await;
    // Read-only either way: ending it cannot lose anything.
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
    result
}

async fn snapshot(
    conn: &mut AnyConnection,
    engine: Engine,
    header: &mut Header,
    out: &mut dyn Write,
    progress: Progress<'_>,
) -> Result<Manifest, BackupError> {
    header.schema_version = schema::version(conn).await?;
    header.engine = match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    }
    .into();
    let head = sqlx::query("SELECT seq, mac FROM audit_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    header.audit_head = format!(
        "{}:{}",
        head.try_get::<i64, _>("seq")?,
        hex::encode(head.try_get::<Vec<u8>, _>("mac")?)
    );
    write_line(out, &Line::Header { header: header.clone() })?;
    let mut manifest = Manifest::default();
    for table in schema::tables(conn, engine).await? {
        write_line(
            out,
            &Line::Table {
                table: table.name.clone(),
                columns: table.columns.iter().map(|(c, _)| c.clone()).collect(),
            },
        )?;
        let select = select_all(&table, engine);
        let mut rows = sqlx::query(&select).fetch(&mut *conn);
        let mut count = 0u64;
        while let Some(row) = rows.try_next().await? {
            let values = table
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| value_of(&row, i, *kind))
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            write_line(out, &Line::Row(values))?;
            count += 1;
            if count % PROGRESS_EVERY == 0 {
                progress(&table.name, count);
            }
        }
        progress(&table.name, count);
        manifest.tables.insert(table.name.clone(), count);
    }
    write_line(
        out,
        &Line::Manifest {
            manifest: manifest.clone(),
        },
    )?;
    out.flush().map_err(BackupError::Write)?;
    Ok(manifest)
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

fn write_line(out: &mut dyn Write, line: &Line) -> Result<(), BackupError> {
    serde_json::to_writer(&mut *out, line).map_err(|e| BackupError::Write(std::io::Error::other(e)))?;
    out.write_all(b"\n").map_err(BackupError::Write)
}

/// Reads the header, the first line of a backup stream.
pub fn read_header(input: &mut dyn BufRead) -> Result<Header, BackupError> {
    match read_line(input, 1)? {
        Some(Line::Header { header }) if header.format == FORMAT => Ok(header),
        Some(Line::Header { header }) => Err(BackupError::Malformed {
            line: 1,
            reason: format!("unknown format {}", header.format),
        }),
        _ => Err(BackupError::Malformed {
            line: 1,
            reason: "no header".into(),
        }),
    }
}

fn read_line(input: &mut dyn BufRead, number: u64) -> Result<Option<Line>, BackupError> {
    let mut text = String::new();
    if input.read_line(&mut text).map_err(BackupError::Read)? == 0 {
        return Ok(None);
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| BackupError::Malformed {
            line: number,
            reason: e.to_string(),
        })
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    pub reapplied: Reapplied,
}

/// Restores the stream after `header` into `db`, which must be empty, in one transaction:
/// every row, then the erasure ledger re-applied from `ledger` (the file's entries), so a
/// client erased after the backup was taken is erased again before anything commits.
pub async fn restore(
    db: &Db,
    keyring: &Keyring,
    header: &Header,
    input: &mut dyn BufRead,
    ledger: Vec<LedgerEntry>,
    progress: Progress<'_>,
) -> Result<Restored, BackupError> {
    let mut tx = db.pool.begin().await?;
    let here = schema::version(&mut tx).await?;
    if here != header.schema_version {
        return Err(BackupError::SchemaVersion {
            backup: header.schema_version,
            here,
        });
    }
    let tables: BTreeMap<String, Table> = schema::tables(&mut tx, db.engine)
        .await?
        .into_iter()
        .map(|t| (t.name.clone(), t))
        .collect();
    for name in tables
        .keys()
        .map(String::as_str)
        .chain(["sessions", "setup_tokens", "login_throttle"])
    {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{name}\""))
            .fetch_one(&mut *tx)
            .await?;
        if SEEDED.contains(&name) {
            sqlx::query(&format!("DELETE FROM \"{name}\""))
                .execute(&mut *tx)
                .await?;
        } else if rows > 0 {
            return Err(BackupError::NotEmpty {
                table: name.to_owned(),
                rows,
            });
        }
    }

    let mut read: BTreeMap<String, u64> = BTreeMap::new();
    let mut current: Option<Section> = None;
    let mut number = 1u64;
    let manifest = loop {
        number += 1;
        match read_line(input, number)? {
            None => return Err(BackupError::Truncated),
            Some(Line::Header { .. }) => {
                return Err(BackupError::Malformed {
                    line: number,
                    reason: "a second header".into(),
                });
            }
            Some(Line::Table { table, columns }) => {
                if let Some(done) = current.take() {
                    read.insert(done.table.name.clone(), done.finish(&mut tx).await?);
                }
                let Some(target) = tables.get(&table) else {
                    return Err(BackupError::SchemaMismatch {
                        table,
                        reason: "this database has no such table".into(),
                    });
                };
                current = Some(Section::new(target.clone(), &columns)?);
            }
            Some(Line::Row(values)) => {
                let Some(section) = current.as_mut() else {
                    return Err(BackupError::Malformed {
                        line: number,
                        reason: "a row before any table".into(),
                    });
                };
                section.push(&mut tx, &values, number).await?;
                if section.count % PROGRESS_EVERY == 0 {
                    progress(&section.table.name, section.count);
                }
            }
            Some(Line::Manifest { manifest }) => {
                if let Some(done) = current.take() {
                    read.insert(done.table.name.clone(), done.finish(&mut tx).await?);
                }
                break manifest;
            }
        }
    };
    for (table, &expected) in &manifest.tables {
        let got = read.get(table).copied().unwrap_or(0);
        if got != expected {
            return Err(BackupError::Counts {
                table: table.clone(),
                manifest: expected,
                read: got,
            });
        }
    }
    for (table, &got) in &read {
        progress(table, got);
        if !manifest.tables.contains_key(table) {
            return Err(BackupError::Counts {
                table: table.clone(),
                manifest: 0,
                read: got,
            });
        }
    }
    let keys = crate::keys::store::chain_keys(&mut tx, keyring, Chain::Erasure).await?;
    let reapplied = reapply(&mut tx, &keys, ledger).await?;
    tx.commit().await?;
    Ok(Restored { manifest, reapplied })
}

/// The rows of one table being restored, inserted many to a statement.
struct Section {
    table: Table,
    /// For each column of the backup, its kind in this database.
    kinds: Vec<Kind>,
    columns: Vec<String>,
    pending: Vec<Vec<Typed>>,
    count: u64,
}

/// Both engines cap the parameters of one statement (SQLite at 32,766).
const MAX_BOUND: usize = 8_000;

impl Section {
    fn new(table: Table, columns: &[String]) -> Result<Self, BackupError> {
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

    async fn push(
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

    async fn finish(mut self, conn: &mut AnyConnection) -> Result<u64, BackupError> {
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
