//! Counts the SQL statements each request runs, by its `X-Request-Id`: sqlx logs every
//! statement (target `sqlx::query`) inside the span of the request that ran it, and the
//! SQLite driver carries that span to its worker thread. The audit writer's own task is
//! outside any request and is not counted, nor is the set-up of a connection the pool
//! happens to open during a request (SQLite's `PRAGMA`s): that is not the request's cost.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::FilterFn;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// How many statements the request with this `X-Request-Id` ran.
pub fn of(response: &reqwest::Response) -> usize {
    let id = response
        .headers()
        .get("x-request-id")
        .expect("every response carries its request id")
        .to_str()
        .unwrap();
    counts().lock().unwrap().get(id).copied().unwrap_or(0)
}

fn counts() -> &'static Mutex<HashMap<String, usize>> {
    static COUNTS: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    COUNTS.get_or_init(Mutex::default)
}

pub struct Counter;

/// The request id a `request` span was opened with.
struct RequestId(String);

impl Counter {
    pub fn filter() -> FilterFn<impl Fn(&Metadata<'_>) -> bool> {
        FilterFn::new(|meta| meta.target() == "sqlx::query" || (meta.is_span() && meta.name() == "request"))
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Counter {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut visitor = RequestIdField(None);
        attrs.record(&mut visitor);
        if let (Some(request_id), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(RequestId(request_id));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let mut set_up = ConnectionSetUp(false);
        event.record(&mut set_up);
        if set_up.0 {
            return;
        }
        for span in scope {
            if let Some(RequestId(id)) = span.extensions().get::<RequestId>() {
                *counts().lock().unwrap().entry(id.clone()).or_default() += 1;
                return;
            }
        }
    }
}

struct RequestIdField(Option<String>);

impl Visit for RequestIdField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "request_id" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "request_id" {
            self.0 = Some(format!("{value:?}").trim_matches('"').to_owned());
        }
    }
}

/// Whether an event logs a connection's set-up (`PRAGMA ...`) rather than the request's work.
struct ConnectionSetUp(bool);

impl Visit for ConnectionSetUp {
    fn record_str(&mut self, field: &Field, value: &str) {
        if matches!(field.name(), "summary" | "db.statement") && value.trim_start().to_uppercase().starts_with("PRAGMA")
        {
            self.0 = true;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, format!("{value:?}").trim_matches('"'));
    }
}
