//! `GET/POST /clients/{id}/edit`: correcting a client's fields, only those the caller's
//! role may see (the others are neither shown nor sent, so they stay as they are), with
//! the version read so that a concurrent change is refused rather than overwritten.
//! And `POST /clients/{id}/reassign` (supervisors).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::ctx::{PageCtx, PageUser};
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use super::intake::iso_date;
use super::lookup::Names;
use super::routes::PageRoutes;
use crate::AppState;
use crate::clients::service::{self, ClientView, ReassignInput, UpdateInput};
use crate::clients::{FieldClasses, Pii};
use crate::policy::Action;

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/clients/{id}/edit", edit_form)
        .post("/clients/{id}/edit", edit_submit)
        .post("/clients/{id}/reassign", reassign)
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage {
    ctx: PageCtx,
    v: ClientView,
    classes: FieldClasses,
    area_name: String,
    /// What to show in each input: what was posted, or the stored value.
    posted: FormData,
    errs: FormErrors,
}

impl EditPage {
    fn value(&self, name: &str) -> String {
        self.posted.text(name)
    }
}

fn exposed(value: Option<&Pii>) -> String {
    value.map(|v| v.expose().clone()).unwrap_or_default()
}

/// The form filled with the stored values.
fn stored(v: &ClientView) -> FormData {
    let mut fields = vec![
        ("full_name".to_owned(), exposed(v.full_name.as_ref())),
        ("chosen_name".to_owned(), exposed(v.chosen_name.as_ref())),
        ("date_of_birth".to_owned(), exposed(v.date_of_birth.as_ref())),
        ("id_number".to_owned(), exposed(v.id_number.as_ref())),
        ("phone".to_owned(), exposed(v.phone.as_ref())),
        ("address".to_owned(), exposed(v.address.as_ref())),
        ("notes".to_owned(), exposed(v.notes.as_ref())),
    ];
    if let Some(case) = &v.case {
        fields.push((
            "eligible".to_owned(),
            if case.eligible { "yes" } else { "no" }.to_owned(),
        ));
        fields.push(("version".to_owned(), case.version.to_string()));
    }
    FormData(fields)
}

async fn show(
    state: &AppState,
    page: PageUser,
    id: &str,
    posted: Option<FormData>,
    errs: FormErrors,
) -> Result<Response, PageError> {
    let client = service::open_for(&page.user, id, Action::ClientUpdate).await?;
    let v = service::read(state, &page.user, id).await?;
    let classes = service::field_classes(&page.user, &client);
    let names = Names::load(state, page.ctx.lang).await?;
    let area_name = names.area(&v.area);
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let posted = posted.unwrap_or_else(|| stored(&v));
    render(
        &EditPage {
            ctx: page.ctx,
            v,
            classes,
            area_name,
            posted,
            errs,
        },
        status,
    )
}

async fn edit_form(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    show(&state, page, &id, None, FormErrors::new()).await
}

/// A clearable field: blank clears it, absent (not shown to this role) leaves it.
fn clearable(form: &FormData, visible: bool, name: &str) -> Option<Option<Pii>> {
    visible.then(|| form.get(name).map(Pii::from))
}

async fn edit_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let client = service::open_for(&page.user, &id, Action::ClientUpdate).await?;
    let classes = service::field_classes(&page.user, &client);
    let mut errs = FormErrors::new();
    let version = form.get("version").and_then(|v| v.parse::<i64>().ok());
    if version.is_none() {
        errs.add("version", "field-required");
    }
    let input = UpdateInput {
        version,
        area: None,
        // The legal name cannot be cleared: a blank one is an error, not "unchanged".
        full_name: classes.identity.then(|| Pii::from(form.get("full_name").unwrap_or(""))),
        chosen_name: clearable(&form, classes.chosen_name, "chosen_name"),
        date_of_birth: if classes.identity {
            iso_date(&form, "date_of_birth")
        } else {
            None
        },
        id_number: clearable(&form, classes.identity, "id_number"),
        phone: clearable(&form, classes.contact, "phone"),
        address: clearable(&form, classes.contact, "address"),
        notes: clearable(&form, classes.narrative, "notes"),
        eligible: match form.get("eligible") {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        },
    };
    if !errs.is_empty() {
        return show(&state, page, &id, Some(form), errs).await;
    }
    match service::update(&state, &page.user, &id, input).await {
        Ok(_) => Ok(back(&id, "updated")),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show(&state, page, &id, Some(form), errs).await,
            None => Err(e.into()),
        },
    }
}

fn back(id: &str, done: &str) -> Response {
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    Redirect::to(&format!("/clients/{id}?done={done}")).into_response()
}

async fn reassign(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let input = ReassignInput {
        user_id: form.get("worker_id").map(str::to_owned),
    };
    service::reassign(&state, &page.user, &id, &input).await?;
    Ok(back(&id, "reassigned"))
}
