//! The auditor's view of the trail: filters (dates, actor, client code, flagged only)
//! and a button that verifies the whole HMAC chain.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::ctx::{PageCtx, PageUser};
use super::error::{PageError, render};
use super::form::FieldErrors;
use crate::AppState;
use crate::audit::{Entry, Filter, Outcome, Verification};
use crate::auth::accounts;
use crate::policy::Action;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(audit_page))
        .route("/audit/verify", get(verify_page))
}

const LIMIT: i64 = 200;

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    client_code: String,
    #[serde(default)]
    flagged: String,
}

/// One line of the table, with the actor's username instead of an id where known.
struct Row {
    entry: Entry,
    actor_name: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    ctx: PageCtx,
    q: AuditQuery,
    errs: FieldErrors,
    rows: Vec<Row>,
    limit: i64,
    verification: Option<Verification>,
}

impl AuditPage {
    fn flagged(&self) -> bool {
        !self.q.flagged.is_empty()
    }
}

async fn audit_page(
    State(state): State<AppState>,
    page: PageUser,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    state.authorize(&page.user, Action::AuditRead).await?;
    let q = query.map(|Query(q)| q).unwrap_or_default();
    show(&state, page, q, None).await
}

async fn verify_page(State(state): State<AppState>, page: PageUser) -> Result<Response, PageError> {
    state.authorize(&page.user, Action::AuditRead).await?;
    let result = state.audit_log.verify().await.map_err(|e| PageError::internal(&e))?;
    state.audit(page.user.event("audit_verify", Outcome::Success)).await?;
    show(&state, page, AuditQuery::default(), Some(result)).await
}

async fn show(
    state: &AppState,
    page: PageUser,
    q: AuditQuery,
    verification: Option<Verification>,
) -> Result<Response, PageError> {
    let mut errs = FieldErrors::new();
    let mut bound = |field: &str, value: &str, end: bool| -> Option<String> {
        if value.trim().is_empty() {
            return None;
        }
        match super::fmt::parse_date(value) {
            Some(d) if end => Some(format!("{d}T23:59:59Z")),
            Some(d) => Some(d.to_string()),
            None => {
                errs.add(field, "field-invalid_date");
                None
            }
        }
    };
    let from = bound("from", &q.from, false);
    let to = bound("to", &q.to, true);
    if q.client_code.chars().count() > 40 {
        errs.add("client_code", "field-too_long");
    }
    if q.actor.chars().count() > 64 {
        errs.add("actor", "field-too_long");
    }
    let users = accounts::list(&state.db).await.map_err(|e| PageError::internal(&e))?;
    let names: HashMap<String, String> = users.iter().map(|a| (a.id.clone(), a.username.clone())).collect();
    let actor = q.actor.trim();
    // The actor may be given by username or by id.
    let actor_id = users
        .iter()
        .find(|a| a.username == actor.to_lowercase())
        .map_or_else(|| actor.to_owned(), |a| a.id.clone());
    let mut rows = Vec::new();
    if errs.is_empty() {
        let filter = Filter {
            from,
            to,
            actor: (!actor_id.is_empty()).then_some(actor_id),
            client_code: Some(q.client_code.trim().to_uppercase()).filter(|c| !c.is_empty()),
            flagged_only: !q.flagged.is_empty(),
            limit: LIMIT,
        };
        rows = state
            .audit_log
            .list(&filter)
            .await
            .map_err(|e| PageError::internal(&e))?
            .into_iter()
            .map(|entry| Row {
                actor_name: names.get(&entry.actor).cloned().unwrap_or_else(|| entry.actor.clone()),
                entry,
            })
            .collect();
        state.audit(page.user.event("audit_read", Outcome::Success)).await?;
    }
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        &AuditPage {
            ctx: page.ctx,
            q,
            errs,
            rows,
            limit: LIMIT,
            verification,
        },
        status,
    )
}
