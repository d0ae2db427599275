//! Benchmark of a login storm: the app on 127.0.0.1:0 (SQLite in a temporary folder),
//! 500 concurrent wrong logins on made-up usernames (one burst, then the 500 attackers keep
//! sending for a few seconds, each in a bounded loop), and meanwhile a logged-in social
//! worker reading one case over and over. Prints the answers to the storm (401 / 503
//! shed), the peak resident memory during the burst and the memory after it (from
//! `/proc/self/status`: `VmRSS` sampled every 10 ms, and `VmHWM`), and the case-read
//! throughput during the storm against the same reads without it.
//!
//! ```text
//! cargo bench --bench login_storm                         # 500 logins
//! HOANHAP_BENCH_LOGINS=2000 cargo bench --bench login_storm
//! cargo test --benches                                    # a small run (smoke check)
//! ```
//!
//! Everything stays on the loopback interface and every loop is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hoanhap::auth::accounts::{self, NewAccount};
use hoanhap::config::Settings;
use hoanhap::policy::Role;
use secrecy::SecretString;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const READERS: usize = 4;

/// `VmRSS` and `VmHWM` of this process, in MiB.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Reads the case with `READERS` loops until `stop`, at most `limit` reads each; answers
/// the number of successful reads.
async fn read_cases(http: reqwest::Client, url: String, stop: Arc<AtomicBool>, limit: u64) -> u64 {
    let done = Arc::new(AtomicU64::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..READERS {
        let (http, url, stop, done) = (http.clone(), url.clone(), stop.clone(), done.clone());
        set.spawn(async move {
            for _ in 0..limit {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if http.get(&url).send().await.is_ok_and(|r| r.status() == 200) {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
    done.load(Ordering::Relaxed)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then a small run
    // only checks that the benchmark works.
    let smoke = !args.iter().any(|a| a == "--bench");
    let logins: usize = std::env::var("HOANHAP_BENCH_LOGINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 60 } else { 500 });
    let quiet_secs = if smoke { 1 } else { 5 };
    if smoke {
        println!("(test mode: {logins} logins; `cargo bench --bench login_storm` for the full run)");
    }

    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings {
        data_dir: dir.path().join("data"),
        database_url: Some(SecretString::from(format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        ))),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    settings.auth.insecure_cookies = true;
    settings.auth.mfa_required_roles.clear();
    settings.programme.area_seed = hoanhap::config::AreaSeed::NgheAn2024;
    hoanhap::ensure_keys(&settings).unwrap();
    let state = hoanhap::open(settings).await.unwrap();
    accounts::create(
        &state.db,
        NewAccount {
            username: "bench.sw".into(),
            display_name: "Bench worker".into(),
            role: Role::SocialWorker,
            area: "412".into(),
            password: SecretString::from(PASSWORD),
        },
        state.clock.now(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hoanhap::serve(listener, state.clone(), async {
        let _ = stopped.await;
    }));

    // A social worker with one case.
    let reader = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login: Value = reader
        .post(format!("{base}/api/v1/session"))
        .json(&json!({ "username": "bench.sw", "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = login["csrf_token"].as_str().unwrap().to_owned();
    let today = state.clock.today().to_string();
    let client: Value = reader
        .post(format!("{base}/api/v1/clients"))
        .header("x-csrf-token", &csrf)
        .json(&json!({
            "area": "412", "full_name": "Nguyễn Thị Mẫu", "chosen_name": "Mẫu",
            "date_of_birth": "1999-11-20", "id_number": "038199001234", "phone": "0934567001",
            "address": "Khối 1", "notes": "Ghi chú thử", "eligible": true, "opened_on": today,
            "consents": { "data_processing": true, "reporting": true, "volunteer_contact": true,
                          "referral_sharing": ["loan"] },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case_url = format!("{base}/api/v1/clients/{}", client["id"].as_str().unwrap());

    let (rss_before, _) = memory_mib();
    println!("password checks at once: {}", hoanhap::auth::password::max_concurrent());
    println!("resident memory before: {rss_before:.1} MiB");

    // Case reads without a storm.
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(quiet_secs)).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let started = Instant::now();
    let quiet_reads = read_cases(reader.clone(), case_url.clone(), stop, 1_000_000).await;
    timer.await.unwrap();
    let quiet_rate = quiet_reads as f64 / started.elapsed().as_secs_f64();

    // The storm, with the same reads and a memory sampler alongside.
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let (rss, _) = memory_mib();
                peak.fetch_max((rss * 1024.0) as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let readers = tokio::spawn(read_cases(reader.clone(), case_url.clone(), stop.clone(), 1_000_000));
    let attacker = reqwest::Client::new();
    let started = Instant::now();
    let mut storm = tokio::task::JoinSet::new();
    let storm_for = Duration::from_secs(quiet_secs);
    for i in 0..logins {
        let (http, url) = (attacker.clone(), format!("{base}/api/v1/session"));
        storm.spawn(async move {
            let mut answers = Vec::new();
            for round in 0..10_000 {
                let status = http
                    .post(&url)
                    .json(&json!({ "username": format!("made.up.{i}.{round}"), "password": "wrong password!!" }))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                answers.push(status);
                if started.elapsed() >= storm_for {
                    break;
                }
            }
            answers
        });
    }
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    while let Some(answers) = storm.join_next().await {
        for status in answers.unwrap() {
            *statuses.entry(status).or_default() += 1;
        }
    }
    let storm_secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let storm_reads = readers.await.unwrap();
    sampler.await.unwrap();
    let storm_rate = storm_reads as f64 / storm_secs;
    let (rss_after, hwm) = memory_mib();

    let sent: usize = statuses.values().sum();
    println!(
        "storm: {logins} concurrent attackers, {sent} wrong logins in {storm_secs:.2} s; answers {statuses:?} (0 = no answer)"
    );
    println!(
        "resident memory: peak during the storm {:.1} MiB (VmHWM {hwm:.1} MiB), after {rss_after:.1} MiB",
        peak.load(Ordering::Relaxed) as f64 / 1024.0
    );
    println!(
        "case reads ({READERS} readers): {quiet_rate:.0}/s without the storm, {storm_rate:.0}/s during it ({:.0} %)",
        100.0 * storm_rate / quiet_rate.max(1.0)
    );
    let unexpected: usize = statuses
        .iter()
        .filter(|(s, _)| ![401, 503].contains(*s))
        .map(|(_, n)| n)
        .sum();
    let _ = stop_server.send(());
    server.await.unwrap().unwrap();
    assert_eq!(unexpected, 0, "every login is answered 401 or shed with 503");
}
