//! Transfers as authorised operations: request (the sending side), accept or decline (a
//! supervisor of the receiving area), cancel (the sending side) and the list of one's
//! transfers. Each authorises through the policies (denials audited), validates its
//! input (422 naming every bad field, nothing written), writes in one transaction and
//! audits what it did before answering.

use super::model::{DecisionInput, MAX_TEXT, MIN_REASON, Transfer, TransferInput, TransferStatus};
use super::store::{self, Decision, NewTransfer, Scope, StoredTransfer, TransferStoreError};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::auth::accounts;
use crate::authz::Authz;
use crate::clients::validation::{self as v, FieldErrors};
use crate::clients::{FieldClasses, Pii};
use crate::error::Error;
use crate::policy::{Action, Reach, Resource};

const TABLE: &str = "client_transfers";
/// Transfers per page of `GET /transfers`.
pub const PAGE_SIZE: i64 = 50;

impl From<TransferStoreError> for Error {
    fn from(e: TransferStoreError) -> Self {
        match e {
            TransferStoreError::Pending => Error::conflict("transfer_pending"),
            TransferStoreError::Stale => Error::conflict("transfer_decided"),
            TransferStoreError::Db(e) => e.into(),
        }
    }
}

/// Checks an optional free text: trimmed, at most [`MAX_TEXT`] characters, at least `min`.
fn text(errors: &mut FieldErrors, field: &str, value: Option<&Pii>, min: u64) -> Option<String> {
    let value = value.map(|v| v.expose().trim().to_owned()).filter(|v| !v.is_empty());
    let n = value.as_ref().map_or(0, |v| v.chars().count() as u64);
    if n > MAX_TEXT {
        errors.insert(field.to_owned(), "field-too_long");
    } else if value.is_some() && n < min {
        errors.insert(field.to_owned(), "field-too_short");
    }
    value
}

/// The transfer as shown: its reason and note opened with the client's key.
fn view(state: &AppState, row: StoredTransfer) -> Result<Transfer, Error> {
    let key = state.clients.key_from_wrapped(&row.client_id, &row.wrapped_key)?;
    let reason = key.open(TABLE, "reason", &row.id, &row.reason_sealed)?;
    let note = key.open_opt(TABLE, "note", &row.id, row.note_sealed.as_deref())?;
    Ok(Transfer {
        id: row.id,
        client_id: row.client_id,
        client_code: row.client_code,
        from_area: row.from_area,
        to_area: row.to_area,
        status: row.status,
        reason,
        requested_by: row.requested_by,
        requested_at: row.requested_at,
        decided_by: row.decided_by,
        decided_at: row.decided_at,
        note,
        effective_on: row.effective_on,
    })
}

