//! `hoanhap keys recipients list|add|remove`: `master.age` re-encrypted, atomically, to the
//! server identity and a new set of recovery recipients. The master key itself is unchanged.

use crate::crypto::{self, CryptoError, KeyFiles, parse_recipients};

/// The server's public key and the recovery recipients on record.
pub fn list(files: &KeyFiles, fallback: &[String]) -> Result<(String, Vec<String>), CryptoError> {
    Ok((
        files.server_recipient()?.to_string(),
        files.recovery_recipients(fallback)?,
    ))
}

/// Re-encrypts `master.age` to the server and `recovery` (replacing the file atomically),
/// then records `recovery` in `recipients.txt`.
pub fn set(files: &KeyFiles, recovery: &[String]) -> Result<(), CryptoError> {
    let parsed = parse_recipients(recovery)?;
    let identity = crypto::read_identity(&files.identity)?;
    let bytes = std::fs::read(&files.master).map_err(|source| CryptoError::Io {
        path: files.master.display().to_string(),
        source,
    })?;
    let master = crypto::decrypt_master_bytes(&bytes, &files.master.display().to_string(), &identity)?;
    let encrypted = crypto::encrypt_master(&master, &identity.to_public(), &parsed)?;
    crypto::replace_file(&files.master, &encrypted)?;
    crypto::write_recipients(files, recovery)
}

/// The list with `recipient` added (once), or `None` if it was there.
pub fn with(current: &[String], recipient: &str) -> Result<Option<Vec<String>>, CryptoError> {
    let recipient = recipient.trim();
    parse_recipients(&[recipient.to_owned()])?;
    if current.iter().any(|r| r == recipient) {
        return Ok(None);
    }
    let mut next = current.to_vec();
    next.push(recipient.to_owned());
    Ok(Some(next))
}

/// The list without `recipient`, or `None` if it was not there.
pub fn without(current: &[String], recipient: &str) -> Option<Vec<String>> {
    let recipient = recipient.trim();
    current
        .iter()
        .any(|r| r == recipient)
        .then(|| current.iter().filter(|r| *r != recipient).cloned().collect())
}
