//! Moves as authorised operations. A client is moved only by someone allowed
//! `client_move` on her (a supervisor whose scope covers her unit, which, for a retired
//! unit, includes the supervisors of its successors), only out of a unit retired by the
//! day of the move and only into a unit that succeeded it and exists that day: a move is
//! never a way round a transfer. A client the caller may not move answers as one that
//! does not exist, so a batch tells no one about clients outside her reach. Every batch
//! is checked whole (422 naming each bad line), written in one transaction, and each
//! client or account moved is audited.

use std::collections::HashSet;

use chrono::NaiveDate;

use super::model::{AccountMoves, ClientMoves, MAX_MOVES, Moved, Pending, PendingAccount, PendingClient};
use super::store::{self, Located, Move, MoveStoreError};
use crate::AppState;
use crate::areas::AreaCatalog;
use crate::audit::{Event, Outcome, actions};
use crate::authz::Authz;
use crate::clients::validation as v;
use crate::error::{Error, FieldErrors};
use crate::policy::{Action, Reach, Resource};

/// Clients per page of `GET /moves`.
pub const PAGE_SIZE: i64 = 100;

impl From<MoveStoreError> for Error {
    fn from(e: MoveStoreError) -> Self {
        match e {
            MoveStoreError::Stale => Error::conflict("moved_meanwhile"),
            MoveStoreError::Db(e) => e.into(),
        }
    }
}

/// The codes of the units retired before `today`.
fn retired_before(user: &Authz, today: NaiveDate) -> Vec<&str> {
    user.catalog()
        .all()
        .iter()
        .filter(|a| a.ended_before(today))
        .map(|a| a.code.as_str())
        .collect()
}

fn successor_codes(user: &Authz, code: &str) -> Vec<String> {
    user.catalog()
        .successors_of(code)
        .into_iter()
        .map(|a| a.code.clone())
        .collect()
}

/// What is still to be moved: for a supervisor, one page (from 1) of the clients of
/// retired units in her reach; for an admin, the accounts of retired units. 403 for a
/// role with neither. Audited `moves_read`. The total counts the clients of the retired
/// units of her areas: exactly those the policies let a supervisor move
/// (`supervisor.area`); each listed client is checked again.
pub async fn pending(state: &AppState, user: &Authz, page: u32) -> Result<Pending, Error> {
    let today = state.clock.today();
    let retired = retired_before(user, today);
    let areas = match user.principal().reach(user.areas()) {
        Reach::Areas(areas) => Some(areas),
        _ => None,
    };
    let accounts_too = user.can(Action::UsersManage, &Resource::system());
    if areas.is_none() && !accounts_too {
        state.audit(user.event(actions::MOVES_READ, Outcome::Denied)).await?;
        return Err(Error::Forbidden);
    }
    let mut pending = Pending {
        clients: Vec::new(),
        clients_total: 0,
        accounts: Vec::new(),
    };
    if let Some(areas) = areas {
        let in_reach: Vec<&str> = retired
            .iter()
            .copied()
            .filter(|code| areas.iter().any(|a| a == code))
            .collect();
        let offset = i64::from(page.max(1) - 1) * PAGE_SIZE;
        let (found, total) = store::clients_in(&state.db, &in_reach, PAGE_SIZE, offset).await?;
        let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
        pending.clients = user
            .find_clients(&ids, Action::ClientMove)
            .await?
            .into_iter()
            .map(|client| PendingClient {
                successors: successor_codes(user, &client.facts.area),
                area: client.facts.area,
                id: client.id,
                code: client.code,
            })
            .collect();
        pending.clients_total = usize::try_from(total).unwrap_or_default();
    }
    if accounts_too {
        pending.accounts = store::accounts_in(&state.db, &retired)
            .await?
            .into_iter()
            .map(|a| PendingAccount {
                successors: successor_codes(user, &a.area),
                id: a.id,
                username: a.username,
                role: a.role,
                area: a.area,
            })
            .collect();
    }
    state
        .audit(user.event(actions::MOVES_READ, Outcome::Success).reason(&format!(
            "{} clients, {} accounts",
            pending.clients_total,
            pending.accounts.len()
        )))
        .await?;
    Ok(pending)
}

