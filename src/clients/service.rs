//! The case itself as authorised operations: intake, the caseload list, reading a client
//! with the fields the caller may see, editing with optimistic concurrency, closing,
//! reopening, reassigning, erasing, and the alerts of a district.
//!
//! Each function takes the state and the logged-in user, authorises through
//! `AppState::client_access` / `authorize` (denials are audited there), validates its
//! input (422 naming every bad field, nothing written), does the work in one
//! transaction, audits what it did before answering, and returns plain data. The JSON
//! API (`api.rs`) and the HTML pages both call these.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Deserializer, Serialize};
use validator::Validate;

use super::CLOSURE_REASONS;
use super::alerts::{self, Alert, AlertScope};
use super::model::{
    CasePeriod, ClientPatch, ClientStatus, DuplicateMatch, FieldClasses, ListFilter, ListScope, NewClient, Pii,
};
use super::validation::{self as v};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::auth::accounts;
use crate::authz::Authz;
use crate::authz::ClientRef;
use crate::consents::{self, Consent, NewConsent};
use crate::error::{Error, Internal};
use crate::needs::{self, Need};
use crate::policy::{Action, Reach, Resource};
use crate::volunteers::{self, Assignment, SupportLog};

/// Which sealed classes the caller may open for this client, from the policies.
pub fn field_classes(user: &Authz, client: &ClientRef) -> FieldClasses {
    let may = |action| user.can_on(action, client);
    FieldClasses {
        chosen_name: may(Action::ClientRead),
        identity: may(Action::ClientReadIdentity),
        contact: may(Action::ClientReadContact),
        narrative: may(Action::ClientReadNarrative),
        health: may(Action::ClientReadHealth),
    }
}

/// Blank optional text counts as absent.
fn blank_to_none(value: &mut Option<Pii>) {
    if value.as_ref().is_some_and(|v| v.expose().trim().is_empty()) {
        *value = None;
    }
}

/// Distinguishes an absent field (`None`) from `null` (`Some(None)`) in a PATCH body.
fn double<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

// ---------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------

/// The case fields case workers see (absent for volunteers).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseFields {
    pub eligible: bool,
    pub age_band: String,
    pub opened_on: String,
    pub closed_on: Option<String>,
    pub closure_reason: Option<String>,
    pub assigned_worker: Option<String>,
    pub child_protection: bool,
    /// Send it back with `PATCH`; a stale one gets 409 `conflict`.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A client with only what the caller may see. Sealed fields appear only when the
/// caller's role may read their class; lists appear only when the caller may read them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientView {
    pub id: String,
    pub code: String,
    pub area: String,
    pub status: ClientStatus,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub chosen_name: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub full_name: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub date_of_birth: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub id_number: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consents: Option<Vec<Consent>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<Vec<Need>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volunteers: Option<Vec<Assignment>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_logs: Option<Vec<SupportLog>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_periods: Option<Vec<CasePeriod>>,
}

