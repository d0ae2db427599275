//! The printable referral slip (`GET /referrals/{id}/slip`), the service-provider
//! directory (`GET/POST /providers`, with (de)activation for those who manage it), and
//! the volunteer's support-contact form (`GET/POST /clients/{id}/support`), built for a
//! 360 px phone.

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
use crate::clients::Pii;
use crate::clients::service::{self, ClientView};
use crate::policy::{Action, Resource};
use crate::providers::{Provider, ProviderFilter, ProviderInput, ProviderPatch};
use crate::referrals::Slip;
use crate::volunteers::{SUPPORT_KINDS, SupportLogInput};
use crate::web::Lang;

pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/referrals/{id}/slip", slip_page)
        .get("/providers", providers_page)
        .post("/providers", add_provider)
        .post("/providers/{id}/active", set_provider_active)
        .get("/clients/{id}/support", support_form)
        .post("/clients/{id}/support", support_submit)
}

// ---------------------------------------------------------------------------------
// Referral slip
// ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "slip.html")]
struct SlipPage {
    ctx: PageCtx,
    slip: Slip,
    category: String,
    provider_area: String,
    issuer: String,
    client_id: String,
}

async fn slip_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let slip = crate::referrals::slip(&state, &page.user, &id).await?;
    let names = Names::load(&state, page.ctx.lang).await?;
    let category = match page.ctx.lang {
        Lang::Vi => slip.category_name_vi.clone(),
        Lang::En => slip.category_name_en.clone(),
    };
    let provider_area = slip.provider.as_ref().map(|p| names.area(&p.area)).unwrap_or_default();
    let client_id = state.clients.id_for_code(&slip.client_code).await?.unwrap_or_default();
    render(
        &SlipPage {
            ctx: page.ctx,
            category,
            provider_area,
            issuer: crate::addressees::service::in_force_on(&state, state.clock.today())
                .await?
                .owner,
            client_id,
            slip,
        },
        StatusCode::OK,
    )
}

// ---------------------------------------------------------------------------------
// Providers
// ---------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct ProviderQuery {
    #[serde(default)]
    category: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    inactive: String,
}

#[derive(Template)]
#[template(path = "providers.html")]
struct ProvidersPage {
    ctx: PageCtx,
    names: Names,
    q: ProviderQuery,
    providers: Vec<Provider>,
    may_manage: bool,
    /// Ids of the listed providers the caller may change.
    manageable: std::collections::HashSet<String>,
    /// The areas the caller may add providers in.
    manage_areas: Vec<(String, String)>,
    posted: FormData,
    errs: FormErrors,
    done: String,
}

impl ProvidersPage {
    fn value(&self, name: &str) -> String {
        self.posted.text(name)
    }
    fn posted_is(&self, name: &str, value: &str) -> bool {
        self.posted.get(name) == Some(value)
    }
}

async fn show_providers(
    state: &AppState,
    page: PageUser,
    q: ProviderQuery,
    posted: FormData,
    errs: FormErrors,
    done: String,
) -> Result<Response, PageError> {
    let may_manage_in = |area: &str| page.user.can(Action::ProvidersManage, &Resource::in_area(area));
    let may_manage = may_manage_in(&page.user.account.area);
    let filter = ProviderFilter {
        category: Some(q.category.clone()).filter(|c| !c.is_empty()),
        area: Some(q.area.clone()).filter(|a| !a.is_empty()),
        include_inactive: Some(may_manage && !q.inactive.is_empty()),
    };
    let providers = crate::providers::service::directory(state, &page.user, &filter).await?;
    let names = Names::load(state, page.ctx.lang).await?;
    // A supervisor manages the providers of her own area, the admin all of them.
    let manageable = providers
        .iter()
        .filter(|p| may_manage_in(&p.area))
        .map(|p| p.id.clone())
        .collect();
    let manage_areas = names
        .areas
        .iter()
        .filter(|a| may_manage && may_manage_in(&a.code))
        .map(|a| (a.code.clone(), a.name.clone()))
        .collect();
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        &ProvidersPage {
            ctx: page.ctx,
            names,
            q,
            providers,
            may_manage,
            manageable,
            manage_areas,
            posted,
            errs,
            done,
        },
        status,
    )
}

