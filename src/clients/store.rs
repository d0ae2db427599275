//! Storage of clients: sealing on the way in, opening on the way out, crypto-shredding.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::model::{
    CasePeriod, Client, ClientPatch, ClientStatus, Created, DuplicateMatch, FieldClasses, ListFilter, ListScope,
    NewClient, Pii, age_band,
};
use crate::consents::NewConsent;
use crate::crypto::{CryptoError, DataKey, FieldRef, Keyring};
use crate::db::{Db, Sql, timestamp};
use crate::erasures::LedgerFile;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such client")]
    NotFound,
    #[error("the client was changed by someone else (now at version {current})")]
    Conflict { current: i64 },
    #[error("unknown area")]
    UnknownArea,
    #[error("the case is {}", status.as_str())]
    InvalidState { status: ClientStatus },
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<StoreError> for crate::error::Error {
    fn from(e: StoreError) -> Self {
        use crate::error::Error;
        match e {
            StoreError::NotFound => Error::NotFound,
            StoreError::Conflict { current } => Error::Conflict {
                code: "conflict",
                details: Some(serde_json::json!({ "current_version": current })),
            },
            StoreError::UnknownArea => Error::field("area", "field-unknown_area"),
            StoreError::InvalidState {
                status: ClientStatus::Closed,
            } => Error::conflict("case_not_open"),
            StoreError::InvalidState {
                status: ClientStatus::Open,
            } => Error::conflict("case_not_closed"),
            StoreError::Crypto(e) => e.into(),
            StoreError::Db(e) => e.into(),
        }
    }
}

const TABLE: &str = "clients";

/// Sealed columns and the class each belongs to.
#[derive(Clone, Copy)]
enum Class {
    Chosen,
    Identity,
    Contact,
    Narrative,
}

const SEALED: [(&str, Class); 7] = [
    ("full_name", Class::Identity),
    ("chosen_name", Class::Chosen),
    ("date_of_birth", Class::Identity),
    ("id_number", Class::Identity),
    ("phone", Class::Contact),
    ("address", Class::Contact),
    ("notes", Class::Narrative),
];

fn allowed(classes: FieldClasses, class: Class) -> bool {
    match class {
        Class::Chosen => classes.chosen_name,
        Class::Identity => classes.identity,
        Class::Contact => classes.contact,
        Class::Narrative => classes.narrative,
    }
}

const COLUMNS: &str = "id, code, area, status, eligible, age_band, opened_on, closed_on, closure_reason, \
     assigned_worker, child_protection, version, created_at, updated_at, full_name_sealed, \
     chosen_name_sealed, date_of_birth_sealed, id_number_sealed, phone_sealed, address_sealed, notes_sealed";

/// Appends the condition that a client `c` is in `scope`; `false` when no client can be
/// (a scope of no areas), so the caller need not run the query.
pub fn push_scope<'q>(sql: &mut Sql<'q>, scope: &'q ListScope) -> bool {
    match scope {
        ListScope::AssignedTo(user) => sql.push("c.assigned_worker = ").bind(user.as_str()),
        ListScope::Volunteer(user) => sql
            .push("c.id IN (SELECT client_id FROM client_volunteers WHERE user_id = ")
            .bind(user.as_str())
            .push(")"),
        ListScope::Areas(areas) if areas.is_empty() => return false,
        ListScope::Areas(areas) => sql
            .push("c.area IN (")
            .bind_all(areas.iter().map(String::as_str))
            .push(")"),
    };
    true
}

/// A client as [`ClientStore::list`] read it: the coded fields, and the sealed ones kept
/// unopened with the wrapped key.
pub struct ListedClient {
    /// The coded fields; every sealed field is `None`.
    pub client: Client,
    row: AnyRow,
}

/// How a case is closed: why, on which day, and by which worker when a supervisor is to
/// review it.
#[derive(Debug, Clone, Copy)]
pub struct Closure<'a> {
    pub reason: &'a str,
    pub on: NaiveDate,
    pub review_by: Option<&'a str>,
}

/// Client storage bound to the database and the keyring.
#[derive(Clone, Debug)]
pub struct ClientStore {
    db: Db,
    keyring: Arc<Keyring>,
    code_prefix: String,
    ledger: LedgerFile,
}

