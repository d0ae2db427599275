//! The audit trail: tampering is found by the API and the command line, a long trail
//! written concurrently verifies, only auditors read it, it never holds a client's name,
//! and a request whose audit entry cannot be written returns no data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output};

use common::{Api, TestEnv, TestServer, add_user};
use hoanhap::AppState;
use hoanhap::audit::{Event, Outcome, Verification};
use hoanhap::clients::NewClient;
use hoanhap::crypto::Sensitive;
use hoanhap::policy::Role;
use serde_json::{Value, json};

const NAME: &str = "Phạm Thị Thanh Xuân";
const PHONE: &str = "0912 345 678";

fn hoanhap(env: &TestEnv, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hoanhap"))
        .args(args)
        .env_clear()
        .env("HOANHAP_DATA_DIR", env.data_dir())
        .env("HOANHAP_DATABASE_URL", &env.db.url)
        .current_dir(env.dir.path())
        .output()
        .unwrap()
}

async fn server() -> (TestEnv, TestServer) {
    let mut env = TestEnv::new().await;
    env.settings.auth.mfa_required_roles.clear();
    let server = TestServer::start(env.state().await).await;
    (env, server)
}

async fn new_client(state: &AppState, area: &str, worker: &str) -> (String, String) {
    let created = state
        .clients
        .create(
            &NewClient {
                area: area.into(),
                full_name: Sensitive::new(NAME.into()),
                chosen_name: Some(Sensitive::new("Xuân".into())),
                date_of_birth: "1998-09-02".parse().unwrap(),
                id_number: Some(Sensitive::new("040198001234".into())),
                phone: Some(Sensitive::new(PHONE.into())),
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

async fn append_some(state: &AppState, n: usize) {
    for i in 0..n {
        state
            .audit_log
            .append(
                Event::new(format!("user-{i}"), "test_event", Outcome::Success).object(&i.to_string()),
                state.clock.now(),
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn changing_one_entry_is_found_by_the_api_and_by_the_command() {
    let (env, server) = server().await;
    add_user(&server.state, "an.audit", Role::Auditor, "40").await;
    append_some(&server.state, 12).await;
    let auditor = Api::login(&server, "an.audit").await;
    let verify = || async {
        let res = auditor.get("/api/v1/audit/verify").send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()
    };
    let intact = verify().await;
    assert_eq!(intact["ok"], true, "{intact}");
    assert!(intact["entries"].as_i64().unwrap() >= 12);

    let out = hoanhap(&env, &["audit", "verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("entries"), "{stdout}");

    // One byte of one row.
    let k = 7_i64;
    let original: String = sqlx::query_scalar("SELECT action FROM audit_log WHERE seq = $1")
        .bind(k)
        .fetch_one(&server.state.db.pool)
        .await
        .unwrap();
    let mut altered = original.clone().into_bytes();
    altered[0] ^= 0x01;
    let altered = String::from_utf8(altered).unwrap();
    sqlx::query("UPDATE audit_log SET action = $1 WHERE seq = $2")
        .bind(&altered)
        .bind(k)
        .execute(&server.state.db.pool)
        .await
        .unwrap();

    let broken = verify().await;
    assert_eq!(broken, json!({ "ok": false, "first_bad_seq": k }));
    assert_eq!(
        server.state.audit_log.verify().await.unwrap(),
        Verification::Broken {
            ok: false,
            first_bad_seq: k
        }
    );
    let out = hoanhap(&env, &["audit", "verify"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains(&format!("seq {k}")), "{all}");
    assert!(!all.contains("panicked"), "{all}");

    // Put the byte back: the chain holds again, entries added meanwhile included.
    sqlx::query("UPDATE audit_log SET action = $1 WHERE seq = $2")
        .bind(&original)
        .bind(k)
        .execute(&server.state.db.pool)
        .await
        .unwrap();
    assert_eq!(verify().await["ok"], true);

    // Removing the newest entries is found too (the head no longer matches).
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log")
        .fetch_one(&server.state.db.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = $1")
        .bind(last)
        .execute(&server.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        server.state.audit_log.verify().await.unwrap(),
        Verification::Broken {
            ok: false,
            first_bad_seq: last
        }
    );
}

#[tokio::test]
async fn ten_thousand_entries_written_concurrently_form_one_intact_chain() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10_000 {
        let log = state.audit_log.clone();
        let at = state.clock.now();
        tasks.spawn(async move {
            log.append(
                Event::new(format!("user-{}", i % 37), "test_event", Outcome::Success).object(&i.to_string()),
                at,
            )
            .await
            .unwrap()
        });
    }
    let mut seqs = Vec::with_capacity(10_000);
    while let Some(seq) = tasks.join_next().await {
        seqs.push(seq.unwrap());
    }
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 10_000, "every entry has its own sequence number");
    assert_eq!(
        state.audit_log.verify().await.unwrap(),
        Verification::Intact {
            ok: true,
            entries: 10_000
        }
    );
    // Batching: one transaction per entry would take far longer on a 2-core machine.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn only_auditors_read_the_trail() {
    let (_env, server) = server().await;
    for (name, role, area) in [
        ("an.audit", Role::Auditor, "40"),
        ("root.admin", Role::Admin, "40"),
        ("minh.mgr", Role::Manager, "40"),
        ("mai.sup", Role::Supervisor, "412"),
        ("lan.sw", Role::SocialWorker, "412"),
        ("thu.vol", Role::Volunteer, "412"),
    ] {
        add_user(&server.state, name, role, area).await;
    }
    for name in ["root.admin", "minh.mgr", "mai.sup", "lan.sw", "thu.vol"] {
        let api = Api::login(&server, name).await;
        for path in ["/api/v1/audit", "/api/v1/audit/verify", "/api/v1/audit?flagged=true"] {
            let res = api.get(path).send().await.unwrap();
            assert_eq!(res.status(), 403, "{name} {path}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "forbidden");
            assert!(body.get("items").is_none());
        }
    }
    let auditor = Api::login(&server, "an.audit").await;
    let res = auditor.get("/api/v1/audit").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    // The refusals above are in the trail, as denials.
    assert!(
        items
            .iter()
            .any(|e| e["action"] == "audit_read" && e["outcome"] == "denied"),
        "{body}"
    );
    assert_eq!(auditor.get("/api/v1/audit/verify").send().await.unwrap().status(), 200);
    // Unauthenticated: 401.
    let res = common::http_client()
        .get(server.url("/api/v1/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn the_trail_never_holds_a_client_name() {
    let (_env, server) = server().await;
    let worker = add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    add_user(&server.state, "hoa.sw", Role::SocialWorker, "413").await;
    add_user(&server.state, "an.audit", Role::Auditor, "40").await;
    let (id, code) = new_client(&server.state, "412", &worker).await;

    let lan = Api::login(&server, "lan.sw").await;
    let hoa = Api::login(&server, "hoa.sw").await;
    let res = hoa
        .post(
            &format!("/api/v1/clients/{id}/break-glass"),
            json!({ "reason": "Her worker is away and she needs a referral today." }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // Reads of the client and of the grants.
    for api in [&lan, &hoa] {
        let res = api.get(&format!("/api/v1/clients/{id}")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains(NAME), "the reader sees the name");
        assert_eq!(api.get("/api/v1/clients").send().await.unwrap().status(), 200);
    }
    assert_eq!(lan.get("/api/v1/break-glass").send().await.unwrap().status(), 200);
    let auditor = Api::login(&server, "an.audit").await;
    assert_eq!(auditor.get("/api/v1/audit").send().await.unwrap().status(), 200);

    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT at || '|' || actor || '|' || COALESCE(actor_role, '') || '|' || action || '|' || \
         COALESCE(client_code, '') || '|' || COALESCE(object_id, '') || '|' || COALESCE(reason, '') || '|' || outcome \
         FROM audit_log ORDER BY seq",
    )
    .fetch_all(&server.state.db.pool)
    .await
    .unwrap();
    assert!(rows.len() >= 5, "{rows:?}");
    assert!(rows.iter().any(|r| r.contains(&code)), "the code is what is recorded");
    let trail = rows.join("\n");
    for word in [NAME, "Thanh Xuân", "Xuân", PHONE, "040198001234", "1998-09-02"] {
        assert!(!trail.contains(word), "the audit trail holds `{word}`");
    }
    let logs = common::captured_logs();
    for word in [NAME, PHONE, "040198001234"] {
        assert!(!logs.contains(word), "the log holds `{word}`");
    }
}

#[tokio::test]
async fn no_audit_entry_no_data() {
    let (_env, server) = server().await;
    let worker = add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    add_user(&server.state, "hoa.sw", Role::SocialWorker, "413").await;
    let (id, code) = new_client(&server.state, "412", &worker).await;
    let reason = "Her worker is away and she needs a referral today.";
    let hoa = Api::login(&server, "hoa.sw").await;
    let res = hoa
        .post(
            &format!("/api/v1/clients/{id}/break-glass"),
            json!({ "reason": reason }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let lan = Api::login(&server, "lan.sw").await;
    assert_eq!(
        lan.get(&format!("/api/v1/clients/{id}")).send().await.unwrap().status(),
        200
    );
    assert_eq!(lan.get("/api/v1/break-glass").send().await.unwrap().status(), 200);

    sqlx::query("DROP TABLE audit_log")
        .execute(&server.state.db.pool)
        .await
        .unwrap();

    // The grant list shows client codes and reasons: without its audit entry, nothing.
    let res = lan.get("/api/v1/break-glass").send().await.unwrap();
    assert!(res.status().is_server_error(), "{}", res.status());
    let body = res.text().await.unwrap();
    assert!(!body.contains(&code) && !body.contains(reason), "{body}");
    // The client record: without its audit entry, nothing.
    let res = lan.get(&format!("/api/v1/clients/{id}")).send().await.unwrap();
    assert!(res.status().is_server_error(), "{}", res.status());
    let body = res.text().await.unwrap();
    assert!(
        !body.contains(&code) && !body.contains(NAME) && !body.contains(PHONE),
        "{body}"
    );
    // A new grant is not left behind without its entry.
    let res = hoa
        .post(
            &format!("/api/v1/clients/{id}/break-glass"),
            json!({ "reason": reason }),
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_server_error(), "{}", res.status());
    let grants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM break_glass_grants")
        .fetch_one(&server.state.db.pool)
        .await
        .unwrap();
    assert_eq!(grants, 1);
}
