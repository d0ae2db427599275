//! `GET/POST /clients/new`: opening a case. Every field of intake, the consents per scope
//! and the referral sharing per service category; afterwards the new code and the codes
//! (only) of possible duplicates.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::ctx::{PageCtx, PageUser};
use super::error::{PageError, render};
use super::form::{FormData, FormErrors};
use super::lookup::Names;
use super::routes::PageRoutes;
use crate::AppState;
use crate::auth::accounts::{self, Account};
use crate::clients::Pii;
use crate::clients::service::{self, IntakeConsents, IntakeInput};

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/clients/new", form_page)
        .post("/clients/new", submit)
}

#[derive(Template)]
#[template(path = "intake.html")]
struct IntakePage {
    ctx: PageCtx,
    names: Names,
    /// Areas the user may open cases in.
    areas: Vec<(String, String)>,
    /// For supervisors: the social workers who may be assigned.
    workers: Vec<Account>,
    posted: FormData,
    errs: FormErrors,
}

impl IntakePage {
    fn value(&self, name: &str) -> String {
        self.posted.text(name)
    }
    fn checked(&self, name: &str) -> bool {
        self.posted.checked(name)
    }
    fn has_value(&self, name: &str, value: &str) -> bool {
        self.posted.all(name).iter().any(|v| v == value)
    }
    fn area_selected(&self, code: &str) -> bool {
        self.posted.get("area") == Some(code)
    }
}

#[derive(Template)]
#[template(path = "intake_done.html")]
struct IntakeDone {
    ctx: PageCtx,
    client_id: String,
    code: String,
    duplicates: Vec<String>,
    child_protection: bool,
}

async fn page(state: &AppState, page: PageUser, posted: FormData, errs: FormErrors) -> Result<Response, PageError> {
    let account = &page.user.account;
    let names = Names::load(state, page.ctx.lang).await?;
    let tree = page.user.areas();
    let today = state.clock.today();
    let scope = tree.within(&account.area);
    // A district-level user opens cases in her district; a province-level one chooses.
    let areas: Vec<(String, String)> = names
        .areas
        .iter()
        .filter(|a| scope.contains(&a.code) && a.in_force_on(today) && (a.parent.is_some() || scope.len() == 1))
        .map(|a| (a.code.clone(), a.name.clone()))
        .collect();
    let workers = if account.principal().is_supervisor() {
        accounts::list(&state.db)
            .await?
            .into_iter()
            .filter(|a| a.is_active() && a.principal().is_social_worker() && tree.covers(&account.area, &a.area))
            .collect()
    } else {
        Vec::new()
    };
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut posted = posted;
    if posted.get("area").is_none()
        && let Some((code, _)) = areas.first()
        && areas.len() == 1
    {
        posted.0.push(("area".into(), code.clone()));
    }
    render(
        &IntakePage {
            ctx: page.ctx,
            names,
            areas,
            workers,
            posted,
            errs,
        },
        status,
    )
}

async fn form_page(State(state): State<AppState>, user: PageUser) -> Result<Response, PageError> {
    service::begin_intake(&user.user).await?;
    page(&state, user, FormData::default(), FormErrors::new()).await
}

/// A date as the services expect it (`YYYY-MM-DD`) from what was typed; left as typed
/// when it is not a date, so the service names the field.
pub(super) fn iso_date(form: &FormData, name: &str) -> Option<String> {
    let raw = form.get(name)?;
    Some(crate::dates::parse_typed(raw).map_or_else(|| raw.to_owned(), |d| d.to_string()))
}

fn pii(form: &FormData, name: &str) -> Option<Pii> {
    form.get(name).map(Pii::from)
}

async fn submit(State(state): State<AppState>, user: PageUser, form: FormData) -> Result<Response, PageError> {
    let sharing = form.all("consents.referral_sharing");
    let input = IntakeInput {
        area: form.get("area").map(str::to_owned),
        full_name: pii(&form, "full_name"),
        chosen_name: pii(&form, "chosen_name"),
        date_of_birth: iso_date(&form, "date_of_birth"),
        id_number: pii(&form, "id_number"),
        phone: pii(&form, "phone"),
        address: pii(&form, "address"),
        notes: pii(&form, "notes"),
        eligible: match form.get("eligible") {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        },
        opened_on: iso_date(&form, "opened_on"),
        assigned_worker: form.get("assigned_worker").map(str::to_owned),
        consents: Some(IntakeConsents {
            data_processing: Some(form.checked("consents.data_processing")),
            reporting: Some(form.checked("consents.reporting")),
            volunteer_contact: Some(form.checked("consents.volunteer_contact")),
            referral_sharing: (!sharing.is_empty()).then_some(sharing),
        }),
    };
    match service::intake(&state, &user.user, input).await {
        Ok(result) => {
            let child_protection = result.client.case.as_ref().is_some_and(|c| c.child_protection);
            render(
                &IntakeDone {
                    ctx: user.ctx,
                    client_id: result.client.id,
                    code: result.client.code,
                    duplicates: result.possible_duplicates,
                    child_protection,
                },
                StatusCode::CREATED,
            )
        }
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => page(&state, user, form, errs).await,
            None => Err(e.into()),
        },
    }
}