/// Asks for a client to be moved to another area (`transfer_request`: her assigned worker
/// or a supervisor of her area, never a break-glass holder). 409 `transfer_pending` if
/// one is open already, 409 `case_not_open` for a closed case. Audited.
pub async fn request(
    state: &AppState,
    user: &Authz,
    client_id: &str,
    input: &TransferInput,
) -> Result<Transfer, Error> {
    let client = user.require_client(client_id, Action::TransferRequest).await?;
    let today = state.clock.today();
    let mut errors = v::check(input);
    match input.to_area.as_deref() {
        Some(area) if !user.catalog().get(area).is_some_and(|a| a.in_force_on(today)) => {
            errors.insert("to_area".into(), "field-unknown_area");
        }
        Some(area) if area == client.facts.area => {
            errors.insert("to_area".into(), "field-transfers-same_area");
        }
        _ => {}
    }
    let reason = text(&mut errors, "reason", input.reason.as_ref(), MIN_REASON);
    v::finish(errors)?;
    let (Some(to_area), Some(reason)) = (input.to_area.as_deref(), reason) else {
        return Err(Error::field("reason", "field-required"));
    };
    let current = state.clients.get(&client.id, FieldClasses::NONE).await?;
    if current.status != crate::clients::ClientStatus::Open {
        return Err(Error::conflict("case_not_open"));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let sealed = state
        .clients
        .key(&client.id)
        .await?
        .seal(TABLE, "reason", &id, &reason)?;
    let new = NewTransfer {
        id: &id,
        client_id: &client.id,
        from_area: &client.facts.area,
        to_area,
        reason_sealed: &sealed,
        requested_by: user.id(),
    };
    let mut tx = state.begin().await?;
    store::insert(&mut tx, &new, state.clock.now()).await?;
    state
        .commit_audited(
            tx,
            &[user
                .event(Action::TransferRequest.name(), Outcome::Success)
                .client(&client.code)
                .object(&id)
                .reason(&format!("{} -> {to_area}", client.facts.area))],
        )
        .await?;
    get_row(state, &id).await.and_then(|row| view(state, row))
}

async fn get_row(state: &AppState, id: &str) -> Result<StoredTransfer, Error> {
    store::get(&state.db, id).await?.ok_or(Error::NotFound)
}

/// Whether the caller is on one side of the transfer: a supervisor of either area, the
/// worker who asked, or the client's worker now. Others get 404, as for a missing one.
fn on_a_side(user: &Authz, row: &StoredTransfer) -> bool {
    if row.requested_by == user.id() || row.assigned_worker.as_deref() == Some(user.id()) {
        return true;
    }
    let supervises = |area: &str| user.can(Action::TransferDecide, &Resource::in_area(area));
    // The receiving side only while the request waits and once accepted (as in the list).
    let receiving_sees = matches!(row.status, TransferStatus::Requested | TransferStatus::Accepted);
    supervises(&row.from_area) || (receiving_sees && supervises(&row.to_area))
}

/// The transfer `id` if the caller is on one of its sides; otherwise 404, audited.
async fn visible(state: &AppState, user: &Authz, id: &str, action: Action) -> Result<StoredTransfer, Error> {
    let row = store::get(&state.db, id).await?;
    match row {
        Some(row) if on_a_side(user, &row) => Ok(row),
        _ => {
            state
                .audit(
                    user.event(action.name(), Outcome::Denied)
                        .object(id)
                        .reason("no such transfer"),
                )
                .await?;
            Err(Error::NotFound)
        }
    }
}

/// Authorises a decision on a transfer into `row.to_area` (`transfer_decide`).
/// Who asked never decides, even a supervisor whose area covers both sides: a transfer
/// takes two people.
async fn authorize_decision(state: &AppState, user: &Authz, row: &StoredTransfer) -> Result<(), Error> {
    let resource = Resource::in_area(row.to_area.as_str());
    if row.requested_by != user.id() && user.can(Action::TransferDecide, &resource) {
        return Ok(());
    }
    state
        .audit(
            user.event(Action::TransferDecide.name(), Outcome::Denied)
                .client(&row.client_code)
                .object(&row.id),
        )
        .await?;
    Err(Error::Forbidden)
}

/// Accepts a transfer (a supervisor of the receiving area): the client's area and worker
/// change in one transaction, effective `on` (default today). 409 `transfer_decided`
/// when it was decided meanwhile. Audited.
pub async fn accept(
    state: &AppState,
    user: &Authz,
    transfer_id: &str,
    input: &DecisionInput,
) -> Result<Transfer, Error> {
    let row = visible(state, user, transfer_id, Action::TransferDecide).await?;
    authorize_decision(state, user, &row).await?;
    if row.status != TransferStatus::Requested {
        return Err(Error::conflict("transfer_decided"));
    }
    let today = state.clock.today();
    let mut errors = v::check(input);
    let note = text(&mut errors, "note", input.note.as_ref(), 0);
    let on = v::past_date(&mut errors, "on", input.on.as_deref(), today).unwrap_or(today);
    let since = store::current_area_since(&state.db, &row.client_id)
        .await?
        .as_deref()
        .and_then(crate::dates::parse_iso);
    if since.is_some_and(|since| on < since) && !errors.contains_key("on") {
        errors.insert("on".into(), "field-transfers-before_current_area");
    }
    // The receiving unit may have been retired since the request: a move lands only on a
    // day it still exists (a move dated before it was created is a paper record, allowed).
    let retired_by_then = user
        .catalog()
        .get(&row.to_area)
        .and_then(|a| a.valid_to)
        .is_some_and(|end| end < on);
    if retired_by_then && !errors.contains_key("on") {
        errors.insert("on".into(), "field-transfers-area_retired");
    }
    if let Some(worker) = &input.assigned_worker {
        let fits = accounts::by_id(&state.db, worker)
            .await?
            .is_some_and(|a| a.principal().takes_cases_in(user.areas(), &row.to_area));
        if !fits {
            errors.insert("assigned_worker".into(), "field-cases-invalid_worker");
        }
    }
    v::finish(errors)?;
    let sealed = match &note {
        Some(note) => Some(
            state
                .clients
                .key(&row.client_id)
                .await?
                .seal(TABLE, "note", &row.id, note)?,
        ),
        None => None,
    };
    let decision = Decision {
        transfer_id: &row.id,
        by: user.id(),
        note_sealed: sealed.as_deref(),
    };
    let mut tx = state.begin().await?;
    store::accept(
        &mut tx,
        &decision,
        input.assigned_worker.as_deref(),
        on,
        state.clock.now(),
    )
    .await?;
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::TRANSFER_ACCEPT, Outcome::Success)
                .client(&row.client_code)
                .object(&row.id)
                .reason(&format!("{} -> {}", row.from_area, row.to_area))],
        )
        .await?;
    get_row(state, &row.id).await.and_then(|row| view(state, row))
}

