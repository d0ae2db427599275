//! The managers' pages: `/stats` (the latest release drawn against the 60 % line, live
//! progress of the current half-year, the list of releases, and — for province-scope
//! managers — a form to publish a closed period) and `/stats/releases/{id}` (one release in
//! full, with its files). Server-rendered, no script; every text from the message files.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use crate::AppState;
use crate::pages::routes::PageRoutes;
use crate::pages::{FormData, FormErrors, PageCtx, PageError, PageUser, render};
use crate::stats::chart::{self, Bar, Labels};
use crate::stats::export::percent;
use crate::stats::release::{self, Category, Count, Progress, Release, Summary};
use crate::stats::service;
use crate::web::Lang;

/// The page routes, with the pages middleware (language, HTML error pages).
pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/stats", index)
        .post("/stats/releases", publish)
        .get("/stats/releases/{id}", release_page)
}

/// One row of a rate table, as text.
pub struct RateLine {
    pub label: String,
    pub cohort: String,
    pub reached: String,
    pub rate: String,
    /// Whether the shown rate meets the target; `None` when no rate is shown.
    pub meets: Option<bool>,
}

pub struct ReferralLine {
    pub label: String,
    pub counts: Vec<String>,
    pub total: String,
}

/// A release ready for the templates.
pub struct ReleaseView {
    pub period: String,
    pub period_from: String,
    pub period_to: String,
    pub version: i64,
    pub published_at: String,
    pub reason: Option<String>,
    pub audit_head: String,
    pub min_cell: u32,
    pub consent: bool,
    pub indicator: RateLine,
    pub areas: Vec<RateLine>,
    /// The same figures by the units of before the reform (empty when none).
    pub former_areas: Vec<RateLine>,
    pub area_chart: String,
    pub categories: Vec<RateLine>,
    pub category_chart: String,
    pub new_intakes: String,
    pub active_caseload: String,
    pub statuses: Vec<String>,
    pub referrals: Vec<ReferralLine>,
    pub referral_totals: Vec<String>,
    pub referral_total: String,
    pub support_contacts: String,
    pub support_clients: String,
    pub href: String,
    pub csv_href: String,
    pub xlsx_href: String,
}

pub struct ProgressView {
    pub period: String,
    pub period_from: String,
    pub period_to: String,
    pub as_of: String,
    pub indicator: RateLine,
    pub categories: Vec<RateLine>,
    pub chart: String,
}

pub struct ListLine {
    pub period: String,
    pub version: i64,
    pub published_at: String,
    pub reason: Option<String>,
    pub href: String,
}

/// What the publish form sends back on a mistake.
#[derive(Default)]
pub struct PublishForm {
    pub period: String,
    pub from: String,
    pub to: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "stats/index.html")]
struct IndexPage {
    ctx: PageCtx,
    legend: String,
    latest: Option<ReleaseView>,
    progress: ProgressView,
    releases: Vec<ListLine>,
    can_publish: bool,
    form: PublishForm,
    errs: FormErrors,
}

#[derive(Template)]
#[template(path = "stats/release.html")]
struct ReleasePage {
    ctx: PageCtx,
    legend: String,
    r: ReleaseView,
}

/// Category names in the page's language: the English names of `service_categories`, or
/// the Vietnamese name stored with the release.
struct Names<'a> {
    lang: Lang,
    categories: &'a [Category],
}

impl Names<'_> {
    fn category(&self, code: &str, stored: &str) -> String {
        match self.lang {
            Lang::En => self
                .categories
                .iter()
                .find(|c| c.code == code)
                .map_or_else(|| stored.to_owned(), |c| c.name_en.clone()),
            Lang::Vi => stored.to_owned(),
        }
    }
}

fn legend(lang: Lang, min_cell: u32) -> String {
    format!("“<{min_cell}”: {}", lang.t("stats-suppressed-explained"))
}

fn rate_line(lang: Lang, label: String, cohort: &Count, reached: &Count, rate: Option<f64>) -> RateLine {
    RateLine {
        label,
        cohort: cohort.text(),
        reached: reached.text(),
        rate: match (rate, cohort) {
            (Some(r), _) => percent(r, lang),
            (None, Count::Shown(0)) => crate::stats::export::NO_RATE.to_owned(),
            (None, _) => lang.t("stats-rate-hidden"),
        },
        meets: rate.map(|r| r >= release::TARGET),
    }
}

