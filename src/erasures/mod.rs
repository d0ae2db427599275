//! The erasure ledger: every erasure (crypto-shredding) is an entry of an HMAC chain —
//! client id, code, time, actor, no personal data — kept in the database (`erasures`) and
//! in an append-only file outside it (`erasure_ledger_file`). Operators copy the file off
//! the server with the backups. On every start `serve` (and `restore`, inside its
//! transaction) erases again each entry of the file that the database still holds, so
//! restoring an older backup, by `hoanhap restore` or by other means, cannot bring an
//! erased client back. `hoanhap erasures verify` checks the file's chain.

pub mod file;
pub mod model;
pub mod service;
pub mod store;

pub use file::LedgerFile;
pub use model::LedgerEntry;
pub use service::{LedgerError, reconcile, verify_chain};
