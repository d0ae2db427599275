//! The shape of the code, checked over `src/`: failures of the machinery reach the user
//! through the one domain error (`crate::error::Error`, with `?`), never through a local
//! `internal` helper; the shared layers import no feature module, so the layering has no
//! cycle.

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
const FEATURES: [&str; 16] = [
    "areas",
    "auth",
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

/// Shared layers and the feature modules each still reaches into. `web`, `policy` and
/// `audit` take the signed-in user from `auth` and the area tree from `areas` until the
/// per-request authorisation value (issue 9, step 3) owns both; nothing may be added.
const SHARED: [(&str, &[&str]); 8] = [
    ("db", &[]),
    ("crypto", &[]),
    ("error.rs", &[]),
    ("dates.rs", &[]),
    ("clock.rs", &[]),
    ("web", &["auth"]),
    ("policy", &["auth", "areas"]),
    ("audit", &["auth"]),
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