/// A bar of the chart for one rate line.
fn bar(lang: Lang, line: &RateLine, rate: Option<f64>, cohort: &Count) -> Bar {
    let counts = format!("{} / {}", line.reached, line.cohort);
    let empty = cohort.shown() == Some(0);
    let (value_text, title) = if empty {
        (
            "0".to_owned(),
            format!("{}: {}", line.label, lang.t("stats-no-clients")),
        )
    } else if let Some(r) = rate {
        let p = percent(r, lang);
        (p.clone(), format!("{}: {p} ({counts})", line.label))
    } else {
        (
            counts.clone(),
            format!("{}: {} ({counts})", line.label, lang.t("stats-rate-hidden")),
        )
    };
    Bar {
        label: line.label.clone(),
        rate,
        value_text,
        title,
        empty,
    }
}

fn chart_labels(lang: Lang, title_id: &str) -> Labels {
    Labels {
        title: lang.t(title_id),
        desc: lang.t("stats-chart-desc"),
        target: format!("{} {}", lang.t("stats-target"), percent(release::TARGET, lang)),
    }
}

fn release_view(release: &Release, names: &Names<'_>) -> ReleaseView {
    let lang = names.lang;
    let area_label = |name: &Option<String>| name.clone().unwrap_or_else(|| lang.t("stats-area-other"));
    let areas: Vec<RateLine> = release
        .by_area
        .iter()
        .map(|a| rate_line(lang, area_label(&a.area_name), &a.cohort, &a.reached, a.rate))
        .collect();
    let former_areas: Vec<RateLine> = release
        .by_former_area
        .iter()
        .map(|a| rate_line(lang, area_label(&a.area_name), &a.cohort, &a.reached, a.rate))
        .collect();
    let area_bars: Vec<Bar> = release
        .by_area
        .iter()
        .zip(&areas)
        .map(|(a, line)| bar(lang, line, a.rate, &a.cohort))
        .collect();
    let categories: Vec<RateLine> = release
        .by_category
        .iter()
        .map(|c| {
            rate_line(
                lang,
                names.category(&c.category, &c.category_name),
                &c.cohort,
                &c.reached,
                c.rate,
            )
        })
        .collect();
    let category_bars: Vec<Bar> = release
        .by_category
        .iter()
        .zip(&categories)
        .map(|(c, line)| bar(lang, line, c.rate, &c.cohort))
        .collect();
    let i = &release.indicator;
    ReleaseView {
        period: release.period.clone(),
        period_from: crate::pages::fmt::date(&release.period_from),
        period_to: crate::pages::fmt::date(&release.period_to),
        version: release.version,
        published_at: crate::pages::fmt::datetime(&release.published_at),
        reason: release.reason.clone(),
        audit_head: release.audit_head.clone(),
        min_cell: release.min_cell,
        consent: release.require_reporting_consent,
        indicator: rate_line(lang, lang.t("stats-province"), &i.cohort, &i.reached, i.rate),
        area_chart: chart::bars(
            "area",
            &area_bars,
            release::TARGET,
            &chart_labels(lang, "stats-chart-area"),
        ),
        areas,
        former_areas,
        category_chart: chart::bars(
            "category",
            &category_bars,
            release::TARGET,
            &chart_labels(lang, "stats-chart-category"),
        ),
        categories,
        new_intakes: release.new_intakes.text(),
        active_caseload: release.active_caseload.text(),
        statuses: release
            .referrals
            .statuses
            .iter()
            .map(|s| lang.t(&format!("stats-status-{s}")))
            .collect(),
        referrals: release
            .referrals
            .rows
            .iter()
            .map(|r| ReferralLine {
                label: names.category(&r.category, &r.category_name),
                counts: r.counts.iter().map(Count::text).collect(),
                total: r.total.text(),
            })
            .collect(),
        referral_totals: release.referrals.totals.iter().map(Count::text).collect(),
        referral_total: release.referrals.total.text(),
        support_contacts: release.support.contacts.text(),
        support_clients: release.support.clients.text(),
        href: format!("/stats/releases/{}", release.id),
        csv_href: format!("/api/v1/stats/releases/{}.csv", release.id),
        xlsx_href: format!("/api/v1/stats/releases/{}.xlsx", release.id),
    }
}

