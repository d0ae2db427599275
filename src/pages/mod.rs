//! The server-rendered pages: plain HTML forms (no scripts), Vietnamese by default and
//! English on request, usable on a 360 px phone. Every page that touches client data or
//! an admin function authorises and audits exactly as the JSON API does.
//!
//! Other features' pages follow the same pattern: a handler takes a [`PageUser`], its
//! template has a field `ctx: PageCtx` and `{% extends "layout.html" %}` (blocks `title`
//! and `content`), and it answers `render(&template, StatusCode::OK)` or a [`PageError`].

mod account;
mod addressees;
mod admin;
mod areas;
mod audit;
mod case;
pub mod ctx;
mod dashboard;
mod edit;
pub mod error;
pub mod fmt;
pub mod form;
mod intake;
pub mod lang;
mod login;
pub mod lookup;
mod moves;
mod routes;
mod services;
mod setup;
mod stats;
mod transfers;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

pub use ctx::{PageCtx, PageSessionUser, PageUser};
pub use error::{PageError, render};
pub use form::{FormData, FormErrors};
pub use routes::PageRoutes;

use crate::AppState;

const STYLESHEET: &str = include_str!("../../static/hoanhap.css");

async fn stylesheet() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        STYLESHEET,
    )
}

/// Every page route and the list of them.
pub fn routes() -> PageRoutes {
    PageRoutes::new()
        .get("/static/hoanhap.css", stylesheet)
        .merge(login::routes())
        .merge(dashboard::routes())
        .merge(intake::routes())
        .merge(case::routes())
        .merge(edit::routes())
        .merge(services::routes())
        .merge(audit::routes())
        .merge(account::routes())
        .merge(setup::routes())
        .merge(admin::routes())
        .merge(areas::routes())
        .merge(addressees::routes())
        .merge(moves::routes())
        .merge(transfers::routes())
        .merge(stats::routes())
}

/// The pages with their middleware and the HTML 404 for unknown paths.
pub fn pages() -> Router<AppState> {
    routes()
        .into_router()
        .fallback(error::fallback)
        .layer(axum::middleware::from_fn(error::page_layer))
}

#[cfg(test)]
mod tests {
    /// Message ids of one `.ftl` file.
    fn ids(path: &std::path::Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with(['#', ' ', '.', '*', '[', '}']) && l.contains(" ="))
            .filter_map(|l| l.split(" =").next().map(|id| id.trim().to_owned()))
            .collect()
    }

    /// The pages' messages live in `pages.ftl`; an id defined there and in another
    /// feature's file would make one of them win silently.
    #[test]
    fn page_message_ids_are_not_defined_by_other_files() {
        for lang in ["vi", "en"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("locales")
                .join(lang);
            let ours = ids(&dir.join("pages.ftl"));
            let mut seen = std::collections::BTreeSet::new();
            for id in &ours {
                assert!(seen.insert(id.clone()), "{lang}/pages.ftl defines {id} twice");
            }
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.file_name().is_some_and(|n| n == "pages.ftl") {
                    continue;
                }
                for id in ids(&path) {
                    assert!(
                        !seen.contains(&id),
                        "{id} is defined in {} and pages.ftl",
                        path.display()
                    );
                }
            }
        }
    }

    /// The literal message ids a template names: `ctx.t("id")`, the label of a field
    /// macro and `hint = "id"`.
    fn template_ids(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut take = |rest: &str| {
            if let Some(end) = rest.find('"').filter(|end| *end > 0) {
                out.push(rest[..end].to_owned());
            }
        };
        for (i, _) in text.match_indices("ctx.t(\"") {
            take(&text[i + "ctx.t(\"".len()..]);
        }
        for (i, _) in text.match_indices("hint = \"") {
            take(&text[i + "hint = \"".len()..]);
        }
        for marker in ["m::input(\"", "m::textarea(\""] {
            for (i, _) in text.match_indices(marker) {
                let rest = &text[i + marker.len()..];
                if let Some(label) = rest.find("\", \"").map(|j| &rest[j + 4..]) {
                    take(label);
                }
            }
        }
        out
    }

    /// Every label a page template names exists in both languages (stats templates
    /// belong to their own feature).
    #[test]
    fn every_template_label_exists_in_both_languages() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "html") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for id in template_ids(&text) {
                for lang in [crate::web::Lang::Vi, crate::web::Lang::En] {
                    assert_ne!(
                        lang.t(&id),
                        id,
                        "{} names {id}, missing in {}",
                        path.display(),
                        lang.code()
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked}");
    }
}
