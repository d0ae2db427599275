//! The case page, `GET /clients/{id}`, and the forms on it. Case workers see the coded
//! fields, the sealed fields their role may open (the others are marked hidden), consents
//! with withdrawal, needs with an add form, referrals with buttons for the allowed next
//! states only, volunteers, support logs, closing and reopening, and for supervisors
//! erasure with a reason. Volunteers see the volunteer view. Outside one's scope, a
//! social worker or supervisor gets the break-glass form instead.
//!
//! Every form posts to its own path and, on success, redirects back here (post,
//! redirect, get); bad input re-renders the whole page with the errors next to the
//! inputs of the form that failed (422).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::ctx::{PageCtx, PageUser};
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use super::intake::iso_date;
use super::lookup::Names;
use super::routes::PageRoutes;
use crate::AppState;
use crate::auth::accounts::{self, Account};
use crate::authz::ClientRef;
use crate::clients::service::{self, ClientView, CloseInput, EraseInput, ReopenInput};
use crate::clients::{CLOSURE_REASONS, FieldClasses, Pii};
use crate::consents::{ConsentInput, SCOPES, WithdrawInput};
use crate::error::Error;
use crate::needs::NeedInput;
use crate::policy::Action;
use crate::providers::{Provider, ProviderFilter};
use crate::referrals::{NewReferral, Referral, TransitionInput};
use crate::volunteers::AssignInput;

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/clients/{id}", case_page)
        .post("/clients/{id}/needs", add_need)
        .post("/clients/{id}/consents", add_consent)
        .post("/clients/{id}/consents/{consent_id}/withdraw", withdraw_consent)
        .post("/clients/{id}/referrals", add_referral)
        .post("/referrals/{id}/transitions", move_referral)
        .post("/clients/{id}/volunteers", assign_volunteer)
        .post("/clients/{id}/volunteers/{user_id}/remove", unassign_volunteer)
        .post("/clients/{id}/close", close_case)
        .post("/clients/{id}/reopen", reopen_case)
        .post("/clients/{id}/erase", erase_case)
        .post("/clients/{id}/break-glass", break_glass)
}

/// What the caller may do on this client (decided by the policies; the services check
/// again when a form is posted).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Perms {
    pub update: bool,
    pub consent: bool,
    pub need: bool,
    pub refer: bool,
    pub read_referrals: bool,
    pub transition: bool,
    pub close: bool,
    pub reopen: bool,
    pub erase: bool,
    pub assign: bool,
    pub reassign: bool,
    pub override_consent: bool,
    pub log_support: bool,
    pub transfer: bool,
}

fn perms(page: &PageUser, client: &ClientRef) -> Perms {
    let may = |action| page.user.can_on(action, client);
    Perms {
        update: may(Action::ClientUpdate),
        consent: may(Action::ConsentRecord),
        need: may(Action::NeedRecord),
        refer: may(Action::ReferralCreate),
        read_referrals: may(Action::ReferralRead),
        transition: may(Action::ReferralTransition),
        close: may(Action::ClientClose) || may(Action::ClientCloseRequest),
        reopen: may(Action::ClientReopen),
        erase: may(Action::ClientErase),
        assign: may(Action::VolunteerAssign),
        reassign: may(Action::ClientReassign),
        override_consent: may(Action::ConsentOverride),
        log_support: may(Action::SupportLog),
        transfer: may(Action::TransferRequest),
    }
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    ctx: PageCtx,
    names: Names,
    v: ClientView,
    classes: FieldClasses,
    may: Perms,
    referrals: Vec<Referral>,
    providers: Vec<Provider>,
    assignable: Vec<Account>,
    /// Social workers the case may be moved to (supervisors).
    workers: Vec<Account>,
    /// The form that failed, and what was typed in it.
    failed: String,
    posted: FormData,
    errs: FormErrors,
    /// A message about the whole failed form (already in the user's language).
    form_error: String,
    done: String,
    closure_reasons: &'static [&'static str],
    scopes: &'static [&'static str],
}

