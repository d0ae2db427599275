//! Referrals: creation under consent (or a supervisor's override), the state machine,
//! reading with field-level visibility, the follow-up list and the slip.
//!
//! Every function here authorises the caller, writes in one transaction where it writes,
//! and appends to the audit trail before it returns data; the JSON handlers and the pages
//! are thin wrappers around them.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::NaiveDate;
use serde_json::json;
use sqlx::Row;

use super::model::{FollowUp, NewReferral, Pii, Referral, ReferralEvent, Slip, SlipProvider, Status, TransitionInput};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::Authz;
use crate::authz::ClientRef;
use crate::db::timestamp;
use crate::policy::{Action, ClientFacts, Resource};
use crate::web::ApiError;

const TABLE: &str = "referrals";
const EVENTS: &str = "referral_events";
/// Longest free text (detail, note, override reason), in characters.
const TEXT_MAX: usize = 2000;
/// Shortest override reason, in characters.
const REASON_MIN: usize = 10;

fn unprocessable(code: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code)
}

/// 422 `consent_missing`: no sharing consent for the category and no supervisor override.
fn consent_missing(category: &str) -> ApiError {
    ApiError {
        details: Some(json!({ "category": category })),
        ..unprocessable("consent_missing")
    }
}

/// 422 `invalid_transition`, naming the allowed next states in `details.allowed` and in
/// the message.
pub fn invalid_transition(from: Status, to: Status) -> ApiError {
    ApiError {
        details: Some(json!({
            "from": from.as_str(),
            "to": to.as_str(),
            "allowed": from.next_codes(),
        })),
        ..unprocessable("invalid_transition")
    }
}

/// A date field: empty means today; never in the future.
fn parse_on(on: Option<&str>, today: NaiveDate) -> Result<NaiveDate, &'static str> {
    let Some(text) = on.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(today);
    };
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "field-invalid_date")?;
    if date > today {
        return Err("field-future_date");
    }
    Ok(date)
}

/// Trimmed free text, `None` when empty; 422 id when too long.
fn free_text(value: Option<&Pii>) -> Result<Option<Pii>, &'static str> {
    let Some(text) = value.map(|v| v.expose().trim()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > TEXT_MAX {
        return Err("field-too_long");
    }
    Ok(Some(Pii::from(text)))
}

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

/// Whether the caller may read the free text (detail, notes, override reason) of a
/// referral of this category on this client.
pub fn may_read_free_text(user: &Authz, client: &ClientRef, category: &str) -> bool {
    // Health categories' free text is health data; the others' is narrative.
    let action = if crate::needs::is_health(category) {
        Action::ClientReadHealth
    } else {
        Action::ClientReadNarrative
    };
    user.can_on(action, client)
}

/// Opens the referral's client for `action`; an unknown referral is 404 (audited, like
/// an unknown client).
async fn access_for_referral(
    state: &AppState,
    user: &Authz,
    referral_id: &str,
    action: Action,
) -> Result<ClientRef, ApiError> {
    let client_id: Option<String> = sqlx::query_scalar("SELECT client_id FROM referrals WHERE id = $1")
        .bind(referral_id)
        .fetch_optional(&state.db.pool)
        .await?;
    let Some(client_id) = client_id else {
        state
            .audit(
                user.event(action.name(), Outcome::Denied)
                    .object(referral_id)
                    .reason("no such referral"),
            )
            .await?;
        return Err(ApiError::not_found());
    };
    Ok(user.require_client(&client_id, action).await?)
}

