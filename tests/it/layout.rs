//! The shape of the code, checked over `src/`: failures of the machinery reach the user
//! through the one domain error (`crate::error::Error`, with `?`), never through a local
//! `internal` helper; the shared layers import no feature module, so the layering has no
//! cycle; requests are authorised only through the per-request `Authz` value, and no
//! role is compared outside the policy module; SQL is written only in the stores.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every (file, line number, line) of `src/` below `under`, comments included.
fn lines_under(under: &str) -> Vec<(String, usize, String)> {
    let root = src();
    let mut files = Vec::new();
    let start = root.join(under);
    if start.is_dir() {
        rust_files(&start, &mut files);
    } else {
        files.push(start);
    }
    let mut out = Vec::new();
    for file in files {
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        for (n, line) in std::fs::read_to_string(&file).unwrap().lines().enumerate() {
            out.push((name.clone(), n + 1, line.to_owned()));
        }
    }
    out
}

#[test]
fn internal_failures_go_through_the_domain_error() {
    let offending: Vec<String> = lines_under("")
        .into_iter()
        .filter(|(file, _, line)| {
            let helper = line.trim_start().starts_with("fn internal(") || line.contains("let internal =");
            let mapped = line.contains(".map_err(internal)");
            (helper || mapped) && file != "web/error.rs" && file != "pages/error.rs"
        })
        .map(|(file, n, line)| format!("{file}:{n}: {}", line.trim()))
        .collect();
    assert!(
        offending.is_empty(),
        "use `?` (crate::error::Error converts sqlx, crypto and audit errors): {offending:#?}"
    );
}

/// The feature modules: what the shared layers must not depend on.
const FEATURES: [&str; 17] = [
    "areas",
    "auth",
    "authz",
    "breakglass",
    "categories",
    "cli",
    "clients",
    "consents",
    "demo",
    "needs",
    "pages",
    "providers",
    "referrals",
    "retention",
    "stats",
    "transfers",
    "volunteers",
];

/// Shared layers and the feature modules each still reaches into: the audit API takes
/// the caller's authorisation until it moves into a feature of its own; nothing may be
/// added.
const SHARED: [(&str, &[&str]); 8] = [
    ("db", &[]),
    ("crypto", &[]),
    ("error.rs", &[]),
    ("dates.rs", &[]),
    ("clock.rs", &[]),
    ("web", &[]),
    ("policy", &[]),
    ("audit", &[]),
];

#[test]
fn shared_layers_import_no_feature_module() {
    let mut offending = Vec::new();
    for (layer, allowed) in SHARED {
        for (file, n, line) in lines_under(layer) {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for feature in FEATURES {
                let used =
                    line.contains(&format!("crate::{feature}::")) || line.contains(&format!("crate::{feature};"));
                if used && !allowed.contains(&feature) {
                    offending.push(format!("{file}:{n}: {}", line.trim()));
                }
            }
        }
    }
    assert!(
        offending.is_empty(),
        "a shared layer imports a feature module: {offending:#?}"
    );
}

/// Code lines (comments left out) of every file outside `except`, as "file:n: line".
fn code_lines_outside(except: &[&str], matches: impl Fn(&str) -> bool) -> Vec<String> {
    lines_under("")
        .into_iter()
        .filter(|(file, _, line)| {
            !except.iter().any(|prefix| file.starts_with(prefix))
                && !line.trim_start().starts_with("//")
                && matches(line)
        })
        .map(|(file, n, line)| format!("{file}:{n}: {}", line.trim()))
        .collect()
}

#[test]
fn requests_are_authorised_through_the_authz_value() {
    let offending = code_lines_outside(&["policy/", "authz/"], |line| {
        line.contains("is_allowed(") || line.contains(".authorize(") || line.contains("client_facts(")
    });
    assert!(
        offending.is_empty(),
        "decide through crate::authz::Authz (require, require_client, can, can_on): {offending:#?}"
    );
}