impl CasePage {
    fn value(&self, form: &str, name: &str) -> String {
        if self.failed == form {
            self.posted.text(name)
        } else {
            String::new()
        }
    }
    fn selected(&self, form: &str, name: &str, value: &str) -> bool {
        self.failed == form && self.posted.get(name) == Some(value)
    }
    fn failed_here(&self, form: &str) -> bool {
        self.failed == form
    }
    fn is_open(&self) -> bool {
        self.v.status == crate::clients::ClientStatus::Open
    }
    fn need_category(&self, need_id: &Option<String>) -> String {
        need_id
            .as_ref()
            .and_then(|id| self.v.needs.as_ref()?.iter().find(|n| n.id == *id))
            .map(|n| self.names.category(&n.category))
            .unwrap_or_default()
    }
}

/// Which form failed, for the re-rendered page.
#[derive(Default)]
struct Failure {
    form: &'static str,
    posted: FormData,
    errs: FormErrors,
    form_error: String,
}

const DONE: &[&str] = &[
    "updated",
    "reassigned",
    "need",
    "consent",
    "withdrawn",
    "referral",
    "moved",
    "assigned",
    "unassigned",
    "closed",
    "reopened",
    "glass",
];

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

#[derive(Template)]
#[template(path = "break_glass.html")]
struct BreakGlassPage {
    ctx: PageCtx,
    client_id: String,
    code: String,
    errs: FormErrors,
    reason: String,
}

/// The case page, or the break-glass form when the caller may only break glass.
async fn show(
    state: &AppState,
    page: PageUser,
    id: &str,
    failure: Failure,
    done: String,
) -> Result<Response, PageError> {
    let view = match service::read(state, &page.user, id).await {
        Ok(view) => view,
        Err(e @ (Error::Forbidden | Error::NotFound)) => {
            return offer_break_glass(page, id, e, FormErrors::new(), String::new()).await;
        }
        Err(e) => return Err(e.into()),
    };
    // Just read, so in reach; looked up again only for the facts.
    let client = page
        .user
        .find_client(id, Action::ClientRead)
        .await?
        .ok_or_else(PageError::not_found)?;
    let classes = service::field_classes(&page.user, &client);
    let may = perms(&page, &client);
    let is_volunteer = page.user.principal().is_volunteer();
    let referrals = if may.read_referrals && !is_volunteer {
        crate::referrals::list_for_client(state, &page.user, id).await?
    } else {
        Vec::new()
    };
    let names = Names::load(state, page.ctx.lang).await?.with_staff(state).await?;
    let tree = page.user.areas();
    let providers = if may.refer {
        crate::providers::store::list(
            &state.db,
            tree,
            &ProviderFilter {
                area: Some(view.area.clone()),
                ..ProviderFilter::default()
            },
        )
        .await?
    } else {
        Vec::new()
    };
    let assignable = if may.assign {
        let assigned: Vec<String> = view
            .volunteers
            .as_ref()
            .map(|list| list.iter().map(|a| a.user_id.clone()).collect())
            .unwrap_or_default();
        accounts::list(&state.db)
            .await?
            .into_iter()
            .filter(|a| a.principal().supports_in(tree, &view.area) && !assigned.contains(&a.id))
            .collect()
    } else {
        Vec::new()
    };
    let workers = if may.reassign {
        let current = view.case.as_ref().and_then(|c| c.assigned_worker.clone());
        accounts::list(&state.db)
            .await?
            .into_iter()
            .filter(|a| a.principal().takes_cases_in(tree, &view.area) && current.as_deref() != Some(a.id.as_str()))
            .collect()
    } else {
        Vec::new()
    };
    let status = if failure.form.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let done = if DONE.contains(&done.as_str()) {
        format!("case-done-{done}")
    } else {
        String::new()
    };
    let mut ctx = page.ctx;
    ctx.here = format!("/clients/{}", view.id);
    render(
        &CasePage {
            ctx,
            names,
            v: view,
            classes,
            may,
            referrals,
            providers,
            assignable,
            workers,
            failed: failure.form.to_owned(),
            posted: failure.posted,
            errs: failure.errs,
            form_error: failure.form_error,
            done,
            closure_reasons: &CLOSURE_REASONS,
            scopes: &SCOPES,
        },
        status,
    )
}

