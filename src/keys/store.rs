//! The key rows: `keyring` (the key-check value) and `retired_chain_keys`.

use sqlx::{AnyConnection, Row};

use crate::crypto::{Chain, ChainKeys, CryptoError, Keyring};

#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("a retired chain key does not open: {0}")]
    Crypto(#[from] CryptoError),
}

/// The MAC keys of `chain`: the keyring's current one and those retired by rotations.
pub async fn chain_keys(conn: &mut AnyConnection, keyring: &Keyring, chain: Chain) -> Result<ChainKeys, KeyStoreError> {
    let current = match chain {
        Chain::Audit => keyring.audit_key().clone(),
        Chain::Erasure => keyring.erasure_key().clone(),
        Chain::Checkpoint => keyring.checkpoint_key(),
    };
    let mut keys = ChainKeys::new(current);
    for (key_id, until_seq, sealed) in retired(conn, chain).await? {
        keys = keys.retired(until_seq, keyring.open_retired(chain, &key_id, &sealed)?);
    }
    Ok(keys)
}

/// The retired keys of `chain`: `(key_id, until_seq, sealed)`.
pub async fn retired(conn: &mut AnyConnection, chain: Chain) -> Result<Vec<(String, i64, Vec<u8>)>, sqlx::Error> {
    sqlx::query("SELECT key_id, until_seq, sealed FROM retired_chain_keys WHERE purpose = $1 ORDER BY until_seq")
        .bind(chain.as_str())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.try_get("key_id")?,
                row.try_get("until_seq")?,
                row.try_get("sealed")?,
            ))
        })
        .collect()
}
