//! `hoanhap keys rotate`, with the servers stopped.
//!
//! 1. A new master key is written, encrypted to the server and the recovery recipients, to
//!    `master.age.new` (synced).
//! 2. One transaction: every client data key re-wrapped, blind indexes recomputed, account
//!    secrets re-sealed, the old chain keys retired (sealed under the new key, for the
//!    entries up to the heads where they stopped), the key-check value replaced.
//! 3. `master.age.new` is renamed over `master.age` and the folder synced.
//!
//! Killed anywhere, the installation opens: before the commit the database still matches
//! `master.age` and [`crate::open`] deletes the stale `master.age.new`; after it the
//! database matches `master.age.new` and `open` finishes the rename.

use crate::crypto::{self, CryptoError, KeyFiles, Keyring};
use crate::db::Db;

use super::store::{self, KeyStoreError};

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Keys(#[from] KeyStoreError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the clients could not be re-keyed: {0}")]
    Clients(#[from] crate::clients::StoreError),
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    pub old_key_id: String,
    pub new_key_id: String,
    pub clients: u64,
    pub accounts: u64,
}

/// Where a rotation stages the new `master.age`.
pub fn staged(files: &KeyFiles) -> std::path::PathBuf {
    files.master.with_extension("age.new")
}

/// Rotates the master key of the installation `old` opens.
pub async fn rotate(db: &Db, files: &KeyFiles, old: &Keyring, recovery: &[String]) -> Result<Rotated, RotateError> {
    let parsed = crypto::parse_recipients(recovery)?;
    let master = Keyring::generate_master()?;
    let new = Keyring::from_master(&master)?;
    let encrypted = crypto::encrypt_master(&master, &files.server_recipient()?, &parsed)?;
    drop(master);
    write_synced(&staged(files), &encrypted)?;

    let mut tx = db.pool.begin().await?;
    let (audit_until, erasure_until) = store::lock_heads(&mut tx).await?;
    let clients = crate::clients::rekey_clients(&mut tx, old, &new).await?;
    let accounts = store::reseal_accounts(&mut tx, old, &new).await?;
    store::retire(&mut tx, old, &new, audit_until, erasure_until).await?;
    store::set_check(&mut tx, &new).await?;
    tx.commit().await?;

    finish(files)?;
    Ok(Rotated {
        old_key_id: old.key_id().to_owned(),
        new_key_id: new.key_id().to_owned(),
        clients,
        accounts,
    })
}

/// Puts the staged `master.age.new` in place of `master.age`.
pub fn finish(files: &KeyFiles) -> Result<(), CryptoError> {
    let io = |source| CryptoError::Io {
        path: files.master.display().to_string(),
        source,
    };
    std::fs::rename(staged(files), &files.master).map_err(io)?;
    crypto::sync_parent(&files.master).map_err(io)
}

fn write_synced(path: &std::path::Path, bytes: &[u8]) -> Result<(), CryptoError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| CryptoError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io)?;
    crypto::sync_parent(path).map_err(io)
}