/// One client's unwrapped data key. It seals and opens values of other tables (a need's
/// detail, a referral note…) bound to that table, column and row, so erasing the client
/// makes them unreadable with everything else. The key is zeroized when this is dropped.
pub struct ClientKey {
    client_id: String,
    key: DataKey,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// The client this key belongs to.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    fn field<'a>(&'a self, table: &'a str, column: &'a str, row_id: &'a str) -> FieldRef<'a> {
        FieldRef {
            table,
            column,
            row_id,
            client_id: &self.client_id,
        }
    }

    /// Seals `plaintext` as the value of `table.column` in row `row_id`.
    pub fn seal(&self, table: &str, column: &str, row_id: &str, plaintext: &str) -> Result<Vec<u8>, CryptoError> {
        self.key.seal_str(self.field(table, column, row_id), plaintext)
    }

    /// Seals an optional value.
    pub fn seal_opt(
        &self,
        table: &str,
        column: &str,
        row_id: &str,
        plaintext: Option<&str>,
    ) -> Result<Option<Vec<u8>>, CryptoError> {
        plaintext.map(|p| self.seal(table, column, row_id, p)).transpose()
    }

    /// Opens what [`ClientKey::seal`] sealed for the same table, column and row.
    pub fn open(&self, table: &str, column: &str, row_id: &str, sealed: &[u8]) -> Result<Pii, CryptoError> {
        Ok(Pii::new(
            self.key.open_string(self.field(table, column, row_id), sealed)?,
        ))
    }

    /// Opens an optional sealed value.
    pub fn open_opt(
        &self,
        table: &str,
        column: &str,
        row_id: &str,
        sealed: Option<&[u8]>,
    ) -> Result<Option<Pii>, CryptoError> {
        sealed.map(|s| self.open(table, column, row_id, s)).transpose()
    }
}

fn field<'a>(column: &'a str, client_id: &'a str) -> FieldRef<'a> {
    FieldRef {
        table: TABLE,
        column,
        row_id: client_id,
        client_id,
    }
}

fn seal_opt(key: &DataKey, column: &str, id: &str, value: Option<&Pii>) -> Result<Option<Vec<u8>>, CryptoError> {
    value.map(|v| key.seal_str(field(column, id), v.expose())).transpose()
}

impl ClientStore {
    pub fn new(db: Db, keyring: Arc<Keyring>, code_prefix: String, ledger: LedgerFile) -> Self {
        Self {
            db,
            keyring,
            code_prefix,
            ledger,
        }
    }

