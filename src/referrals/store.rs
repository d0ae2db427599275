//! The referrals' SQL: rows in and out, sealed values as bytes. Authorisation, opening
//! and audit are the service's.

use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::model::Status;
use crate::clients::ClientStatus;
use crate::db::{Db, Sql};
use crate::error::{Error, Internal};

/// Whether the client's `referral_sharing` consent for `category` holds on `on`: given by
/// then, not expired then, not withdrawn.
pub async fn has_sharing_consent<'e, E>(
    executor: E,
    client_id: &str,
    category: &str,
    on: NaiveDate,
) -> Result<bool, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM consents WHERE client_id = $1 AND scope = 'referral_sharing' AND category = $2 \
         AND withdrawn_on IS NULL AND given_on <= $3 AND (expires_on IS NULL OR expires_on >= $3)",
    )
    .bind(client_id)
    .bind(category)
    .bind(on.to_string())
    .fetch_one(executor)
    .await?;
    Ok(count > 0)
}

/// The client a referral belongs to.
pub async fn client_of(db: &Db, referral_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT client_id FROM referrals WHERE id = $1")
        .bind(referral_id)
        .fetch_optional(&db.pool)
        .await
}

/// A case as a new referral needs it: open or closed, and since when it is open.
pub async fn case_of(db: &Db, client_id: &str) -> Result<Option<(ClientStatus, NaiveDate)>, Error> {
    let row = sqlx::query("SELECT opened_on, status FROM clients WHERE id = $1")
        .bind(client_id)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let status = row.try_get::<ClientStatus, _>("status")?;
    let opened_on = row.try_get::<crate::db::DbDate, _>("opened_on")?.0;
    Ok(Some((status, opened_on)))
}

/// The category of one of the client's needs.
pub async fn need_category(db: &Db, need_id: &str, client_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT category FROM needs WHERE id = $1 AND client_id = $2")
        .bind(need_id)
        .bind(client_id)
        .fetch_optional(&db.pool)
        .await
}

/// A referral to write, its free text already sealed.
pub struct NewRow<'a> {
    pub id: &'a str,
    pub event_id: &'a str,
    pub client_id: &'a str,
    pub need_id: Option<&'a str>,
    pub category: &'a str,
    pub provider_id: Option<&'a str>,
    pub detail_sealed: Option<Vec<u8>>,
    pub override_reason_sealed: Option<Vec<u8>>,
    pub share_detail: bool,
    pub on: NaiveDate,
    pub by: &'a str,
    pub at: &'a str,
}

/// Writes a referral (`referred`) and its first event.
pub async fn insert(tx: &mut Transaction<'_, Any>, new: NewRow<'_>) -> Result<(), sqlx::Error> {
    let on = new.on.to_string();
    sqlx::query(
        "INSERT INTO referrals (id, client_id, need_id, category, provider_id, detail_sealed, status, referred_on, \
         last_moved_on, override_reason_sealed, created_by, created_at, version, share_detail) \
         VALUES ($1, $2, $3, $4, $5, $6, 'referred', $7, $7, $8, $9, $10, 1, $11)",
    )
    .bind(new.id)
    .bind(new.client_id)
    .bind(new.need_id)
    .bind(new.category)
    .bind(new.provider_id)
    .bind(new.detail_sealed)
    .bind(&on)
    .bind(new.override_reason_sealed)
    .bind(new.by)
    .bind(new.at)
    .bind(new.share_detail)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO referral_events (id, referral_id, client_id, from_status, to_status, on_date, note_sealed, \
         by_user, at, seq) VALUES ($1, $2, $3, NULL, 'referred', $4, NULL, $5, $6, 1)",
    )
    .bind(new.event_id)
    .bind(new.id)
    .bind(new.client_id)
    .bind(&on)
    .bind(new.by)
    .bind(new.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Where a referral stands: its state and the date of its last move.
pub async fn position(db: &Db, referral_id: &str) -> Result<Option<(Status, NaiveDate)>, Error> {
    let row = sqlx::query("SELECT status, last_moved_on FROM referrals WHERE id = $1")
        .bind(referral_id)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let status = stored_status(&row.try_get::<String, _>("status")?)?;
    let last_moved_on = row.try_get::<crate::db::DbDate, _>("last_moved_on")?.0;
    Ok(Some((status, last_moved_on)))
}

fn stored_status(code: &str) -> Result<Status, Error> {
    Status::parse(code)
        .ok_or_else(|| Error::Internal(Internal::Inconsistent("a stored referral status is unknown".into())))
}

/// A move to write, its note already sealed.
pub struct MoveRow<'a> {
    pub referral_id: &'a str,
    pub event_id: &'a str,
    pub client_id: &'a str,
    pub from: Status,
    pub to: Status,
    pub on: NaiveDate,
    pub note_sealed: Option<Vec<u8>>,
    pub by: &'a str,
    pub at: &'a str,
}