/// Builds the view of a client the caller was already allowed to read. Not audited: the
/// caller audits the operation that shows it.
///
/// Volunteers get the volunteer view: code, area, status, chosen name, the phone only
/// with the client's contact consent (never the address), and the support logs with
/// the notes of their own logs. Case workers get the coded case fields, every sealed
/// class the policies allow, consents, needs (details by class), volunteers, support
/// logs (with `support_read`) and the case periods.
pub async fn view(state: &AppState, user: &Authz, client: &ClientRef) -> Result<ClientView, Error> {
    let classes = field_classes(user, client);
    let row = state.clients.get(&client.id, classes).await?;
    let support = user.can_on(Action::SupportRead, client);
    if user.principal().is_volunteer() {
        let support_logs = if support {
            Some(volunteers::support_logs(state, &client.id, classes, Some(user.id())).await?)
        } else {
            None
        };
        return Ok(ClientView {
            id: row.id,
            code: row.code,
            area: row.area,
            status: row.status,
            case: None,
            chosen_name: row.chosen_name,
            full_name: None,
            date_of_birth: None,
            id_number: None,
            phone: if classes.contact { row.phone } else { None },
            address: None,
            notes: None,
            consents: None,
            needs: None,
            volunteers: None,
            support_logs,
            case_periods: None,
        });
    }
    let today = state.clock.today();
    let consents = consents::list(&state.db, &client.id, today).await?;
    let needs = needs::list(state, &client.id, classes).await?;
    let assigned = volunteers::assignments(state, &client.id).await?;
    let support_logs = if support {
        Some(volunteers::support_logs(state, &client.id, classes, Some(user.id())).await?)
    } else {
        None
    };
    let periods = state.clients.case_periods(&client.id).await?;
    Ok(ClientView {
        id: row.id,
        code: row.code,
        area: row.area,
        status: row.status,
        case: Some(CaseFields {
            eligible: row.eligible,
            age_band: row.age_band,
            opened_on: row.opened_on,
            closed_on: row.closed_on,
            closure_reason: row.closure_reason,
            assigned_worker: row.assigned_worker,
            child_protection: row.child_protection,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }),
        chosen_name: row.chosen_name,
        full_name: row.full_name,
        date_of_birth: row.date_of_birth,
        id_number: row.id_number,
        phone: row.phone,
        address: row.address,
        notes: row.notes,
        consents: Some(consents),
        needs: Some(needs),
        volunteers: Some(assigned),
        support_logs,
        case_periods: Some(periods),
    })
}

/// Reads one client (`client_read`), audited as `client_read`.
pub async fn read(state: &AppState, user: &Authz, client_id: &str) -> Result<ClientView, Error> {
    let client = user.require_client(client_id, Action::ClientRead).await?;
    let view = view(state, user, &client).await?;
    state
        .audit(user.event(actions::CLIENT_READ, Outcome::Success).client(&client.code))
        .await?;
    Ok(view)
}

/// Opens a client for a form about `action` (editing, a support log, a transfer
/// request…): the page shows the form only when the operation it posts to would be
/// allowed, and a refusal is audited as that operation's.
pub async fn open_for(user: &Authz, client_id: &str, action: Action) -> Result<ClientRef, Error> {
    user.require_client(client_id, action).await
}

/// Authorises showing the intake form: opening a case in the caller's own area.
pub async fn begin_intake(user: &Authz) -> Result<(), Error> {
    user.require(Action::ClientCreate, Resource::in_area(&user.account.area))
        .await
}

/// The id of the client with `code`, if the caller may list its code or break glass on
/// it; anyone else gets the answer for an unknown code, so that a code's existence is
/// not revealed to them. Audited as `client_find`: the code when it exists, never the
/// text typed for one that does not (it could be anything, a name even).
pub async fn find_by_code(state: &AppState, user: &Authz, code: &str) -> Result<Option<String>, Error> {
    let found = match state.clients.id_for_code(code).await? {
        Some(id) => user
            .visibility(&id, &[Action::ClientListCodes, Action::BreakGlass])
            .await?
            .map(|visible| (id, visible)),
        None => None,
    };
    let Some((id, visible)) = found else {
        state
            .audit(
                user.event(actions::CLIENT_FIND, Outcome::Denied)
                    .reason("no such client"),
            )
            .await?;
        return Ok(None);
    };
    let outcome = if visible { Outcome::Success } else { Outcome::Denied };
    // The code matched a stored one exactly, so it is the client's code.
    state
        .audit(user.event(actions::CLIENT_FIND, outcome).client(code))
        .await?;
    Ok(visible.then_some(id))
}

/// The client after a change, for the caller who made it.
async fn reload(state: &AppState, user: &Authz, client_id: &str) -> Result<ClientView, Error> {
    // The change may have moved the client out of the caller's reach (a new area).
    let Some(client) = user.find_client(client_id, Action::ClientRead).await? else {
        return Err(Error::NotFound);
    };
    view(state, user, &client).await
}

// ---------------------------------------------------------------------------------
// Intake
// ---------------------------------------------------------------------------------