    /// Opens a case without recorded consents (tests, imports); see [`ClientStore::intake`].
    pub async fn create(&self, new: &NewClient, now: DateTime<Utc>) -> Result<Created, StoreError> {
        let mut tx = self.db.pool.begin().await?;
        let created = self.intake(&mut tx, new, &[], None, &[], now).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Opens a case: allocates the next code for the intake year, creates and wraps a
    /// data key, seals the personal fields, stores the blind indexes, the first case
    /// period, the consents given at intake and, for a child, the child-protection alert
    /// to the district's supervisors, and a `possible_duplicate` alert on each of
    /// `alert_matches` (matches the caller may not be shown: their supervisors are told
    /// instead) — all in one transaction, so either everything is stored or nothing.
    /// Returns every possible duplicate (ids and codes, never content).
    pub async fn intake(
        &self,
        tx: &mut Transaction<'_, Any>,
        new: &NewClient,
        consents: &[NewConsent],
        recorded_by: Option<&str>,
        alert_matches: &[DuplicateMatch],
        now: DateTime<Utc>,
    ) -> Result<Created, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let key = DataKey::generate()?;
        let wrapped = self.keyring.wrap(&key, &id)?;
        let dob = new.date_of_birth.to_string();
        let blind = self.keyring.blind_index();
        let bi_name_dob = blind.name_dob(new.full_name.expose(), &dob);
        let bi_id = new.id_number.as_ref().and_then(|n| blind.id_number(n.expose()));
        let band = age_band(new.date_of_birth, new.opened_on);
        let child = band == super::AgeBand::Under18;
        let ts = timestamp(now);

        // The write comes first so SQLite takes its write lock at once and waits for it,
        // rather than failing to upgrade a read lock under concurrent intakes.
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO code_sequences (prefix, year, last) VALUES ($1, $2, 1) \
             ON CONFLICT (prefix, year) DO UPDATE SET last = code_sequences.last + 1 RETURNING last",
        )
        .bind(&self.code_prefix)
        .bind(i64::from(new.opened_on.year()))
        .fetch_one(&mut **tx)
        .await?;
        let code = format!("{}-{}-{seq:05}", self.code_prefix, new.opened_on.year());
        // Read in the transaction, after its first write: a second connection from the
        // pool while this one is held could wait for ever under many intakes at once.
        let duplicates = duplicates_in(&mut **tx, &bi_name_dob, bi_id.as_deref(), None).await?;
        let insert = sqlx::query(
            "INSERT INTO clients (id, code, area, status, eligible, age_band, opened_on, assigned_worker, \
             child_protection, version, created_at, updated_at, full_name_sealed, chosen_name_sealed, \
             date_of_birth_sealed, id_number_sealed, phone_sealed, address_sealed, notes_sealed, bi_name_dob, \
             bi_id_number) VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, 1, $9, $9, $10, $11, $12, $13, $14, $15, \
             $16, $17, $18)",
        )
        .bind(&id)
        .bind(&code)
        .bind(&new.area)
        .bind(new.eligible)
        .bind(band.as_str())
        .bind(new.opened_on.to_string())
        .bind(&new.assigned_worker)
        .bind(child)
        .bind(&ts)
        .bind(key.seal_str(field("full_name", &id), new.full_name.expose())?)
        .bind(seal_opt(&key, "chosen_name", &id, new.chosen_name.as_ref())?)
        .bind(key.seal_str(field("date_of_birth", &id), &dob)?)
        .bind(seal_opt(&key, "id_number", &id, new.id_number.as_ref())?)
        .bind(seal_opt(&key, "phone", &id, new.phone.as_ref())?)
        .bind(seal_opt(&key, "address", &id, new.address.as_ref())?)
        .bind(seal_opt(&key, "notes", &id, new.notes.as_ref())?)
        .bind(bi_name_dob)
        .bind(bi_id)
        .execute(&mut **tx)
        .await;
        if let Err(e) = insert {
            return Err(if is_fk_violation(&e) {
                StoreError::UnknownArea
            } else {
                e.into()
            });
        }
        sqlx::query("INSERT INTO case_periods (client_id, opened_on) VALUES ($1, $2)")
            .bind(&id)
            .bind(new.opened_on.to_string())
            .execute(&mut **tx)
            .await?;
        sqlx::query("INSERT INTO client_areas (id, client_id, area, from_date, moved_at) VALUES ($1, $1, $2, $3, $4)")
            .bind(&id)
            .bind(&new.area)
            .bind(new.opened_on.to_string())
            .bind(&ts)
            .execute(&mut **tx)
            .await?;
        sqlx::query("INSERT INTO client_keys (client_id, master_key_id, wrapped_key) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(self.keyring.key_id())
            .bind(wrapped)
            .execute(&mut **tx)
            .await?;
        for consent in consents {
            crate::consents::insert(tx, &id, consent, recorded_by, now).await?;
        }
        if child {
            super::alerts::raise(tx, &id, super::alerts::CHILD_PROTECTION, recorded_by, now).await?;
        }
        for matched in alert_matches {
            super::alerts::raise_related(
                tx,
                &matched.id,
                super::alerts::POSSIBLE_DUPLICATE,
                recorded_by,
                &code,
                now,
            )
            .await?;
        }
        let client = self.fetch(tx, &id, FieldClasses::ALL).await?;
        Ok(Created {
            client,
            possible_duplicates: duplicates,
        })
    }

    /// Candidate duplicates for a name, birth date and optional ID number: ids and codes
    /// only, whoever may see them (the caller filters).
    pub async fn find_duplicates(
        &self,
        full_name: &str,
        date_of_birth: NaiveDate,
        id_number: Option<&str>,
    ) -> Result<Vec<DuplicateMatch>, StoreError> {
        let blind = self.keyring.blind_index();
        let bi = blind.name_dob(full_name, &date_of_birth.to_string());
        let bi_id = id_number.and_then(|n| blind.id_number(n));
        duplicates_in(&self.db.pool, &bi, bi_id.as_deref(), None).await
    }

