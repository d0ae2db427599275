//! Break-glass: one hour of access with a written reason, flagged for the auditor and
//! shown to the client's worker.

use crate::kit::{Api, TestEnv, TestServer, add_user};
use hoanhap::AppState;
use hoanhap::auth::AuthUser;
use hoanhap::authz::Authz;
use hoanhap::clients::NewClient;
use hoanhap::crypto::Sensitive;
use hoanhap::policy::{Action, Role};
use serde_json::{Value, json};
use std::sync::Arc;
use tower_sessions::{MemoryStore, Session};

const NAME: &str = "Trần Thị Bích Ngọc";
const REASON: &str = "Client called the hotline at night; her worker is on leave.";

async fn new_client(state: &AppState, area: &str, worker: &str) -> (String, String) {
    let created = state
        .clients
        .create(
            &NewClient {
                area: area.into(),
                full_name: Sensitive::new(NAME.into()),
                chosen_name: None,
                date_of_birth: "1995-04-12".parse().unwrap(),
                id_number: None,
                phone: None,
                address: None,
                notes: None,
                eligible: true,
                opened_on: state.clock.today(),
                assigned_worker: Some(worker.into()),
            },
            state.clock.now(),
        )
        .await
        .unwrap();
    (created.client.id, created.client.code)
}

/// Whether the policies let `user_id` read the client now (facts from the database).
async fn may_read(state: &AppState, user_id: &str, client_id: &str) -> bool {
    let account = hoanhap::auth::accounts::by_id(&state.db, user_id)
        .await
        .unwrap()
        .unwrap();
    let session = Session::new(None, Arc::new(MemoryStore::default()), None);
    let authz = Authz::new(state, AuthUser { account, session });
    authz
        .find_client(client_id, Action::ClientRead)
        .await
        .unwrap()
        .is_some()
}

struct World {
    _env: TestEnv,
    server: TestServer,
    worker: String,
    outsider: String,
    client_id: String,
    code: String,
}

/// A client of Vinh (412) on `lan.sw`'s caseload; `hoa.sw` works in Cửa Lò (413).
async fn world() -> World {
    let mut env = TestEnv::new().await;
    env.settings.auth.mfa_required_roles.clear();
    let server = TestServer::start(env.state().await).await;
    let worker = add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let outsider = add_user(&server.state, "hoa.sw", Role::SocialWorker, "413").await;
    add_user(&server.state, "mai.sup", Role::Supervisor, "412").await;
    add_user(&server.state, "tam.sup", Role::Supervisor, "413").await;
    add_user(&server.state, "minh.mgr", Role::Manager, "40").await;
    add_user(&server.state, "an.audit", Role::Auditor, "40").await;
    add_user(&server.state, "root.admin", Role::Admin, "40").await;
    add_user(&server.state, "thu.vol", Role::Volunteer, "412").await;
    let (client_id, code) = new_client(&server.state, "412", &worker).await;
    World {
        _env: env,
        server,
        worker,
        outsider,
        client_id,
        code,
    }
}

fn path(client: &str) -> String {
    format!("/api/v1/clients/{client}/break-glass")
}

