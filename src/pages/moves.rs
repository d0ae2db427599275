//! What is still to be moved after a reform, and the forms that move it: a supervisor's
//! clients of retired units (a date and a list of `code,to` lines, pasted from a
//! spreadsheet), an admin's accounts (`username,to`). The same rules and audit events as
//! the moves API; a refused list answers 422 naming each bad line, and nothing moves.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::ctx::{PageCtx, PageUser};
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use super::routes::PageRoutes;
use crate::AppState;
use crate::areas::Area;
use crate::moves::model::read_csv;
use crate::moves::service;
use crate::moves::{AccountMove, AccountMoves, ClientMove, ClientMoves, Pending};

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/moves", moves_page)
        .post("/moves/clients", move_clients)
        .post("/moves/accounts", move_accounts)
}

#[derive(Debug, Default, Deserialize)]
struct MovesQuery {
    #[serde(default)]
    done: String,
    page: Option<u32>,
}

/// What was typed in one of the two forms.
#[derive(Default)]
struct MoveForm {
    on: String,
    csv: String,
}

#[derive(Template)]
#[template(path = "moves.html")]
struct MovesPage {
    ctx: PageCtx,
    pending: Pending,
    areas: Vec<Area>,
    /// Which form the errors belong to: "clients" or "accounts".
    refused: &'static str,
    form: MoveForm,
    errs: FormErrors,
    /// Each refused line as "where: message id", in the order of the list.
    lines: Vec<(String, String)>,
    done: String,
}

impl MovesPage {
    fn name_of(&self, code: &str) -> String {
        format!("{} ({code})", crate::areas::name_of(&self.areas, code))
    }
}

/// The refused lines of the list, in order, as (where, message id): `moves[3].to` is
/// line 5, column `to` (the header is line 1); the list reader names `line 5` itself.
fn lines_of(errs: &FormErrors) -> Vec<(String, String)> {
    let mut lines: Vec<(usize, String, String)> = errs
        .0
        .iter()
        .filter_map(|(field, message)| {
            if let Some((index, column)) = field.strip_prefix("moves[").and_then(|rest| rest.split_once("].")) {
                let line = index.parse::<usize>().ok()? + 2;
                Some((line, format!("{line}, {column}"), message.clone()))
            } else {
                let line = field.strip_prefix("line ")?.parse::<usize>().ok()?;
                Some((line, line.to_string(), message.clone()))
            }
        })
        .collect();
    lines.sort_by_key(|(line, _, _)| *line);
    lines.into_iter().map(|(_, at, message)| (at, message)).collect()
}

async fn show(
    state: &AppState,
    page: PageUser,
    number: u32,
    refused: &'static str,
    form: MoveForm,
    errs: FormErrors,
    done: String,
) -> Result<Response, PageError> {
    let pending = service::pending(state, &page.user, number).await?;
    let areas = page.user.catalog().all().to_vec();
    let status = errs.status();
    // An empty or too long list is the list field's error.
    let mut errs = errs;
    if errs.has("moves") {
        let message = errs.get("moves").to_owned();
        errs.add("csv", &message);
    }
    let mut ctx = page.ctx;
    ctx.here = "/moves".to_owned();
    render(
        &MovesPage {
            ctx,
            pending,
            areas,
            refused,
            form,
            lines: lines_of(&errs),
            errs,
            done,
        },
        status,
    )
}

async fn moves_page(
    State(state): State<AppState>,
    page: PageUser,
    q: Result<Query<MovesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let done = if ["clients", "accounts"].contains(&q.done.as_str()) {
        format!("moves-done-{}", q.done)
    } else {
        String::new()
    };
    show(
        &state,
        page,
        q.page.unwrap_or(1),
        "",
        MoveForm::default(),
        FormErrors::new(),
        done,
    )
    .await
}

async fn move_clients(State(state): State<AppState>, page: PageUser, form: FormData) -> Result<Response, PageError> {
    let typed = MoveForm {
        on: form.text("on"),
        csv: form.text("csv"),
    };
    let result = match read_csv(&typed.csv, "code") {
        Err(fields) => Err(crate::error::Error::Validation(fields)),
        Ok(rows) => {
            let input = ClientMoves {
                on: Some(typed.on.clone()).filter(|on| !on.is_empty()),
                moves: rows.into_iter().map(|(code, to)| ClientMove { code, to }).collect(),
            };
            service::move_clients(&state, &page.user, &input).await
        }
    };
    match result {
        Ok(_) => Ok(Redirect::to("/moves?done=clients").into_response()),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show(&state, page, 1, "clients", typed, errs, String::new()).await,
            None => Err(e.into()),
        },
    }
}

async fn move_accounts(State(state): State<AppState>, page: PageUser, form: FormData) -> Result<Response, PageError> {
    let typed = MoveForm {
        on: String::new(),
        csv: form.text("csv"),
    };
    let result = match read_csv(&typed.csv, "username") {
        Err(fields) => Err(crate::error::Error::Validation(fields)),
        Ok(rows) => {
            let input = AccountMoves {
                moves: rows
                    .into_iter()
                    .map(|(username, to)| AccountMove { username, to })
                    .collect(),
            };
            service::move_accounts(&state, &page.user, &input).await
        }
    };
    match result {
        Ok(_) => Ok(Redirect::to("/moves?done=accounts").into_response()),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show(&state, page, 1, "accounts", typed, errs, String::new()).await,
            None => Err(e.into()),
        },
    }
}