async fn offer_break_glass(
    page: PageUser,
    id: &str,
    refused: Error,
    errs: FormErrors,
    reason: String,
) -> Result<Response, PageError> {
    if !page.user.principal().works_cases() {
        return Err(refused.into());
    }
    let Ok(client) = service::open_for(&page.user, id, Action::BreakGlass).await else {
        return Err(refused.into());
    };
    let status = if errs.is_empty() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut ctx = page.ctx;
    ctx.here = format!("/clients/{}", client.id);
    render(
        &BreakGlassPage {
            ctx,
            client_id: client.id,
            code: client.code,
            errs,
            reason,
        },
        status,
    )
}

async fn case_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let done = q.map(|Query(q)| q.done).unwrap_or_default();
    show(&state, page, &id, Failure::default(), done).await
}

fn back(id: &str, done: &str, anchor: &str) -> Response {
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    Redirect::to(&format!("/clients/{id}?done={done}#{anchor}")).into_response()
}

/// Turns a service's answer into a redirect (success), the page again with the errors
/// (422), or the error page.
async fn finish<T>(
    state: &AppState,
    page: PageUser,
    id: &str,
    spec: Spec,
    posted: FormData,
    result: Result<T, Error>,
) -> Result<Response, PageError> {
    let Spec {
        form: form_name,
        prefix,
        done,
    } = spec;
    match result {
        Ok(_) => Ok(back(id, done, form_name)),
        Err(Error::Validation(fields)) => {
            let mut failure = Failure {
                form: form_name,
                posted,
                ..Failure::default()
            };
            for (field, message) in &fields {
                failure.errs.add(&format!("{prefix}{field}"), message);
            }
            show(state, page, id, failure, String::new()).await
        }
        Err(Error::Rejected { code, details }) => {
            let failure = Failure {
                form: form_name,
                posted,
                form_error: page.ctx.lang.t_args(&format!("error-{code}"), details.as_ref()),
                ..Failure::default()
            };
            show(state, page, id, failure, String::new()).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A form of the page: its name (also the anchor of its section), the prefix of its
/// field names, and the confirmation shown after it worked.
#[derive(Clone, Copy)]
struct Spec {
    form: &'static str,
    prefix: &'static str,
    done: &'static str,
}

const fn spec(form: &'static str, prefix: &'static str, done: &'static str) -> Spec {
    Spec { form, prefix, done }
}

fn pii(form: &FormData, name: &str) -> Option<Pii> {
    form.get(name).map(Pii::from)
}

async fn add_need(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let input = NeedInput {
        category: form.get("need_category").map(str::to_owned),
        detail: pii(&form, "need_detail"),
        assessed_on: iso_date(&form, "need_assessed_on"),
    };
    let result = crate::needs::record(&state, &page.user, &id, &input).await;
    finish(&state, page, &id, spec("needs", "need_", "need"), form, result).await
}

async fn add_consent(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let input = ConsentInput {
        scope: form.get("consent_scope").map(str::to_owned),
        category: form.get("consent_category").map(str::to_owned),
        given_on: iso_date(&form, "consent_given_on"),
        expires_on: iso_date(&form, "consent_expires_on"),
    };
    let result = crate::consents::record(&state, &page.user, &id, &input).await;
    finish(&state, page, &id, spec("consents", "consent_", "consent"), form, result).await
}

async fn withdraw_consent(
    State(state): State<AppState>,
    page: PageUser,
    Path((id, consent_id)): Path<(String, String)>,
    form: FormData,
) -> Result<Response, PageError> {
    let input = WithdrawInput {
        on: iso_date(&form, "withdraw_on"),
    };
    let result = crate::consents::withdraw(&state, &page.user, &id, &consent_id, &input).await;
    finish(
        &state,
        page,
        &id,
        spec("consents", "withdraw_", "withdrawn"),
        form,
        result,
    )
    .await
}

async fn add_referral(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let input = NewReferral {
        category: form.text("ref_category"),
        need_id: form.get("ref_need_id").map(str::to_owned),
        provider_id: form.get("ref_provider_id").map(str::to_owned),
        detail: pii(&form, "ref_detail"),
        share_detail: Some(form.checked("ref_share_detail")),
        on: iso_date(&form, "ref_on"),
        override_reason: pii(&form, "ref_override_reason"),
    };
    let result = crate::referrals::create(&state, &page.user, &id, &input).await;
    finish(&state, page, &id, spec("referrals", "ref_", "referral"), form, result).await
}

async fn move_referral(
    State(state): State<AppState>,
    page: PageUser,
    Path(referral_id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let input = TransitionInput {
        to: form.text("to"),
        on: iso_date(&form, "on"),
        note: pii(&form, "note"),
    };
    let result = crate::referrals::transition(&state, &page.user, &referral_id, &input).await;
    let client_id = match &result {
        Ok(referral) => referral.client_id.clone(),
        // The page to show again is the one the form came from; it is authorised anew.
        Err(_) => form.text("client_id"),
    };
    let anchor = format!("referral-{referral_id}");
    match result {
        Ok(_) => {
            let id: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
            Ok(Redirect::to(&format!("/clients/{id}?done=moved#{anchor}")).into_response())
        }
        Err(e @ (Error::Validation(_) | Error::Rejected { .. })) if !client_id.is_empty() => {
            let mut posted = form;
            posted.0.push(("referral_id".into(), referral_id));
            finish::<()>(
                &state,
                page,
                &client_id,
                spec("transition", "tr_", "moved"),
                posted,
                Err(e),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn assign_volunteer(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let input = AssignInput {
        user_id: form.get("vol_user_id").map(str::to_owned),
    };
    let result = crate::volunteers::assign(&state, &page.user, &id, &input).await;
    finish(&state, page, &id, spec("volunteers", "vol_", "assigned"), form, result).await
}

async fn unassign_volunteer(
    State(state): State<AppState>,
    page: PageUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    crate::volunteers::unassign(&state, &page.user, &id, &user_id).await?;
    Ok(back(&id, "unassigned", "volunteers"))
}

fn version(form: &FormData) -> Option<i64> {
    form.get("version").and_then(|v| v.parse().ok())
}

async fn close_case(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let input = CloseInput {
        reason: form.get("close_reason").map(str::to_owned),
        on: iso_date(&form, "close_on"),
        version: version(&form),
    };
    let result = service::close(&state, &page.user, &id, &input).await;
    finish(&state, page, &id, spec("close", "close_", "closed"), form, result).await
}

async fn reopen_case(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let input = ReopenInput {
        on: iso_date(&form, "reopen_on"),
        version: version(&form),
    };
    let result = service::reopen(&state, &page.user, &id, &input).await;
    finish(&state, page, &id, spec("close", "reopen_", "reopened"), form, result).await
}

async fn erase_case(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    if !form.checked("erase_confirm") {
        // Nothing is done without the explicit confirmation; the service authorises the
        // real request.
        service::open_for(&page.user, &id, Action::ClientErase).await?;
        let failure = Failure {
            form: "erase",
            errs: {
                let mut errs = FormErrors::new();
                errs.add("erase_confirm", "case-erase-confirm-needed");
                errs
            },
            posted: form,
            form_error: String::new(),
        };
        return show(&state, page, &id, failure, String::new()).await;
    }
    let input = EraseInput {
        reason: form.get("erase_reason").map(str::to_owned),
    };
    match service::erase(&state, &page.user, &id, &input).await {
        Ok(()) => Ok(Redirect::to("/?done=erased").into_response()),
        Err(e) => finish::<()>(&state, page, &id, spec("erase", "erase_", ""), form, Err(e)).await,
    }
}

async fn break_glass(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let reason = form.text("reason");
    match crate::breakglass::break_glass(&state, &page.user, &id, &reason).await {
        Ok(grant) => Ok(back(&grant.client_id, "glass", "main")),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => offer_break_glass(page, &id, e, errs, reason).await,
            None => Err(e.into()),
        },
    }
}