/// Consents given at intake. `data_processing` must be `true`.
#[derive(Debug, Default, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeConsents {
    pub data_processing: Option<bool>,
    pub reporting: Option<bool>,
    pub volunteer_contact: Option<bool>,
    /// Service categories whose providers may receive the referral.
    pub referral_sharing: Option<Vec<String>>,
}

/// `POST /clients`.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeInput {
    /// Area code of the case (`GET /areas`).
    #[validate(required)]
    pub area: Option<String>,
    /// Legal name, sealed; at most 100 characters.
    #[validate(required, length(max = 100, code = "too_long"), custom(function = "v::not_blank"))]
    #[schema(value_type = String)]
    pub full_name: Option<Pii>,
    /// The name the client wants to be called, sealed; at most 100 characters.
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(value_type = Option<String>)]
    pub chosen_name: Option<Pii>,
    /// `YYYY-MM-DD`, sealed; not in the future.
    #[validate(required)]
    pub date_of_birth: Option<String>,
    /// Identity-card number, sealed: 6 to 20 letters and digits.
    #[validate(custom(function = "v::id_number"))]
    #[schema(value_type = Option<String>)]
    pub id_number: Option<Pii>,
    /// Vietnamese phone number, sealed: `0` or `+84` then digits, 9–11 digits in all.
    #[validate(custom(function = "v::phone"))]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Pii>,
    /// Sealed; at most 300 characters.
    #[validate(length(max = 300, code = "too_long"))]
    #[schema(value_type = Option<String>)]
    pub address: Option<Pii>,
    /// Case notes, sealed; at most 2000 characters.
    #[validate(length(max = 2000, code = "too_long"))]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Pii>,
    #[validate(required)]
    pub eligible: Option<bool>,
    /// Default today; not in the future, not before the date of birth.
    pub opened_on: Option<String>,
    /// Supervisors only: the social worker to assign. A social worker opening a case is
    /// assigned to it.
    pub assigned_worker: Option<String>,
    /// `data_processing: true` is required.
    pub consents: Option<IntakeConsents>,
}

/// The answer to intake: the client as the caller sees it, and codes of possible
/// duplicates (same name and birth date, or same ID number) among the clients the caller
/// may already list. A match outside them is never shown, nor hinted at.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntakeResult {
    #[serde(flatten)]
    pub client: ClientView,
    pub possible_duplicates: Vec<String>,
}