/// Moves clients of retired units to their successors (see the module's rules); 403 for
/// a role without an area's caseload (only supervisors move clients). 422
/// naming `on` or `moves[i].code` / `moves[i].to`; 409 `moved_meanwhile` when a client
/// moved while the batch was checked. Each client moved is audited `client_move`, with
/// the units and the day; a refused client is audited as denied.
pub async fn move_clients(state: &AppState, user: &Authz, input: &ClientMoves) -> Result<Moved, Error> {
    if !matches!(user.principal().reach(user.areas()), Reach::Areas(_)) {
        state.audit(user.event(actions::CLIENT_MOVE, Outcome::Denied)).await?;
        return Err(Error::Forbidden);
    }
    check_size(
        state,
        input.moves.len(),
        user.event(actions::CLIENT_MOVE, Outcome::Failure),
    )
    .await?;
    let found = store::clients_by_code(&state.db, &client_codes(input)).await?;
    let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
    let allowed: HashSet<String> = user
        .find_clients(&ids, Action::ClientMove)
        .await?
        .into_iter()
        .map(|client| client.id)
        .collect();
    let event = |action: &str, outcome| user.event(action, outcome);
    apply_client_moves(state, user.catalog(), input, &found, |c| allowed.contains(&c.id), event).await
}

/// The operator's bulk move from the command line (`hoanhap areas move`): any client, by
/// the same rules otherwise, audited with `actor`.
pub async fn move_clients_as(state: &AppState, actor: &str, input: &ClientMoves) -> Result<Moved, Error> {
    check_size(
        state,
        input.moves.len(),
        Event::new(actor, actions::CLIENT_MOVE, Outcome::Failure),
    )
    .await?;
    let found = store::clients_by_code(&state.db, &client_codes(input)).await?;
    let catalog = state.areas.on(state.clock.today());
    let event = |action: &str, outcome| Event::new(actor, action, outcome);
    apply_client_moves(state, &catalog, input, &found, |_| true, event).await
}

/// 422 `moves` for an empty list or one longer than [`MAX_MOVES`], before anything is read;
/// the refusal is audited like any refused batch.
async fn check_size(state: &AppState, n: usize, refused: Event) -> Result<(), Error> {
    let message = match n {
        0 => "field-required",
        n if n > MAX_MOVES => "field-moves-too_many",
        _ => return Ok(()),
    };
    state.audit(refused.reason(&format!("{n} lines"))).await?;
    Err(Error::Validation(FieldErrors::from([("moves".to_owned(), message)])))
}

fn client_codes(input: &ClientMoves) -> Vec<&str> {
    input.moves.iter().map(|m| m.code.trim()).collect()
}

/// Checks a batch of client moves whole against the rules, then writes it in one
/// transaction and audits each move (`event` makes the entries of whoever moves).
async fn apply_client_moves(
    state: &AppState,
    catalog: &AreaCatalog,
    input: &ClientMoves,
    found: &[Located],
    may_move: impl Fn(&Located) -> bool,
    event: impl Fn(&str, Outcome) -> Event,
) -> Result<Moved, Error> {
    let today = state.clock.today();
    let mut fields = FieldErrors::new();
    let on = match input.on.as_deref() {
        None => {
            fields.insert("on".into(), "field-required");
            None
        }
        on => v::past_date(&mut fields, "on", on, today),
    };
    let mut denied = Vec::new();
    let mut moves: Vec<Move<'_>> = Vec::new();
    let mut events = Vec::new();
    for (i, m) in input.moves.iter().enumerate() {
        let field = |name: &str| format!("moves[{i}].{name}");
        let code = m.code.trim();
        let Some(client) = found.iter().find(|c| c.code == code) else {
            fields.insert(field("code"), "field-moves-unknown_client");
            continue;
        };
        if !may_move(client) {
            fields.insert(field("code"), "field-moves-unknown_client");
            denied.push(event(actions::CLIENT_MOVE, Outcome::Denied).client(&client.code));
            continue;
        }
        if moves.iter().any(|done| done.id == client.id) {
            fields.insert(field("code"), "field-moves-repeated");
            continue;
        }
        let to = m.to.trim();
        let Some(on) = on else { continue };
        let retired = catalog.get(&client.area).is_some_and(|unit| unit.ended_before(on));
        if !retired {
            fields.insert(field("code"), "field-moves-unit_in_force");
            continue;
        }
        match catalog.successors_of(&client.area).iter().find(|s| s.code == to) {
            None => {
                fields.insert(field("to"), "field-moves-not_a_successor");
                continue;
            }
            Some(unit) if !unit.in_force_on(on) => {
                fields.insert(field("to"), "field-moves-successor_not_in_force");
                continue;
            }
            Some(_) => {}
        }
        if client
            .since
            .as_deref()
            .and_then(crate::dates::parse_iso)
            .is_some_and(|since| on < since)
        {
            fields.insert("on".into(), "field-transfers-before_current_area");
            continue;
        }
        moves.push(Move {
            id: &client.id,
            from: &client.area,
            to,
        });
        events.push(
            event(actions::CLIENT_MOVE, Outcome::Success)
                .client(&client.code)
                .reason(&format!("{} -> {to} from {on}", client.area)),
        );
    }
    let Some(on) = on.filter(|_| fields.is_empty()) else {
        // The refused batch is always recorded, with one denial per client out of reach
        // in the same commit: whether a code exists elsewhere takes no longer to answer.
        let mut refused = denied;
        refused.push(event(actions::CLIENT_MOVE, Outcome::Failure).reason(&format!(
            "{} of {} lines refused",
            fields.len(),
            input.moves.len()
        )));
        state.audit_all(refused).await?;
        return Err(Error::Validation(fields));
    };
    let mut tx = state.begin().await?;
    store::move_clients(&mut tx, &moves, on, state.clock.now()).await?;
    state.commit_audited(tx, &events).await?;
    Ok(Moved { moved: moves.len() })
}

