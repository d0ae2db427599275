//! The page routes and the list of them, built together: each `get`/`post` adds the
//! route to the router and `METHOD /path` to the list, so the list cannot miss a route
//! (the authorisation matrix checks that every listed route has a row).

use axum::Router;
use axum::handler::Handler;
use axum::routing::{get, post};

use crate::AppState;

#[derive(Default)]
pub struct PageRoutes {
    router: Router<AppState>,
    listed: Vec<String>,
}

impl PageRoutes {
    pub fn new() -> Self {
        Self::default()
    }

    /// `GET path` answered by `handler`.
    pub fn get<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, get(handler));
        self.listed.push(format!("GET {path}"));
        self
    }

    /// `POST path` answered by `handler`.
    pub fn post<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, post(handler));
        self.listed.push(format!("POST {path}"));
        self
    }

    pub fn merge(mut self, other: Self) -> Self {
        self.router = self.router.merge(other.router);
        self.listed.extend(other.listed);
        self
    }

    /// `METHOD /path` of every route, in the order they were added.
    pub fn listed(&self) -> &[String] {
        &self.listed
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}
