//! `hoanhap demo`: the real binary fills a fresh installation (SQLite in a temporary
//! folder, or a PostgreSQL database of its own with `HOANHAP_TEST_DATABASE_URL`); then
//! every role logs in with the printed password and finds its day's work.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use crate::kit::{TestDb, TestEnv, TestServer, http_client};
use hoanhap::clients::FieldClasses;
use hoanhap::config::Settings;
use secrecy::SecretString;
use serde_json::{Value, json};

fn demo(dir: &Path, db_url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hoanhap"))
        .args(["demo", "--no-serve"])
        .env_clear()
        .env("HOANHAP_DATA_DIR", dir.join("data"))
        .env("HOANHAP_DATABASE_URL", db_url)
        .env("HOANHAP_LISTEN", "127.0.0.1:0")
        .current_dir(dir)
        .output()
        .unwrap()
}

/// `(username, password, role)` of each row of the printed accounts table.
fn printed_accounts(stdout: &str) -> Vec<(String, String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (user, password, role) = (words.next()?, words.next()?, words.next()?);
            let looks_like_password = password.len() >= 16 && password.matches('-').count() == 3;
            (user.starts_with("demo.") && looks_like_password).then(|| (user.into(), password.into(), role.into()))
        })
        .collect()
}

/// A logged-in API session.
struct Login {
    http: reqwest::Client,
    base: String,
}

impl Login {
    async fn get(&self, path: &str) -> Value {
        let res = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.unwrap()
    }
}

async fn count(state: &hoanhap::AppState, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&state.db.pool).await.unwrap()
}