/// Opens a case (`client_create` in the area): validates everything, then stores the
/// client, its key, first case period, consents and (for a child) the alert to the
/// district's supervisors in one transaction. Audited `client_create` (flagged for a
/// child).
pub async fn intake(state: &AppState, user: &Authz, mut input: IntakeInput) -> Result<IntakeResult, Error> {
    let today = state.clock.today();
    // A new case goes under a unit in force today, even when it is dated earlier: paper
    // records typed in after a reform are filed under today's unit.
    let known_area = input
        .area
        .as_deref()
        .filter(|a| user.catalog().get(a).is_some_and(|a| a.in_force_on(today)));
    // Authorise first (403 for a role that may not open cases, whatever the body), in the
    // requested area when it exists.
    user.require(
        Action::ClientCreate,
        Resource::in_area(known_area.unwrap_or(&user.account.area)),
    )
    .await?;
    for field in [
        &mut input.chosen_name,
        &mut input.id_number,
        &mut input.phone,
        &mut input.address,
        &mut input.notes,
    ] {
        blank_to_none(field);
    }
    let mut errors = v::check(&input);
    if input.area.is_some() && known_area.is_none() {
        errors.insert("area".into(), "field-unknown_area");
    }
    let dob = v::birth_date(&mut errors, "date_of_birth", input.date_of_birth.as_deref(), today);
    let opened_on = v::past_date(&mut errors, "opened_on", input.opened_on.as_deref(), today);
    if let (Some(dob), Some(opened)) = (dob, opened_on.or(Some(today)))
        && opened < dob
    {
        errors.insert("opened_on".into(), "field-cases-before_birth");
    }
    let consents_in = input.consents.take().unwrap_or_default();
    if consents_in.data_processing != Some(true) {
        errors.insert("consents.data_processing".into(), "field-cases-consent_required");
    }
    let sharing = consents_in.referral_sharing.clone().unwrap_or_default();
    for category in &sharing {
        v::known_category(&state.db, &mut errors, "consents.referral_sharing", category).await?;
    }
    let worker = match &input.assigned_worker {
        Some(id) if id != user.id() && !user.principal().is_supervisor() => {
            state
                .audit(user.event(actions::CLIENT_ASSIGN, Outcome::Denied).object(id))
                .await?;
            return Err(Error::Forbidden);
        }
        Some(id) => {
            let account = accounts::by_id(&state.db, id).await?;
            let fits = account
                .as_ref()
                .is_some_and(|a| known_area.is_some_and(|area| a.principal().takes_cases_in(user.areas(), area)));
            if !fits && known_area.is_some() {
                errors.insert("assigned_worker".into(), "field-cases-invalid_worker");
            }
            Some(id.clone())
        }
        None if user.principal().is_social_worker() => Some(user.id().to_owned()),
        None => None,
    };
    v::finish(errors)?;
    let (Some(area), Some(full_name), Some(dob), Some(eligible)) = (known_area, input.full_name, dob, input.eligible)
    else {
        return Err(Error::Internal(Internal::Inconsistent(
            "intake passed its checks with a required field missing".into(),
        )));
    };
    let opened_on = opened_on.unwrap_or(today);
    let new = NewClient {
        area: area.to_owned(),
        full_name,
        chosen_name: input.chosen_name,
        date_of_birth: dob,
        id_number: input.id_number,
        phone: input.phone,
        address: input.address,
        notes: input.notes,
        eligible,
        opened_on,
        assigned_worker: worker,
    };
    let consent = |scope: &str, category: Option<&String>| NewConsent {
        scope: scope.to_owned(),
        category: category.cloned(),
        given_on: opened_on,
        expires_on: None,
    };
    let mut given = vec![consent(consents::DATA_PROCESSING, None)];
    if consents_in.reporting == Some(true) {
        given.push(consent(consents::REPORTING, None));
    }
    if consents_in.volunteer_contact == Some(true) {
        given.push(consent(consents::VOLUNTEER_CONTACT, None));
    }
    let mut seen = std::collections::BTreeSet::new();
    for category in sharing.iter().filter(|c| seen.insert(c.as_str())) {
        given.push(consent(consents::REFERRAL_SHARING, Some(category)));
    }
    let now = state.clock.now();
    let matches = state
        .clients
        .find_duplicates(
            new.full_name.expose(),
            new.date_of_birth,
            new.id_number.as_ref().map(|n| n.expose().as_str()),
        )
        .await?;
    let (shown, hidden) = partition_duplicates(user, matches).await?;
    let mut tx = state.begin().await?;
    let created = state
        .clients
        .intake(&mut tx, &new, &given, Some(user.id()), &hidden, now)
        .await?;
    let code = created.client.code.clone();
    let mut event = user.event(actions::CLIENT_CREATE, Outcome::Success).client(&code);
    if created.client.child_protection {
        event = event.reason("child_protection").flagged();
    }
    // The matches the caller may not see are told to their own supervisors (an alert,
    // raised with the case) and flagged for the auditor under the matched code.
    let mut events = vec![event];
    events.extend(hidden.iter().map(|m| {
        user.event(actions::DUPLICATE_ALERT, Outcome::Success)
            .client(&m.code)
            .object(&code)
            .reason(alerts::POSSIBLE_DUPLICATE)
            .flagged()
    }));
    state.commit_audited(tx, &events).await?;
    let client = reload(state, user, &created.client.id).await?;
    Ok(IntakeResult {
        client,
        possible_duplicates: shown.into_iter().map(|m| m.code).collect(),
    })
}

/// Splits possible duplicates into those the caller may already list
/// (`client_list_codes`) and the others.
async fn partition_duplicates(
    user: &Authz,
    matches: Vec<DuplicateMatch>,
) -> Result<(Vec<DuplicateMatch>, Vec<DuplicateMatch>), Error> {
    let ids: Vec<&str> = matches.iter().map(|m| m.id.as_str()).collect();
    let listable: HashSet<String> = user
        .find_clients(&ids, Action::ClientListCodes)
        .await?
        .into_iter()
        .map(|client| client.id)
        .collect();
    Ok(matches.into_iter().partition(|m| listable.contains(&m.id)))
}

