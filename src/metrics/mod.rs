//! Prometheus metrics on their own listener (`metrics_listen`, off by default): requests
//! by method, matched route and status, latency by route, the audit writer's queue and
//! write latency, database connections, failed logins and the password-check gate.
//!
//! Labels are the matched route templates (`/api/v1/clients/{id}`), methods and status
//! codes only: never a client code or id, a username or an address.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Upper bounds (seconds) of the latency buckets.
const BUCKETS: [f64; 11] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in BUCKETS.iter().zip(self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// The process's metrics.
#[derive(Default)]
struct Metrics {
    /// `(method, route, status)` → requests.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    audit_writes: Mutex<Histogram>,
    login_failures: AtomicU64,
}

fn metrics() -> &'static Metrics {
    static METRICS: std::sync::OnceLock<Metrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

/// Records a failed login (a wrong password, an unknown user or a wrong second factor).
pub fn login_failed() {
    metrics().login_failures.fetch_add(1, Ordering::Relaxed);
}

/// Records how long one audit batch took to commit.
pub fn audit_written(seconds: f64) {
    if let Ok(mut h) = metrics().audit_writes.lock() {
        h.observe(seconds);
    }
}

/// Middleware counting every request under its matched route.
pub async fn record(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    if let Ok(mut requests) = metrics().requests.lock() {
        *requests.entry((method, route.clone(), status)).or_default() += 1;
    }
    if let Ok(mut latency) = metrics().latency.lock() {
        latency.entry(route).or_default().observe(seconds);
    }
    response
}

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The text exposition of every metric.
pub fn render(state: &AppState) -> String {
    let m = metrics();
    let mut out = String::new();
    out.push_str("# HELP hoanhap_http_requests_total Requests answered, by method, matched route and status.\n");
    out.push_str("# TYPE hoanhap_http_requests_total counter\n");
    if let Ok(requests) = m.requests.lock() {
        for ((method, route, status), n) in requests.iter() {
            let _ = writeln!(
                out,
                "hoanhap_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                label(method),
                label(route)
            );
        }
    }
    out.push_str("# HELP hoanhap_http_request_duration_seconds Time to answer, by matched route.\n");
    out.push_str("# TYPE hoanhap_http_request_duration_seconds histogram\n");
    if let Ok(latency) = m.latency.lock() {
        for (route, h) in latency.iter() {
            h.render(
                &mut out,
                "hoanhap_http_request_duration_seconds",
                &format!("route=\"{}\"", label(route)),
            );
        }
    }
    out.push_str("# HELP hoanhap_audit_queue_depth Audit entries waiting for the writer.\n");
    out.push_str("# TYPE hoanhap_audit_queue_depth gauge\n");
    let _ = writeln!(out, "hoanhap_audit_queue_depth {}", state.audit_log.queue_depth());
    out.push_str("# HELP hoanhap_audit_write_seconds Time to commit one batch of audit entries.\n");
    out.push_str("# TYPE hoanhap_audit_write_seconds histogram\n");
    if let Ok(h) = m.audit_writes.lock() {
        h.render(&mut out, "hoanhap_audit_write_seconds", "");
    }
    out.push_str("# HELP hoanhap_db_connections Database pool connections.\n");
    out.push_str("# TYPE hoanhap_db_connections gauge\n");
    let size = state.db.pool.size();
    let idle = u32::try_from(state.db.pool.num_idle()).unwrap_or(u32::MAX);
    let _ = writeln!(
        out,
        "hoanhap_db_connections{{state=\"in_use\"}} {}",
        size.saturating_sub(idle)
    );
    let _ = writeln!(out, "hoanhap_db_connections{{state=\"idle\"}} {idle}");
    out.push_str("# HELP hoanhap_login_failures_total Failed logins.\n");
    out.push_str("# TYPE hoanhap_login_failures_total counter\n");
    let _ = writeln!(
        out,
        "hoanhap_login_failures_total {}",
        m.login_failures.load(Ordering::Relaxed)
    );
    let (running, waiting) = crate::auth::password::gate_state();
    out.push_str("# HELP hoanhap_password_checks Password checks (Argon2) running and waiting for a permit.\n");
    out.push_str("# TYPE hoanhap_password_checks gauge\n");
    let _ = writeln!(out, "hoanhap_password_checks{{state=\"running\"}} {running}");
    let _ = writeln!(out, "hoanhap_password_checks{{state=\"waiting\"}} {waiting}");
    out
}

/// `GET /metrics` (registered by [`crate::metrics_app`]).
pub async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&state),
    )
}
