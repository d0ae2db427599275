//! Who receives the report and who owns the programme, for admins (`settings_manage`):
//! every dated entry and a form to add one. The same rules and audit event as the API.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::ctx::{PageCtx, PageUser};
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use super::routes::PageRoutes;
use crate::AppState;
use crate::addressees::service;
use crate::addressees::{Addressee, AddresseeRole, Addressees, NewAddressee};

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/admin/report-addressees", list_page)
        .post("/admin/report-addressees", create)
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

#[derive(Default)]
struct EntryForm {
    role: String,
    name: String,
    valid_from: String,
}

#[derive(Template)]
#[template(path = "admin_addressees.html")]
struct ListPage {
    ctx: PageCtx,
    entries: Vec<Addressee>,
    today: Addressees,
    roles: Vec<&'static str>,
    form: EntryForm,
    errs: FormErrors,
    done: bool,
}

async fn show(
    state: &AppState,
    page: PageUser,
    form: EntryForm,
    errs: FormErrors,
    done: bool,
) -> Result<Response, PageError> {
    let entries = service::list(state, &page.user).await?;
    let today = service::in_force_on(state, state.clock.today()).await?;
    let status = errs.status();
    let mut ctx = page.ctx;
    ctx.here = "/admin/report-addressees".to_owned();
    render(
        &ListPage {
            ctx,
            entries,
            today,
            roles: AddresseeRole::ALL.iter().map(|r| r.as_str()).collect(),
            form,
            errs,
            done,
        },
        status,
    )
}

async fn list_page(
    State(state): State<AppState>,
    page: PageUser,
    q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let done = q.is_ok_and(|Query(q)| q.done == "created");
    show(&state, page, EntryForm::default(), FormErrors::new(), done).await
}

async fn create(State(state): State<AppState>, page: PageUser, form: FormData) -> Result<Response, PageError> {
    let typed = EntryForm {
        role: form.text("role"),
        name: form.text("name"),
        valid_from: form.text("valid_from"),
    };
    let input = NewAddressee {
        role: typed.role.clone(),
        name: typed.name.clone(),
        valid_from: Some(typed.valid_from.clone()),
    };
    match service::create(&state, &page.user, &input).await {
        Ok(_) => Ok(Redirect::to("/admin/report-addressees?done=created").into_response()),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show(&state, page, typed, errs, false).await,
            None => Err(e.into()),
        },
    }
}
