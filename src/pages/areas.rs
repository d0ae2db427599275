//! Areas, for admins (`areas_manage`): every unit with its validity and a form to add
//! one, and one page per unit to rename, move or retire it. The same rules and audit
//! events as the areas API; a bad field answers 422 with the form kept and the field
//! named.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::ctx::{PageCtx, PageUser};
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use super::routes::PageRoutes;
use crate::AppState;
use crate::areas::service;
use crate::areas::{Area, AreaPatch, KINDS, NewArea};
use crate::error::Error;

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/admin/areas", list_page)
        .post("/admin/areas", create)
        .get("/admin/areas/{code}", area_page)
        .post("/admin/areas/{code}", update)
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// The confirmation after a change (post, redirect, get).
fn done_message(q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>) -> String {
    q.ok()
        .map(|Query(q)| q.done)
        .filter(|d| ["created", "updated"].contains(&d.as_str()))
        .map(|d| format!("areas-done-{d}"))
        .unwrap_or_default()
}

/// A unit's fields as typed in a form.
#[derive(Default)]
struct AreaForm {
    code: String,
    name: String,
    kind: String,
    parent: String,
    valid_from: String,
    valid_to: String,
    predecessors: String,
}

impl AreaForm {
    fn read(form: &FormData) -> Self {
        Self {
            code: form.text("code"),
            name: form.text("name"),
            kind: form.text("kind"),
            parent: form.text("parent"),
            valid_from: form.text("valid_from"),
            valid_to: form.text("valid_to"),
            predecessors: form.text("predecessors"),
        }
    }

    fn of(area: &Area) -> Self {
        let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        Self {
            code: area.code.clone(),
            name: area.name.clone(),
            kind: area.kind.clone(),
            parent: area.parent.clone().unwrap_or_default(),
            valid_from: day(area.valid_from),
            valid_to: day(area.valid_to),
            predecessors: area.predecessors.join(" "),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_areas.html")]
struct ListPage {
    ctx: PageCtx,
    areas: Vec<Area>,
    kinds: &'static [&'static str],
    form: AreaForm,
    errs: FormErrors,
    done: String,
}

impl ListPage {
    fn name_of(&self, code: &str) -> String {
        crate::areas::name_of(&self.areas, code)
    }
}

async fn show_list(page: PageUser, form: AreaForm, errs: FormErrors, done: String) -> Result<Response, PageError> {
    let areas = service::for_admin(&page.user).await?;
    let mut ctx = page.ctx;
    ctx.here = "/admin/areas".to_owned();
    let status = errs.status();
    render(
        &ListPage {
            ctx,
            areas,
            kinds: KINDS,
            form,
            errs,
            done,
        },
        status,
    )
}

async fn list_page(
    page: PageUser,
    q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    show_list(page, AreaForm::default(), FormErrors::new(), done_message(q)).await
}

/// An empty date field is no date.
fn date(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

async fn create(State(state): State<AppState>, page: PageUser, form: FormData) -> Result<Response, PageError> {
    let typed = AreaForm::read(&form);
    let input = NewArea {
        code: typed.code.clone(),
        name: typed.name.clone(),
        kind: typed.kind.clone(),
        parent: date(&typed.parent),
        valid_from: date(&typed.valid_from),
        valid_to: date(&typed.valid_to),
        predecessors: typed
            .predecessors
            .split([' ', ',', ';'])
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    match service::create(&state, &page.user, &input).await {
        Ok(_) => Ok(Redirect::to("/admin/areas?done=created").into_response()),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show_list(page, typed, errs, String::new()).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "admin_area.html")]
struct AreaPage {
    ctx: PageCtx,
    area: Area,
    areas: Vec<Area>,
    kinds: &'static [&'static str],
    form: AreaForm,
    errs: FormErrors,
    done: String,
}

impl AreaPage {
    fn name_of(&self, code: &str) -> String {
        crate::areas::name_of(&self.areas, code)
    }
}

async fn show_area(
    page: PageUser,
    code: &str,
    form: Option<AreaForm>,
    errs: FormErrors,
    done: String,
) -> Result<Response, PageError> {
    let areas = service::for_admin(&page.user).await?;
    let area = areas
        .iter()
        .find(|a| a.code == code)
        .cloned()
        .ok_or(PageError::from(Error::NotFound))?;
    let mut ctx = page.ctx;
    ctx.here = format!("/admin/areas/{}", area.code);
    let status = errs.status();
    render(
        &AreaPage {
            ctx,
            form: form.unwrap_or_else(|| AreaForm::of(&area)),
            area,
            areas,
            kinds: KINDS,
            errs,
            done,
        },
        status,
    )
}

async fn area_page(
    page: PageUser,
    Path(code): Path<String>,
    q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    show_area(page, &code, None, FormErrors::new(), done_message(q)).await
}

/// Every field of the form is sent: an empty date clears it, an empty parent makes the
/// unit a root.
async fn update(
    State(state): State<AppState>,
    page: PageUser,
    Path(code): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let typed = AreaForm::read(&form);
    let patch = AreaPatch {
        name: Some(typed.name.clone()),
        kind: Some(typed.kind.clone()),
        parent: Some(typed.parent.clone()),
        valid_from: Some(typed.valid_from.clone()),
        valid_to: Some(typed.valid_to.clone()),
    };
    match service::update(&state, &page.user, &code, &patch).await {
        Ok(area) => {
            let code: String = form_urlencoded::byte_serialize(area.code.as_bytes()).collect();
            Ok(Redirect::to(&format!("/admin/areas/{code}?done=updated")).into_response())
        }
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show_area(page, &code, Some(typed), errs, String::new()).await,
            None => Err(e.into()),
        },
    }
}
