//! Referrals: creation under consent (or a supervisor's override), the state machine,
//! reading with field-level visibility, the follow-up list and the slip. Each operation
//! authorises the caller, writes in one transaction where it writes, and appends to the
//! audit trail before it returns data; the JSON handlers and the pages call these.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::json;

use super::model::{FollowUp, NewReferral, Pii, Referral, ReferralEvent, Slip, SlipProvider, Status, TransitionInput};
use super::store::{self, MoveRow, NewRow, StoredEvent, StoredReferral};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::{Authz, ClientRef};
use crate::clients::{ClientKey, ClientStatus};
use crate::db::timestamp;
use crate::error::{Error, FieldErrors, Internal};
use crate::policy::{Action, ClientFacts, Resource};

const TABLE: &str = "referrals";
const EVENTS: &str = "referral_events";
/// Longest free text (detail, note, override reason), in characters.
const TEXT_MAX: usize = 2000;
/// Shortest override reason, in characters.
const REASON_MIN: usize = 10;

/// 422 `consent_missing`: no sharing consent for the category and no supervisor override.
fn consent_missing(category: &str) -> Error {
    Error::Rejected {
        code: "consent_missing",
        details: Some(json!({ "category": category })),
    }
}

/// 422 `invalid_transition`, naming the allowed next states in `details.allowed` (and so
/// in the message).
pub fn invalid_transition(from: Status, to: Status) -> Error {
    Error::Rejected {
        code: "invalid_transition",
        details: Some(json!({
            "from": from.as_str(),
            "to": to.as_str(),
            "allowed": from.next_codes(),
        })),
    }
}

/// The earliest day a date field may name, and the message id when it names one before.
struct NotBefore(NaiveDate, &'static str);

/// A date field: empty means today; never in the future nor before `not_before`.
fn parse_on(on: Option<&str>, today: NaiveDate, not_before: NotBefore) -> Result<NaiveDate, &'static str> {
    let Some(text) = on.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(today);
    };
    let date = crate::dates::parse_iso(text).ok_or("field-invalid_date")?;
    if date > today {
        return Err("field-future_date");
    }
    if date < not_before.0 {
        return Err(not_before.1);
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
) -> Result<ClientRef, Error> {
    let Some(client_id) = store::client_of(&state.db, referral_id).await? else {
        state
            .audit(
                user.event(action.name(), Outcome::Denied)
                    .object(referral_id)
                    .reason("no such referral"),
            )
            .await?;
        return Err(Error::NotFound);
    };
    user.require_client(&client_id, action).await
}