#[test]
fn no_role_is_compared_outside_the_policy_module() {
    let offending = code_lines_outside(&["policy/"], |line| {
        let compared = ["role ==", "role !=", "== Role::", "!= Role::"]
            .iter()
            .any(|p| line.contains(p));
        compared || (line.contains("matches!(") && line.contains("role"))
    });
    assert!(
        offending.is_empty(),
        "ask the principal what the role is for (crate::policy::Principal: reach, takes_cases_in…): {offending:#?}"
    );
}

#[test]
fn the_area_hierarchy_is_read_from_the_cache() {
    let offending = code_lines_outside(&["areas/"], |line| line.contains("areas::list("));
    assert!(
        offending.is_empty(),
        "use state.areas (loaded once at startup): {offending:#?}"
    );
}

/// An audited action is named by a constant of `audit::actions` (or by the policy action
/// it records), so the names the auditor searches for are listed in one place.
#[test]
fn audit_action_names_are_constants_in_one_place() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut offending = Vec::new();
    for file in files {
        let name = file.strip_prefix(src()).unwrap().display().to_string();
        if name == "audit/actions.rs" {
            continue;
        }
        // One line per file, so that a call split over lines is seen whole.
        let text: String = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        for call in [".event(", "Event::new("] {
            for rest in text.split(call).skip(1) {
                let named = if call == "Event::new(" {
                    rest.split_once(',').map_or("", |(_, r)| r)
                } else {
                    rest
                };
                let named = named.trim_start();
                if named.starts_with('"') || named.starts_with("if ") {
                    offending.push(format!("{name}: {call}{}", &rest[..rest.len().min(60)]));
                }
            }
        }
    }
    assert!(
        offending.is_empty(),
        "name the audited action with a crate::audit::actions constant: {offending:#?}"
    );
}

/// Where a request is authorised and audited: the services. `authz` takes the decisions,
/// `lib.rs` appends to the trail.
const DECIDES_AND_AUDITS: [&str; 2] = ["authz/", "lib.rs"];

/// Files that still authorise or audit outside a `service.rs`, being moved into their
/// feature's service (issue 9, step 1). The list may only shrink.
const NOT_YET_IN_A_SERVICE: [&str; 0] = [];

#[test]
fn requests_are_authorised_and_audited_in_the_services() {
    let mut offending = Vec::new();
    let mut moved = Vec::new();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in files {
        let name = file.strip_prefix(src()).unwrap().display().to_string();
        if name.ends_with("service.rs") || DECIDES_AND_AUDITS.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let calls: Vec<String> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim_start().starts_with("//"))
            .filter(|(_, l)| {
                [".require(", ".require_client(", ".audit(", "audit_log.append("]
                    .iter()
                    .any(|c| l.contains(c))
            })
            .map(|(n, l)| format!("{name}:{}: {}", n + 1, l.trim()))
            .collect();
        match (calls.is_empty(), NOT_YET_IN_A_SERVICE.contains(&name.as_str())) {
            (false, false) => offending.extend(calls),
            (true, true) => moved.push(name),
            _ => {}
        }
    }
    assert!(
        offending.is_empty(),
        "authorise and audit in the feature's service.rs; pages and API handlers call it: {offending:#?}"
    );
    assert!(
        moved.is_empty(),
        "these no longer authorise or audit: take them off NOT_YET_IN_A_SERVICE: {moved:?}"
    );
}

/// Services that still answer with the HTTP error instead of the domain error (issue 9,
/// step 2). The list may only shrink.
const NOT_YET_ON_THE_DOMAIN_ERROR: [&str; 0] = [];

#[test]
fn services_and_stores_answer_with_the_domain_error() {
    let mut offending = Vec::new();
    let mut moved = Vec::new();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in files {
        let name = file.strip_prefix(src()).unwrap().display().to_string();
        if !(name.ends_with("service.rs") || name.ends_with("store.rs")) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // The unit tests may look at the HTTP answer an error becomes.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let uses: Vec<String> = code
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim_start().starts_with("//") && l.contains("ApiError"))
            .map(|(n, l)| format!("{name}:{}: {}", n + 1, l.trim()))
            .collect();
        match (uses.is_empty(), NOT_YET_ON_THE_DOMAIN_ERROR.contains(&name.as_str())) {
            (false, false) => offending.extend(uses),
            (true, true) => moved.push(name),
            _ => {}
        }
    }
    assert!(
        offending.is_empty(),
        "services and stores return crate::error::Error; the API and the pages map it: {offending:#?}"
    );
    assert!(
        moved.is_empty(),
        "these answer with the domain error now: take them off NOT_YET_ON_THE_DOMAIN_ERROR: {moved:?}"
    );
}