// ---------------------------------------------------------------------------------
// Caseload
// ---------------------------------------------------------------------------------

/// One row of a caseload list: coded fields for case workers; for volunteers only the
/// code, area, chosen name and (with contact consent) phone.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseloadItem {
    pub id: String,
    pub code: String,
    pub area: String,
    pub status: ClientStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_band: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_worker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_protection: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub chosen_name: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Pii>,
}

/// The caller's caseload: a social worker's assigned clients, a supervisor's district,
/// a volunteer's assigned clients; 403 for other roles. Every row is checked against the
/// policies again (`client_list_codes`). Audited once as `client_list`.
pub async fn caseload(
    state: &AppState,
    user: &Authz,
    status: Option<ClientStatus>,
) -> Result<Vec<CaseloadItem>, Error> {
    let scope = match user.principal().reach(user.areas()) {
        Reach::Assigned => ListScope::AssignedTo(user.id().to_owned()),
        Reach::Supported => ListScope::Volunteer(user.id().to_owned()),
        Reach::Areas(areas) => ListScope::Areas(areas),
        Reach::Nobody => {
            state.audit(user.event(actions::CLIENT_LIST, Outcome::Denied)).await?;
            return Err(Error::Forbidden);
        }
    };
    let listed = state.clients.list(&ListFilter { scope, status }).await?;
    let ids: Vec<&str> = listed.iter().map(|l| l.client.id.as_str()).collect();
    let mut allowed: HashMap<String, ClientRef> = user
        .find_clients(&ids, Action::ClientListCodes)
        .await?
        .into_iter()
        .map(|client| (client.id.clone(), client))
        .collect();
    let volunteer = user.principal().is_volunteer();
    let mut items = Vec::with_capacity(allowed.len());
    for listed in &listed {
        let Some(client) = allowed.remove(&listed.client.id) else {
            continue;
        };
        let may = |action| user.can_on(action, &client);
        let classes = FieldClasses {
            chosen_name: may(Action::ClientRead),
            contact: volunteer && may(Action::ClientReadContact),
            ..FieldClasses::NONE
        };
        let row = state.clients.open_listed(listed, classes)?;
        let code = client.code;
        let (chosen_name, phone) = (row.chosen_name, row.phone);
        items.push(if volunteer {
            CaseloadItem {
                id: row.id,
                code,
                area: row.area,
                status: row.status,
                eligible: None,
                age_band: None,
                opened_on: None,
                closed_on: None,
                assigned_worker: None,
                child_protection: None,
                chosen_name,
                phone,
            }
        } else {
            CaseloadItem {
                id: row.id,
                code,
                area: row.area,
                status: row.status,
                eligible: Some(row.eligible),
                age_band: Some(row.age_band),
                opened_on: Some(row.opened_on),
                closed_on: row.closed_on,
                assigned_worker: row.assigned_worker,
                child_protection: Some(row.child_protection),
                chosen_name,
                phone: None,
            }
        });
    }
    state
        .audit(
            user.event(actions::CLIENT_LIST, Outcome::Success)
                .reason(&format!("{} clients", items.len())),
        )
        .await?;
    Ok(items)
}

// ---------------------------------------------------------------------------------
// Edits
// ---------------------------------------------------------------------------------