/// Adds a referral for a client (`referral_create`). It needs the client's sharing
/// consent for the category on the referral date, or — from a supervisor of the client's
/// area only — an override with a written reason (sealed, audited and flagged as
/// `consent_override`). Without either: 422 `consent_missing`, nothing written.
/// The referral and its first event are written in one transaction.
pub async fn create(state: &AppState, user: &Authz, client_id: &str, input: &NewReferral) -> Result<Referral, Error> {
    let client = user.require_client(client_id, Action::ReferralCreate).await?;
    let today = state.clock.today();
    let (case_status, opened_on) = store::case_of(&state.db, &client.id).await?.ok_or(Error::NotFound)?;
    if case_status != ClientStatus::Open {
        return Err(Error::rejected("client_closed"));
    }

    let mut fields = FieldErrors::new();
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
    let not_before = NotBefore(opened_on, "field-referrals-before_opened_on");
    let on = parse_on(input.on.as_deref(), today, not_before).unwrap_or_else(|message| {
        fields.insert("on".into(), message);
        today
    });
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
        match store::need_category(&state.db, need_id, &client.id).await? {
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
        return Err(Error::Validation(fields));
    }

    let share_detail = input.share_detail.unwrap_or(false);
    let consent = store::has_sharing_consent(&state.db.pool, &client.id, &category, on).await?;
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
            return Err(Error::Validation(fields));
        }
        override_reason = Some(Pii::from(reason));
    }

    let id = uuid::Uuid::new_v4().to_string();
    let event_id = uuid::Uuid::new_v4().to_string();
    // The client's key is unwrapped only when there is something to seal.
    let (detail_sealed, override_reason_sealed) = if detail.is_some() || override_reason.is_some() {
        let key = state.clients.key(&client.id).await?;
        (
            key.seal_opt(TABLE, "detail", &id, detail.as_ref().map(|d| d.expose().as_str()))?,
            key.seal_opt(
                TABLE,
                "override_reason",
                &id,
                override_reason.as_ref().map(|r| r.expose().as_str()),
            )?,
        )
    } else {
        (None, None)
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
    let mut tx = state.begin().await?;
    store::insert(
        &mut tx,
        NewRow {
            id: &id,
            event_id: &event_id,
            client_id: &client.id,
            need_id,
            category: &category,
            provider_id,
            detail_sealed,
            override_reason_sealed,
            share_detail,
            on,
            by: user.id(),
            at: &now,
        },
    )
    .await?;
    // The consent is checked again under the write lock, so a withdrawal that raced this
    // request cannot be missed.
    if override_reason.is_none() && !store::has_sharing_consent(&mut *tx, &client.id, &category, on).await? {
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
    state
        .commit_audited(
            tx,
            &[user
                .event(Action::ReferralCreate.name(), Outcome::Success)
                .client(&client.code)
                .object(&id)],
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
) -> Result<Referral, Error> {
    let client = access_for_referral(state, user, referral_id, Action::ReferralTransition).await?;
    let (from, last_moved_on) = store::position(&state.db, referral_id).await?.ok_or(Error::NotFound)?;
    let Some(to) = Status::parse(input.to.trim()) else {
        return Err(Error::field("to", "field-referrals-unknown_status"));
    };
    if !from.may_move_to(to) {
        return Err(invalid_transition(from, to));
    }
    let today = state.clock.today();
    let mut fields = FieldErrors::new();
    let not_before = NotBefore(last_moved_on, "field-referrals-before_previous_event");
    let on = parse_on(input.on.as_deref(), today, not_before).unwrap_or_else(|message| {
        fields.insert("on".into(), message);
        today
    });
    let note = free_text(input.note.as_ref()).unwrap_or_else(|message| {
        fields.insert("note".into(), message);
        None
    });
    if !fields.is_empty() {
        return Err(Error::Validation(fields));
    }
    let event_id = uuid::Uuid::new_v4().to_string();
    let note_sealed = match &note {
        Some(n) => Some(
            state
                .clients
                .key(&client.id)
                .await?
                .seal(EVENTS, "note", &event_id, n.expose())?,
        ),
        None => None,
    };
    let now = timestamp(state.clock.now());
    let mut tx = state.begin().await?;
    let moved = store::insert_move(
        &mut tx,
        MoveRow {
            referral_id,
            event_id: &event_id,
            client_id: &client.id,
            from,
            to,
            on,
            note_sealed,
            by: user.id(),
            at: &now,
        },
    )
    .await?;
    if !moved {
        tx.rollback().await?;
        return Err(Error::conflict("conflict"));
    }
    state
        .commit_audited(
            tx,
            &[user
                .event(Action::ReferralTransition.name(), Outcome::Success)
                .client(&client.code)
                .object(referral_id)],
        )
        .await?;
    load(state, user, &client, referral_id).await
}

/// One referral with its events (`referral_read`); free text only for callers who may
/// read it. Audited.
pub async fn get(state: &AppState, user: &Authz, referral_id: &str) -> Result<Referral, Error> {
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

/// A client's referrals, newest first (`referral_read`), read in a fixed number of
/// queries and with one unwrapping of the client's key. Audited.
pub async fn list_for_client(state: &AppState, user: &Authz, client_id: &str) -> Result<Vec<Referral>, Error> {
    let client = user.require_client(client_id, Action::ReferralRead).await?;
    let items = read(state, user, &client, None).await?;
    state
        .audit(
            user.event(actions::REFERRAL_LIST, Outcome::Success)
                .client(&client.code),
        )
        .await?;
    Ok(items)
}

/// Reads a referral the caller was already allowed to read; not audited (callers audit).
async fn load(state: &AppState, user: &Authz, client: &ClientRef, referral_id: &str) -> Result<Referral, Error> {
    read(state, user, client, Some(referral_id))
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

/// The client's referrals (or the one named), with their events; free text opened where
/// the caller may read it.
async fn read(
    state: &AppState,
    user: &Authz,
    client: &ClientRef,
    referral_id: Option<&str>,
) -> Result<Vec<Referral>, Error> {
    let (referrals, events) = store::of_client(&state.db, &client.id, referral_id).await?;
    let mut events_of: HashMap<String, Vec<StoredEvent>> = HashMap::new();
    for event in events {
        events_of.entry(event.referral_id.clone()).or_default().push(event);
    }
    let mut key: Option<ClientKey> = None;
    let mut items = Vec::with_capacity(referrals.len());
    for stored in referrals {
        let readable = may_read_free_text(user, client, &stored.category);
        let events = events_of.remove(&stored.id).unwrap_or_default();
        let has_sealed = stored.detail_sealed.is_some()
            || stored.override_reason_sealed.is_some()
            || events.iter().any(|e| e.note_sealed.is_some());
        if readable && has_sealed && key.is_none() {
            key = Some(state.clients.key(&client.id).await?);
        }
        items.push(referral(stored, events, key.as_ref().filter(|_| readable))?);
    }
    Ok(items)
}

/// A referral as shown; `key` is the client's when the caller may read the free text.
fn referral(stored: StoredReferral, events: Vec<StoredEvent>, key: Option<&ClientKey>) -> Result<Referral, Error> {
    let open = |table: &str, column: &str, row_id: &str, sealed: Option<&[u8]>| match key {
        Some(key) => key.open_opt(table, column, row_id, sealed),
        None => Ok(None),
    };
    let detail = open(TABLE, "detail", &stored.id, stored.detail_sealed.as_deref())?;
    let override_reason = open(
        TABLE,
        "override_reason",
        &stored.id,
        stored.override_reason_sealed.as_deref(),
    )?;
    let events = events
        .into_iter()
        .map(|e| {
            Ok(ReferralEvent {
                note: open(EVENTS, "note", &e.id, e.note_sealed.as_deref())?,
                from_status: e.from_status,
                to_status: e.to_status,
                on: e.on,
                by_user: e.by_user,
                at: e.at,
                id: e.id,
            })
        })
        .collect::<Result<Vec<_>, crate::crypto::CryptoError>>()?;
    Ok(Referral {
        allowed_next: Status::parse(&stored.status)
            .map(Status::next_codes)
            .unwrap_or_default(),
        consent_overridden: stored.override_reason_sealed.is_some(),
        id: stored.id,
        client_id: stored.client_id,
        client_code: stored.client_code,
        need_id: stored.need_id,
        provider_id: stored.provider_id,
        provider_name: stored.provider_name,
        referred_on: stored.referred_on,
        last_moved_on: stored.last_moved_on,
        created_by: stored.created_by,
        created_at: stored.created_at,
        version: stored.version,
        share_detail: stored.share_detail,
        category: stored.category,
        status: stored.status,
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
pub async fn follow_ups(state: &AppState, user: &Authz, days: Option<u32>) -> Result<Vec<FollowUp>, Error> {
    user.require(Action::FollowupsRead, Resource::system()).await?;
    let days = days.unwrap_or(state.settings.cases.referral_followup_days);
    let today = state.clock.today();
    let cutoff = today
        .checked_sub_days(chrono::Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN);
    let mut items = Vec::new();
    for row in store::waiting_since(&state.db, cutoff).await? {
        // Only the standing facts: a break-glass grant does not put a client on the list.
        let facts = ClientFacts {
            client_id: row.client_id,
            area: row.area,
            assigned_worker: row.assigned_worker,
            ..ClientFacts::default()
        };
        if !user.can(Action::ReferralRead, &Resource::Client(facts.clone())) {
            continue;
        }
        items.push(FollowUp {
            days_waiting: (today - row.last_moved_on).num_days(),
            referral_id: row.referral_id,
            client_id: facts.client_id,
            client_code: row.client_code,
            category: row.category,
            status: row.status,
            provider_id: row.provider_id,
            provider_name: row.provider_name,
            referred_on: row.referred_on,
            last_moved_on: row.last_moved_on.to_string(),
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
pub async fn slip(state: &AppState, user: &Authz, referral_id: &str) -> Result<Slip, Error> {
    let client = access_for_referral(state, user, referral_id, Action::ReferralRead).await?;
    let row = store::slip_row(&state.db, referral_id).await?.ok_or(Error::NotFound)?;
    let names = crate::categories::get(&state.db, &row.category)
        .await?
        .ok_or_else(|| Error::Internal(Internal::Inconsistent("a referral names an unknown category".into())))?;
    let today = state.clock.today();

    let show_name = client.facts.contact_consent && user.can_on(Action::ClientRead, &client);
    let show_detail = row.share_detail
        && store::has_sharing_consent(&state.db.pool, &client.id, &row.category, today).await?
        && may_read_free_text(user, &client, &row.category);
    let (chosen_name, detail) = if show_name || show_detail {
        let key = state.clients.key(&client.id).await?;
        (
            if show_name {
                key.open_opt("clients", "chosen_name", &client.id, row.chosen_name_sealed.as_deref())?
            } else {
                None
            },
            if show_detail {
                key.open_opt(TABLE, "detail", referral_id, row.detail_sealed.as_deref())?
            } else {
                None
            },
        )
    } else {
        (None, None)
    };
    let provider = match row.provider_name {
        Some(name) => Some(SlipProvider {
            name,
            area: row.provider_area.unwrap_or_default(),
            contact: row.provider_contact,
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
        client_code: row.client_code,
        chosen_name,
        category_name_vi: names.name_vi,
        category_name_en: names.name_en,
        category: row.category,
        provider,
        referred_on: row.referred_on,
        printed_on: today.to_string(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::web::{ApiError, Lang};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn dates_default_to_today_and_are_never_in_the_future_nor_too_early() {
        let today = d("2024-06-10");
        let on = |text| parse_on(text, today, NotBefore(d("2024-05-01"), "field-too-early"));
        assert_eq!(on(None), Ok(today));
        assert_eq!(on(Some(" ")), Ok(today));
        assert_eq!(on(Some("2024-06-01")), Ok(d("2024-06-01")));
        assert_eq!(on(Some("2024-05-01")), Ok(d("2024-05-01")));
        assert_eq!(on(Some("2024-04-30")), Err("field-too-early"));
        assert_eq!(on(Some("2024-06-11")), Err("field-future_date"));
        assert_eq!(on(Some("10/06/2024")), Err("field-invalid_date"));
        assert_eq!(on(Some("2024-6-1")), Err("field-invalid_date"));
    }

    #[test]
    fn an_invalid_transition_names_the_allowed_states() {
        let e = ApiError::from(invalid_transition(Status::Referred, Status::Completed));
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.code, "invalid_transition");
        let details = e.details.clone().unwrap();
        assert_eq!(details["allowed"], json!(["accepted", "declined", "cancelled"]));
        let body = e.body(Lang::En);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("accepted, declined, cancelled"), "{message}");
        let closed = ApiError::from(invalid_transition(Status::Completed, Status::Accepted)).body(Lang::Vi);
        assert!(!closed["error"]["message"].as_str().unwrap().contains('{'));
    }
}
