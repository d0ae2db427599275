//! Signed checkpoints of the chain, and the checks that find a truncated trail.
//!
//! The chain alone cannot show that its newest entries were deleted and `audit_head` set
//! back: what is left is a shorter chain that verifies. A checkpoint names one entry (its
//! seq and MAC) at one moment. The auditor keeps it off the server; as long as that copy
//! exists, every later state of the trail must still hold that exact entry, or entries
//! were removed. The same holds for the head stored in each statistics release: it must
//! be an entry of the chain. Neither check needs a key, so it also holds against someone
//! who has the server's keys: to keep seq N with the same MAC, the chain up to N must be
//! the same (HMAC is collision resistant).
//!
//! The signature is HMAC-SHA256 under its own HKDF subkey (`audit-checkpoint`), not the
//! chain key. HMAC, because only this installation issues and checks checkpoints (no
//! third party verifies them offline), and the keyring already derives HMAC subkeys. Its
//! own subkey, because a checkpoint signature must never be usable as a chain MAC or the
//! other way round (domain separation), and so that the checkpoint key could be handed to
//! an auditor's tool without giving it the power to write audit entries. What the
//! signature adds is only that a file handed to the auditor was issued by this
//! installation and not altered; the protection against truncation is the off-server copy.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{AuditError, Verification};
use crate::crypto::Keyring;
use crate::db::{Db, timestamp};

/// The `format` of a checkpoint file.
pub const FORMAT: &str = "hoanhap-audit-checkpoint/1";
/// A checkpoint file is a few hundred bytes; anything much larger is not one.
pub const MAX_LEN: usize = 4096;

/// A signed statement "the chain held entry `seq` with MAC `mac` at time `at`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Always `hoanhap-audit-checkpoint/1`.
    pub format: String,
    /// Sequence number of the entry.
    pub seq: i64,
    /// The entry's chain MAC, hex.
    pub mac: String,
    /// When the checkpoint was taken (RFC 3339, UTC).
    pub at: String,
    /// Id of the master key whose subkey signed it.
    pub key_id: String,
    /// HMAC-SHA256 of the fields above under the checkpoint subkey, hex.
    pub signature: String,
}

/// Why a checkpoint is refused before any comparison with the trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("this is not a hoanhap audit checkpoint")]
    Malformed,
    #[error("the checkpoint was signed under another master key")]
    OtherKey,
    #[error("the checkpoint's signature does not match: it was altered or not issued here")]
    BadSignature,
}

impl CheckpointError {
    /// The message id (`locales/*/core.ftl`) of the field error.
    pub fn message_id(self) -> &'static str {
        match self {
            Self::Malformed => "field-audit-checkpoint_invalid",
            Self::OtherKey => "field-audit-checkpoint_other_key",
            Self::BadSignature => "field-audit-checkpoint_signature",
        }
    }
}

fn message(format: &str, seq: i64, mac: &str, at: &str, key_id: &str) -> Vec<u8> {
    format!("{format}\n{seq}\n{mac}\n{at}\n{key_id}").into_bytes()
}

/// The keys of this installation that sign checkpoints: the current one and those retired
/// by key rotations, each known by its key id.
pub struct CheckpointKeys {
    keys: Vec<(String, ring::hmac::Key)>,
}

impl std::fmt::Debug for CheckpointKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointKeys")
            .field("key_ids", &self.keys.iter().map(|(id, _)| id).collect::<Vec<_>>())
            .finish()
    }
}

impl CheckpointKeys {
    pub fn new(keyring: &Keyring, retired: Vec<(String, ring::hmac::Key)>) -> Self {
        let mut keys = retired;
        keys.push((keyring.key_id().to_owned(), keyring.checkpoint_key()));
        Self { keys }
    }

    fn get(&self, key_id: &str) -> Option<&ring::hmac::Key> {
        self.keys.iter().find(|(id, _)| id == key_id).map(|(_, k)| k)
    }
}

impl Checkpoint {
    /// Parses a checkpoint file and checks its signature against this installation's keys.
    pub fn parse(text: &str, keyring: &CheckpointKeys) -> Result<Self, CheckpointError> {
        if text.len() > MAX_LEN {
            return Err(CheckpointError::Malformed);
        }
        let checkpoint: Self = serde_json::from_str(text.trim()).map_err(|_| CheckpointError::Malformed)?;
        checkpoint.check(keyring)?;
        Ok(checkpoint)
    }

    /// Checks the form and the signature.
    pub fn check(&self, keys: &CheckpointKeys) -> Result<(), CheckpointError> {
        let hex_of = |s: &str| hex::decode(s).ok();
        if self.format != FORMAT || self.seq < 1 || self.at.len() > 40 {
            return Err(CheckpointError::Malformed);
        }
        let (Some(mac), Some(signature)) = (hex_of(&self.mac), hex_of(&self.signature)) else {
            return Err(CheckpointError::Malformed);
        };
        if mac.len() != 32 || signature.len() != 32 {
            return Err(CheckpointError::Malformed);
        }
        let Some(key) = keys.get(&self.key_id) else {
            return Err(CheckpointError::OtherKey);
        };
        let signed = message(&self.format, self.seq, &self.mac, &self.at, &self.key_id);
        if ring::hmac::verify(key, &signed, &signature).is_err() {
            return Err(CheckpointError::BadSignature);
        }
        Ok(())
    }