/// Adds a referral for a client (`referral_create`). It needs the client's sharing
/// consent for the category on the referral date, or — from a supervisor of the client's
/// area only — an override with a written reason (sealed, audited and flagged as
/// `consent_override`). Without either: 422 `consent_missing`, nothing written.
/// The referral and its first event are written in one transaction.
pub async fn create(
    state: &AppState,
    user: &Authz,
    client_id: &str,
    input: &NewReferral,
) -> Result<Referral, ApiError> {
    let client = user.require_client(client_id, Action::ReferralCreate).await?;
    let today = state.clock.today();
    let case = sqlx::query("SELECT opened_on, status FROM clients WHERE id = $1")
        .bind(&client.id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let opened_on: String = case.try_get("opened_on")?;
    let case_status: String = case.try_get("status")?;
    if case_status != "open" {
        return Err(unprocessable("client_closed"));
    }
    let opened_on = crate::dates::stored(&opened_on)?;

    let mut fields: BTreeMap<String, &'static str> = BTreeMap::new();
    let category = input.category.trim().to_owned();
    let category_ok = if category.is_empty() {
        fields.insert("category".into(), "field-required");
        false
    } else if !crate::categories::is_active(&state.db, &category).await? {
        fields.insert("category".into(), "field-referrals-unknown_category");
        false
    } else {
        true
    };
    let on = match parse_on(input.on.as_deref(), today) {
        Ok(on) if on < opened_on => {
            fields.insert("on".into(), "field-referrals-before_opened_on");
            today
        }
        Ok(on) => on,
        Err(message) => {
            fields.insert("on".into(), message);
            today
        }
    };
    let detail = free_text(input.detail.as_ref()).unwrap_or_else(|message| {
        fields.insert("detail".into(), message);
        None
    });
    let provider_id = input.provider_id.as_deref().map(str::trim).filter(|p| !p.is_empty());
    if let Some(provider_id) = provider_id {
        match crate::providers::store::get(&state.db, provider_id).await? {
            None => {
                fields.insert("provider_id".into(), "field-referrals-unknown_provider");
            }
            Some(p) if !p.active => {
                fields.insert("provider_id".into(), "field-referrals-inactive_provider");
            }
            Some(p) if category_ok && p.category != category => {
                fields.insert("provider_id".into(), "field-referrals-provider_category_mismatch");
            }
            Some(_) => {}
        }
    }
    let need_id = input.need_id.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if let Some(need_id) = need_id {
        let need_category: Option<String> =
            sqlx::query_scalar("SELECT category FROM needs WHERE id = $1 AND client_id = $2")
                .bind(need_id)
                .bind(&client.id)
                .fetch_optional(&state.db.pool)
                .await?;
        match need_category {
            None => {
                fields.insert("need_id".into(), "field-referrals-unknown_need");
            }
            Some(c) if category_ok && c != category => {
                fields.insert("need_id".into(), "field-referrals-need_category_mismatch");
            }
            Some(_) => {}
        }
    }
    if !fields.is_empty() {
        return Err(ApiError::validation(fields));
    }

    let share_detail = input.share_detail.unwrap_or(false);
    let consent = has_sharing_consent(&state.db.pool, &client.id, &category, on).await?;
    let mut override_reason = None;
    if !consent {
        let reason = input
            .override_reason
            .as_ref()
            .map(|r| r.expose().trim())
            .filter(|r| !r.is_empty());
        let Some(reason) = reason else {
            state
                .audit(
                    user.event(Action::ReferralCreate.name(), Outcome::Failure)
                        .client(&client.code)
                        .reason("consent missing"),
                )
                .await?;
            return Err(consent_missing(&category));
        };
        if !user.can_on(Action::ConsentOverride, &client) {
            state
                .audit(
                    user.event(Action::ConsentOverride.name(), Outcome::Denied)
                        .client(&client.code),
                )
                .await?;
            return Err(consent_missing(&category));
        }
        let length = reason.chars().count();
        if length < REASON_MIN {
            fields.insert("override_reason".into(), "field-referrals-reason_too_short");
        } else if length > TEXT_MAX {
            fields.insert("override_reason".into(), "field-too_long");
        }
        if share_detail {
            fields.insert("share_detail".into(), "field-referrals-share_detail_needs_consent");
        }
        if !fields.is_empty() {
            return Err(ApiError::validation(fields));
        }
        override_reason = Some(Pii::from(reason));
    }

    let id = uuid::Uuid::new_v4().to_string();
    let event_id = uuid::Uuid::new_v4().to_string();
    let detail_sealed = match &detail {
        Some(d) => Some(state.clients.seal(&client.id, TABLE, "detail", &id, d.expose()).await?),
        None => None,
    };
    let reason_sealed = match &override_reason {
        Some(r) => Some(
            state
                .clients
                .seal(&client.id, TABLE, "override_reason", &id, r.expose())
                .await?,
        ),
        None => None,
    };
    if override_reason.is_some() {
        // Recorded before the write: an override must never go unrecorded, even if the
        // write then fails.
        state
            .audit(
                user.event(Action::ConsentOverride.name(), Outcome::Success)
                    .client(&client.code)
                    .object(&id)
                    .flagged(),
            )
            .await?;
    }

    let now = timestamp(state.clock.now());
    let on_text = on.to_string();
    let mut tx = state.db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO referrals (id, client_id, need_id, category, provider_id, detail_sealed, status, referred_on, \
         last_moved_on, override_reason_sealed, created_by, created_at, version, share_detail) \
         VALUES ($1, $2, $3, $4, $5, $6, 'referred', $7, $7, $8, $9, $10, 1, $11)",
    )
    .bind(&id)
    .bind(&client.id)
    .bind(need_id)
    .bind(&category)
    .bind(provider_id)
    .bind(detail_sealed)
    .bind(&on_text)
    .bind(reason_sealed)
    .bind(user.id())
    .bind(&now)
    .bind(share_detail)
    .execute(&mut *tx)
    .await?;
    // The consent is checked again under the write lock, so a withdrawal that raced this
    // request cannot be missed.
    if override_reason.is_none() && !has_sharing_consent(&mut *tx, &client.id, &category, on).await? {
        tx.rollback().await?;
        state
            .audit(
                user.event(Action::ReferralCreate.name(), Outcome::Failure)
                    .client(&client.code)
                    .reason("consent missing"),
            )
            .await?;
        return Err(consent_missing(&category));
    }
    sqlx::query(
        "INSERT INTO referral_events (id, referral_id, client_id, from_status, to_status, on_date, note_sealed, \
         by_user, at, seq) VALUES ($1, $2, $3, NULL, 'referred', $4, NULL, $5, $6, 1)",
    )
    .bind(&event_id)
    .bind(&id)
    .bind(&client.id)
    .bind(&on_text)
    .bind(user.id())
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    state
        .audit(
            user.event(Action::ReferralCreate.name(), Outcome::Success)
                .client(&client.code)
                .object(&id),
        )
        .await?;
    load(state, user, &client, &id).await
}