/// `PATCH /clients/{id}`: the fields to change and the `version` read. `null` clears an
/// optional field.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInput {
    #[validate(required)]
    pub version: Option<i64>,
    /// Refused (422) when it differs from the client's area: a client moves to another
    /// area only by a transfer, `POST /api/v1/clients/{id}/transfers`.
    pub area: Option<String>,
    #[validate(length(max = 100, code = "too_long"), custom(function = "v::not_blank"))]
    #[schema(value_type = Option<String>)]
    pub full_name: Option<Pii>,
    #[serde(default, deserialize_with = "double")]
    #[validate(length(max = 100, code = "too_long"))]
    #[schema(value_type = Option<String>, nullable)]
    pub chosen_name: Option<Option<Pii>>,
    pub date_of_birth: Option<String>,
    #[serde(default, deserialize_with = "double")]
    #[validate(custom(function = "v::id_number"))]
    #[schema(value_type = Option<String>, nullable)]
    pub id_number: Option<Option<Pii>>,
    #[serde(default, deserialize_with = "double")]
    #[validate(custom(function = "v::phone"))]
    #[schema(value_type = Option<String>, nullable)]
    pub phone: Option<Option<Pii>>,
    #[serde(default, deserialize_with = "double")]
    #[validate(length(max = 300, code = "too_long"))]
    #[schema(value_type = Option<String>, nullable)]
    pub address: Option<Option<Pii>>,
    #[serde(default, deserialize_with = "double")]
    #[validate(length(max = 2000, code = "too_long"))]
    #[schema(value_type = Option<String>, nullable)]
    pub notes: Option<Option<Pii>>,
    pub eligible: Option<bool>,
}

fn blank_to_null(value: &mut Option<Option<Pii>>) {
    if let Some(inner) = value {
        blank_to_none(inner);
    }
}

/// Edits a client (`client_update`). 409 `conflict` with the current version when
/// `version` is stale; 422 on `area` (see [`UpdateInput::area`]). Audited `client_update`.
pub async fn update(
    state: &AppState,
    user: &Authz,
    client_id: &str,
    mut input: UpdateInput,
) -> Result<ClientView, Error> {
    let client = user.require_client(client_id, Action::ClientUpdate).await?;
    for field in [
        &mut input.chosen_name,
        &mut input.id_number,
        &mut input.phone,
        &mut input.address,
        &mut input.notes,
    ] {
        blank_to_null(field);
    }
    let today = state.clock.today();
    let current = state.clients.get(&client.id, FieldClasses::NONE).await?;
    let mut errors = v::check(&input);
    // An area is never edited: a client moves only by an accepted transfer, so that the
    // receiving supervisor decides and break-glass can never take a case away.
    if input.area.as_ref().is_some_and(|a| *a != current.area) {
        errors.insert("area".into(), "field-cases-area_by_transfer");
    }
    let dob = v::birth_date(&mut errors, "date_of_birth", input.date_of_birth.as_deref(), today);
    if let (Some(dob), Some(opened)) = (dob, crate::dates::parse_iso(&current.opened_on))
        && opened < dob
    {
        errors.insert("date_of_birth".into(), "field-cases-after_opened");
    }
    v::finish(errors)?;
    let patch = ClientPatch {
        version: input.version.unwrap_or_default(),
        full_name: input.full_name,
        chosen_name: input.chosen_name,
        date_of_birth: dob,
        id_number: input.id_number,
        phone: input.phone,
        address: input.address,
        notes: input.notes,
        eligible: input.eligible,
    };
    let now = state.clock.now();
    let mut tx = state.begin().await?;
    let updated = state
        .clients
        .update_by(&mut tx, &client.id, &patch, Some(user.id()), now)
        .await?;
    let mut event = user
        .event(actions::CLIENT_UPDATE, Outcome::Success)
        .client(&client.code);
    if updated.child_protection && !current.child_protection {
        event = event.reason("child_protection").flagged();
    }
    state.commit_audited(tx, &[event]).await?;
    reload(state, user, &client.id).await
}

// ---------------------------------------------------------------------------------
// Case life
// ---------------------------------------------------------------------------------

/// `POST /clients/{id}/close`.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseInput {
    /// `reintegrated`, `moved_away`, `withdrew`, `lost_contact`, `deceased`, `other`.
    #[validate(required)]
    pub reason: Option<String>,
    /// Default today; not in the future, not before the current episode opened.
    pub on: Option<String>,
    /// If given, must be current (409 otherwise).
    pub version: Option<i64>,
}

