//! The audit trail: an HMAC chain, `mac_i = HMAC(k_audit, entry_i ‖ mac_{i-1})`.
//!
//! Entries say who did what to which client code, when, why and with what outcome; never
//! content. Appends go through one writer task that takes every entry waiting and
//! writes them in one transaction, then answers each caller: requests do not queue
//! behind a lock one by one, and each entry is committed before its response leaves.

pub mod actions;
pub mod checkpoint;

use chrono::{DateTime, Utc};
use ring::hmac;
use serde::Serialize;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use std::sync::Arc;

use crate::crypto::ChainKeys;
use crate::db::{Db, timestamp};

pub use checkpoint::{Checkpoint, CheckpointError, CheckpointKeys, Report, ReportBody};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Failure => "failure",
        }
    }
}

/// One event to record. `actor` is a user id, or `anonymous` / `system`.
#[derive(Debug, Clone)]
pub struct Event {
    pub actor: String,
    pub actor_role: Option<String>,
    pub action: String,
    pub client_code: Option<String>,
    pub object_id: Option<String>,
    pub reason: Option<String>,
    pub outcome: Outcome,
    /// Drawn to the auditor's attention (break-glass, overrides, erasure).
    pub flagged: bool,
}

impl Event {
    pub fn new(actor: impl Into<String>, action: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            actor: actor.into(),
            actor_role: None,
            action: action.into(),
            client_code: None,
            object_id: None,
            reason: None,
            outcome,
            flagged: false,
        }
    }
    pub fn role(mut self, role: &str) -> Self {
        self.actor_role = Some(role.to_owned());
        self
    }
    pub fn client(mut self, code: &str) -> Self {
        self.client_code = Some(code.to_owned());
        self
    }
    pub fn object(mut self, id: &str) -> Self {
        self.object_id = Some(id.to_owned());
        self
    }
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }
    pub fn flagged(mut self) -> Self {
        self.flagged = true;
        self
    }
}

/// A stored entry.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_role: Option<String>,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub outcome: String,
    pub flagged: bool,
}

impl Entry {
    /// Length-prefixed fields, so no two different entries encode alike.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        let mut put = |field: Option<&str>| match field {
            None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
            Some(s) => {
                out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX - 1).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        };
        let seq = self.seq.to_string();
        put(Some(&seq));
        put(Some(&self.at));
        put(Some(&self.actor));
        put(self.actor_role.as_deref());
        put(Some(&self.action));
        put(self.client_code.as_deref());
        put(self.object_id.as_deref());
        put(self.reason.as_deref());
        put(Some(&self.outcome));
        put(Some(if self.flagged { "1" } else { "0" }));
        out
    }

    fn mac(&self, key: &hmac::Key, previous: &[u8]) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(&self.encode());
        ctx.update(previous);
        ctx.sign().as_ref().to_vec()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the audit trail cannot be written: {0}")]
    Write(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

type Reply = oneshot::Sender<Result<i64, String>>;

/// Handle to the writer task; cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditLog {
    sender: mpsc::Sender<(Event, DateTime<Utc>, Reply)>,
    db: Db,
    keys: Arc<ChainKeys>,
    checkpoint_keys: Arc<CheckpointKeys>,
}

impl AuditLog {
    /// Starts the writer task on the current runtime. New entries are signed with the
    /// current key of `keys`; entries from before a key rotation verify with theirs.
    pub fn start(db: Db, keys: ChainKeys, checkpoint_keys: CheckpointKeys) -> Self {
        let (sender, receiver) = mpsc::channel(4096);
        tokio::spawn(writer(db.clone(), keys.current().clone(), receiver));
        Self {
            sender,
            db,
            keys: Arc::new(keys),
            checkpoint_keys: Arc::new(checkpoint_keys),
        }
    }

    /// Entries sent to the writer and not yet taken by it (for `/metrics`).
    pub fn queue_depth(&self) -> usize {
        self.sender.max_capacity() - self.sender.capacity()
    }

    /// The keys a kept checkpoint may be signed with (this key's and retired ones).
    pub fn checkpoint_keys(&self) -> &CheckpointKeys {
        &self.checkpoint_keys
    }

