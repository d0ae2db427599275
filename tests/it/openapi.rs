//! The OpenAPI document is complete: every API route is registered together with its
//! description (`hoanhap::api()` builds both from one `OpenApiRouter`), each documented
//! operation answers, each has a tag and at least one response, and no source file
//! registers an `/api` route around the OpenApiRouter.

use std::collections::BTreeSet;
use std::path::Path;

use crate::kit::{TestEnv, TestServer};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// (method, path) of every documented operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_document_is_served_and_every_operation_is_described() {
    let env = TestEnv::new().await;
    let server = TestServer::start(env.state().await).await;
    let res = reqwest::get(server.url("/api/openapi.json")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = res.json().await.expect("valid JSON");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string());
    let paths = doc["paths"].as_object().expect("a paths object");
    assert!(!paths.is_empty());
    for path in paths.keys() {
        assert!(path.starts_with("/api/"), "{path} is outside /api");
    }

    // The routes API.md names, and those of this feature, are there.
    for (method, path) in [
        ("post", "/api/v1/session"),
        ("delete", "/api/v1/session"),
        ("get", "/api/v1/me"),
        ("get", "/api/v1/audit"),
        ("get", "/api/v1/audit/verify"),
        ("get", "/api/v1/categories"),
        ("post", "/api/v1/categories"),
        ("get", "/api/v1/providers"),
        ("post", "/api/v1/providers"),
        ("get", "/api/v1/providers/{id}"),
        ("patch", "/api/v1/providers/{id}"),
        ("post", "/api/v1/clients/{id}/referrals"),
        ("get", "/api/v1/clients/{id}/referrals"),
        ("get", "/api/v1/referrals/{id}"),
        ("post", "/api/v1/referrals/{id}/transitions"),
        ("get", "/api/v1/referrals/{id}/slip"),
        ("get", "/api/v1/referrals/follow-ups"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not documented"
        );
    }

    let mut operation_ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let tags = op["tags"].as_array().map(Vec::len).unwrap_or(0);
        assert!(tags > 0, "{method} {path} has no tag");
        let responses = op["responses"].as_object().map(|r| r.len()).unwrap_or(0);
        assert!(responses > 0, "{method} {path} documents no response");
        for (status, response) in op["responses"].as_object().unwrap() {
            assert!(
                status == "default" || status.parse::<u16>().is_ok_and(|s| (100..600).contains(&s)),
                "{method} {path}: bad status {status}"
            );
            assert!(
                response["description"].is_string(),
                "{method} {path} {status}: no description"
            );
        }
        // Path parameters are declared.
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(|c| c == '{' || c == '}');
            let declared = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
            assert!(declared, "{method} {path}: path parameter {name} is not declared");
        }
        if let Some(id) = op["operationId"].as_str() {
            assert!(operation_ids.insert(id.to_owned()), "operationId {id} is used twice");
        }
    }

    // Schemas referred to are defined.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            schemas.is_some_and(|s| s.contains_key(name)),
            "schema {name} is referred to but not defined"
        );
    }
    server.stop().await;
}

/// Every documented operation is routed: the API router alone (no fallback) answers an
/// unknown route with an empty 404/405, while a registered handler answers with its own
/// (JSON) response — here mostly 401, since no one is logged in.
#[tokio::test]
async fn every_documented_operation_is_a_registered_route() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    let (router, doc) = hoanhap::api();
    let doc = serde_json::to_value(&doc).unwrap();
    let router = router.with_state(state);

    let probe = |method: &str, path: &str| {
        let router = router.clone();
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let uri = path.to_owned();
        async move {
            let request = Request::builder()
                .method(method)
                .uri(uri)
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
            (status, body)
        }
    };
    let unrouted = |status: StatusCode, body: &[u8]| {
        (status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED) && body.is_empty()
    };

    // The probe tells a missing route from a present one.
    let (status, body) = probe("get", "/api/v1/no-such-route").await;
    assert!(unrouted(status, &body), "{status}");

    let operations = operations(&doc);
    assert!(operations.len() >= 10);
    for (method, path, _) in operations {
        let concrete: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { "probe-id" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let (status, body) = probe(&method, &concrete).await;
        assert!(
            !unrouted(status, &body),
            "{method} {path} is documented but not routed ({status})"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Registrations of `/api` paths that bypass the OpenApiRouter: `.route("/api…")`,
/// `.route_service(`, `.nest(` or `.nest_service(` with a literal `/api` path, whatever
/// the line breaks. Only the document itself may be registered that way.
fn bypasses(source: &str) -> Vec<String> {
    const ALLOWED: &[&str] = &["/api/openapi.json"];
    let mut found = Vec::new();
    for call in [".route(", ".route_service(", ".nest(", ".nest_service("] {
        let mut rest = source;
        while let Some(at) = rest.find(call) {
            rest = &rest[at + call.len()..];
            let args = rest.trim_start();
            let Some(literal) = args.strip_prefix('"') else {
                continue;
            };
            let path = &literal[..literal.find('"').unwrap_or(literal.len())];
            if path.starts_with("/api") && !ALLOWED.contains(&path) {
                found.push(format!("{call}\"{path}\""));
            }
        }
    }
    found
}

#[test]
fn the_scan_catches_a_bypass() {
    assert_eq!(
        bypasses("Router::new().route(\n    \"/api/v1/secret\", get(h))"),
        vec![".route(\"/api/v1/secret\"".to_owned()]
    );
    assert_eq!(bypasses(".nest(\"/api/v2\", r)").len(), 1);
    assert!(bypasses(".route(\"/api/openapi.json\", get(doc))").is_empty());
    assert!(bypasses(".route(\"/clients\", get(page))").is_empty());
}

#[test]
fn no_api_route_bypasses_the_openapi_router() {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 10);
    let mut offenders = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for found in bypasses(&source) {
            offenders.push(format!("{}: {found}", file.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "register these with utoipa_axum::routes! in an OpenApiRouter:\n{}",
        offenders.join("\n")
    );
}