#[derive(Debug, Default, Deserialize)]
struct ProvidersQuery {
    #[serde(default)]
    category: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    inactive: String,
    #[serde(default)]
    done: String,
}

async fn providers_page(
    State(state): State<AppState>,
    page: PageUser,
    q: Result<Query<ProvidersQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let done = match q.done.as_str() {
        "created" | "updated" => format!("providers-done-{}", q.done),
        _ => String::new(),
    };
    let filter = ProviderQuery {
        category: q.category,
        area: q.area,
        inactive: q.inactive,
    };
    show_providers(&state, page, filter, FormData::default(), FormErrors::new(), done).await
}

async fn add_provider(State(state): State<AppState>, page: PageUser, form: FormData) -> Result<Response, PageError> {
    let input = ProviderInput {
        name: form.text("name"),
        category: form.text("category"),
        area: form.text("area"),
        contact: form.get("contact").map(str::to_owned),
    };
    match crate::providers::service::create(&state, &page.user, &input).await {
        Ok(_) => Ok(Redirect::to("/providers?done=created").into_response()),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show_providers(&state, page, ProviderQuery::default(), form, errs, String::new()).await,
            None => Err(e.into()),
        },
    }
}

async fn set_provider_active(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let patch = ProviderPatch {
        active: Some(form.get("active") == Some("1")),
        ..ProviderPatch::default()
    };
    crate::providers::service::update(&state, &page.user, &id, &patch).await?;
    Ok(Redirect::to("/providers?done=updated&inactive=1").into_response())
}

// ---------------------------------------------------------------------------------
// Support contact (volunteers)
// ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "support.html")]
struct SupportPage {
    ctx: PageCtx,
    v: ClientView,
    kinds: &'static [&'static str],
    posted: FormData,
    errs: FormErrors,
    may_flag: bool,
}

impl SupportPage {
    fn value(&self, name: &str) -> String {
        self.posted.text(name)
    }
    fn kind_checked(&self, kind: &str) -> bool {
        self.posted.get("kind") == Some(kind)
    }
}

async fn show_support(
    state: &AppState,
    page: PageUser,
    id: &str,
    posted: FormData,
    errs: FormErrors,
) -> Result<Response, PageError> {
    let client = service::open_for(&page.user, id, Action::SupportLog).await?;
    let may_flag = page.user.can_on(Action::FollowupFlag, &client);
    let v = service::read(state, &page.user, id).await?;
    let status = if errs.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        &SupportPage {
            ctx: page.ctx,
            v,
            kinds: &SUPPORT_KINDS,
            posted,
            errs,
            may_flag,
        },
        status,
    )
}

async fn support_form(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    show_support(&state, page, &id, FormData::default(), FormErrors::new()).await
}

async fn support_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let mut errs = FormErrors::new();
    let duration_minutes = match form.get("duration_minutes") {
        None => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errs.add("duration_minutes", "field-invalid");
                None
            }
        },
    };
    if !errs.is_empty() {
        return show_support(&state, page, &id, form, errs).await;
    }
    let input = SupportLogInput {
        kind: form.get("kind").map(str::to_owned),
        on: iso_date(&form, "on").or_else(|| Some(state.clock.today().to_string())),
        duration_minutes,
        note: form.get("note").map(Pii::from),
        needs_follow_up: Some(form.checked("needs_follow_up")),
    };
    match crate::volunteers::log_support(&state, &page.user, &id, &input).await {
        Ok(_) => Ok(Redirect::to("/?done=logged").into_response()),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show_support(&state, page, &id, form, errs).await,
            None => Err(e.into()),
        },
    }
}