    pub async fn get(&self, id: &str, classes: FieldClasses) -> Result<Client, StoreError> {
        let mut tx = self.db.pool.begin().await?;
        let client = self.fetch(&mut tx, id, classes).await?;
        tx.commit().await?;
        Ok(client)
    }

    /// The id of the client with this code, if any.
    pub async fn id_for_code(&self, code: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM clients WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.db.pool)
            .await?)
    }

    /// The client's data key, unwrapped once for any number of [`ClientKey::seal`] and
    /// [`ClientKey::open`] calls (a referral with its notes, a list of support logs).
    pub async fn key(&self, client_id: &str) -> Result<ClientKey, StoreError> {
        let key = self.data_key_of(client_id).await?;
        Ok(ClientKey {
            client_id: client_id.to_owned(),
            key,
        })
    }

    /// The client's data key from its wrapped copy read in the same query as the rows it
    /// opens (a list across clients), without a round trip per row.
    pub fn key_from_wrapped(&self, client_id: &str, wrapped_key: &[u8]) -> Result<ClientKey, StoreError> {
        Ok(ClientKey {
            client_id: client_id.to_owned(),
            key: self.keyring.unwrap(wrapped_key, client_id)?,
        })
    }

    async fn data_key_of(&self, client_id: &str) -> Result<DataKey, StoreError> {
        let wrapped: Vec<u8> = sqlx::query_scalar("SELECT wrapped_key FROM client_keys WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(self.keyring.unwrap(&wrapped, client_id)?)
    }

    async fn data_key(&self, tx: &mut Transaction<'_, Any>, id: &str) -> Result<DataKey, StoreError> {
        let wrapped: Vec<u8> = sqlx::query_scalar("SELECT wrapped_key FROM client_keys WHERE client_id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(self.keyring.unwrap(&wrapped, id)?)
    }

    async fn fetch(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        classes: FieldClasses,
    ) -> Result<Client, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM clients WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let key = if !classes.opens_client_row() {
            None
        } else {
            Some(self.data_key(tx, id).await?)
        };
        decode(&row, key.as_ref(), classes)
    }

    /// Applies a patch if `patch.version` is current; bumps the version. One transaction.
    pub async fn update(&self, id: &str, patch: &ClientPatch, now: DateTime<Utc>) -> Result<Client, StoreError> {
        let mut tx = self.db.pool.begin().await?;
        let client = self.update_by(&mut tx, id, patch, None, now).await?;
        tx.commit().await?;
        Ok(client)
    }

    /// [`ClientStore::update`] by a user: a corrected birth date that makes the client a
    /// child raises the child-protection alert in the same transaction.
    pub async fn update_by(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        patch: &ClientPatch,
        by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Client, StoreError> {
        // Claim the row first (a write), so concurrent editors serialise on it.
        let claimed =
            sqlx::query("UPDATE clients SET version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3")
                .bind(timestamp(now))
                .bind(id)
                .bind(patch.version)
                .execute(&mut **tx)
                .await?
                .rows_affected();
        if claimed == 0 {
            let current: Option<i64> = sqlx::query_scalar("SELECT version FROM clients WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
            return Err(match current {
                Some(current) => StoreError::Conflict { current },
                None => StoreError::NotFound,
            });
        }
        let key = self.data_key(tx, id).await?;
        let current = self.fetch(tx, id, FieldClasses::ALL).await?;
        let mut sets: Vec<(&str, Value)> = Vec::new();
        if let Some(eligible) = patch.eligible {
            sets.push(("eligible", Value::Bool(eligible)));
        }
        if let Some(name) = &patch.full_name {
            sets.push((
                "full_name_sealed",
                Value::Bytes(Some(key.seal_str(field("full_name", id), name.expose())?)),
            ));
        }
        if let Some(dob) = patch.date_of_birth {
            let text = dob.to_string();
            sets.push((
                "date_of_birth_sealed",
                Value::Bytes(Some(key.seal_str(field("date_of_birth", id), &text)?)),
            ));
            let opened: NaiveDate = current.opened_on.parse().map_err(|_| CryptoError::Integrity)?;
            let band = age_band(dob, opened);
            sets.push(("age_band", Value::Text(Some(band.as_str().to_owned()))));
            let child = band == super::AgeBand::Under18;
            sets.push(("child_protection", Value::Bool(child)));
            if child && !current.child_protection {
                super::alerts::raise(tx, id, super::alerts::CHILD_PROTECTION, by, now).await?;
            }
        }
        for (column, value) in [
            ("chosen_name", &patch.chosen_name),
            ("id_number", &patch.id_number),
            ("phone", &patch.phone),
            ("address", &patch.address),
            ("notes", &patch.notes),
        ] {
            if let Some(value) = value {
                let sealed = seal_opt(&key, column, id, value.as_ref())?;
                sets.push((sealed_column(column), Value::Bytes(sealed)));
            }
        }
        // Blind indexes follow the identity fields they are computed from.
        if patch.full_name.is_some() || patch.date_of_birth.is_some() {
            let name = patch.full_name.as_ref().or(current.full_name.as_ref());
            let dob = patch
                .date_of_birth
                .map(|d| d.to_string())
                .or_else(|| current.date_of_birth.as_ref().map(|d| d.expose().clone()));
            if let (Some(name), Some(dob)) = (name, dob) {
                let bi = self.keyring.blind_index().name_dob(name.expose(), &dob);
                sets.push(("bi_name_dob", Value::Bytes(Some(bi))));
            }
        }
        if let Some(idn) = &patch.id_number {
            let bi = idn
                .as_ref()
                .and_then(|n| self.keyring.blind_index().id_number(n.expose()));
            sets.push(("bi_id_number", Value::Bytes(bi)));
        }
        if !sets.is_empty() {
            let assignments: Vec<String> = sets
                .iter()
                .enumerate()
                .map(|(i, (col, _))| format!("{col} = ${}", i + 2))
                .collect();
            let sql = format!("UPDATE clients SET {} WHERE id = $1", assignments.join(", "));
            let mut query = sqlx::query(&sql).bind(id);
            for (_, value) in sets {
                query = match value {
                    Value::Text(t) => query.bind(t),
                    Value::Bool(b) => query.bind(b),
                    Value::Bytes(b) => query.bind(b),
                };
            }
            query.execute(&mut **tx).await?;
        }
        let client = self.fetch(tx, id, FieldClasses::ALL).await?;
        Ok(client)
    }

    /// Crypto-shredding: appends the erasure to the ledger (database and file) and its
    /// audit entry (`audit`, given its client code here) and deletes the wrapped
    /// data key and every row of the client (support logs, volunteer assignments,
    /// referrals and their events, needs, consents, case periods, break-glass grants,
    /// alerts, the client row), in one transaction; tables added later cascade from
    /// `clients`. With SQLite's `secure_delete` the freed content is zeroed, and after the
    /// commit the WAL (which still holds the pages as they were) is checkpointed and
    /// truncated; see [`Db::truncate_wal`] for what PostgreSQL does and does not guarantee.
    /// The code is not reused because the sequence never goes back. Returns the erased
    /// client's code.
    pub async fn erase(
        &self,
        id: &str,
        by: Option<&str>,
        now: DateTime<Utc>,
        audit: (&crate::audit::AuditLog, crate::audit::Event),
    ) -> Result<String, StoreError> {
        let mut tx = self.db.pool.begin().await?;
        let code = delete_client_rows(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        let entry = crate::erasures::store::append(&mut tx, self.keyring.erasure_key(), id, &code, by, now).await?;
        let (log, event) = audit;
        log.append_in(&mut tx, &[event.client(&code)], now).await?;
        tx.commit().await?;
        // The file takes this entry and any another server wrote since this one last
        // appended, so it has no gap; if this fails, it catches up at the next start.
        if let Err(e) = self.catch_up_ledger(entry.seq).await {
            tracing::error!(code = %code, error = %e, "erasure not yet in the ledger file");
        }
        // The erasure stands once committed; a WAL still held by a reader is truncated by a
        // later erasure or checkpoint, so this is logged, not answered as a failure.
        match self.db.truncate_wal().await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(client_id = %id, "WAL not truncated after erasure: a reader held it"),
            Err(e) => tracing::warn!(client_id = %id, error = %e, "WAL not truncated after erasure"),
        }
        Ok(code)
    }

    /// Appends to the ledger file every entry of the database it lacks, up to `seq`.
    async fn catch_up_ledger(&self, seq: i64) -> Result<(), String> {
        let last = self.ledger.last_seq().map_err(|e| e.to_string())?;
        let missing = crate::erasures::store::after(&self.db, last)
            .await
            .map_err(|e| e.to_string())?;
        let missing: Vec<_> = missing.into_iter().filter(|e| e.seq <= seq).collect();
        self.ledger.append(&missing).map_err(|e| e.to_string())
    }

    /// Closes an open case at `version`: the client row and its open case period, the end
    /// of its volunteer assignments and of a waiting transfer request, in one transaction. With `review_by` (a worker closed it), a
    /// [`super::alerts::CLOSURE_REVIEW`] alert raised by that user asks the district's
    /// supervisors to review the closure, in the same transaction.
    pub async fn close(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        version: i64,
        closure: Closure<'_>,
        now: DateTime<Utc>,
    ) -> Result<Client, StoreError> {
        let Closure { reason, on, review_by } = closure;
        let n = sqlx::query(
            "UPDATE clients SET status = 'closed', closed_on = $1, closure_reason = $2, version = version + 1, \
             updated_at = $3 WHERE id = $4 AND version = $5 AND status = 'open'",
        )
        .bind(on.to_string())
        .bind(reason)
        .bind(timestamp(now))
        .bind(id)
        .bind(version)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(self.why_not_claimed(tx, id, version, ClientStatus::Open).await?);
        }
        sqlx::query(
            "UPDATE case_periods SET closed_on = $1, closure_reason = $2 WHERE client_id = $3 AND closed_on IS NULL",
        )
        .bind(on.to_string())
        .bind(reason)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        // A volunteer's access ends with the case: her assignment goes with it; so does a
        // transfer request still waiting (a closed case moves nowhere).
        sqlx::query("DELETE FROM client_volunteers WHERE client_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "UPDATE client_transfers SET status = 'cancelled', decided_at = $1 \
             WHERE client_id = $2 AND status = 'requested'",
        )
        .bind(timestamp(now))
        .bind(id)
        .execute(&mut **tx)
        .await?;
        if let Some(by) = review_by {
            super::alerts::raise(tx, id, super::alerts::CLOSURE_REVIEW, Some(by), now).await?;
        }
        let client = self.fetch(tx, id, FieldClasses::NONE).await?;
        Ok(client)
    }

    /// Reopens a closed case at `version`: a new case period from `on`. One transaction.
    /// Volunteers are assigned again by a supervisor if the case needs them.
    pub async fn reopen(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        version: i64,
        on: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Client, StoreError> {
        let n = sqlx::query(
            "UPDATE clients SET status = 'open', closed_on = NULL, closure_reason = NULL, version = version + 1, \
             updated_at = $1 WHERE id = $2 AND version = $3 AND status = 'closed'",
        )
        .bind(timestamp(now))
        .bind(id)
        .bind(version)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(self.why_not_claimed(tx, id, version, ClientStatus::Closed).await?);
        }
        sqlx::query("INSERT INTO case_periods (client_id, opened_on) VALUES ($1, $2)")
            .bind(id)
            .bind(on.to_string())
            .execute(&mut **tx)
            .await?;
        let client = self.fetch(tx, id, FieldClasses::NONE).await?;
        Ok(client)
    }

    /// Moves the case to another worker (`None`: unassigned). Bumps the version.
    pub async fn reassign(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        worker: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Client, StoreError> {
        let n = sqlx::query(
            "UPDATE clients SET assigned_worker = $1, version = version + 1, updated_at = $2 WHERE id = $3",
        )
        .bind(worker)
        .bind(timestamp(now))
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let client = self.fetch(tx, id, FieldClasses::NONE).await?;
        Ok(client)
    }

    /// Why a versioned state change touched no row: gone, stale, or in the wrong state.
    async fn why_not_claimed(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        version: i64,
        wanted_status: ClientStatus,
    ) -> Result<StoreError, StoreError> {
        let row = sqlx::query("SELECT version, status FROM clients WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        let Some(row) = row else {
            return Ok(StoreError::NotFound);
        };
        let current: i64 = row.try_get("version")?;
        let status = row.try_get::<ClientStatus, _>("status")?;
        Ok(if status != wanted_status {
            StoreError::InvalidState { status }
        } else if current != version {
            StoreError::Conflict { current }
        } else {
            StoreError::NotFound
        })
    }

    /// The open and closed episodes of a case, oldest first.
    pub async fn case_periods(&self, id: &str) -> Result<Vec<CasePeriod>, StoreError> {
        let rows = sqlx::query(
            "SELECT opened_on, closed_on, closure_reason FROM case_periods WHERE client_id = $1 ORDER BY opened_on",
        )
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(CasePeriod {
                    opened_on: r.try_get("opened_on")?,
                    closed_on: r.try_get("closed_on")?,
                    closure_reason: r.try_get("closure_reason")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// The clients a list shows, ordered by code, each with its wrapped key, in one query:
    /// [`ClientStore::open_listed`] then opens the fields a caller may see without a
    /// query per client.
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<ListedClient>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {}, k.wrapped_key FROM clients c LEFT JOIN client_keys k ON k.client_id = c.id WHERE ",
            prefixed_columns()
        ));
        if !push_scope(&mut sql, &filter.scope) {
            return Ok(Vec::new());
        }
        sql.filter(" AND c.status = ", filter.status.map(ClientStatus::as_str))
            .push(" ORDER BY c.code");
        sql.fetch_all(&self.db.pool)
            .await?
            .into_iter()
            .map(|row| {
                Ok(ListedClient {
                    client: decode(&row, None, FieldClasses::NONE)?,
                    row,
                })
            })
            .collect()
    }

    /// A listed client with the fields of `classes` opened, by the key read with it.
    pub fn open_listed(&self, listed: &ListedClient, classes: FieldClasses) -> Result<Client, StoreError> {
        if !classes.opens_client_row() {
            return Ok(listed.client.clone());
        }
        let wrapped: Option<Vec<u8>> = listed.row.try_get("wrapped_key")?;
        let key = self
            .keyring
            .unwrap(&wrapped.ok_or(StoreError::NotFound)?, &listed.client.id)?;
        decode(&listed.row, Some(&key), classes)
    }

    /// Ids and codes of closed cases whose closing day is before `cutoff` (retention).
    pub async fn closed_before(&self, cutoff: NaiveDate) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, code, closed_on FROM clients WHERE status = 'closed' AND closed_on IS NOT NULL \
             AND closed_on < $1 ORDER BY closed_on, code",
        )
        .bind(cutoff.to_string())
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("code")?, r.try_get("closed_on")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }
}

