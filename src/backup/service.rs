//! Taking a backup and restoring one.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use sqlx::AnyConnection;

use super::format::{FORMAT, Header, Line, Manifest};
use super::schema::{self, SEEDED, Table};
use super::store;
use crate::crypto::{Chain, Keyring};
use crate::db::{Db, Engine};
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
pub(super) const PROGRESS_EVERY: u64 = 10_000;

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
    header.audit_head = store::audit_head(conn).await?;
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
        let mut count = 0u64;
        let mut write_error = None;
        store::each_row(conn, &table, engine, |values| {
            if let Err(e) = write_line(out, &Line::Row(values)) {
                write_error = Some(e);
                return false;
            }
            count += 1;
            if count.is_multiple_of(PROGRESS_EVERY) {
                progress(&table.name, count);
            }
            true
        })
        .await?;
        if let Some(e) = write_error {
            return Err(e);
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
        let rows = store::count(&mut tx, name).await?;
        if SEEDED.contains(&name) {
            store::clear(&mut tx, name).await?;
        } else if rows > 0 {
            return Err(BackupError::NotEmpty {
                table: name.to_owned(),
                rows,
            });
        }
    }

    let mut read: BTreeMap<String, u64> = BTreeMap::new();
    let mut current: Option<store::Section> = None;
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
                current = Some(store::Section::new(target.clone(), &columns)?);
            }
            Some(Line::Row(values)) => {
                let Some(section) = current.as_mut() else {
                    return Err(BackupError::Malformed {
                        line: number,
                        reason: "a row before any table".into(),
                    });
                };
                section.push(&mut tx, &values, number).await?;
                if section.count.is_multiple_of(PROGRESS_EVERY) {
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
