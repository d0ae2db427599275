//! The domain error: what went wrong in an operation, whoever asked for it. The API maps
//! it once into [`crate::web::ApiError`] and the pages into [`crate::pages::PageError`];
//! the cause of an internal error goes to the log there, never to the user.
//!
//! `?` turns the storage, crypto and audit errors into [`Error::Internal`], so no
//! operation needs a `map_err` to report a failure of the machinery under it.

use std::collections::BTreeMap;

use crate::audit::AuditError;
use crate::crypto::CryptoError;

/// Field name → message id (`field-*`), for a 422 naming each bad field.
pub type FieldErrors = BTreeMap<String, &'static str>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// The record's state does not allow the operation; `code` names why (message id
    /// `error-{code}`), `details` are safe to show (e.g. the allowed next states).
    #[error("conflict: {code}")]
    Conflict {
        code: &'static str,
        details: Option<serde_json::Value>,
    },
    #[error("invalid fields")]
    Validation(FieldErrors),
    /// The request is well formed but the rules refuse it (no consent for the category,
    /// a move the state machine does not allow): 422 `code` (message id `error-{code}`,
    /// filled in from `details`, which are safe to show).
    #[error("rejected: {code}")]
    Rejected {
        code: &'static str,
        details: Option<serde_json::Value>,
    },
    /// A value that must be unique is in use (a username): 409 `code`, naming the field
    /// with `message`.
    #[error("taken: {code}")]
    Taken {
        code: &'static str,
        field: &'static str,
        message: &'static str,
    },
    /// The credentials do not hold, or a second factor is needed: 401 `code`
    /// (`invalid_credentials`, `totp_required`).
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    /// Too many wrong passwords for the account: 429 `too_many_attempts`, to try again in
    /// `retry_after` seconds.
    #[error("throttled")]
    Throttled { retry_after: i64 },
    /// Every password check is busy: 503 `busy`, worth retrying in a second.
    #[error("busy")]
    Busy,
    /// Shed load or a dependency that is down; worth retrying later.
    #[error("unavailable")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] Internal),
}

/// A failure of the machinery (database, keys, audit trail): logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum Internal {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    #[error("audit: {0}")]
    Audit(#[from] AuditError),
    #[error("session: {0}")]
    Session(#[from] tower_sessions::session::Error),
    /// Settings or a data file (rules, policies) that does not load.
    #[error("configuration: {0}")]
    Config(String),
    /// Hashing a password failed.
    #[error("password hashing: {0}")]
    Hashing(String),
    /// Building a TOTP secret's URL or QR code failed.
    #[error("second factor: {0}")]
    SecondFactor(String),
    /// Writing a file (a spreadsheet, a CSV) failed.
    #[error("export: {0}")]
    Export(String),
    /// A stored record in a state the operation should never have found it in.
    #[error("inconsistent record: {0}")]
    Inconsistent(String),
}

impl Error {
    pub fn conflict(code: &'static str) -> Self {
        Self::Conflict { code, details: None }
    }
    pub fn rejected(code: &'static str) -> Self {
        Self::Rejected { code, details: None }
    }
    /// One bad field.
    pub fn field(name: &str, message: &'static str) -> Self {
        Self::Validation(BTreeMap::from([(name.to_owned(), message)]))
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&e) {
            tracing::warn!(error = %e, "the database is unavailable");
            return Self::Unavailable;
        }
        Self::Internal(e.into())
    }
}

impl From<CryptoError> for Error {
    fn from(e: CryptoError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<tower_sessions::session::Error> for Error {
    fn from(e: tower_sessions::session::Error) -> Self {
        if let tower_sessions::session::Error::Store(tower_sessions::session_store::Error::Backend(text)) = &e
            && text.starts_with(crate::db::UNAVAILABLE)
        {
            tracing::warn!(error = %e, "the session store is unavailable");
            return Self::Unavailable;
        }
        Self::Internal(e.into())
    }
}

impl From<AuditError> for Error {
    fn from(e: AuditError) -> Self {
        if let AuditError::Db(db) = &e
            && crate::db::is_unavailable(db)
        {
            tracing::warn!(error = %e, "the database is unavailable");
            return Self::Unavailable;
        }
        Self::Internal(e.into())
    }
}