/// `POST /clients/{id}/reopen`.
#[derive(Debug, Default, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenInput {
    /// Default today; not in the future, not before the case was closed.
    pub on: Option<String>,
    /// If given, must be current (409 otherwise).
    pub version: Option<i64>,
}

/// `POST /clients/{id}/reassign`.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignInput {
    /// An active social worker whose area covers the client's.
    #[validate(required)]
    pub user_id: Option<String>,
}

/// `POST /clients/{id}/erase`.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseInput {
    /// Why (at least 10 characters); kept in the audit trail.
    #[validate(required, length(max = 500, code = "too_long"))]
    pub reason: Option<String>,
}

/// Closes a case: a supervisor of the district (`client_close`) closes it outright; the
/// assigned worker (`client_close_request`) closes it and the district's supervisors get
/// a `closure_review` alert. The open case period is closed with it. Audited
/// `client_close`.
pub async fn close(state: &AppState, user: &Authz, client_id: &str, input: &CloseInput) -> Result<ClientView, Error> {
    let client = user.require_client(client_id, Action::ClientCloseRequest).await?;
    let supervisor = user.can_on(Action::ClientClose, &client);
    let current = state.clients.get(&client.id, FieldClasses::NONE).await?;
    if current.status != ClientStatus::Open {
        return Err(Error::conflict("case_not_open"));
    }
    let today = state.clock.today();
    let mut errors = v::check(input);
    if let Some(reason) = &input.reason
        && !CLOSURE_REASONS.contains(&reason.as_str())
    {
        errors.insert("reason".into(), "field-cases-unknown_reason");
    }
    let on = v::past_date(&mut errors, "on", input.on.as_deref(), today);
    let periods = state.clients.case_periods(&client.id).await?;
    if let Some(open) = periods.iter().rev().find(|p| p.closed_on.is_none())
        && let Some(opened) = crate::dates::parse_iso(&open.opened_on)
    {
        v::not_before_opened(&mut errors, "on", on.or(Some(today)), opened);
    }
    v::finish(errors)?;
    let reason = input.reason.clone().unwrap_or_default();
    let review_by = (!supervisor).then(|| user.id());
    let mut tx = state.begin().await?;
    state
        .clients
        .close(
            &mut tx,
            &client.id,
            input.version.unwrap_or(current.version),
            crate::clients::Closure {
                reason: &reason,
                on: on.unwrap_or(today),
                review_by,
            },
            state.clock.now(),
        )
        .await?;
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::CLIENT_CLOSE, Outcome::Success)
                .client(&client.code)
                .reason(&reason)],
        )
        .await?;
    reload(state, user, &client.id).await
}

/// Reopens a closed case (`client_reopen`) with a new case period. Audited.
pub async fn reopen(state: &AppState, user: &Authz, client_id: &str, input: &ReopenInput) -> Result<ClientView, Error> {
    let client = user.require_client(client_id, Action::ClientReopen).await?;
    let current = state.clients.get(&client.id, FieldClasses::NONE).await?;
    if current.status != ClientStatus::Closed {
        return Err(Error::conflict("case_not_closed"));
    }
    let today = state.clock.today();
    let mut errors = v::check(input);
    let on = v::past_date(&mut errors, "on", input.on.as_deref(), today);
    let periods = state.clients.case_periods(&client.id).await?;
    let day = on.unwrap_or(today);
    let too_early = current
        .closed_on
        .as_deref()
        .and_then(crate::dates::parse_iso)
        .is_some_and(|closed| day < closed)
        || periods
            .iter()
            .filter_map(|p| crate::dates::parse_iso(&p.opened_on))
            .any(|opened| day <= opened);
    if too_early && !errors.contains_key("on") {
        errors.insert("on".into(), "field-cases-before_closed");
    }
    v::finish(errors)?;
    let mut tx = state.begin().await?;
    state
        .clients
        .reopen(
            &mut tx,
            &client.id,
            input.version.unwrap_or(current.version),
            day,
            state.clock.now(),
        )
        .await?;
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::CLIENT_REOPEN, Outcome::Success)
                .client(&client.code)],
        )
        .await?;
    reload(state, user, &client.id).await
}

