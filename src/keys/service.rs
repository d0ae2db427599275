//! `hoanhap keys rotate`, with the servers stopped.
//!
//! 1. A new server identity is written to `identity.txt.new` and a new master key,
//!    encrypted to it and to the recovery recipients, to `master.age.new` (both synced): a
//!    rotation after an exposure of the server's key files revokes both.
//! 2. One transaction: every client data key re-wrapped, blind indexes recomputed, account
//!    secrets re-sealed, the old chain keys retired (sealed under the new key, for the
//!    entries up to the heads where they stopped), the key-check value replaced.
//! 3. `identity.txt.new` is renamed over `identity.txt`, then `master.age.new` over
//!    `master.age`, and the folder synced.
//!
//! Killed anywhere, the installation opens: before the commit the database still matches
//! the old pair and [`crate::open`] deletes the staged files; after it the database
//! matches the new master key, which [`crate::open`] finds with whichever identity opens it
//! and then finishes the renames.

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

/// Where a rotation stages the new key files: `identity.txt.new` and `master.age.new`.
pub fn staged(files: &KeyFiles) -> KeyFiles {
    let new = |path: &std::path::Path| std::path::PathBuf::from(format!("{}.new", path.display()));
    KeyFiles {
        identity: new(&files.identity),
        master: new(&files.master),
    }
}

/// Rotates the master key of the installation `old` opens.
pub async fn rotate(db: &Db, files: &KeyFiles, old: &Keyring, recovery: &[String]) -> Result<Rotated, RotateError> {
    let parsed = crypto::parse_recipients(recovery)?;
    let master = Keyring::generate_master()?;
    let new = Keyring::from_master(&master)?;
    let identity = age::x25519::Identity::generate();
    let encrypted = crypto::encrypt_master(&master, &identity.to_public(), &parsed)?;
    drop(master);
    let staged = staged(files);
    write_synced(&staged.identity, crypto::identity_file_text(&identity).as_bytes())?;
    write_synced(&staged.master, &encrypted)?;

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

/// Puts the staged files in place: the identity first, then the master key (a start-up
/// between the two finds the new master key with the new identity, see [`crate::open`]).
pub fn finish(files: &KeyFiles) -> Result<(), CryptoError> {
    let staged = staged(files);
    for (from, to) in [(&staged.identity, &files.identity), (&staged.master, &files.master)] {
        if from.exists() {
            std::fs::rename(from, to).map_err(|source| CryptoError::Io {
                path: to.display().to_string(),
                source,
            })?;
        }
    }
    crypto::sync_parent(&files.master).map_err(|source| CryptoError::Io {
        path: files.master.display().to_string(),
        source,
    })
}

/// Deletes the staged files of a rotation that did not commit.
pub fn discard(files: &KeyFiles) -> Result<bool, CryptoError> {
    let staged = staged(files);
    let mut any = false;
    for path in [&staged.identity, &staged.master] {
        if path.exists() {
            std::fs::remove_file(path).map_err(|source| CryptoError::Io {
                path: path.display().to_string(),
                source,
            })?;
            any = true;
        }
    }
    Ok(any)
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