/// Moves a referral to another state (`referral_transition`): only along the designed
/// state machine (else 422 `invalid_transition` naming the allowed next states), dated
/// not before the previous move nor in the future, attributed to the caller. The event
/// and the referral's new state are written in one transaction; a concurrent move of the
/// same referral makes this one 409 `conflict`.
pub async fn transition(
    state: &AppState,
    user: &Authz,
    referral_id: &str,
    input: &TransitionInput,
) -> Result<Referral, ApiError> {
    let client = access_for_referral(state, user, referral_id, Action::ReferralTransition).await?;
    let row = sqlx::query("SELECT status, last_moved_on FROM referrals WHERE id = $1")
        .bind(referral_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let current: String = row.try_get("status")?;
    let last_moved_on: String = row.try_get("last_moved_on")?;
    let from = Status::parse(&current).ok_or_else(|| ApiError::internal(&"a stored referral status is unknown"))?;
    let Some(to) = Status::parse(input.to.trim()) else {
        return Err(ApiError::field("to", "field-referrals-unknown_status"));
    };
    if !from.may_move_to(to) {
        return Err(invalid_transition(from, to));
    }
    let today = state.clock.today();
    let mut fields: BTreeMap<String, &'static str> = BTreeMap::new();
    let on = match parse_on(input.on.as_deref(), today) {
        Ok(on) if on < crate::dates::stored(&last_moved_on)? => {
            fields.insert("on".into(), "field-referrals-before_previous_event");
            today
        }
        Ok(on) => on,
        Err(message) => {
            fields.insert("on".into(), message);
            today
        }
    };
    let note = free_text(input.note.as_ref()).unwrap_or_else(|message| {
        fields.insert("note".into(), message);
        None
    });
    if !fields.is_empty() {
        return Err(ApiError::validation(fields));
    }
    let event_id = uuid::Uuid::new_v4().to_string();
    let note_sealed = match &note {
        Some(n) => Some(
            state
                .clients
                .seal(&client.id, EVENTS, "note", &event_id, n.expose())
                .await?,
        ),
        None => None,
    };
    let on_text = on.to_string();
    let mut tx = state.db.pool.begin().await?;
    let version: Option<i64> = sqlx::query_scalar(
        "UPDATE referrals SET status = $1, last_moved_on = $2, version = version + 1 \
         WHERE id = $3 AND status = $4 RETURNING version",
    )
    .bind(to.as_str())
    .bind(&on_text)
    .bind(referral_id)
    .bind(from.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(version) = version else {
        tx.rollback().await?;
        return Err(ApiError::conflict());
    };
    sqlx::query(
        "INSERT INTO referral_events (id, referral_id, client_id, from_status, to_status, on_date, note_sealed, \
         by_user, at, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&event_id)
    .bind(referral_id)
    .bind(&client.id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(&on_text)
    .bind(note_sealed)
    .bind(user.id())
    .bind(timestamp(state.clock.now()))
    .bind(version)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    state
        .audit(
            user.event(Action::ReferralTransition.name(), Outcome::Success)
                .client(&client.code)
                .object(referral_id),
        )
        .await?;
    load(state, user, &client, referral_id).await
}

/// One referral with its events (`referral_read`); free text only for callers who may
/// read it. Audited.
pub async fn get(state: &AppState, user: &Authz, referral_id: &str) -> Result<Referral, ApiError> {
    let client = access_for_referral(state, user, referral_id, Action::ReferralRead).await?;
    let referral = load(state, user, &client, referral_id).await?;
    state
        .audit(
            user.event(Action::ReferralRead.name(), Outcome::Success)
                .client(&client.code)
                .object(referral_id),
        )
        .await?;
    Ok(referral)
}

/// A client's referrals, newest first (`referral_read`). Audited.
pub async fn list_for_client(state: &AppState, user: &Authz, client_id: &str) -> Result<Vec<Referral>, ApiError> {
    let client = user.require_client(client_id, Action::ReferralRead).await?;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM referrals WHERE client_id = $1 ORDER BY referred_on DESC, created_at DESC, id",
    )
    .bind(&client.id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in &ids {
        items.push(load(state, user, &client, id).await?);
    }
    state
        .audit(
            user.event(actions::REFERRAL_LIST, Outcome::Success)
                .client(&client.code),
        )
        .await?;
    Ok(items)
}

async fn open_opt(
    state: &AppState,
    client_id: &str,
    table: &str,
    column: &str,
    row_id: &str,
    sealed: Option<Vec<u8>>,
) -> Result<Option<Pii>, ApiError> {
    match sealed {
        Some(s) => Ok(Some(state.clients.open(client_id, table, column, row_id, &s).await?)),
        None => Ok(None),
    }
}

/// Reads a referral the caller was already allowed to read; not audited (callers audit).
async fn load(state: &AppState, user: &Authz, client: &ClientRef, referral_id: &str) -> Result<Referral, ApiError> {
    let row = sqlx::query(
        "SELECT r.id, r.client_id, c.code AS client_code, r.category, r.need_id, r.provider_id, \
         p.name AS provider_name, r.status, r.referred_on, r.last_moved_on, r.created_by, r.created_at, r.version, \
         r.detail_sealed, r.override_reason_sealed, r.share_detail \
         FROM referrals r JOIN clients c ON c.id = r.client_id LEFT JOIN providers p ON p.id = r.provider_id \
         WHERE r.id = $1 AND r.client_id = $2",
    )
    .bind(referral_id)
    .bind(&client.id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or_else(ApiError::not_found)?;
    let category: String = row.try_get("category")?;
    let readable = may_read_free_text(user, client, &category);
    let detail_sealed: Option<Vec<u8>> = row.try_get("detail_sealed")?;
    let reason_sealed: Option<Vec<u8>> = row.try_get("override_reason_sealed")?;
    let consent_overridden = reason_sealed.is_some();
    let (detail, override_reason) = if readable {
        (
            open_opt(state, &client.id, TABLE, "detail", referral_id, detail_sealed).await?,
            open_opt(state, &client.id, TABLE, "override_reason", referral_id, reason_sealed).await?,
        )
    } else {
        (None, None)
    };
    let status: String = row.try_get("status")?;
    let allowed_next = Status::parse(&status).map(Status::next_codes).unwrap_or_default();

    let event_rows = sqlx::query(
        "SELECT id, from_status, to_status, on_date, note_sealed, by_user, at FROM referral_events \
         WHERE referral_id = $1 ORDER BY seq, on_date, at",
    )
    .bind(referral_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut events = Vec::with_capacity(event_rows.len());
    for e in &event_rows {
        let event_id: String = e.try_get("id")?;
        let note_sealed: Option<Vec<u8>> = e.try_get("note_sealed")?;
        let note = if readable {
            open_opt(state, &client.id, EVENTS, "note", &event_id, note_sealed).await?
        } else {
            None
        };
        events.push(ReferralEvent {
            from_status: e.try_get("from_status")?,
            to_status: e.try_get("to_status")?,
            on: e.try_get("on_date")?,
            by_user: e.try_get("by_user")?,
            at: e.try_get("at")?,
            id: event_id,
            note,
        });
    }
    Ok(Referral {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        client_code: row.try_get("client_code")?,
        need_id: row.try_get("need_id")?,
        provider_id: row.try_get("provider_id")?,
        provider_name: row.try_get("provider_name")?,
        referred_on: row.try_get("referred_on")?,
        last_moved_on: row.try_get("last_moved_on")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        version: row.try_get("version")?,
        share_detail: crate::db::flag(&row, "share_detail")?,
        category,
        status,
        allowed_next,
        consent_overridden,
        detail,
        override_reason,
        events,
    })
}

/// Referrals that have not moved for `days` days (default: the `[cases]
/// referral_followup_days` setting) while still `referred` or `accepted` — waiting for the
/// provider or the client. `in_service` is left out on purpose: a course or a treatment
/// runs for months without a recorded move, and listing it would bury the referrals that
/// are really stuck. Only open cases, and only those the caller may read referrals of
/// (a social worker: their caseload; a supervisor: their district — decided by the
/// policies). Oldest first. One audit entry for the list.
pub async fn follow_ups(state: &AppState, user: &Authz, days: Option<u32>) -> Result<Vec<FollowUp>, ApiError> {
    user.require(Action::FollowupsRead, Resource::system()).await?;
    let days = days.unwrap_or(state.settings.cases.referral_followup_days);
    let today = state.clock.today();
    let cutoff = today
        .checked_sub_days(chrono::Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN);
    let rows = sqlx::query(
        "SELECT r.id, r.client_id, c.code AS client_code, c.area, c.assigned_worker, r.category, r.status, \
         r.provider_id, p.name AS provider_name, r.referred_on, r.last_moved_on \
         FROM referrals r JOIN clients c ON c.id = r.client_id LEFT JOIN providers p ON p.id = r.provider_id \
         WHERE r.status IN ('referred', 'accepted') AND r.last_moved_on <= $1 AND c.status = 'open' \
         ORDER BY r.last_moved_on, c.code, r.id",
    )
    .bind(cutoff.to_string())
    .fetch_all(&state.db.pool)
    .await?;
    let mut items = Vec::new();
    for row in &rows {
        // Only the standing facts: a break-glass grant does not put a client on the list.
        let facts = ClientFacts {
            client_id: row.try_get("client_id")?,
            area: row.try_get("area")?,
            assigned_worker: row.try_get("assigned_worker")?,
            ..ClientFacts::default()
        };
        if !user.can(Action::ReferralRead, &Resource::Client(facts.clone())) {
            continue;
        }
        let last_moved_on: String = row.try_get("last_moved_on")?;
        items.push(FollowUp {
            days_waiting: (today - crate::dates::stored(&last_moved_on)?).num_days(),
            referral_id: row.try_get("id")?,
            client_id: facts.client_id,
            client_code: row.try_get("client_code")?,
            category: row.try_get("category")?,
            status: row.try_get("status")?,
            provider_id: row.try_get("provider_id")?,
            provider_name: row.try_get("provider_name")?,
            referred_on: row.try_get("referred_on")?,
            last_moved_on,
        });
    }
    state
        .audit(user.event(actions::REFERRAL_FOLLOWUPS_READ, Outcome::Success))
        .await?;
    Ok(items)
}

/// The printable slip of a referral (`referral_read`): client code, the chosen name only
/// with the client's consent to be contacted, category, provider, date, and the detail
/// only when the client agreed to share it and their sharing consent for the category
/// holds today (never for a referral made on an override). Nothing else about the client.
/// Audited as `referral_slip`.
pub async fn slip(state: &AppState, user: &Authz, referral_id: &str) -> Result<Slip, ApiError> {
    let client = access_for_referral(state, user, referral_id, Action::ReferralRead).await?;
    let row = sqlx::query(
        "SELECT r.category, r.referred_on, r.detail_sealed, r.share_detail, c.code, c.chosen_name_sealed, \
         p.name AS provider_name, p.area AS provider_area, p.contact AS provider_contact \
         FROM referrals r JOIN clients c ON c.id = r.client_id LEFT JOIN providers p ON p.id = r.provider_id \
         WHERE r.id = $1",
    )
    .bind(referral_id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or_else(ApiError::not_found)?;
    let category: String = row.try_get("category")?;
    let names = crate::categories::get(&state.db, &category)
        .await?
        .ok_or_else(|| ApiError::internal(&"a referral names an unknown category"))?;
    let today = state.clock.today();

    let chosen_name = if client.facts.contact_consent && user.can_on(Action::ClientRead, &client) {
        let sealed: Option<Vec<u8>> = row.try_get("chosen_name_sealed")?;
        open_opt(state, &client.id, "clients", "chosen_name", &client.id, sealed).await?
    } else {
        None
    };
    let detail = if crate::db::flag(&row, "share_detail")?
        && has_sharing_consent(&state.db.pool, &client.id, &category, today).await?
        && may_read_free_text(user, &client, &category)
    {
        let sealed: Option<Vec<u8>> = row.try_get("detail_sealed")?;
        open_opt(state, &client.id, TABLE, "detail", referral_id, sealed).await?
    } else {
        None
    };
    let provider_name: Option<String> = row.try_get("provider_name")?;
    let provider = match provider_name {
        Some(name) => Some(SlipProvider {
            name,
            area: row.try_get("provider_area")?,
            contact: row.try_get("provider_contact")?,
        }),
        None => None,
    };
    state
        .audit(
            user.event(actions::REFERRAL_SLIP, Outcome::Success)
                .client(&client.code)
                .object(referral_id),
        )
        .await?;
    Ok(Slip {
        referral_id: referral_id.to_owned(),
        client_code: row.try_get("code")?,
        chosen_name,
        category_name_vi: names.name_vi,
        category_name_en: names.name_en,
        category,
        provider,
        referred_on: row.try_get("referred_on")?,
        printed_on: today.to_string(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn dates_default_to_today_and_are_never_in_the_future() {
        let today = d("2024-06-10");
        assert_eq!(parse_on(None, today), Ok(today));
        assert_eq!(parse_on(Some(" "), today), Ok(today));
        assert_eq!(parse_on(Some("2024-06-01"), today), Ok(d("2024-06-01")));
        assert_eq!(parse_on(Some("2024-06-11"), today), Err("field-future_date"));
        assert_eq!(parse_on(Some("10/06/2024"), today), Err("field-invalid_date"));
    }

    #[test]
    fn an_invalid_transition_names_the_allowed_states() {
        let e = invalid_transition(Status::Referred, Status::Completed);
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.code, "invalid_transition");
        let details = e.details.unwrap();
        assert_eq!(details["allowed"], json!(["accepted", "declined", "cancelled"]));
        let body = invalid_transition(Status::Referred, Status::Completed).body(crate::web::Lang::En);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("accepted, declined, cancelled"), "{message}");
        let closed = invalid_transition(Status::Completed, Status::Accepted).body(crate::web::Lang::Vi);
        assert!(!closed["error"]["message"].as_str().unwrap().contains('{'));
    }
}