/// Moves a referral that is still in `from` and records the event; `false` (nothing
/// written) when someone else moved it meanwhile.
pub async fn insert_move(tx: &mut Transaction<'_, Any>, row: MoveRow<'_>) -> Result<bool, sqlx::Error> {
    let on = row.on.to_string();
    let version: Option<i64> = sqlx::query_scalar(
        "UPDATE referrals SET status = $1, last_moved_on = $2, version = version + 1 \
         WHERE id = $3 AND status = $4 RETURNING version",
    )
    .bind(row.to.as_str())
    .bind(&on)
    .bind(row.referral_id)
    .bind(row.from.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(version) = version else {
        return Ok(false);
    };
    sqlx::query(
        "INSERT INTO referral_events (id, referral_id, client_id, from_status, to_status, on_date, note_sealed, \
         by_user, at, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(row.event_id)
    .bind(row.referral_id)
    .bind(row.client_id)
    .bind(row.from.as_str())
    .bind(row.to.as_str())
    .bind(&on)
    .bind(row.note_sealed)
    .bind(row.by)
    .bind(row.at)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// A referral as stored: coded fields, free text still sealed.
pub struct StoredReferral {
    pub id: String,
    pub client_id: String,
    pub client_code: String,
    pub category: String,
    pub need_id: Option<String>,
    pub provider_id: Option<String>,
    pub provider_name: Option<String>,
    pub status: String,
    pub referred_on: String,
    pub last_moved_on: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub version: i64,
    pub share_detail: bool,
    pub detail_sealed: Option<Vec<u8>>,
    pub override_reason_sealed: Option<Vec<u8>>,
}

impl StoredReferral {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            client_id: row.try_get("client_id")?,
            client_code: row.try_get("client_code")?,
            category: row.try_get("category")?,
            need_id: row.try_get("need_id")?,
            provider_id: row.try_get("provider_id")?,
            provider_name: row.try_get("provider_name")?,
            status: row.try_get("status")?,
            referred_on: row.try_get("referred_on")?,
            last_moved_on: row.try_get("last_moved_on")?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
            version: row.try_get("version")?,
            share_detail: row.try_get::<crate::db::Flag, _>("share_detail")?.0,
            detail_sealed: row.try_get("detail_sealed")?,
            override_reason_sealed: row.try_get("override_reason_sealed")?,
        })
    }
}

/// A move of a referral as stored, its note still sealed.
pub struct StoredEvent {
    pub id: String,
    pub referral_id: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub on: String,
    pub by_user: Option<String>,
    pub at: String,
    pub note_sealed: Option<Vec<u8>>,
}

impl StoredEvent {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            referral_id: row.try_get("referral_id")?,
            from_status: row.try_get("from_status")?,
            to_status: row.try_get("to_status")?,
            on: row.try_get("on_date")?,
            by_user: row.try_get("by_user")?,
            at: row.try_get("at")?,
            note_sealed: row.try_get("note_sealed")?,
        })
    }
}

const REFERRAL_COLUMNS: &str = "r.id, r.client_id, c.code AS client_code, r.category, r.need_id, r.provider_id, \
     p.name AS provider_name, r.status, r.referred_on, r.last_moved_on, r.created_by, r.created_at, r.version, \
     r.detail_sealed, r.override_reason_sealed, r.share_detail";

