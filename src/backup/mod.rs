//! Backup and restore: a consistent snapshot of every table in one engine-neutral stream,
//! encrypted with age to the server identity and every recovery recipient, and restored
//! into an empty database of either engine in one transaction that re-applies the erasure
//! ledger. See `docs/operations.md`.
//!
//! The stream (plaintext only inside age, never on disk) is JSON lines: a [`Header`]
//! (format, schema version, key id, audit head, the still age-encrypted `master.age`), then
//! for each table a line naming it and its columns followed by one JSON array a row, then
//! a [`Manifest`] with every table's row count.

pub mod format;
pub mod schema;
pub mod service;
pub mod store;

pub use format::{FORMAT, Header, Manifest};
pub use service::{BackupError, backup, restore};