/// Moves the case to another social worker of the district (`client_reassign`,
/// supervisor). Audited with the new worker's id.
pub async fn reassign(
    state: &AppState,
    user: &Authz,
    client_id: &str,
    input: &ReassignInput,
) -> Result<ClientView, Error> {
    let client = user.require_client(client_id, Action::ClientReassign).await?;
    let mut errors = v::check(input);
    let target = match &input.user_id {
        Some(id) => accounts::by_id(&state.db, id).await?,
        None => None,
    };
    let areas = user.areas();
    let fits = target
        .as_ref()
        .is_some_and(|a| a.principal().takes_cases_in(areas, &client.facts.area));
    if input.user_id.is_some() && !fits {
        errors.insert("user_id".into(), "field-cases-invalid_worker");
    }
    v::finish(errors)?;
    let Some(target) = target else {
        return Err(Error::field("user_id", "field-cases-invalid_worker"));
    };
    let mut tx = state.begin().await?;
    state
        .clients
        .reassign(&mut tx, &client.id, Some(&target.id), state.clock.now())
        .await?;
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::CLIENT_REASSIGN, Outcome::Success)
                .client(&client.code)
                .object(&target.id)],
        )
        .await?;
    reload(state, user, &client.id).await
}

/// Erases a client for good (`client_erase`, supervisor of the district): the data key
/// and every row go in one transaction; the code stays in the erasure ledger. The reason
/// (10 characters or more) goes to the audit trail, flagged for the auditor.
pub async fn erase(state: &AppState, user: &Authz, client_id: &str, input: &EraseInput) -> Result<(), Error> {
    let client = user.require_client(client_id, Action::ClientErase).await?;
    let mut errors = v::check(input);
    let reason = input.reason.as_deref().map(str::trim).unwrap_or_default();
    if input.reason.is_some() && reason.chars().count() < v::MIN_ERASE_REASON {
        errors.insert("reason".into(), "field-too_short");
    }
    v::finish(errors)?;
    let event = user
        .event(actions::CLIENT_ERASE, Outcome::Success)
        .reason(reason)
        .flagged();
    state
        .clients
        .erase(
            &client.id,
            Some(user.id()),
            state.clock.now(),
            (&state.audit_log, event),
        )
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------------

/// The alerts of the caller's clients (`followups_read`): a supervisor's district, a
/// social worker's caseload. Open ones only unless `include_acknowledged`. Audited.
pub async fn alerts(state: &AppState, user: &Authz, include_acknowledged: bool) -> Result<Vec<Alert>, Error> {
    user.require(Action::FollowupsRead, Resource::system()).await?;
    let scope = match user.principal().reach(user.areas()) {
        Reach::Areas(areas) => AlertScope::Areas(areas),
        _ => AlertScope::AssignedTo(user.id().to_owned()),
    };
    let items = alerts::list(&state.db, &scope, include_acknowledged).await?;
    state.audit(user.event(actions::ALERTS_READ, Outcome::Success)).await?;
    Ok(items)
}

/// Marks an alert seen (`client_update` on its client). Audited; 409 if it was.
pub async fn acknowledge_alert(state: &AppState, user: &Authz, alert_id: &str) -> Result<Alert, Error> {
    let Some(alert) = alerts::get(&state.db, alert_id).await? else {
        return Err(Error::NotFound);
    };
    // Alerts ask a supervisor to look (a child at intake, a closure to review, withdrawn
    // consent); the worker whose case raised one may not clear it.
    let client = user.require_client(&alert.client_id, Action::AlertAcknowledge).await?;
    let mut tx = state.begin().await?;
    if !alerts::acknowledge(&mut tx, alert_id, user.id(), state.clock.now()).await? {
        return Err(Error::conflict("alert_acknowledged"));
    }
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::ALERT_ACKNOWLEDGE, Outcome::Success)
                .client(&client.code)
                .object(alert_id)
                .reason(&alert.kind)],
        )
        .await?;
    alerts::get(&state.db, alert_id).await?.ok_or(Error::NotFound)
}