fn progress_view(progress: &Progress, names: &Names<'_>) -> ProgressView {
    let lang = names.lang;
    let categories: Vec<RateLine> = progress
        .by_category
        .iter()
        .map(|c| {
            rate_line(
                lang,
                names.category(&c.category, &c.category_name),
                &c.cohort,
                &c.reached,
                c.rate,
            )
        })
        .collect();
    let i = &progress.indicator;
    let indicator = rate_line(lang, lang.t("stats-province"), &i.cohort, &i.reached, i.rate);
    let mut bars = vec![bar(lang, &indicator, i.rate, &i.cohort)];
    bars.extend(
        progress
            .by_category
            .iter()
            .zip(&categories)
            .map(|(c, line)| bar(lang, line, c.rate, &c.cohort)),
    );
    ProgressView {
        period: progress.period.clone(),
        period_from: crate::pages::fmt::date(&progress.period_from),
        period_to: crate::pages::fmt::date(&progress.period_to),
        as_of: crate::pages::fmt::date(&progress.as_of),
        chart: chart::bars(
            "progress",
            &bars,
            release::TARGET,
            &chart_labels(lang, "stats-chart-progress"),
        ),
        indicator,
        categories,
    }
}

fn list_line(s: &Summary) -> ListLine {
    ListLine {
        period: s.period.clone(),
        version: s.version,
        published_at: crate::pages::fmt::datetime(&s.published_at),
        reason: s.reason.clone(),
        href: format!("/stats/releases/{}", s.id),
    }
}

async fn index(State(state): State<AppState>, page: PageUser) -> Result<Response, PageError> {
    service::open(&page.user).await?;
    show_index(&state, page, PublishForm::default(), FormErrors::new(), StatusCode::OK).await
}

async fn show_index(
    state: &AppState,
    mut page: PageUser,
    form: PublishForm,
    errs: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let lang = page.ctx.lang;
    let rules = release::rules(&state.settings)?;
    let categories = release::categories(&state.db).await?;
    let names = Names {
        lang,
        categories: &categories,
    };
    let latest = service::latest(state, &page.user)
        .await?
        .map(|viewed| release_view(&viewed.release, &names));
    let (progress, _) = service::progress(state, &page.user).await?;
    let releases = service::releases(state, &page.user)
        .await?
        .iter()
        .map(list_line)
        .collect();
    let can_publish = service::may_publish(&page.user);
    page.ctx.here = "/stats".to_owned();
    render(
        &IndexPage {
            legend: legend(lang, rules.min_cell),
            ctx: page.ctx,
            latest,
            progress: progress_view(&progress, &names),
            releases,
            can_publish,
            form,
            errs,
        },
        status,
    )
}

async fn release_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let viewed = service::release(&state, &page.user, &id).await?;
    let categories = release::categories(&state.db).await?;
    let lang = page.ctx.lang;
    let names = Names {
        lang,
        categories: &categories,
    };
    render(
        &ReleasePage {
            legend: legend(lang, viewed.release.min_cell),
            ctx: page.ctx,
            r: release_view(&viewed.release, &names),
        },
        StatusCode::OK,
    )
}

/// The publish form: a period label (`2024-H1`, `2024`) or a range of days, and a reason
/// when the period was published before. Success goes to the new release's page.
async fn publish(State(state): State<AppState>, page: PageUser, data: FormData) -> Result<Response, PageError> {
    let form = PublishForm {
        period: data.text("period"),
        from: data.text("from"),
        to: data.text("to"),
        reason: data.text("reason"),
    };
    let day = |text: &str| crate::dates::parse_typed(text).map_or_else(|| json!(text), |d| json!(d.to_string()));
    let period: Value = match (data.get("period"), data.get("from"), data.get("to")) {
        (Some(label), _, _) => json!(label),
        (None, Some(from), Some(to)) => json!({"from": day(from), "to": day(to)}),
        _ => Value::Null,
    };
    match service::publish(&state, &page.user, &period, data.get("reason")).await {
        Ok((release, _)) => Ok(Redirect::to(&format!("/stats/releases/{}", release.id)).into_response()),
        Err(e) => match FormErrors::from_error(&e) {
            Some(errs) => show_index(&state, page, form, errs, StatusCode::UNPROCESSABLE_ENTITY).await,
            None => Err(e.into()),
        },
    }
}
