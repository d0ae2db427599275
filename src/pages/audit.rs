//! The auditor's view of the trail: filters (dates, actor, client code, flagged only),
//! a button that verifies the whole HMAC chain and the audit head of every statistics
//! release, a form where the auditor pastes a checkpoint she kept to check that the trail
//! still holds it, and a button that downloads a new checkpoint.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use serde::Deserialize;

use super::ctx::{PageCtx, PageUser};
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use super::routes::PageRoutes;
use crate::AppState;
use crate::audit::{Checkpoint, Entry, Filter, Report, Verification};
use crate::audit_review::service;
use crate::auth::accounts;

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/audit", audit_page)
        .post("/audit", audit_search)
        .get("/audit/verify", verify_page)
        .post("/audit/verify", verify_checkpoint_page)
        .post("/audit/checkpoint", checkpoint_download)
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
    errs: FormErrors,
    rows: Vec<Row>,
    limit: i64,
    verification: Option<Verified>,
    /// Problems of the pasted checkpoint.
    cp_errs: FormErrors,
    /// The pasted checkpoint, put back in the form.
    checkpoint_text: String,
}

/// A verification as the page shows it.
struct Verified {
    entries: Option<i64>,
    first_bad_seq: Option<i64>,
    releases_checked: i64,
    releases_not_in_chain: Vec<String>,
    /// The checkpoint's name and whether the trail holds it.
    checkpoint: Option<(String, bool)>,
}

impl Verified {
    fn new(report: &Report, checkpoint: Option<&Checkpoint>) -> Self {
        let (entries, first_bad_seq) = match report.chain {
            Verification::Intact { entries, .. } => (Some(entries), None),
            Verification::Broken { first_bad_seq, .. } => (None, Some(first_bad_seq)),
        };
        Self {
            entries,
            first_bad_seq,
            releases_checked: report.releases.checked,
            releases_not_in_chain: report.releases.not_in_chain.clone(),
            checkpoint: checkpoint
                .zip(report.checkpoint.as_ref())
                .map(|(c, check)| (c.name(), check.contained)),
        }
    }
}

impl AuditPage {
    fn flagged(&self) -> bool {
        !self.q.flagged.is_empty()
    }
}

/// The trail with the filters of a query string: dates, actor, flagged. A client code
/// is taken from a form POST only ([`audit_search`]), so that no proxy or browser history
/// keeps which client an auditor looked into.
async fn audit_page(
    State(state): State<AppState>,
    page: PageUser,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    service::open(&page.user).await?;
    let q = AuditQuery {
        client_code: String::new(),
        ..query.map(|Query(q)| q).unwrap_or_default()
    };
    show(&state, page, q, None, FormErrors::new(), String::new()).await
}

/// The filter form, a POST so that a client code never sits in a URL.
async fn audit_search(State(state): State<AppState>, page: PageUser, form: FormData) -> Result<Response, PageError> {
    service::open(&page.user).await?;
    let q = AuditQuery {
        from: form.text("from"),
        to: form.text("to"),
        actor: form.text("actor"),
        client_code: form.text("client_code"),
        flagged: form.text("flagged"),
    };
    show(&state, page, q, None, FormErrors::new(), String::new()).await
}

async fn verify_page(State(state): State<AppState>, page: PageUser) -> Result<Response, PageError> {
    let report = service::verify(&state, &page.user).await?;
    let verified = Verified::new(&report, None);
    show(
        &state,
        page,
        AuditQuery::default(),
        Some(verified),
        FormErrors::new(),
        String::new(),
    )
    .await
}

/// The same check, and that the trail still holds the pasted checkpoint.
async fn verify_checkpoint_page(
    State(state): State<AppState>,
    page: PageUser,
    form: FormData,
) -> Result<Response, PageError> {
    service::open(&page.user).await?;
    let text = form.text("checkpoint");
    let pasted = (!text.is_empty()).then(|| Checkpoint::parse(&text, state.audit_log.checkpoint_keys()));
    match service::verify_checkpoint(&state, &page.user, pasted).await {
        Ok((report, checkpoint)) => {
            let verified = Verified::new(&report, Some(&checkpoint));
            show(
                &state,
                page,
                AuditQuery::default(),
                Some(verified),
                FormErrors::new(),
                text,
            )
            .await
        }
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show(&state, page, AuditQuery::default(), None, errs, text).await,
            None => Err(e.into()),
        },
    }
}

/// A new checkpoint as a file to keep off the server (409 page when the chain is broken).
async fn checkpoint_download(State(state): State<AppState>, page: PageUser) -> Result<Response, PageError> {
    let checkpoint = service::take_checkpoint(&state, &page.user).await?;
    let json = serde_json::to_string_pretty(&checkpoint).map_err(|e| PageError::internal(&e))?;
    let disposition = format!(
        "attachment; filename=\"hoanhap-audit-checkpoint-{}.json\"",
        checkpoint.seq
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/json".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        json,
    )
        .into_response())
}

async fn show(
    state: &AppState,
    page: PageUser,
    q: AuditQuery,
    verification: Option<Verified>,
    cp_errs: FormErrors,
    checkpoint_text: String,
) -> Result<Response, PageError> {
    let mut errs = FormErrors::new();
    let mut bound = |field: &str, value: &str, end: bool| -> Option<String> {
        if value.trim().is_empty() {
            return None;
        }
        match crate::dates::parse_typed(value) {
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
    let users = accounts::list(&state.db).await?;
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
        rows = service::search(state, &page.user, &filter)
            .await?
            .into_iter()
            .map(|entry| Row {
                actor_name: names.get(&entry.actor).cloned().unwrap_or_else(|| entry.actor.clone()),
                entry,
            })
            .collect();
    }
    let status = if errs.is_empty() && cp_errs.is_empty() {
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
            cp_errs,
            checkpoint_text,
        },
        status,
    )
}