/// `($1 = '' OR col = $1)` keeps PostgreSQL from using an index on `col`; an optional
/// filter is added to the query text only when it is set (`db::Sql::filter`).
#[test]
fn optional_filters_are_added_only_when_set() {
    let mut offending = Vec::new();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in files {
        let name = file.strip_prefix(src()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = !line.trim_start().starts_with("//");
            if code && (line.contains("= '' OR") || line.contains("= 0 OR")) {
                offending.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "build optional filters with db::Sql::filter: {offending:#?}"
    );
}

/// Dates typed by people or sent to the API are read by `src/dates.rs`, stored ones by
/// `db::DbDate`: one place each, so the forms accepted cannot drift apart.
#[test]
fn dates_are_parsed_in_one_place() {
    const READERS: [&str; 2] = ["dates.rs", "db/types.rs"];
    let mut offending = Vec::new();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in files {
        let name = file.strip_prefix(src()).unwrap().display().to_string();
        if READERS.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.contains("NaiveDate::parse_from_str") {
                offending.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "parse dates with crate::dates or db::DbDate: {offending:#?}"
    );
}

/// A feature's JSON routes are in its `api.rs`, next to its `service.rs`: a newcomer
/// finds an endpoint by the folder of its feature.
#[test]
fn json_routes_live_in_the_features_api_files() {
    let mut offending: Vec<String> = lines_under("")
        .into_iter()
        .filter(|(file, _, line)| !file.ends_with("/api.rs") && line.contains("#[utoipa::path"))
        .map(|(file, _, _)| file)
        .collect();
    offending.dedup();
    assert!(
        offending.is_empty(),
        "move these JSON handlers into the feature's api.rs: {offending:?}"
    );
}

/// Pages are registered through `pages::routes()` (`PageRoutes`), whose list the
/// authorisation matrix checks; a `.route(…)` anywhere else would add a page the matrix
/// never sees. `lib.rs` registers only the probes, the OpenAPI document and `/metrics`
/// (on its own listener).
#[test]
fn page_routes_are_registered_through_the_listed_routes() {
    const LIB_ROUTES: [&str; 4] = ["\"/healthz\"", "\"/readyz\"", "\"/api/openapi.json\"", "\"/metrics\""];
    let offending: Vec<String> = lines_under("")
        .into_iter()
        .filter(|(file, _, line)| {
            let registers = [".route(", ".route_service(", ".nest(", ".nest_service("]
                .iter()
                .any(|c| line.contains(c));
            let allowed = file == "pages/routes.rs"
                || (file == "lib.rs" && LIB_ROUTES.iter().any(|r| line.contains(r)))
                || line.trim_start().starts_with("//");
            registers && !allowed
        })
        .map(|(file, n, line)| format!("{file}:{n}: {}", line.trim()))
        .collect();
    assert!(
        offending.is_empty(),
        "register pages with PageRoutes in pages::routes(): {offending:#?}"
    );
}

/// SQL is written in a feature's `store.rs` (or the shared layers' storage) only:
/// services decide, API handlers and pages adapt, and none of them holds a statement.
#[test]
fn services_handlers_and_pages_hold_no_sql() {
    let offending: Vec<String> = lines_under("")
        .into_iter()
        .filter(|(file, _, line)| {
            let adapter_or_service =
                file.ends_with("service.rs") || file.ends_with("api.rs") || file.starts_with("pages/");
            adapter_or_service && (line.contains("sqlx::query") || line.contains("Sql::new("))
        })
        .map(|(file, n, line)| format!("{file}:{n}: {}", line.trim()))
        .collect();
    assert!(
        offending.is_empty(),
        "move these statements into the feature's store.rs: {offending:#?}"
    );
}
