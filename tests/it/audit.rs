//! The audit trail: tampering is found by the API and the command line, a long trail
//! written concurrently verifies, only auditors read it, it never holds a client's name,
//! and a request whose audit entry cannot be written returns no data.

use std::process::{Command, Output};

use crate::kit::{Api, TestEnv, add_user, server_without_mfa};
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

fn form(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
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
    let (env, server) = server_without_mfa().await;
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
    assert_eq!(broken["ok"], false, "{broken}");
    assert_eq!(broken["first_bad_seq"], k, "{broken}");
    assert!(broken.get("entries").is_none(), "{broken}");
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
    let (_env, server) = server_without_mfa().await;
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
        // A query the API would refuse is still refused as a denial first, audited.
        for path in [
            "/api/v1/audit",
            "/api/v1/audit/verify",
            "/api/v1/audit?flagged=true",
            "/api/v1/audit?no_such_filter=1",
        ] {
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
    let res = crate::kit::http_client()
        .get(server.url("/api/v1/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn the_trail_never_holds_a_client_name() {
    let (_env, server) = server_without_mfa().await;
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
    let logs = crate::kit::captured_logs();
    for word in [NAME, PHONE, "040198001234"] {
        assert!(!logs.contains(word), "the log holds `{word}`");
    }
}

#[tokio::test]
async fn no_audit_entry_no_data() {
    let (_env, server) = server_without_mfa().await;
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

/// The truncation attack: delete the newest entries and set `audit_head` back. The chain
/// that is left verifies on its own; a checkpoint the auditor kept, and the head stored
/// in a statistics release, find it, by the command line, the API and the page.
#[tokio::test]
async fn truncating_the_trail_is_found_by_a_checkpoint_and_by_release_heads() {
    let (env, server) = server_without_mfa().await;
    add_user(&server.state, "an.audit", Role::Auditor, "40").await;
    add_user(&server.state, "minh.mgr", Role::Manager, "40").await;
    append_some(&server.state, 10).await;
    let db = &server.state.db.pool;
    // The entry the attacker will go back to.
    let (keep, keep_mac): (i64, Vec<u8>) = sqlx::query_as("SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_one(db)
        .await
        .unwrap();
    // A release stores the head after `keep`.
    let manager = Api::login(&server, "minh.mgr").await;
    let res = manager
        .post("/api/v1/stats/releases", json!({ "period": "2024-H1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let release: Value = res.json().await.unwrap();
    let release_id = release["id"].as_str().unwrap().to_owned();
    let head_seq: i64 = release["audit_head"]
        .as_str()
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(head_seq > keep, "{release}");
    append_some(&server.state, 5).await;

    // The auditor takes a checkpoint with the command line, and one over the API.
    let file = env.dir.path().join("checkpoint.json");
    let out = hoanhap(&env, &["audit", "checkpoint", "--output", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(kept["format"], "hoanhap-audit-checkpoint/1");
    let kept_seq = kept["seq"].as_i64().unwrap();
    assert!(kept_seq > head_seq, "{kept}");
    // Never overwritten.
    let again = hoanhap(&env, &["audit", "checkpoint", "--output", file.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    let auditor = Api::login(&server, "an.audit").await;
    let res = auditor
        .post("/api/v1/audit/checkpoint", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let api_kept: Value = res.json().await.unwrap();
    assert!(api_kept["seq"].as_i64().unwrap() > kept_seq);

    // Untouched: everything passes.
    let out = hoanhap(&env, &["audit", "verify", "--checkpoint", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("is in the chain"), "{stdout}");
    assert!(stdout.contains("1 statistics releases"), "{stdout}");
    let verify_with = |checkpoint: Value| {
        let auditor = &auditor;
        async move {
            let res = auditor
                .post("/api/v1/audit/verify", json!({ "checkpoint": checkpoint }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let body = verify_with(api_kept.clone()).await;
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["checkpoint"]["contained"], true, "{body}");
    assert_eq!(body["releases"]["checked"], 1, "{body}");

    // The attack, by SQL: the newest entries go, the head is set back to `keep`.
    sqlx::query("DELETE FROM audit_log WHERE seq > $1")
        .bind(keep)
        .execute(db)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_head SET seq = $1, mac = $2 WHERE id = 1")
        .bind(keep)
        .bind(&keep_mac)
        .execute(db)
        .await
        .unwrap();
    // The chain alone cannot see it.
    assert!(matches!(
        server.state.audit_log.verify().await.unwrap(),
        Verification::Intact { .. }
    ));
    // The server goes on writing valid entries past the checkpoint's seq: that entry now
    // exists again, with another MAC.
    append_some(&server.state, (kept_seq - keep) as usize + 5).await;
    assert!(matches!(
        server.state.audit_log.verify().await.unwrap(),
        Verification::Intact { .. }
    ));

    // The command line fails, naming the checkpoint and the release.
    let out = hoanhap(&env, &["audit", "verify", "--checkpoint", file.to_str().unwrap()]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains(&format!("checkpoint seq {kept_seq}")), "{all}");
    assert!(all.contains("NOT in the chain"), "{all}");
    assert!(all.contains(&release_id), "{all}");
    // Without the checkpoint, the release head alone finds it.
    let out = hoanhap(&env, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    // The API.
    let body = verify_with(api_kept.clone()).await;
    assert_eq!(body["ok"], false, "{body}");
    assert_eq!(body["checkpoint"]["contained"], false, "{body}");
    assert_eq!(body["checkpoint"]["seq"], api_kept["seq"], "{body}");
    assert_eq!(body["releases"]["not_in_chain"], json!([release_id]), "{body}");
    let res = auditor.get("/api/v1/audit/verify").send().await.unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["ok"], false, "{body}");
    assert_eq!(body["releases"]["not_in_chain"], json!([release_id]), "{body}");
    // The page, with the checkpoint pasted.
    let text = std::fs::read_to_string(&file).unwrap();
    let res = auditor
        .http
        .post(server.url("/audit/verify"))
        .header("accept-language", "en")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("csrf_token", auditor.csrf.as_str()),
            ("checkpoint", text.as_str()),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("The trail no longer holds the checkpoint"), "{page}");
    assert!(page.contains(&format!("seq {kept_seq} ")), "{page}");
    assert!(page.contains(&release_id), "{page}");
}

/// A checkpoint edited to name an entry that is still there, or taken from another
/// installation, is refused (422), not believed.
#[tokio::test]
async fn an_altered_checkpoint_is_refused() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "an.audit", Role::Auditor, "40").await;
    append_some(&server.state, 3).await;
    let auditor = Api::login(&server, "an.audit").await;
    let res = auditor
        .post("/api/v1/audit/checkpoint", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let kept: Value = res.json().await.unwrap();
    let mut forged = kept.clone();
    forged["seq"] = json!(2);
    forged["mac"] = json!(hex::encode(
        sqlx::query_scalar::<_, Vec<u8>>("SELECT mac FROM audit_log WHERE seq = 2")
            .fetch_one(&server.state.db.pool)
            .await
            .unwrap()
    ));
    let mut other_key = kept.clone();
    other_key["key_id"] = json!("0000000000000000");
    for (bad, message) in [
        (forged, "signature does not match"),
        (other_key, "another master key"),
        (json!({ "format": "x" }), "Required"),
    ] {
        let res = auditor
            .post("/api/v1/audit/verify", json!({ "checkpoint": bad }))
            .header("accept-language", "en")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert!(body["error"]["fields"].to_string().contains(message), "{body}");
    }
    let res = auditor
        .http
        .post(server.url("/audit/verify"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("csrf_token", auditor.csrf.as_str()),
            ("checkpoint", "{not json"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    // The untouched checkpoint still passes.
    let res = auditor
        .post("/api/v1/audit/verify", json!({ "checkpoint": kept }))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["ok"], true, "{body}");
}

/// The auditor's page: download a checkpoint, paste it back, and the page says the trail
/// holds it.
#[tokio::test]
async fn the_page_downloads_a_checkpoint_and_checks_it() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "an.audit", Role::Auditor, "40").await;
    append_some(&server.state, 2).await;
    let auditor = Api::login(&server, "an.audit").await;
    let post = |path: &str, fields: &[(&str, &str)]| {
        auditor
            .http
            .post(server.url(path))
            .header("accept-language", "en")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(fields))
            .send()
    };
    let res = post("/audit/checkpoint", &[("csrf_token", auditor.csrf.as_str())])
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"hoanhap-audit-checkpoint-"),
        "{disposition}"
    );
    let file = res.text().await.unwrap();
    let kept: Value = serde_json::from_str(&file).unwrap();
    let seq = kept["seq"].as_i64().unwrap();
    // Without the CSRF token: refused.
    assert_eq!(post("/audit/checkpoint", &[]).await.unwrap().status(), 403);
    let res = post(
        "/audit/verify",
        &[("csrf_token", auditor.csrf.as_str()), ("checkpoint", file.as_str())],
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("The trail holds the checkpoint"), "{page}");
    assert!(page.contains(&format!("seq {seq} ")), "{page}");
    // An empty paste is a field error, in the user's language.
    let res = post(
        "/audit/verify",
        &[("csrf_token", auditor.csrf.as_str()), ("checkpoint", " ")],
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Required."));
}