fn prefixed_columns() -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("c.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

enum Value {
    Text(Option<String>),
    Bool(bool),
    Bytes(Option<Vec<u8>>),
}

fn sealed_column(column: &str) -> &'static str {
    match column {
        "chosen_name" => "chosen_name_sealed",
        "id_number" => "id_number_sealed",
        "phone" => "phone_sealed",
        "address" => "address_sealed",
        _ => "notes_sealed",
    }
}

fn is_fk_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

fn decode(row: &AnyRow, key: Option<&DataKey>, classes: FieldClasses) -> Result<Client, StoreError> {
    let id: String = row.try_get("id")?;
    let mut opened: [Option<Pii>; 7] = Default::default();
    if let Some(key) = key {
        for (slot, (column, class)) in opened.iter_mut().zip(SEALED) {
            if !allowed(classes, class) {
                continue;
            }
            let sealed: Option<Vec<u8>> = row.try_get(format!("{column}_sealed").as_str())?;
            if let Some(sealed) = sealed {
                *slot = Some(Pii::new(key.open_string(field(column, &id), &sealed)?));
            }
        }
    }
    let [full_name, chosen_name, date_of_birth, id_number, phone, address, notes] = opened;
    Ok(Client {
        code: row.try_get("code")?,
        area: row.try_get("area")?,
        status: row.try_get::<ClientStatus, _>("status")?,
        eligible: row.try_get::<crate::db::Flag, _>("eligible")?.0,
        age_band: row.try_get("age_band")?,
        opened_on: row.try_get("opened_on")?,
        closed_on: row.try_get("closed_on")?,
        closure_reason: row.try_get("closure_reason")?,
        assigned_worker: row.try_get("assigned_worker")?,
        child_protection: row.try_get::<crate::db::Flag, _>("child_protection")?.0,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        id,
        full_name,
        chosen_name,
        date_of_birth,
        id_number,
        phone,
        address,
        notes,
    })
}