/// Declines a transfer (a supervisor of the receiving area), with an optional note for
/// the sending side. Audited.
pub async fn decline(
    state: &AppState,
    user: &Authz,
    transfer_id: &str,
    input: &DecisionInput,
) -> Result<Transfer, Error> {
    let row = visible(state, user, transfer_id, Action::TransferDecide).await?;
    authorize_decision(state, user, &row).await?;
    close(
        state,
        user,
        row,
        input,
        TransferStatus::Declined,
        actions::TRANSFER_DECLINE,
    )
    .await
}

/// Withdraws a request (the sending side: `transfer_request` on the client). Audited.
pub async fn cancel(
    state: &AppState,
    user: &Authz,
    transfer_id: &str,
    input: &DecisionInput,
) -> Result<Transfer, Error> {
    let row = visible(state, user, transfer_id, Action::TransferRequest).await?;
    user.require_client(&row.client_id, Action::TransferRequest).await?;
    close(
        state,
        user,
        row,
        input,
        TransferStatus::Cancelled,
        actions::TRANSFER_CANCEL,
    )
    .await
}

async fn close(
    state: &AppState,
    user: &Authz,
    row: StoredTransfer,
    input: &DecisionInput,
    status: TransferStatus,
    audit_action: &'static str,
) -> Result<Transfer, Error> {
    if row.status != TransferStatus::Requested {
        return Err(Error::conflict("transfer_decided"));
    }
    let mut errors = v::check(input);
    if input.assigned_worker.is_some() {
        errors.insert("assigned_worker".into(), "field-transfers-accept_only");
    }
    if input.on.is_some() {
        errors.insert("on".into(), "field-transfers-accept_only");
    }
    let note = text(&mut errors, "note", input.note.as_ref(), 0);
    v::finish(errors)?;
    let sealed = match &note {
        Some(note) => Some(
            state
                .clients
                .key(&row.client_id)
                .await?
                .seal(TABLE, "note", &row.id, note)?,
        ),
        None => None,
    };
    let decision = Decision {
        transfer_id: &row.id,
        by: user.id(),
        note_sealed: sealed.as_deref(),
    };
    let mut tx = state.begin().await?;
    store::close(&mut tx, &decision, status, state.clock.now()).await?;
    state
        .commit_audited(
            tx,
            &[user
                .event(audit_action, Outcome::Success)
                .client(&row.client_code)
                .object(&row.id)],
        )
        .await?;
    get_row(state, &row.id).await.and_then(|row| view(state, row))
}

/// How many of the caller's transfers wait for a decision (a count for the home page;
/// nothing about any client). Zero for roles without case work.
pub async fn waiting(state: &AppState, user: &Authz) -> Result<i64, Error> {
    if !user.can(Action::TransfersRead, &Resource::system()) {
        return Ok(0);
    }
    // A supervisor's into and out of her area, a social worker's asked by her or about
    // her clients.
    let reach = user.principal().reach(user.areas());
    let scope = match &reach {
        Reach::Areas(areas) => Scope::Areas(areas),
        _ => Scope::Worker(user.id()),
    };
    store::count_waiting(&state.db, &scope).await.map_err(Error::from)
}

/// The caller's transfers, newest first, a page of [`PAGE_SIZE`] (`page` from 1): a
/// supervisor's into and out of her area, a social worker's asked by her or about her
/// clients. Audited once.
pub async fn list(
    state: &AppState,
    user: &Authz,
    status: Option<TransferStatus>,
    page: u32,
) -> Result<Vec<Transfer>, Error> {
    user.require(Action::TransfersRead, Resource::system()).await?;
    // A supervisor's into and out of her area, a social worker's asked by her or about
    // her clients.
    let reach = user.principal().reach(user.areas());
    let scope = match &reach {
        Reach::Areas(areas) => Scope::Areas(areas),
        _ => Scope::Worker(user.id()),
    };
    let offset = i64::from(page.max(1) - 1) * PAGE_SIZE;
    let rows = store::list(&state.db, &scope, status, PAGE_SIZE, offset).await?;
    state
        .audit(user.event(Action::TransfersRead.name(), Outcome::Success))
        .await?;
    rows.into_iter().map(|row| view(state, row)).collect()
}
