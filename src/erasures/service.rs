//! Checking the ledger's chain and re-applying it to the database.

use std::collections::BTreeMap;

use sqlx::AnyConnection;

use super::file::FileError;
use super::model::LedgerEntry;
use super::store;
use crate::AppState;
use crate::audit::{Event, Outcome, actions};
use crate::crypto::{Chain, ChainKeys};
use crate::keys::store::KeyStoreError;

/// The actor of the audit entries of a re-applied erasure.
pub const ACTOR: &str = "system";

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("the erasure ledger is broken at entry {seq}: an entry is missing, altered or not this installation's")]
    Broken { seq: i64 },
    #[error(
        "entry {seq} of the erasure ledger file differs from the database's; the file belongs to another \
         installation or one of them was altered"
    )]
    Conflict { seq: i64 },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Keys(#[from] KeyStoreError),
    #[error("the audit trail cannot be written: {0}")]
    Audit(#[from] crate::audit::AuditError),
}

/// Checks that `entries`, in the order of their `seq`, are the chain 1, 2, … n with every
/// MAC right; returns n, or the first entry that does not verify.
pub fn verify_chain(entries: &[LedgerEntry], keys: &ChainKeys) -> Result<usize, LedgerError> {
    let mut previous: &[u8] = &[];
    for (i, entry) in entries.iter().enumerate() {
        let expected = i as i64 + 1;
        if entry.seq != expected || !entry.verifies(keys, previous) {
            return Err(LedgerError::Broken { seq: expected });
        }
        previous = &entry.mac;
    }
    Ok(entries.len())
}

/// What re-applying the ledger did.
#[derive(Debug, Default)]
pub struct Reapplied {
    /// Codes of clients that were back in the database and are erased again.
    pub erased_again: Vec<String>,
    /// Entries the file held and the database lacked, now recorded in it.
    pub recorded: usize,
    /// Entries the database held and the file lacked, to append to the file.
    pub missing_from_file: Vec<LedgerEntry>,
}

/// Inside the caller's transaction: takes the union of the file's and the database's
/// entries (the same entry in both must be identical), checks its chain, records in the
/// database what only the file holds, and erases again every client of the ledger that
/// still has a row or a data key.
pub async fn reapply(
    conn: &mut AnyConnection,
    keys: &ChainKeys,
    from_file: Vec<LedgerEntry>,
) -> Result<Reapplied, LedgerError> {
    let in_db = store::entries(conn).await?;
    let mut union: BTreeMap<i64, (LedgerEntry, bool, bool)> = BTreeMap::new();
    for entry in in_db {
        union.insert(entry.seq, (entry, true, false));
    }
    for entry in from_file {
        match union.get_mut(&entry.seq) {
            Some((known, _, in_file)) if *known == entry => *in_file = true,
            Some(_) => return Err(LedgerError::Conflict { seq: entry.seq }),
            None => {
                union.insert(entry.seq, (entry, false, true));
            }
        }
    }
    let entries: Vec<&(LedgerEntry, bool, bool)> = union.values().collect();
    let chain: Vec<LedgerEntry> = entries.iter().map(|(e, _, _)| e.clone()).collect();
    verify_chain(&chain, keys)?;

    let mut outcome = Reapplied::default();
    for (entry, in_db, in_file) in &entries {
        if !in_db {
            store::insert(conn, entry).await?;
            outcome.recorded += 1;
        }
        if !in_file {
            outcome.missing_from_file.push(entry.clone());
        }
    }
    let ids: Vec<String> = chain.iter().map(|e| e.client_id.clone()).collect();
    let present = store::still_present(conn, &ids).await?;
    for entry in chain.iter().filter(|e| present.binary_search(&e.client_id).is_ok()) {
        crate::clients::delete_client_rows(conn, &entry.client_id).await?;
        outcome.erased_again.push(entry.code.clone());
    }
    Ok(outcome)
}

/// `serve`'s check at start: re-applies the ledger in one transaction, then brings the file
/// up to date and records each erasure done again, flagged, as `system`. Logs codes only.
pub async fn reconcile(state: &AppState) -> Result<Reapplied, LedgerError> {
    let file = state.ledger_file();
    let from_file = file.read()?;
    let mut tx = state.db.pool.begin().await?;
    let keys = crate::keys::store::chain_keys(&mut tx, &state.keyring, Chain::Erasure).await?;
    let outcome = reapply(&mut tx, &keys, from_file).await?;
    tx.commit().await?;
    file.append(&outcome.missing_from_file)?;
    record(state, &outcome).await?;
    Ok(outcome)
}

/// Logs and audits what [`reapply`] did, once its transaction is committed.
pub async fn record(state: &AppState, outcome: &Reapplied) -> Result<(), LedgerError> {
    if !outcome.erased_again.is_empty()
        && let Err(e) = state.db.truncate_wal().await
    {
        tracing::warn!(error = %e, "WAL not truncated after erasing again");
    }
    for code in &outcome.erased_again {
        tracing::warn!(%code, "erased again from the erasure ledger: the client had come back with restored data");
        let event = Event::new(ACTOR, actions::ERASURE_REAPPLY, Outcome::Success)
            .client(code)
            .flagged();
        state.audit_log.append(event, state.clock.now()).await?;
    }
    if outcome.recorded > 0 || !outcome.missing_from_file.is_empty() {
        tracing::info!(
            recorded = outcome.recorded,
            appended_to_file = outcome.missing_from_file.len(),
            "erasure ledger brought up to date"
        );
    }
    Ok(())
}

/// `hoanhap erasures verify`: the file alone, in `seq` order.
pub async fn verify_file(state: &AppState) -> Result<usize, LedgerError> {
    let mut entries = state.ledger_file().read()?;
    entries.sort_by_key(|e| e.seq);
    entries.dedup();
    let mut conn = state.db.pool.acquire().await?;
    let keys = crate::keys::store::chain_keys(&mut conn, &state.keyring, Chain::Erasure).await?;
    verify_chain(&entries, &keys)
}