#[tokio::test]
async fn a_grant_opens_the_client_for_one_hour() {
    let w = world().await;
    let state = &w.server.state;
    assert!(!may_read(state, &w.outsider, &w.client_id).await);
    let hoa = Api::login(&w.server, "hoa.sw").await;

    // A short reason is refused naming the field, and grants nothing.
    let res = hoa
        .post(&path(&w.client_id), json!({ "reason": "  need to see it    " }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["fields"]["reason"].is_string(), "{body}");
    let res = hoa.post(&path(&w.client_id), json!({})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(!may_read(state, &w.outsider, &w.client_id).await);

    let before = state.clock.now();
    let res = hoa
        .post(&path(&w.client_id), json!({ "reason": REASON }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let grant: Value = res.json().await.unwrap();
    assert_eq!(grant["client_code"], w.code.as_str());
    assert_eq!(grant["reason"], REASON);
    let expires: chrono::DateTime<chrono::Utc> = grant["expires_at"].as_str().unwrap().parse().unwrap();
    let lasts = expires - before;
    assert!(
        lasts <= chrono::Duration::minutes(60) + chrono::Duration::seconds(5)
            && lasts >= chrono::Duration::minutes(60) - chrono::Duration::seconds(5),
        "{lasts}"
    );
    assert!(may_read(state, &w.outsider, &w.client_id).await);

    // Flagged for the auditor, with the reason and the code; never the name.
    let row = sqlx::query(
        "SELECT actor, client_code, reason, outcome, flagged FROM audit_log WHERE action = 'break_glass' \
         AND outcome = 'success'",
    )
    .fetch_one(&state.db.pool)
    .await
    .unwrap();
    use sqlx::Row;
    assert_eq!(row.get::<String, _>("actor"), w.outsider);
    assert_eq!(row.get::<String, _>("client_code"), w.code);
    assert_eq!(row.get::<String, _>("reason"), REASON);
    assert!(row.try_get::<hoanhap::db::Flag, _>("flagged").unwrap().0);

    // One hour later, access is gone.
    state.clock.advance(chrono::Duration::minutes(61));
    assert!(!may_read(state, &w.outsider, &w.client_id).await);
    assert!(!crate::kit::captured_logs().contains(NAME));
}

#[tokio::test]
async fn the_grant_works_through_the_client_api() {
    let w = world().await;
    let hoa = Api::login(&w.server, "hoa.sw").await;
    let read = format!("/api/v1/clients/{}", w.client_id);
    let before = hoa.get(&read).send().await.unwrap().status();
    assert!(before == 403 || before == 404, "{before}");
    let res = hoa
        .post(&path(&w.code), json!({ "reason": REASON }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "the code works as well as the id");
    let res = hoa.get(&read).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let client: Value = res.json().await.unwrap();
    assert_eq!(client["code"], w.code.as_str());
    w.server.state.clock.advance(chrono::Duration::minutes(61));
    let after = hoa.get(&read).send().await.unwrap().status();
    assert!(after == 403 || after == 404, "{after}");
}

#[tokio::test]
async fn only_case_workers_outside_their_scope_may_break_glass() {
    let w = world().await;
    let body = json!({ "reason": REASON });
    // Roles that never see client data.
    for name in ["minh.mgr", "an.audit", "root.admin", "thu.vol"] {
        let api = Api::login(&w.server, name).await;
        let res = api.post(&path(&w.client_id), body.clone()).send().await.unwrap();
        assert!(res.status() == 403 || res.status() == 404, "{name}: {}", res.status());
    }
    // The client is already in the worker's and the district supervisor's scope.
    for name in ["lan.sw", "mai.sup"] {
        let api = Api::login(&w.server, name).await;
        let res = api.post(&path(&w.client_id), body.clone()).send().await.unwrap();
        assert_eq!(res.status(), 403, "{name}");
    }
    // A supervisor of another district may.
    let tam = Api::login(&w.server, "tam.sup").await;
    let res = tam.post(&path(&w.client_id), body.clone()).send().await.unwrap();
    assert_eq!(res.status(), 201);
    // An unknown client is 404.
    let res = tam.post(&path("no-such-client"), body).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let grants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM break_glass_grants")
        .fetch_one(&w.server.state.db.pool)
        .await
        .unwrap();
    assert_eq!(grants, 1);
}

#[tokio::test]
async fn grants_are_shown_to_the_assigned_worker_and_the_auditor() {
    let w = world().await;
    let hoa = Api::login(&w.server, "hoa.sw").await;
    let res = hoa
        .post(&path(&w.client_id), json!({ "reason": REASON }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // Another client of Cửa Lò, not on anyone's list above.
    let (_, other_code) = new_client(&w.server.state, "413", &w.outsider).await;
    let tam = Api::login(&w.server, "tam.sup").await;
    assert_eq!(
        Api::login(&w.server, "mai.sup")
            .await
            .post(&path(&other_code), json!({ "reason": REASON }))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );

    let list = |api: &Api| {
        let req = api.get("/api/v1/break-glass");
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            (status, body)
        }
    };
    let codes = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["client_code"].as_str().unwrap().to_owned())
            .collect()
    };

    let lan = Api::login(&w.server, "lan.sw").await;
    let (status, body) = list(&lan).await;
    assert_eq!(status, 200);
    assert_eq!(codes(&body), vec![w.code.clone()]);
    let grant = &body["items"][0];
    assert_eq!(grant["username"], "hoa.sw");
    assert_eq!(grant["user_id"], w.outsider.as_str());
    assert_eq!(grant["reason"], REASON);
    assert_eq!(grant["active"], true);
    assert!(grant["granted_at"].is_string() && grant["expires_at"].is_string());

    let auditor = Api::login(&w.server, "an.audit").await;
    let (status, body) = list(&auditor).await;
    assert_eq!(status, 200);
    assert_eq!(codes(&body).len(), 2);

    // The supervisor of Cửa Lò sees the grant on her district's client.
    let (_, body) = list(&tam).await;
    assert_eq!(codes(&body), vec![other_code.clone()]);
    // The holder sees her own grant.
    let (_, body) = list(&hoa).await;
    assert!(codes(&body).contains(&w.code));

    for name in ["minh.mgr", "root.admin", "thu.vol"] {
        let api = Api::login(&w.server, name).await;
        let (status, _) = list(&api).await;
        assert_eq!(status, 403, "{name}");
    }

    w.server.state.clock.advance(chrono::Duration::minutes(61));
    let (_, body) = list(&lan).await;
    assert_eq!(body["items"][0]["active"], false);
    let res = lan.get("/api/v1/break-glass?active=true").send().await.unwrap();
    let body: Value = res.json().await.unwrap();
    assert!(codes(&body).is_empty());
    assert_eq!(w.worker, lan.user["id"].as_str().unwrap());
}

/// Existence checks answer the same way whether a code is unknown or only not the
/// caller's to know, check their input before anything is looked up, are audited, and
/// never carry a client code in a URL.
#[tokio::test]
async fn existence_checks_answer_alike_and_codes_never_travel_in_urls() {
    let w = world().await;
    let outsider = Api::login(&w.server, "hoa.sw").await;
    let manager = Api::login(&w.server, "minh.mgr").await;
    let state = &w.server.state;

    // A short reason is refused before the code is looked up: the same 422 for a real
    // code and a made-up one.
    let short = json!({ "reason": "gấp" });
    let mut answers = Vec::new();
    for code in [w.code.as_str(), "NA-2024-99999"] {
        let res = outsider.post(&path(code), short.clone()).send().await.unwrap();
        answers.push((res.status().as_u16(), res.text().await.unwrap()));
    }
    assert_eq!(answers[0].0, 422);
    assert_eq!(answers[0], answers[1]);

    // With a good reason: a made-up code, and a real code asked by someone who may not
    // break glass, get the same 404.
    let unknown = outsider
        .post(&path("NA-2024-99999"), json!({ "reason": REASON }))
        .send()
        .await
        .unwrap();
    let hidden = manager
        .post(&path(&w.code), json!({ "reason": REASON }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(hidden.status(), 404);
    let unknown: Value = unknown.json().await.unwrap();
    let hidden: Value = hidden.json().await.unwrap();
    assert_eq!(unknown, hidden);
    // Both audited; the made-up text is not kept.
    let denied: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT actor, client_code, object_id FROM audit_log WHERE action = 'break_glass' AND outcome = 'denied' \
         ORDER BY seq",
    )
    .fetch_all(&state.db.pool)
    .await
    .unwrap();
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert!(
        denied
            .iter()
            .all(|(_, _, object)| object.as_deref() != Some("NA-2024-99999"))
    );

    // Finding a case by code is a form POST: a GET with the code in the query string is
    // not served, so no proxy log holds it.
    let res = outsider
        .get(&format!("/clients/find?code={}", w.code))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let find = |api: &Api, code: &str| {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("code", code)
            .append_pair("csrf_token", &api.csrf)
            .finish();
        api.send(reqwest::Method::POST, "/clients/find")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let volunteer = Api::login(&w.server, "thu.vol").await;
    let unknown = find(&volunteer, "NA-2024-99999").await.unwrap();
    let not_hers = find(&volunteer, &w.code).await.unwrap();
    assert_eq!(unknown.status(), 422);
    assert_eq!(not_hers.status(), 422);
    let strip = |html: String, code: &str| html.replace(code, "CODE").replace("NA-2024-99999", "CODE");
    let unknown = strip(unknown.text().await.unwrap(), &w.code);
    let not_hers = strip(not_hers.text().await.unwrap(), &w.code);
    let main = |html: &str| html[html.find("<main").unwrap()..].to_owned();
    assert_eq!(main(&unknown), main(&not_hers));
    let finds: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT outcome, client_code FROM audit_log WHERE action = 'client_find' ORDER BY seq")
            .fetch_all(&state.db.pool)
            .await
            .unwrap();
    assert_eq!(
        finds,
        vec![("denied".to_owned(), None), ("denied".to_owned(), Some(w.code.clone()))]
    );
}