    /// Appends one entry and waits until it is committed. An error means the entry is not
    /// recorded: the caller must not return the data (fail closed).
    pub async fn append(&self, event: Event, at: DateTime<Utc>) -> Result<i64, AuditError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send((event, at, reply))
            .await
            .map_err(|_| AuditError::Write("the writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| AuditError::Write("the writer has stopped".into()))?
            .map_err(AuditError::Write)
    }

    /// Appends `events` inside the transaction of the write they record, so they commit
    /// with it or not at all: a crash can lose neither the entry of a write that was
    /// answered nor leave an entry of a write that was not. Call it last, just before the
    /// commit: the chain's head stays locked until then.
    pub async fn append_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        events: &[Event],
        at: DateTime<Utc>,
    ) -> Result<i64, sqlx::Error> {
        write_entries(conn, self.keys.current(), events.iter().map(|e| (e, at))).await
    }

    /// The current head: `seq:mac-hex`, stored with each statistics release.
    pub async fn head(&self) -> Result<String, AuditError> {
        let row = sqlx::query("SELECT seq, mac FROM audit_head WHERE id = 1")
            .fetch_one(&self.db.pool)
            .await?;
        let seq: i64 = row.try_get("seq")?;
        let mac: Vec<u8> = row.try_get("mac")?;
        Ok(format!("{seq}:{}", hex::encode(mac)))
    }

    /// Checks every entry's MAC in order, and that the head matches the last entry.
    pub async fn verify(&self) -> Result<Verification, AuditError> {
        verify(&self.db, &self.keys).await
    }

    /// Verifies the chain, the head stored in every statistics release and, when given,
    /// an auditor's checkpoint (its signature already checked).
    pub async fn report(&self, checkpoint: Option<&Checkpoint>) -> Result<Report, AuditError> {
        checkpoint::report(&self.db, &self.keys, checkpoint).await
    }

    /// Takes a checkpoint: verifies the chain, records `event` (its outcome set here), then
    /// signs the head, which then includes that entry. A broken chain gets no checkpoint:
    /// the answer is the first bad seq, and the refusal is recorded, flagged.
    pub async fn checkpoint(
        &self,
        keyring: &crate::crypto::Keyring,
        mut event: Event,
        now: DateTime<Utc>,
    ) -> Result<Result<Checkpoint, i64>, AuditError> {
        match self.verify().await? {
            Verification::Broken { first_bad_seq, .. } => {
                event.outcome = Outcome::Failure;
                event.flagged = true;
                event.object_id = Some(first_bad_seq.to_string());
                self.append(event, now).await?;
                Ok(Err(first_bad_seq))
            }
            Verification::Intact { .. } => {
                event.outcome = Outcome::Success;
                self.append(event, now).await?;
                Ok(Ok(checkpoint::issue(&self.db, keyring, now).await?))
            }
        }
    }

    pub async fn list(&self, filter: &Filter) -> Result<Vec<Entry>, AuditError> {
        let set = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        let mut sql = crate::db::Sql::new(
            "SELECT seq, at, actor, actor_role, action, client_code, object_id, reason, outcome, flagged \
             FROM audit_log WHERE 1 = 1",
        );
        sql.filter(" AND at >= ", set(&filter.from))
            .filter(" AND at <= ", set(&filter.to))
            .filter(" AND actor = ", set(&filter.actor))
            .filter(" AND client_code = ", set(&filter.client_code))
            .filter(" AND flagged = ", filter.flagged_only.then_some(true))
            .push(" ORDER BY seq DESC LIMIT ")
            .bind(filter.limit.clamp(1, 1000));
        let rows = sql.fetch_all(&self.db.pool).await?;
        rows.iter().map(decode).collect::<Result<_, _>>().map_err(Into::into)
    }
}

/// Filters of the auditor's view.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub actor: Option<String>,
    pub client_code: Option<String>,
    pub flagged_only: bool,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Verification {
    Intact { ok: bool, entries: i64 },
    Broken { ok: bool, first_bad_seq: i64 },
}

fn decode(row: &sqlx::any::AnyRow) -> Result<Entry, sqlx::Error> {
    Ok(Entry {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        actor_role: row.try_get("actor_role")?,
        action: row.try_get("action")?,
        client_code: row.try_get("client_code")?,
        object_id: row.try_get("object_id")?,
        reason: row.try_get("reason")?,
        outcome: row.try_get("outcome")?,
        flagged: row.try_get::<crate::db::Flag, _>("flagged")?.0,
    })
}

