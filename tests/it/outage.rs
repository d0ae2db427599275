//! PostgreSQL restarted under load: the server answers 503 (never 500) while the database
//! is down and recovers by itself when it is back. Stops the shared PostgreSQL server, so
//! `.ci/run` runs it alone, after the rest of the suite.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::kit::world::{intake, open_case, person};
use crate::kit::{Api, TestEnv, TestServer, add_user};

fn cluster(action: &str) {
    let version = std::fs::read_dir("/etc/postgresql")
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let status = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", version.to_str().unwrap(), "main", action])
        .args(if action == "stop" { &["-m", "fast"][..] } else { &[][..] })
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctlcluster {action} failed");
}

/// Starts PostgreSQL again however the test ends.
struct Restart;

impl Drop for Restart {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| cluster("start"));
    }
}

#[tokio::test]
#[ignore = "stops the PostgreSQL server: .ci/run runs it alone with HOANHAP_TEST_DATABASE_URL set"]
async fn the_server_answers_503_while_postgresql_is_down_and_recovers_by_itself() {
    let mut env = TestEnv::new().await;
    assert!(
        env.db.is_postgres(),
        "set HOANHAP_TEST_DATABASE_URL to a PostgreSQL database"
    );
    env.settings.auth.mfa_required_roles.clear();
    let state = env.state().await;
    add_user(&state, "sw.vinh", hoanhap::policy::Role::SocialWorker, "412").await;
    let server = TestServer::start(state).await;
    let sw = Api::login(&server, "sw.vinh").await;
    let client = open_case(&sw, intake()).await;
    let read = format!("/api/v1/clients/{}", client["id"].as_str().unwrap());

    // Load all along: reads from four tasks until told to stop.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (api, path, stop) = (sw.clone(), read.clone(), stop.clone());
        load.spawn(async move {
            let mut statuses = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(res) = api.get(&path).send().await {
                    statuses.push(res.status().as_u16());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            statuses
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let restart = Restart;
    cluster("stop");
    let ready = crate::kit::http_client()
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let res = sw.get(&read).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    let res = sw
        .post("/api/v1/clients", person("Người Lúc Mất Điện", "1990-09-09"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    tokio::time::sleep(Duration::from_millis(500)).await;

    cluster("start");
    drop(restart);
    let started = Instant::now();
    loop {
        let ready = crate::kit::http_client()
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap();
        if ready.status() == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not ready a minute after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Recovered without a restart: reads, writes and the session all work again.
    let mut ok = false;
    for _ in 0..50 {
        if sw.get(&read).send().await.unwrap().status() == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "reads do not recover");
    let res = sw
        .post("/api/v1/clients", person("Người Sau Khi Có Điện", "1990-10-10"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut seen = Vec::new();
    while let Some(statuses) = load.join_next().await {
        seen.extend(statuses.unwrap());
    }
    assert!(!seen.contains(&500), "a 500 under the outage: {seen:?}");
    assert!(seen.contains(&503) && seen.contains(&200), "{seen:?}");
    assert!(matches!(
        server.state.audit_log.verify().await.unwrap(),
        hoanhap::audit::Verification::Intact { .. }
    ));
    server.stop().await;
}