#[tokio::test]
async fn demo_fills_a_fresh_installation_every_role_can_use() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path()).await;
    let out = demo(dir.path(), &db.url);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // One account per role, each with a long random password printed once, never logged.
    let accounts = printed_accounts(&stdout);
    assert_eq!(accounts.len(), 11, "{stdout}");
    for role in [
        "admin",
        "supervisor",
        "social_worker",
        "volunteer",
        "manager",
        "auditor",
    ] {
        assert!(accounts.iter().any(|(_, _, r)| r == role), "no {role}: {stdout}");
    }
    for (user, password, _) in &accounts {
        assert!(
            password.chars().filter(char::is_ascii_alphanumeric).count() >= 16,
            "{user}"
        );
        assert!(
            !stderr.contains(password.as_str()),
            "the password of {user} is in the log"
        );
        assert_eq!(stdout.matches(password.as_str()).count(), 1);
    }
    let distinct: std::collections::BTreeSet<_> = accounts.iter().map(|(_, p, _)| p).collect();
    assert_eq!(distinct.len(), accounts.len());
    // The second factor is explained, with the way round it for a quick look.
    assert!(stdout.contains("authenticator app"), "{stdout}");
    assert!(
        stdout.contains("HOANHAP_AUTH__MFA_REQUIRED_ROLES='[]' hoanhap demo"),
        "{stdout}"
    );
    assert!(stdout.contains("social_worker"), "{stdout}");
    assert!(stdout.contains("hoanhap serve"), "{stdout}");

    // The same installation, with the second factor off for this test only.
    let mut settings = Settings {
        data_dir: dir.path().join("data"),
        database_url: Some(SecretString::from(db.url.clone())),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    settings.auth.insecure_cookies = true;
    settings.auth.mfa_required_roles = Vec::new();
    let state = hoanhap::open(settings).await.unwrap();
    let server = TestServer::start(state.clone()).await;

    let mut logins = BTreeMap::new();
    for (user, password, role) in &accounts {
        let http = http_client();
        let res = http
            .post(server.url("/api/v1/session"))
            .json(&json!({ "username": user, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login of {user}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["user"]["role"], role.as_str(), "{user}");
        logins.insert(
            user.clone(),
            Login {
                http,
                base: format!("http://{}", server.addr),
            },
        );
    }
    let as_user = |name: &str| logins.get(name).unwrap_or_else(|| panic!("no login for {name}"));

    // Social workers have caseloads in their own district; supervisors have alerts.
    for (worker, area) in [
        ("demo.sw.vinh", "412"),
        ("demo.sw.quynhluu", "421"),
        ("demo.sw.dienchau", "425"),
    ] {
        let items = as_user(worker).get("/api/v1/clients").await["items"]
            .as_array()
            .unwrap()
            .clone();
        assert!(items.len() >= 10, "{worker}: {} clients", items.len());
        assert!(items.iter().all(|c| c["area"] == area), "{worker}");
    }
    let alerts = as_user("demo.sup.vinh").get("/api/v1/alerts").await;
    let kinds: Vec<&str> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"child_protection"), "{alerts}");
    let follow_ups = as_user("demo.sup.vinh").get("/api/v1/follow-ups?all=true").await;
    assert!(!follow_ups["items"].as_array().unwrap().is_empty());

    // Volunteers see their assigned clients: code and chosen name, never the full name.
    for volunteer in ["demo.vol.vinh", "demo.vol.quynhluu"] {
        let list = as_user(volunteer).get("/api/v1/clients").await;
        let items = list["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{volunteer} has no clients");
        for item in items {
            assert!(item["code"].is_string());
            assert!(item["chosen_name"].as_str().unwrap().contains("DEMO"));
            for hidden in ["full_name", "date_of_birth", "id_number", "address", "notes"] {
                assert!(item.get(hidden).is_none(), "{volunteer} sees {hidden}");
            }
        }
        let id = items[0]["id"].as_str().unwrap();
        let client = as_user(volunteer).get(&format!("/api/v1/clients/{id}")).await;
        assert!(client.get("full_name").is_none(), "{client}");
        assert!(client.get("needs").is_none(), "{client}");
        assert!(
            !client.to_string().contains(" Thị "),
            "a full name reached the volunteer: {client}"
        );
    }

    // The province manager sees the last half-year's release with a rate; the district
    // manager the same release, narrowed to Vinh.
    let period = hoanhap::demo::last_half_year(state.clock.today()).unwrap();
    let releases = as_user("demo.manager").get("/api/v1/stats/releases").await;
    let items = releases["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{releases}");
    assert_eq!(items[0]["period"], period.label.as_str());
    let id = items[0]["id"].as_str().unwrap();
    let release = as_user("demo.manager")
        .get(&format!("/api/v1/stats/releases/{id}"))
        .await;
    let rate = release["indicator"]["rate"]
        .as_f64()
        .unwrap_or_else(|| panic!("no rate: {release}"));
    assert!((0.0..=1.0).contains(&rate));
    assert!(release["indicator"]["cohort"].as_u64().unwrap() >= 20, "{release}");
    let shown_rates = release["by_area"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rate"].is_f64())
        .count();
    assert!(shown_rates >= 1, "every district is suppressed: {release}");
    let narrowed = as_user("demo.manager.vinh")
        .get(&format!("/api/v1/stats/releases/{id}"))
        .await;
    assert!(narrowed["indicator"]["rate"].is_f64());
    let rows = narrowed["by_area"].as_array().unwrap();
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r["area"] == "412"),
        "{narrowed}"
    );

    // The auditor's chain holds; the admin sees the accounts.
    let verify = as_user("demo.auditor").get("/api/v1/audit/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
    let users = as_user("demo.admin").get("/api/v1/users").await;
    assert_eq!(users["items"].as_array().unwrap().len(), 11);

    // What was stored: dates in order, every referral state, every need category, and
    // every full name saying DEMO.
    let today = state.clock.today();
    let statuses: Vec<String> = sqlx::query_scalar("SELECT DISTINCT status FROM referrals ORDER BY status")
        .fetch_all(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        statuses,
        [
            "accepted",
            "cancelled",
            "completed",
            "declined",
            "dropped_out",
            "in_service",
            "referred"
        ]
    );
    let categories: Vec<String> = sqlx::query_scalar("SELECT DISTINCT category FROM needs ORDER BY category")
        .fetch_all(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(categories.len(), 7, "{categories:?}");
    let bad_dates: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM referral_events e JOIN clients c ON c.id = e.client_id \
         WHERE e.on_date < c.opened_on OR e.on_date > $1",
    )
    .bind(today.to_string())
    .fetch_one(&state.db.pool)
    .await
    .unwrap();
    assert_eq!(bad_dates, 0);
    let oldest: String = sqlx::query_scalar("SELECT MIN(opened_on) FROM clients")
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert!(oldest <= (today - chrono::Duration::days(540)).to_string(), "{oldest}");
    assert!(count(&state, "SELECT COUNT(*) FROM clients WHERE status = 'closed'").await >= 1);
    let flagged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM support_logs WHERE needs_follow_up = $1")
        .bind(true)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert!(flagged >= 1);
    assert!(count(&state, "SELECT COUNT(*) FROM providers").await >= 7);

    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM clients")
        .fetch_all(&state.db.pool)
        .await
        .unwrap();
    assert!((70..=100).contains(&ids.len()), "{} clients", ids.len());
    for id in &ids {
        let client = state.clients.get(id, FieldClasses::ALL).await.unwrap();
        let name = client.full_name.expect("a full name");
        assert!(name.expose().contains("DEMO"), "a full name without DEMO");
    }
    let health: String = sqlx::query_scalar(
        "SELECT client_id FROM needs WHERE category = 'health_care' AND detail_sealed IS NOT NULL LIMIT 1",
    )
    .fetch_one(&state.db.pool)
    .await
    .unwrap();
    let needs = hoanhap::needs::list(&state, &health, FieldClasses::ALL).await.unwrap();
    assert!(
        needs
            .iter()
            .filter_map(|n| n.detail.as_ref())
            .all(|d| d.expose().starts_with("DEMO"))
    );
    server.stop().await;

    // A second run refuses, and changes nothing.
    let again = demo(dir.path(), &db.url);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(stderr.contains("already has 11 account"), "{stderr}");
    assert!(printed_accounts(&String::from_utf8_lossy(&again.stdout)).is_empty());
    assert_eq!(count(&state, "SELECT COUNT(*) FROM users").await, 11);
    assert_eq!(
        count(&state, "SELECT COUNT(*) FROM clients").await,
        i64::try_from(ids.len()).unwrap()
    );
}

#[tokio::test]
async fn demo_refuses_an_installation_that_has_an_account() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    crate::kit::add_user(&state, "real.admin", hoanhap::policy::Role::Admin, "40").await;
    let out = demo(env.dir.path(), &env.db.url);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("already has 1 account(s) and 0 client(s)"), "{stderr}");
    assert!(!stderr.contains("panicked"));
    assert!(printed_accounts(&String::from_utf8_lossy(&out.stdout)).is_empty());
    assert_eq!(count(&state, "SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(count(&state, "SELECT COUNT(*) FROM clients").await, 0);
}