/// Deletes the wrapped data key first (from that statement on nothing sealed for the
/// client opens), then every row of the client, inside the caller's transaction. Returns
/// the client's code, or `None` if there was no client row.
pub async fn delete_client_rows(conn: &mut sqlx::AnyConnection, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("DELETE FROM client_keys WHERE client_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for table in [
        "support_logs",
        "client_volunteers",
        "referral_events",
        "referrals",
        "needs",
        "consents",
        "case_periods",
        "break_glass_grants",
        "case_alerts",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE client_id = $1"))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query_scalar("DELETE FROM clients WHERE id = $1 RETURNING code")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// Key rotation, inside the rotation's transaction: every client's data key unwrapped with
/// `old` and wrapped with `new`, and her blind indexes computed again with `new` from the
/// identity fields they index (opened with her data key, which does not change). Pages
/// through the clients so memory stays flat. Returns how many clients were re-keyed.
pub async fn rekey_clients(conn: &mut sqlx::AnyConnection, old: &Keyring, new: &Keyring) -> Result<u64, StoreError> {
    const PAGE: i64 = 500;
    let mut after = String::new();
    let mut done = 0;
    loop {
        let rows = sqlx::query(
            "SELECT k.client_id, k.wrapped_key, c.full_name_sealed, c.date_of_birth_sealed, c.id_number_sealed \
             FROM client_keys k JOIN clients c ON c.id = k.client_id WHERE k.client_id > $1 \
             ORDER BY k.client_id LIMIT $2",
        )
        .bind(&after)
        .bind(PAGE)
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let id: String = row.try_get("client_id")?;
            let key = old.unwrap(&row.try_get::<Vec<u8>, _>("wrapped_key")?, &id)?;
            let open = |column: &str, sealed: Option<Vec<u8>>| {
                sealed
                    .map(|s| key.open_string(field(column, &id), &s).map(Pii::new))
                    .transpose()
            };
            let name = open("full_name", row.try_get("full_name_sealed")?)?;
            let dob = open("date_of_birth", row.try_get("date_of_birth_sealed")?)?;
            let id_number = open("id_number", row.try_get("id_number_sealed")?)?;
            let blind = new.blind_index();
            let bi_name_dob = match (&name, &dob) {
                (Some(n), Some(d)) => Some(blind.name_dob(n.expose(), d.expose())),
                _ => None,
            };
            let bi_id = id_number.as_ref().and_then(|n| blind.id_number(n.expose()));
            sqlx::query("UPDATE client_keys SET wrapped_key = $1, master_key_id = $2 WHERE client_id = $3")
                .bind(new.wrap(&key, &id)?)
                .bind(new.key_id())
                .bind(&id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("UPDATE clients SET bi_name_dob = $1, bi_id_number = $2 WHERE id = $3")
                .bind(bi_name_dob)
                .bind(bi_id)
                .bind(&id)
                .execute(&mut *conn)
                .await?;
            done += 1;
            after = id;
        }
        if (rows.len() as i64) < PAGE {
            return Ok(done);
        }
    }
}

/// Clients whose blind indexes match; the content is never compared in clear.
async fn duplicates_in<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    name_dob: &[u8],
    id_number: Option<&[u8]>,
    except: Option<&str>,
) -> Result<Vec<DuplicateMatch>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, code FROM clients WHERE (bi_name_dob = $1 OR (bi_id_number IS NOT NULL AND bi_id_number = $2)) \
         AND id <> $3 ORDER BY code",
    )
    .bind(name_dob)
    .bind(id_number)
    .bind(except.unwrap_or(""))
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|(id, code)| DuplicateMatch { id, code }).collect())
}
