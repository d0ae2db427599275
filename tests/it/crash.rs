//! Crash safety: the real server killed with SIGKILL 50 times under concurrent intakes,
//! needs and referrals. After each kill, every write that had been answered 201 is there
//! with its audit entry, no client is half written, and the audit trail verifies.
//! Slow (a minute or two): `.ci/run` runs it on both engines.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};

use crate::kit::world::{intake, person};
use crate::kit::{Api, TestEnv, add_user};

const ROUNDS: usize = 50;
const WRITERS: usize = 4;

/// The writes a client answered 201 to.
#[derive(Default)]
struct Acknowledged {
    clients: Vec<(String, String)>,
    needs: Vec<String>,
    referrals: Vec<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(env: &TestEnv, config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hoanhap"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env_clear()
        .env("HOANHAP_DATABASE_URL", &env.db.url)
        .current_dir(env.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(base: &str) {
    let started = Instant::now();
    loop {
        if let Ok(res) = reqwest::get(format!("{base}/readyz")).await
            && res.status() == 200
        {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not start");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// One writer: intake, a need, a referral, again and again, noting each 201.
async fn write(api: Api, round: usize, writer: usize, done: Arc<Mutex<Acknowledged>>) {
    for i in 0.. {
        let body = if i % 3 == 0 {
            intake()
        } else {
            person(&format!("Người Thử {round}-{writer}-{i}"), "1992-02-02")
        };
        let Ok(res) = api.post("/api/v1/clients", body).send().await else {
            return;
        };
        if res.status() != 201 {
            return;
        }
        let Ok(client) = res.json::<Value>().await else { return };
        let (id, code) = (
            client["id"].as_str().unwrap().to_owned(),
            client["code"].as_str().unwrap().to_owned(),
        );
        done.lock().unwrap().clients.push((id.clone(), code));
        let need = json!({ "category": "loan", "detail": "Vay vốn nhỏ" });
        let Ok(res) = api.post(&format!("/api/v1/clients/{id}/needs"), need).send().await else {
            return;
        };
        if res.status() != 201 {
            return;
        }
        let Ok(need) = res.json::<Value>().await else { return };
        done.lock().unwrap().needs.push(need["id"].as_str().unwrap().to_owned());
        let referral = json!({ "category": "loan", "need_id": need["id"] });
        let Ok(res) = api
            .post(&format!("/api/v1/clients/{id}/referrals"), referral)
            .send()
            .await
        else {
            return;
        };
        if res.status() != 201 {
            return;
        }
        let Ok(referral) = res.json::<Value>().await else {
            return;
        };
        done.lock()
            .unwrap()
            .referrals
            .push(referral["id"].as_str().unwrap().to_owned());
    }
}

async fn strings(pool: &sqlx::AnyPool, sql: &str) -> BTreeSet<String> {
    sqlx::query_scalar::<_, String>(sql)
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// What must hold after a kill.
async fn check(env: &TestEnv, done: &Acknowledged, round: usize) {
    let state = env.state().await;
    let pool = &state.db.pool;
    let clients = strings(pool, "SELECT id FROM clients").await;
    let needs = strings(pool, "SELECT id FROM needs").await;
    let referrals = strings(pool, "SELECT id FROM referrals").await;
    for (id, code) in &done.clients {
        assert!(
            clients.contains(id),
            "round {round}: client {code} was answered 201 and is gone"
        );
    }
    for id in &done.needs {
        assert!(
            needs.contains(id),
            "round {round}: need {id} was answered 201 and is gone"
        );
    }
    for id in &done.referrals {
        assert!(
            referrals.contains(id),
            "round {round}: referral {id} was answered 201 and is gone"
        );
    }
    // No half-written client: each has her key, her case period, her area and her consent.
    for (table, column) in [
        ("client_keys", "client_id"),
        ("case_periods", "client_id"),
        ("client_areas", "client_id"),
        ("consents", "client_id"),
    ] {
        let with: BTreeSet<String> = strings(pool, &format!("SELECT DISTINCT {column} FROM {table}")).await;
        let missing: Vec<&String> = clients.difference(&with).collect();
        assert!(
            missing.is_empty(),
            "round {round}: clients without {table}: {missing:?}"
        );
    }
    // Every acknowledged write has its audit entry.
    let created = strings(pool, "SELECT client_code FROM audit_log WHERE action = 'client_create'").await;
    let needs_audited = strings(pool, "SELECT object_id FROM audit_log WHERE action = 'need_record'").await;
    let referrals_audited = strings(pool, "SELECT object_id FROM audit_log WHERE action = 'referral_create'").await;
    for (_, code) in &done.clients {
        assert!(
            created.contains(code),
            "round {round}: the intake of {code} has no audit entry"
        );
    }
    for id in &done.needs {
        assert!(
            needs_audited.contains(id),
            "round {round}: need {id} has no audit entry"
        );
    }
    for id in &done.referrals {
        assert!(
            referrals_audited.contains(id),
            "round {round}: referral {id} has no audit entry"
        );
    }
    // And no entry of a write that is not there.
    let codes = strings(pool, "SELECT code FROM clients").await;
    assert!(
        created.is_subset(&codes),
        "round {round}: an intake audited but not stored"
    );
    assert!(matches!(
        state.audit_log.verify().await.unwrap(),
        hoanhap::audit::Verification::Intact { .. }
    ));
}

#[tokio::test]
#[ignore = "kills the server 50 times (a minute or two): .ci/run runs it on both engines"]
async fn fifty_kills_under_load_lose_no_acknowledged_write_nor_its_audit_entry() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    add_user(&state, "sw.vinh", hoanhap::policy::Role::SocialWorker, "412").await;
    drop(state);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = env.dir.path().join("hoanhap.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\n\n[auth]\nmfa_required_roles = []\ninsecure_cookies = true\n\n\
             [programme]\narea_seed = \"nghe-an-2024\"\n\n[log]\nlevel = \"warn\"\n",
            env.data_dir().display()
        ),
    )
    .unwrap();

    let done = Arc::new(Mutex::new(Acknowledged::default()));
    let mut total = Acknowledged::default();
    for round in 0..ROUNDS {
        let mut server = start(&env, &config);
        wait_ready(&base).await;
        let api = Api::login_at(&base, "sw.vinh").await;
        let mut writers = tokio::task::JoinSet::new();
        for writer in 0..WRITERS {
            writers.spawn(write(api.clone(), round, writer, done.clone()));
        }
        let pause = rand::thread_rng().gen_range(50..400);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        writers.abort_all();
        while writers.join_next().await.is_some() {}
        // Everything acknowledged so far must still be there, not only this round's.
        let fresh = std::mem::take(&mut *done.lock().unwrap());
        total.clients.extend(fresh.clients);
        total.needs.extend(fresh.needs);
        total.referrals.extend(fresh.referrals);
        check(&env, &total, round).await;
    }
    assert!(
        total.clients.len() > ROUNDS,
        "too few writes got through to test anything"
    );
    assert!(!total.referrals.is_empty());
}