async fn writer(db: Db, key: hmac::Key, mut receiver: mpsc::Receiver<(Event, DateTime<Utc>, Reply)>) {
    let mut batch = Vec::new();
    while receiver.recv_many(&mut batch, 512).await > 0 {
        let started = std::time::Instant::now();
        let result = write_batch(&db, &key, &batch).await;
        crate::metrics::audit_written(started.elapsed().as_secs_f64());
        for (i, (_, _, reply)) in batch.drain(..).enumerate() {
            let answer = match &result {
                Ok(first) => Ok(first + i as i64),
                Err(e) => Err(e.to_string()),
            };
            let _ = reply.send(answer);
        }
        if let Err(e) = result {
            tracing::error!(error = %e, "audit batch not written");
        }
    }
}

/// Writes a batch in one transaction; returns the first sequence number used.
async fn write_batch(db: &Db, key: &hmac::Key, batch: &[(Event, DateTime<Utc>, Reply)]) -> Result<i64, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let first = write_entries(&mut tx, key, batch.iter().map(|(event, at, _)| (event, *at))).await?;
    tx.commit().await?;
    Ok(first)
}

/// Appends entries to the chain inside the caller's transaction; returns the first
/// sequence number used. Updating the head first takes its lock (the write lock on
/// SQLite, the row's on PostgreSQL) until that transaction ends, so appends take turns.
async fn write_entries<'e>(
    conn: &mut sqlx::AnyConnection,
    key: &hmac::Key,
    events: impl Iterator<Item = (&'e Event, DateTime<Utc>)>,
) -> Result<i64, sqlx::Error> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, mac")
        .fetch_one(&mut *conn)
        .await?;
    let mut seq: i64 = head.try_get("seq")?;
    let mut previous: Vec<u8> = head.try_get("mac")?;
    let first = seq + 1;
    for (event, at) in events {
        seq += 1;
        let entry = Entry {
            seq,
            at: timestamp(at),
            actor: event.actor.clone(),
            actor_role: event.actor_role.clone(),
            action: event.action.clone(),
            client_code: event.client_code.clone(),
            object_id: event.object_id.clone(),
            reason: event.reason.clone(),
            outcome: event.outcome.as_str().to_owned(),
            flagged: event.flagged,
        };
        let mac = entry.mac(key, &previous);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, actor_role, action, client_code, object_id, reason, outcome, \
             flagged, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(entry.seq)
        .bind(&entry.at)
        .bind(&entry.actor)
        .bind(&entry.actor_role)
        .bind(&entry.action)
        .bind(&entry.client_code)
        .bind(&entry.object_id)
        .bind(&entry.reason)
        .bind(&entry.outcome)
        .bind(entry.flagged)
        .bind(&mac)
        .execute(&mut *conn)
        .await?;
        previous = mac;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, mac = $2 WHERE id = 1")
        .bind(seq)
        .bind(&previous)
        .execute(&mut *conn)
        .await?;
    Ok(first)
}

/// Walks the chain in pages so a long trail does not load into memory at once.
pub async fn verify(db: &Db, keys: &ChainKeys) -> Result<Verification, AuditError> {
    const PAGE: i64 = 2000;
    let mut previous: Vec<u8> = Vec::new();
    let mut expected_seq = 1;
    loop {
        let rows = sqlx::query(
            "SELECT seq, at, actor, actor_role, action, client_code, object_id, reason, outcome, flagged, mac \
             FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2",
        )
        .bind(expected_seq)
        .bind(PAGE)
        .fetch_all(&db.pool)
        .await?;
        let done = (rows.len() as i64) < PAGE;
        for row in &rows {
            let entry = decode(row)?;
            let stored: Vec<u8> = row.try_get("mac")?;
            let computed = entry.mac(keys.for_seq(entry.seq), &previous);
            if entry.seq != expected_seq || computed != stored {
                return Ok(Verification::Broken {
                    ok: false,
                    first_bad_seq: expected_seq,
                });
            }
            previous = stored;
            expected_seq += 1;
        }
        if done {
            break;
        }
    }
    let entries = expected_seq - 1;
    let head = sqlx::query("SELECT seq, mac FROM audit_head WHERE id = 1")
        .fetch_one(&db.pool)
        .await?;
    let head_seq: i64 = head.try_get("seq")?;
    let head_mac: Vec<u8> = head.try_get("mac")?;
    if head_seq != entries || head_mac != previous {
        // Entries were removed from the end, or the head was altered.
        return Ok(Verification::Broken {
            ok: false,
            first_bad_seq: entries.min(head_seq) + 1,
        });
    }
    Ok(Verification::Intact { ok: true, entries })
}
