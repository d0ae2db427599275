//! `GET /`: the home page of each role. A social worker sees her caseload, the follow-ups
//! volunteers flagged, referrals waiting too long and break-glass notices; a supervisor
//! the same for her district plus child-protection and closure alerts; a volunteer the
//! people she supports; the other roles links to their work.
//!
//! Also the small actions started from it: acknowledging an alert, marking a follow-up
//! done, and finding a client by code.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::ctx::{PageCtx, PageUser};
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use super::lookup::Names;
use super::routes::PageRoutes;
use crate::AppState;
use crate::breakglass::Grant;
use crate::clients::ClientStatus;
use crate::clients::alerts::Alert;
use crate::clients::service::{self, CaseloadItem};
use crate::policy::Role;
use crate::referrals::FollowUp;
use crate::volunteers::SupportFollowUp;

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/", home)
        .post("/clients/find", find)
        .post("/alerts/{id}/acknowledge", acknowledge)
        .post("/follow-ups/{id}/done", follow_up_done)
}

const DONE: &[&str] = &["alert", "followup", "erased", "logged"];

#[derive(Debug, Default, Deserialize)]
struct HomeQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    closed: String,
}

/// How much of the page a role gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CaseWork,
    Volunteer,
    Manager,
    Auditor,
    Admin,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct HomePage {
    ctx: PageCtx,
    kind: Kind,
    names: Names,
    caseload: Vec<CaseloadItem>,
    show_closed: bool,
    alerts: Vec<Alert>,
    follow_ups: Vec<SupportFollowUp>,
    stale: Vec<FollowUp>,
    grants: Vec<Grant>,
    done: String,
    find_code: String,
    errs: FormErrors,
    is_supervisor: bool,
    /// Transfers of the caller's that wait for a decision.
    waiting_transfers: i64,
}

impl HomePage {
    fn new(ctx: PageCtx, kind: Kind, names: Names) -> Self {
        Self {
            ctx,
            kind,
            names,
            caseload: Vec::new(),
            show_closed: false,
            alerts: Vec::new(),
            follow_ups: Vec::new(),
            stale: Vec::new(),
            grants: Vec::new(),
            done: String::new(),
            find_code: String::new(),
            errs: FormErrors::new(),
            is_supervisor: false,
            waiting_transfers: 0,
        }
    }
}

/// Break-glass notices older than this are left off the home page (the auditor's view
/// keeps them all).
const GRANTS_SHOWN: usize = 20;

async fn build(state: &AppState, page: PageUser, show_closed: bool) -> Result<HomePage, PageError> {
    let role = page.user.account.role;
    let kind = match role {
        Role::SocialWorker | Role::Supervisor => Kind::CaseWork,
        Role::Volunteer => Kind::Volunteer,
        Role::Manager => Kind::Manager,
        Role::Auditor => Kind::Auditor,
        Role::Admin => Kind::Admin,
    };
    let names = Names::load(state, page.ctx.lang).await?;
    let user = page.user;
    let mut home = HomePage::new(page.ctx, kind, names);
    home.is_supervisor = user.principal().is_supervisor();
    match kind {
        Kind::CaseWork => {
            let status = (!show_closed).then_some(ClientStatus::Open);
            home.show_closed = show_closed;
            home.caseload = service::caseload(state, &user, status).await?;
            home.alerts = service::alerts(state, &user, false).await?;
            home.follow_ups = crate::volunteers::follow_ups(state, &user, false).await?;
            home.stale = crate::referrals::follow_ups(state, &user, None).await?;
            home.waiting_transfers = crate::transfers::service::waiting(state, &user).await?;
            let mut grants = crate::breakglass::visible_grants(state, &user, false).await?;
            grants.truncate(GRANTS_SHOWN);
            home.grants = grants;
        }
        Kind::Volunteer => {
            home.caseload = service::caseload(state, &user, Some(ClientStatus::Open)).await?;
        }
        Kind::Auditor => {
            let mut grants = crate::breakglass::visible_grants(state, &user, false).await?;
            grants.truncate(GRANTS_SHOWN);
            home.grants = grants;
        }
        Kind::Manager | Kind::Admin => {}
    }
    Ok(home)
}

async fn home(
    State(state): State<AppState>,
    page: PageUser,
    q: Result<Query<HomeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let mut home = build(&state, page, !q.closed.is_empty()).await?;
    if DONE.contains(&q.done.as_str()) {
        home.done = format!("home-done-{}", q.done);
    }
    render(&home, StatusCode::OK)
}

/// Finds a client by code (what a worker hears on the phone) and opens the case page,
/// which offers break-glass when the client is outside the caller's scope. A form POST,
/// so that a client code never sits in a URL a proxy would log. Every lookup is audited;
/// an unknown code and one the caller may not know of get the same answer.
async fn find(State(state): State<AppState>, page: PageUser, form: FormData) -> Result<Response, PageError> {
    let code = form.text("code").trim().to_uppercase();
    let mut errs = FormErrors::new();
    if code.is_empty() {
        errs.add("code", "field-required");
    } else if code.chars().count() > 40 {
        errs.add("code", "field-too_long");
    } else if let Some(id) = service::find_by_code(&state, &page.user, &code).await? {
        let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        return Ok(Redirect::to(&format!("/clients/{id}")).into_response());
    } else {
        errs.add("code", "home-find-unknown");
    }
    let mut home = build(&state, page, false).await?;
    home.find_code = code;
    home.errs = errs;
    render(&home, StatusCode::UNPROCESSABLE_ENTITY)
}

async fn acknowledge(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    service::acknowledge_alert(&state, &page.user, &id).await?;
    Ok(Redirect::to("/?done=alert").into_response())
}

async fn follow_up_done(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    crate::volunteers::follow_up_done(&state, &page.user, &id).await?;
    Ok(Redirect::to("/?done=followup").into_response())
}