/// Moves staff accounts out of retired units into units in force today (an admin,
/// `users_manage`). 422 naming `moves[i].username` (unknown, or not in a retired unit)
/// or `moves[i].to`, the refusal audited. The new scope holds from the account's next
/// request. Each account moved is audited `user_move`.
pub async fn move_accounts(state: &AppState, user: &Authz, input: &AccountMoves) -> Result<Moved, Error> {
    user.require(Action::UsersManage, Resource::system()).await?;
    let event = |action: &str, outcome| user.event(action, outcome);
    apply_account_moves(state, user.catalog(), input, event).await
}

/// The operator's move of accounts from the command line, audited with `actor`.
pub async fn move_accounts_as(state: &AppState, actor: &str, input: &AccountMoves) -> Result<Moved, Error> {
    let catalog = state.areas.on(state.clock.today());
    let event = |action: &str, outcome| Event::new(actor, action, outcome);
    apply_account_moves(state, &catalog, input, event).await
}

async fn apply_account_moves(
    state: &AppState,
    catalog: &AreaCatalog,
    input: &AccountMoves,
    event: impl Fn(&str, Outcome) -> Event,
) -> Result<Moved, Error> {
    check_size(state, input.moves.len(), event(actions::USER_MOVE, Outcome::Failure)).await?;
    let today = state.clock.today();
    let mut fields = FieldErrors::new();
    let names: Vec<&str> = input.moves.iter().map(|m| m.username.trim()).collect();
    let found = store::accounts_by_username(&state.db, &names).await?;
    let mut moves: Vec<Move<'_>> = Vec::new();
    let mut events = Vec::new();
    for (i, (m, name)) in input.moves.iter().zip(&names).enumerate() {
        let field = |name: &str| format!("moves[{i}].{name}");
        let Some(account) = found.iter().find(|a| a.username == *name) else {
            fields.insert(field("username"), "field-moves-unknown_account");
            continue;
        };
        if moves.iter().any(|done| done.id == account.id) {
            fields.insert(field("username"), "field-moves-repeated");
            continue;
        }
        let retired = catalog.get(&account.area).is_some_and(|unit| unit.ended_before(today));
        if !retired {
            fields.insert(field("username"), "field-moves-unit_in_force");
            continue;
        }
        let to = m.to.trim();
        if !catalog.get(to).is_some_and(|unit| unit.in_force_on(today)) {
            fields.insert(field("to"), "field-unknown_area");
            continue;
        }
        moves.push(Move {
            id: &account.id,
            from: &account.area,
            to,
        });
        events.push(
            event(actions::USER_MOVE, Outcome::Success)
                .object(&account.id)
                .reason(&format!("{} -> {to}", account.area)),
        );
    }
    if !fields.is_empty() {
        state
            .audit(event(actions::USER_MOVE, Outcome::Failure).reason(&format!(
                "{} of {} lines refused",
                fields.len(),
                input.moves.len()
            )))
            .await?;
        return Err(Error::Validation(fields));
    }
    let mut tx = state.begin().await?;
    store::move_accounts(&mut tx, &moves, state.clock.now()).await?;
    state.commit_audited(tx, &events).await?;
    Ok(Moved { moved: moves.len() })
}
