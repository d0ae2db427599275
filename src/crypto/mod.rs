//! Cryptography: the age keyring for the master key, HKDF subkeys, per-client data keys,
//! field sealing with AES-256-GCM and blind indexes for duplicate detection.
//!
//! age is used for files (the master key, backups); `ring` AEAD for fields, because a
//! field is opened on every page view and age costs two orders of magnitude more.

mod blind;
mod chain;
mod keyring;
mod seal;
mod sensitive;

pub use blind::{BlindIndexer, normalise_id_number, normalise_name};
pub use chain::ChainKeys;
pub use keyring::{
    Chain, InitOutcome, KeyFiles, Keyring, MasterKey, init_keys, install_master, parse_recipients, recover_master_key,
};
pub(crate) use keyring::{
    create_private_dir, decrypt_master_bytes, encrypt_master, identity_file_text, read_identity, replace_file,
    sync_parent, write_recipients,
};
pub use seal::{DataKey, FieldRef, SEAL_VERSION};
pub use sensitive::Sensitive;

/// Why a cryptographic operation failed. Messages name files, never key material.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the server identity file {path} is missing: {hint}")]
    IdentityMissing { path: String, hint: &'static str },
    #[error("the server identity file {path} is not a valid age X25519 identity")]
    IdentityInvalid { path: String },
    #[error("the master key file {path} is missing")]
    MasterKeyMissing { path: String },
    #[error("the master key file {path} cannot be decrypted with the server identity ({reason})")]
    MasterKeyUndecryptable { path: String, reason: String },
    #[error("the master key file {path} is damaged: {reason}")]
    MasterKeyDamaged { path: String, reason: String },
    #[error("{path} already exists; refusing to overwrite keys of an existing installation")]
    AlreadyInitialised { path: String },
    #[error("recovery recipient {index} is not a valid age X25519 public key (age1...)")]
    BadRecipient { index: usize },
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("a sealed value failed its integrity check (wrong key, wrong place, or altered)")]
    Integrity,
    #[error("a sealed value has an unknown format version")]
    UnknownVersion,
    #[error("the system random number generator failed")]
    Random,
    #[error("age encryption failed: {0}")]
    Age(String),
}

/// Fills a fresh array from the operating system's generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    use ring::rand::SecureRandom;
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// A random token as lowercase hex (ids, one-time tokens).
pub fn random_hex<const N: usize>() -> Result<String, CryptoError> {
    Ok(hex::encode(random_bytes::<N>()?))
}
