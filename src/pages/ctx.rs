//! What every page needs: the language, the logged-in user's bar and navigation, the
//! CSRF token for its forms, and the path its language switch links back to.
//!
//! Handlers of pages take a [`PageUser`] (redirects to `/login` when nobody is logged
//! in) and give its `ctx` to their template, which `{% extends "layout.html" %}`.

use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::error::PageError;
use super::lang;
use crate::AppState;
use crate::auth::extract::{CSRF_KEY, ENROLMENT_PENDING_KEY};
use crate::auth::{AuthUser, SessionUser};
use crate::authz::Authz;
use crate::policy::Role;
use crate::web::{ApiError, Lang};

/// A link of the navigation bar.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

/// The user shown in the page header.
#[derive(Debug, Clone)]
pub struct UserBar {
    pub display_name: String,
    pub role: String,
}

/// The context of the layout: every page template has a field `ctx: PageCtx`.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub lang: Lang,
    /// The path the language switch returns to (no query string).
    pub here: String,
    pub user: Option<UserBar>,
    pub role: Option<Role>,
    /// The session's CSRF token, for the hidden `csrf_token` field of every form.
    pub csrf: String,
    pub nav: Vec<NavItem>,
}

impl PageCtx {
    /// A page for nobody logged in (login, setup, errors before login).
    pub fn anonymous(lang: Lang, here: &str) -> Self {
        Self {
            lang,
            here: safe_here(here),
            user: None,
            role: None,
            csrf: String::new(),
            nav: Vec::new(),
        }
    }

    /// A page for a logged-in user.
    pub fn for_user(lang: Lang, here: &str, user: &AuthUser, csrf: String, full_nav: bool) -> Self {
        let account = &user.account;
        let here = safe_here(here);
        let nav = if full_nav {
            nav_for(account.role)
                .iter()
                .map(|(href, id)| NavItem {
                    href,
                    label: lang.t(id),
                    current: is_current(href, &here),
                })
                .collect()
        } else {
            Vec::new()
        };
        Self {
            lang,
            here,
            user: Some(UserBar {
                display_name: account.display_name.clone(),
                role: lang.t(&format!("rolename-{}", account.role.as_str())),
            }),
            role: Some(account.role),
            csrf,
            nav,
        }
    }

    /// The message `id` in the page's language.
    pub fn t(&self, id: &str) -> String {
        self.lang.t(id)
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    /// Whether the language is English (for the switch).
    pub fn is_en(&self) -> bool {
        self.lang == Lang::En
    }

    /// Dates as dd/mm/yyyy.
    pub fn date(&self, iso: &str) -> String {
        super::fmt::date(iso)
    }

    /// Timestamps as dd/mm/yyyy hh:mm (Vietnam time).
    pub fn datetime(&self, rfc3339: &str) -> String {
        super::fmt::datetime(rfc3339)
    }

    /// The label of a coded value: `prefix-value` from the message files.
    pub fn label(&self, prefix: &str, value: &str) -> String {
        self.lang.t(&format!("{prefix}-{value}"))
    }

    pub fn is_role(&self, role: &str) -> bool {
        self.role.is_some_and(|r| r.as_str() == role)
    }
}

fn safe_here(path: &str) -> String {
    if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') {
        path.to_owned()
    } else {
        "/".to_owned()
    }
}

fn is_current(href: &str, here: &str) -> bool {
    if href == "/" {
        here == "/"
    } else {
        here == href || here.starts_with(&format!("{href}/"))
    }
}

/// The navigation of each role: (path, message id).
fn nav_for(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::SocialWorker => &[
            ("/", "nav-dashboard"),
            ("/clients/new", "nav-intake"),
            ("/transfers", "nav-transfers"),
            ("/providers", "nav-providers"),
            ("/account", "nav-account"),
        ],
        Role::Supervisor => &[
            ("/", "nav-dashboard"),
            ("/clients/new", "nav-intake"),
            ("/transfers", "nav-transfers"),
            ("/moves", "nav-moves"),
            ("/providers", "nav-providers"),
            ("/account", "nav-account"),
        ],
        Role::Volunteer => &[("/", "nav-my-clients"), ("/account", "nav-account")],
        Role::Manager => &[
            ("/", "nav-dashboard"),
            ("/stats", "nav-stats"),
            ("/account", "nav-account"),
        ],
        Role::Auditor => &[
            ("/", "nav-dashboard"),
            ("/audit", "nav-audit"),
            ("/account", "nav-account"),
        ],
        Role::Admin => &[
            ("/", "nav-dashboard"),
            ("/admin/users", "nav-users"),
            ("/admin/areas", "nav-areas"),
            ("/moves", "nav-moves"),
            ("/admin/report-addressees", "nav-addressees"),
            ("/providers", "nav-providers"),
            ("/account", "nav-account"),
        ],
    }
}

