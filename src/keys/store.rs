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

/// The retired keys of `chain` opened, with their key ids.
pub async fn retired_opened(
    conn: &mut AnyConnection,
    keyring: &Keyring,
    chain: Chain,
) -> Result<Vec<(String, ring::hmac::Key)>, KeyStoreError> {
    let mut out = Vec::new();
    for (key_id, _, sealed) in retired(conn, chain).await? {
        let key = keyring.open_retired(chain, &key_id, &sealed)?;
        out.push((key_id, key));
    }
    Ok(out)
}

/// Key rotation: every account secret (TOTP seed) opened with `old`, sealed with `new`.
pub async fn reseal_accounts(conn: &mut AnyConnection, old: &Keyring, new: &Keyring) -> Result<u64, KeyStoreError> {
    use crate::auth::mfa::TOTP_COLUMN;
    let rows = sqlx::query("SELECT id, totp_secret_sealed FROM users WHERE totp_secret_sealed IS NOT NULL")
        .fetch_all(&mut *conn)
        .await?;
    for row in &rows {
        let id: String = row.try_get("id")?;
        let secret = old.open_account_secret(&id, TOTP_COLUMN, &row.try_get::<Vec<u8>, _>("totp_secret_sealed")?)?;
        sqlx::query("UPDATE users SET totp_secret_sealed = $1 WHERE id = $2")
            .bind(new.seal_account_secret(&id, TOTP_COLUMN, secret.expose())?)
            .bind(&id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(rows.len() as u64)
}

/// Key rotation: the chain keys retired before are sealed again under `new`, and `old`'s
/// own are retired, each for the entries up to the head it stopped at.
pub async fn retire(
    conn: &mut AnyConnection,
    old: &Keyring,
    new: &Keyring,
    audit_until: i64,
    erasure_until: i64,
) -> Result<(), KeyStoreError> {
    for chain in Chain::ALL {
        let before = retired(conn, chain).await?;
        let latest = before.last().map(|(_, until, _)| *until);
        for (key_id, _, sealed) in before {
            sqlx::query("UPDATE retired_chain_keys SET sealed = $1 WHERE purpose = $2 AND key_id = $3")
                .bind(old.reseal_retired_for(chain, &key_id, &sealed, new)?)
                .bind(chain.as_str())
                .bind(&key_id)
                .execute(&mut *conn)
                .await?;
        }
        let until = match chain {
            Chain::Erasure => erasure_until,
            Chain::Audit | Chain::Checkpoint => audit_until,
        };
        // A key that signed nothing of this chain since the last rotation (one killed
        // before its audit entry, say) is not kept: entry `until` is the previous key's.
        if latest == Some(until) {
            continue;
        }
        sqlx::query("INSERT INTO retired_chain_keys (purpose, key_id, until_seq, sealed) VALUES ($1, $2, $3, $4)")
            .bind(chain.as_str())
            .bind(old.key_id())
            .bind(until)
            .bind(old.seal_chain_key_for(chain, new)?)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Key rotation: the key-check value of the new key.
pub async fn set_check(conn: &mut AnyConnection, new: &Keyring) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE keyring SET key_id = $1, check_value = $2 WHERE id = 1")
        .bind(new.key_id())
        .bind(new.check_value())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Locks both chain heads for the rotation and returns their sequence numbers.
pub async fn lock_heads(conn: &mut AnyConnection) -> Result<(i64, i64), sqlx::Error> {
    let audit: i64 = sqlx::query_scalar("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq")
        .fetch_one(&mut *conn)
        .await?;
    let erasure: i64 = sqlx::query_scalar("UPDATE erasure_head SET seq = seq WHERE id = 1 RETURNING seq")
        .fetch_one(&mut *conn)
        .await?;
    Ok((audit, erasure))
}