/// A client's referrals (all of them, or the one with `referral_id`), newest first, and
/// their moves in order: two queries whatever the number of referrals.
pub async fn of_client(
    db: &Db,
    client_id: &str,
    referral_id: Option<&str>,
) -> Result<(Vec<StoredReferral>, Vec<StoredEvent>), sqlx::Error> {
    let mut referrals = Sql::new(&format!(
        "SELECT {REFERRAL_COLUMNS} FROM referrals r JOIN clients c ON c.id = r.client_id \
         LEFT JOIN providers p ON p.id = r.provider_id WHERE r.client_id = "
    ));
    referrals
        .bind(client_id)
        .filter(" AND r.id = ", referral_id)
        .push(" ORDER BY r.referred_on DESC, r.created_at DESC, r.id");
    let referrals = referrals
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(StoredReferral::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let mut events = Sql::new(
        "SELECT e.id, e.referral_id, e.from_status, e.to_status, e.on_date, e.note_sealed, e.by_user, e.at \
         FROM referrals r JOIN referral_events e ON e.referral_id = r.id WHERE r.client_id = ",
    );
    events
        .bind(client_id)
        .filter(" AND r.id = ", referral_id)
        .push(" ORDER BY e.referral_id, e.seq, e.on_date, e.at");
    let events = events
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(StoredEvent::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((referrals, events))
}

/// A referral waiting on the provider or the client, with the facts that decide who may
/// see it.
pub struct Waiting {
    pub referral_id: String,
    pub client_id: String,
    pub client_code: String,
    pub area: String,
    pub assigned_worker: Option<String>,
    pub category: String,
    pub status: String,
    pub provider_id: Option<String>,
    pub provider_name: Option<String>,
    pub referred_on: String,
    pub last_moved_on: NaiveDate,
}

/// Referrals of open cases still `referred` or `accepted` whose last move was on or
/// before `cutoff`, oldest first.
pub async fn waiting_since(db: &Db, cutoff: NaiveDate) -> Result<Vec<Waiting>, Error> {
    let rows = sqlx::query(
        "SELECT r.id, r.client_id, c.code AS client_code, c.area, c.assigned_worker, r.category, r.status, \
         r.provider_id, p.name AS provider_name, r.referred_on, r.last_moved_on \
         FROM referrals r JOIN clients c ON c.id = r.client_id LEFT JOIN providers p ON p.id = r.provider_id \
         WHERE r.status IN ('referred', 'accepted') AND r.last_moved_on <= $1 AND c.status = 'open' \
         ORDER BY r.last_moved_on, c.code, r.id",
    )
    .bind(cutoff.to_string())
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Waiting {
                referral_id: row.try_get("id")?,
                client_id: row.try_get("client_id")?,
                client_code: row.try_get("client_code")?,
                area: row.try_get("area")?,
                assigned_worker: row.try_get("assigned_worker")?,
                category: row.try_get("category")?,
                status: row.try_get("status")?,
                provider_id: row.try_get("provider_id")?,
                provider_name: row.try_get("provider_name")?,
                referred_on: row.try_get("referred_on")?,
                last_moved_on: row.try_get::<crate::db::DbDate, _>("last_moved_on")?.0,
            })
        })
        .collect()
}

/// What a referral slip is printed from: the referral, the client's code and sealed
/// chosen name, and the provider.
pub struct SlipRow {
    pub category: String,
    pub referred_on: String,
    pub share_detail: bool,
    pub detail_sealed: Option<Vec<u8>>,
    pub client_code: String,
    pub chosen_name_sealed: Option<Vec<u8>>,
    pub provider_name: Option<String>,
    pub provider_area: Option<String>,
    pub provider_contact: Option<String>,
}

pub async fn slip_row(db: &Db, referral_id: &str) -> Result<Option<SlipRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT r.category, r.referred_on, r.detail_sealed, r.share_detail, c.code, c.chosen_name_sealed, \
         p.name AS provider_name, p.area AS provider_area, p.contact AS provider_contact \
         FROM referrals r JOIN clients c ON c.id = r.client_id LEFT JOIN providers p ON p.id = r.provider_id \
         WHERE r.id = $1",
    )
    .bind(referral_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|row| {
        Ok(SlipRow {
            category: row.try_get("category")?,
            referred_on: row.try_get("referred_on")?,
            share_detail: row.try_get::<crate::db::Flag, _>("share_detail")?.0,
            detail_sealed: row.try_get("detail_sealed")?,
            client_code: row.try_get("code")?,
            chosen_name_sealed: row.try_get("chosen_name_sealed")?,
            provider_name: row.try_get("provider_name")?,
            provider_area: row.try_get("provider_area")?,
            provider_contact: row.try_get("provider_contact")?,
        })
    })
    .transpose()
}