    /// A short name for messages: `seq 42 (mac 1a2b3c4d…, taken 2024-07-01T08:00:00Z)`.
    pub fn name(&self) -> String {
        let short = self.mac.get(..8).unwrap_or(&self.mac);
        format!("seq {} (mac {short}…, taken {})", self.seq, self.at)
    }
}

/// Signs the current head of the trail. The caller verifies the chain first: a
/// checkpoint of a broken chain would vouch for it.
pub async fn issue(db: &Db, keyring: &Keyring, now: chrono::DateTime<chrono::Utc>) -> Result<Checkpoint, AuditError> {
    let head = sqlx::query("SELECT seq, mac FROM audit_head WHERE id = 1")
        .fetch_one(&db.pool)
        .await?;
    let seq: i64 = head.try_get("seq")?;
    let mac: Vec<u8> = head.try_get("mac")?;
    if seq < 1 {
        return Err(AuditError::Write("the audit trail is empty".into()));
    }
    let mac = hex::encode(mac);
    let at = timestamp(now);
    let key_id = keyring.key_id().to_owned();
    let signature = hex::encode(keyring.sign_checkpoint(&message(FORMAT, seq, &mac, &at, &key_id)));
    Ok(Checkpoint {
        format: FORMAT.to_owned(),
        seq,
        mac,
        at,
        key_id,
        signature,
    })
}

/// Whether the entry `seq` is in the trail with exactly `mac`. Seq 0 with no MAC is the
/// empty chain's head (a release published before any entry).
async fn holds(db: &Db, seq: i64, mac: &[u8]) -> Result<bool, AuditError> {
    if seq == 0 {
        return Ok(mac.is_empty());
    }
    let stored: Option<Vec<u8>> = sqlx::query_scalar("SELECT mac FROM audit_log WHERE seq = $1")
        .bind(seq)
        .fetch_optional(&db.pool)
        .await?;
    Ok(stored.is_some_and(|m| m == mac))
}

/// The outcome of comparing a checkpoint with the trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CheckpointCheck {
    pub seq: i64,
    pub at: String,
    /// False: the trail no longer holds that entry (entries were removed or replaced).
    pub contained: bool,
}

/// The heads stored in the statistics releases, compared with the trail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReleaseCheck {
    pub checked: i64,
    /// Ids of the releases whose stored head is not an entry of the chain.
    pub not_in_chain: Vec<String>,
}

/// Everything `audit verify` checks: the chain, every release's head, and optionally a
/// checkpoint held by the auditor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub chain: Verification,
    pub releases: ReleaseCheck,
    pub checkpoint: Option<CheckpointCheck>,
}

impl Report {
    pub fn ok(&self) -> bool {
        matches!(self.chain, Verification::Intact { .. })
            && self.releases.not_in_chain.is_empty()
            && self.checkpoint.as_ref().is_none_or(|c| c.contained)
    }
}

/// The JSON of a report: `{ok, entries | first_bad_seq, releases, checkpoint?}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportBody {
    /// True only when the chain, every release head and the checkpoint (if given) hold.
    pub ok: bool,
    /// Entries verified (an intact chain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<i64>,
    /// The first entry that does not verify (a broken chain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<i64>,
    pub releases: ReleaseCheck,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointCheck>,
}

impl From<&Report> for ReportBody {
    fn from(report: &Report) -> Self {
        let (entries, first_bad_seq) = match report.chain {
            Verification::Intact { entries, .. } => (Some(entries), None),
            Verification::Broken { first_bad_seq, .. } => (None, Some(first_bad_seq)),
        };
        Self {
            ok: report.ok(),
            entries,
            first_bad_seq,
            releases: report.releases.clone(),
            checkpoint: report.checkpoint.clone(),
        }
    }
}

/// Verifies the chain, then that every release head and the checkpoint (already checked
/// with [`Checkpoint::parse`] or [`Checkpoint::check`]) are entries of it. Read only.
pub async fn report(
    db: &Db,
    keys: &crate::crypto::ChainKeys,
    checkpoint: Option<&Checkpoint>,
) -> Result<Report, AuditError> {
    let chain = super::verify(db, keys).await?;
    let rows = sqlx::query("SELECT id, audit_head FROM stats_releases ORDER BY published_at, id")
        .fetch_all(&db.pool)
        .await?;
    let mut releases = ReleaseCheck::default();
    for row in &rows {
        let id: String = row.try_get("id")?;
        let head: String = row.try_get("audit_head")?;
        releases.checked += 1;
        let parsed = head
            .split_once(':')
            .and_then(|(seq, mac)| Some((seq.parse::<i64>().ok()?, hex::decode(mac).ok()?)));
        let held = match parsed {
            Some((seq, mac)) => holds(db, seq, &mac).await?,
            None => false,
        };
        if !held {
            releases.not_in_chain.push(id);
        }
    }
    let checkpoint = match checkpoint {
        None => None,
        Some(c) => {
            let mac = hex::decode(&c.mac).unwrap_or_default();
            Some(CheckpointCheck {
                seq: c.seq,
                at: c.at.clone(),
                contained: holds(db, c.seq, &mac).await?,
            })
        }
    };
    Ok(Report {
        chain,
        releases,
        checkpoint,
    })
}