/// Set by the pages middleware, filled by [`PageUser`]: lets an error page keep the
/// user's header and navigation.
#[derive(Debug, Clone, Default)]
pub struct CtxSlot(pub Arc<Mutex<Option<PageCtx>>>);

impl CtxSlot {
    pub fn set(&self, ctx: &PageCtx) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(ctx.clone());
        }
    }
    pub fn get(&self) -> Option<PageCtx> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }
}

/// Where to go after logging in: only a plain local path, never another site.
pub fn safe_next(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 200
        && path.chars().all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c));
    ok.then_some(path)
}

fn login_redirect(parts: &Parts) -> Response {
    let path = parts.uri.path();
    if parts.method == Method::GET && path != "/" && safe_next(path).is_some() {
        let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
        Redirect::to(&format!("/login?next={next}")).into_response()
    } else {
        Redirect::to("/login").into_response()
    }
}

async fn csrf_of(user: &AuthUser) -> Result<String, Response> {
    let csrf: Option<String> = user
        .session
        .get(CSRF_KEY)
        .await
        .map_err(|e| PageError::from(ApiError::internal(&e)).into_response())?;
    Ok(csrf.unwrap_or_default())
}

/// A logged-in user with a complete login, and the page context for them.
#[derive(Debug, Clone)]
pub struct PageUser {
    pub user: Authz,
    pub ctx: PageCtx,
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = lang::of_parts(parts);
        match AuthUser::from_request_parts(parts, state).await {
            Ok(user) => {
                let csrf = csrf_of(&user).await?;
                let ctx = PageCtx::for_user(lang, parts.uri.path(), &user, csrf, true);
                if let Some(slot) = parts.extensions.get::<CtxSlot>() {
                    slot.set(&ctx);
                }
                Ok(Self {
                    user: Authz::new(state, user),
                    ctx,
                })
            }
            Err(e) if e.code == "unauthenticated" => Err(login_redirect(parts)),
            Err(e) if e.code == "mfa_enrolment_required" => Err(Redirect::to("/account/mfa").into_response()),
            Err(e) if e.code == "password_change_required" => Err(Redirect::to("/account/password").into_response()),
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

/// A user who may still have to enrol a second factor: only the enrolment page and
/// logout take it. The navigation is hidden while enrolment is pending.
#[derive(Debug, Clone)]
pub struct PageSessionUser {
    pub user: AuthUser,
    pub ctx: PageCtx,
    pub enrolment_pending: bool,
}

impl FromRequestParts<AppState> for PageSessionUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = lang::of_parts(parts);
        match SessionUser::from_request_parts(parts, state).await {
            Ok(SessionUser(user)) => {
                let pending: bool = user
                    .session
                    .get(ENROLMENT_PENDING_KEY)
                    .await
                    .map_err(|e| PageError::from(ApiError::internal(&e)).into_response())?
                    .unwrap_or(false);
                let csrf = csrf_of(&user).await?;
                let ctx = PageCtx::for_user(lang, parts.uri.path(), &user, csrf, !pending);
                if let Some(slot) = parts.extensions.get::<CtxSlot>() {
                    slot.set(&ctx);
                }
                Ok(Self {
                    user,
                    ctx,
                    enrolment_pending: pending,
                })
            }
            Err(e) if e.status == StatusCode::UNAUTHORIZED => Err(login_redirect(parts)),
            Err(e) if e.code == "password_change_required" => Err(Redirect::to("/account/password").into_response()),
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_paths_stay_on_this_site() {
        assert_eq!(safe_next("/clients/abc-1"), Some("/clients/abc-1"));
        assert_eq!(safe_next("//evil.example/x"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("/a?b=c"), None);
        assert_eq!(safe_here("//evil"), "/");
    }
}
