//! Database pools for SQLite and PostgreSQL behind one `sqlx::Any` pool, so storage code
//! is written once: both engines accept `$1` placeholders, `RETURNING` and `ON CONFLICT`.
//! Only the connection set-up and the migrations differ per engine.

mod sql;
mod types;

pub use sql::Sql;
pub use types::{DbDate, DbTime, Flag};

use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database URL is not valid: it must start with sqlite:// or postgres://")]
    BadUrl,
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The pool and which engine is behind it.
#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub engine: Engine,
}

/// Per-connection SQLite settings: the journal mode is set once for the file.
/// `secure_delete` zeroes deleted content in the database file; `journal_size_limit` makes
/// SQLite cut the WAL back to 1 MiB whenever a checkpoint resets it, so old page images
/// (of rows since deleted) do not linger in a WAL grown large by a burst of writes.
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
     PRAGMA secure_delete = ON; PRAGMA busy_timeout = 10000; PRAGMA journal_size_limit = 1048576;";

impl Db {
    /// Connects and applies the migrations of the engine the URL names.
    pub async fn connect(url: &SecretString) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let url = url.expose_secret();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            return Err(DbError::BadUrl);
        };
        if engine == Engine::Sqlite {
            create_sqlite_parent(url)?;
        }
        let options = AnyConnectOptions::from_str(url).map_err(|_| DbError::BadUrl)?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(if engine == Engine::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(15));
        let pool = if engine == Engine::Sqlite {
            pool_options
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute(SQLITE_PRAGMAS).await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await
        } else {
            pool_options.connect_with(options).await
        }
        .map_err(DbError::Connect)?;
        let db = Self { pool, engine };
        if engine == Engine::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&db.pool).await?;
        }
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), DbError> {
        match self.engine {
            Engine::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Engine::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// After an erasure, on SQLite: copies every page in the WAL into the database file
    /// (where `secure_delete` has zeroed the erased rows) and truncates the WAL to zero
    /// bytes, so no copy of an erased client's pages stays in `-wal`. Waits (up to the busy
    /// timeout) for readers of older snapshots; returns false if one still held the WAL.
    ///
    /// PostgreSQL gives no such guarantee at this level: a deleted row stays in its heap
    /// page (and in the WAL segments and any base backup or replica) until VACUUM reuses
    /// the space and the segments are recycled; autovacuum does this eventually, not at
    /// once, and even then nothing overwrites the bytes on disk. There, erasure rests on
    /// crypto-shredding: the wrapped data key is deleted, and without it the sealed fields
    /// left in dead tuples cannot be opened. Put the cluster on an encrypted volume.
    pub async fn truncate_wal(&self) -> Result<bool, sqlx::Error> {
        if self.engine != Engine::Sqlite {
            return Ok(true);
        }
        use sqlx::Row;
        let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.pool)
            .await?;
        let busy: i64 = row.try_get(0)?;
        Ok(busy == 0)
    }

    /// For `/readyz`.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

fn create_sqlite_parent(url: &str) -> Result<(), DbError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        crate::crypto::create_private_dir(parent).map_err(|source| DbError::DataDir {
            path: parent.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// A database URL fit to print: the password (and any query string) left out.
pub fn shown_url(url: &SecretString) -> String {
    let url = url.expose_secret();
    let url = url.split('?').next().unwrap_or_default();
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The current time as the RFC 3339 UTC text stored in timestamp columns.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Begins the text of an error that means "the database does not answer" where only text
/// travels (a session store's backend error), so the request is still answered 503.
pub const UNAVAILABLE: &str = "database unavailable";

/// Whether an error says the database cannot be reached right now (connection refused
/// or lost, the pool timed out, PostgreSQL shutting down or starting): worth a 503 and a
/// retry, not a 500.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Tls(_) => true,
        // SQLSTATE class 08 (connection exception) and 57P0x (admin shutdown, crash
        // shutdown, cannot connect now).
        sqlx::Error::Database(d) => d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

/// Whether an error is a unique-constraint violation (both engines).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_url_holds_no_password() {
        let shown = |u: &str| shown_url(&SecretString::from(u.to_owned()));
        assert_eq!(
            shown("postgres://app:s3cret@db.local:5432/hoanhap?sslmode=require"),
            "postgres://app@db.local:5432/hoanhap"
        );
        assert_eq!(
            shown("sqlite://./data/hoanhap.db?mode=rwc"),
            "sqlite://./data/hoanhap.db"
        );
    }
}
