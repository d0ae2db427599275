//! Transfers in the browser: the request form of a case (`GET/POST
//! /clients/{id}/transfer`) and the list of one's transfers with the decisions
//! (`GET /transfers`, `POST /transfers/{id}/accept|decline|cancel`). The work is done
//! by [`crate::transfers::service`], as for the API.

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
use crate::clients::Pii;
use crate::policy::{Action, Resource};
use crate::transfers::service;
use crate::transfers::{DecisionInput, Transfer, TransferInput, TransferStatus};

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/clients/{id}/transfer", request_form)
        .post("/clients/{id}/transfer", request_submit)
        .get("/transfers", list_page)
        .post("/transfers/{id}/accept", accept)
        .post("/transfers/{id}/decline", decline)
        .post("/transfers/{id}/cancel", cancel)
}

#[derive(Template)]
#[template(path = "transfer_form.html")]
struct RequestPage {
    ctx: PageCtx,
    client_id: String,
    code: String,
    area_name: String,
    areas: Vec<(String, String)>,
    posted: FormData,
    errs: FormErrors,
}

impl RequestPage {
    fn value(&self, name: &str) -> String {
        self.posted.text(name)
    }
    fn posted_is(&self, name: &str, value: &str) -> bool {
        self.posted.get(name) == Some(value)
    }
}

async fn show_request(
    state: &AppState,
    page: PageUser,
    id: &str,
    posted: FormData,
    errs: FormErrors,
) -> Result<Response, PageError> {
    let client = crate::clients::service::open_for(&page.user, id, Action::TransferRequest).await?;
    let names = Names::load(state, page.ctx.lang).await?;
    let areas = names
        .areas
        .iter()
        .filter(|a| a.code != client.facts.area && a.parent.is_some())
        .map(|a| (a.code.clone(), a.name.clone()))
        .collect();
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        &RequestPage {
            ctx: page.ctx,
            area_name: names.area(&client.facts.area),
            client_id: client.id,
            code: client.code,
            areas,
            posted,
            errs,
        },
        status,
    )
}

async fn request_form(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    show_request(&state, page, &id, FormData::default(), FormErrors::new()).await
}

async fn request_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let input = TransferInput {
        to_area: form.get("to_area").filter(|a| !a.is_empty()).map(str::to_owned),
        reason: form.get("reason").map(Pii::from),
    };
    match service::request(&state, &page.user, &id, &input).await {
        Ok(_) => Ok(Redirect::to("/transfers?done=requested").into_response()),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show_request(&state, page, &id, form, errs).await,
            None => Err(e.into()),
        },
    }
}

/// One row of the list, with what the caller may do with it.
struct Row {
    t: Transfer,
    may_decide: bool,
    may_cancel: bool,
    /// Social workers of the receiving area, for an acceptance.
    workers: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "transfers.html")]
struct ListPage {
    ctx: PageCtx,
    names: Names,
    rows: Vec<Row>,
    page: u32,
    more: bool,
    done: String,
    /// The transfer whose decision failed, with its errors.
    failed: Option<(String, FormErrors)>,
}

impl ListPage {
    fn failed_here(&self, id: &str) -> bool {
        self.failed.as_ref().is_some_and(|(f, _)| f == id)
    }
    fn error_of(&self, id: &str, field: &str) -> String {
        match &self.failed {
            Some((f, errs)) if f == id && errs.has(field) => self.ctx.t(errs.get(field)),
            _ => String::new(),
        }
    }
    fn status_label(&self, status: &TransferStatus) -> String {
        self.ctx.t(&format!("transfer-status-{}", status.as_str()))
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    done: String,
}

async fn show_list(
    state: &AppState,
    page: PageUser,
    number: u32,
    done: String,
    failed: Option<(String, FormErrors)>,
) -> Result<Response, PageError> {
    let transfers = service::list(state, &page.user, None, number).await?;
    let areas = page.user.areas();
    let names = Names::load(state, page.ctx.lang).await?.with_staff(state).await?;
    let may_decide = |area: &str| page.user.can(Action::TransferDecide, &Resource::in_area(area));
    let workers: Vec<crate::auth::accounts::Account> = crate::auth::accounts::list(&state.db)
        .await?
        .into_iter()
        .filter(|a| a.is_active() && a.principal().is_social_worker())
        .collect();
    // For each row, the social workers who may take the case in the receiving area.
    let workers_for = |to_area: &str| {
        workers
            .iter()
            .filter(|a| areas.covers(&a.area, to_area))
            .map(|a| (a.id.clone(), a.display_name.clone()))
            .collect::<Vec<_>>()
    };
    let more = transfers.len() as i64 == service::PAGE_SIZE;
    let rows = transfers
        .into_iter()
        .map(|t| {
            let open = t.status == TransferStatus::Requested;
            let decides = open && t.requested_by != page.user.id() && may_decide(&t.to_area);
            Row {
                may_decide: decides,
                may_cancel: open && !decides,
                workers: if decides { workers_for(&t.to_area) } else { Vec::new() },
                t,
            }
        })
        .collect();
    let status = if failed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        &ListPage {
            ctx: page.ctx,
            names,
            rows,
            page: number,
            more,
            done,
            failed,
        },
        status,
    )
}

async fn list_page(
    State(state): State<AppState>,
    page: PageUser,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let done = match q.done.as_str() {
        "requested" | "accepted" | "declined" | "cancelled" => format!("transfer-done-{}", q.done),
        _ => String::new(),
    };
    show_list(&state, page, q.page.unwrap_or(1).max(1), done, None).await
}

fn decision(form: &FormData) -> DecisionInput {
    DecisionInput {
        assigned_worker: form.get("assigned_worker").filter(|w| !w.is_empty()).map(str::to_owned),
        on: form.get("on").filter(|d| !d.is_empty()).map(str::to_owned),
        note: form.get("note").filter(|n| !n.trim().is_empty()).map(Pii::from),
    }
}

async fn finish(
    state: &AppState,
    page: PageUser,
    id: &str,
    done: &str,
    result: Result<Transfer, crate::error::Error>,
) -> Result<Response, PageError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/transfers?done={done}")).into_response()),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show_list(state, page, 1, String::new(), Some((id.to_owned(), errs))).await,
            None => Err(e.into()),
        },
    }
}

async fn accept(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let result = service::accept(&state, &page.user, &id, &decision(&form)).await;
    finish(&state, page, &id, "accepted", result).await
}

async fn decline(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let input = DecisionInput {
        note: decision(&form).note,
        ..DecisionInput::default()
    };
    let result = service::decline(&state, &page.user, &id, &input).await;
    finish(&state, page, &id, "declined", result).await
}

async fn cancel(State(state): State<AppState>, page: PageUser, Path(id): Path<String>) -> Result<Response, PageError> {
    let result = service::cancel(&state, &page.user, &id, &DecisionInput::default()).await;
    finish(&state, page, &id, "cancelled", result).await
}
