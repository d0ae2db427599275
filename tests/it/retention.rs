//! Retention: cases closed longer ago than `policies/retention.toml` allows are listed by
//! a dry run and erased by a real one (audited as `system`), and nothing else is; the
//! `hoanhap retention [--dry-run]` command does the same.

use crate::kit::world::*;
use chrono::Duration;
use hoanhap::retention::{self, RetentionPolicy};
use serde_json::{Value, json};

/// A case opened on `opened`, closed on `closed` (if any), by the world's social worker.
async fn case(w: &World, name: &str, opened: &str, closed: Option<&str>) -> Value {
    let sw = w.login("sw.vinh").await;
    let mut body = person(name, "1985-06-01");
    body["opened_on"] = json!(opened);
    let client = open_case(&sw, body).await;
    if let Some(on) = closed {
        let (status, body) = post(
            &sw,
            &format!("/api/v1/clients/{}/close", client["id"].as_str().unwrap()),
            json!({ "reason": "reintegrated", "on": on }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    client
}

fn codes(report: &retention::Report) -> Vec<String> {
    report.cases.iter().map(|c| c.code.clone()).collect()
}

#[tokio::test]
async fn the_dry_run_lists_and_the_real_run_erases_only_old_closed_cases() {
    let w = world().await;
    let state = w.state().clone();
    let old = case(&w, "Người Cũ Giả Định", "2017-05-01", Some("2018-01-10")).await;
    let recent = case(&w, "Người Mới Giả Định", "2024-03-15", Some("2024-06-30")).await;
    let open = case(&w, "Người Đang Mở Giả Định", "2015-01-01", None).await;
    let policy = RetentionPolicy::load(&state.settings).unwrap();
    assert_eq!(policy.closed_case_years, 5);
    let now = state.clock.now();

    let dry = retention::run(&state, &policy, now, true).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!(codes(&dry), [old["code"].as_str().unwrap()]);
    assert_eq!(dry.cases[0].closed_on, "2018-01-10");
    assert_eq!(w.count("clients").await, 3, "a dry run erases nothing");

    let real = retention::run(&state, &policy, now, false).await.unwrap();
    assert_eq!(codes(&real), [old["code"].as_str().unwrap()]);
    assert!(real.failed.is_empty());
    assert_eq!(w.rows("clients", old["id"].as_str().unwrap()).await, 0);
    assert_eq!(w.rows("client_keys", old["id"].as_str().unwrap()).await, 0);
    let sup = w.login("sup.vinh").await;
    assert_eq!(
        get(&sup, &format!("/api/v1/clients/{}", old["id"].as_str().unwrap()))
            .await
            .0,
        404
    );
    for kept in [&recent, &open] {
        let (status, body) = get(&sup, &format!("/api/v1/clients/{}", kept["id"].as_str().unwrap())).await;
        assert_eq!(status, 200, "{body}");
    }
    let entry = sqlx::query_as::<_, (String, String, Option<String>)>(
        "SELECT actor, outcome, client_code FROM audit_log WHERE action = 'retention_erase' AND flagged = $1",
    )
    .bind(true)
    .fetch_all(&state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        entry,
        [(
            "system".to_owned(),
            "success".to_owned(),
            old["code"].as_str().map(str::to_owned)
        )]
    );
    let by: Option<String> = sqlx::query_scalar("SELECT erased_by FROM erasures WHERE code = $1")
        .bind(old["code"].as_str().unwrap())
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(by.as_deref(), Some("system"));
    let verify = state.audit_log.verify().await.unwrap();
    assert!(serde_json::to_value(&verify).unwrap()["ok"] == true, "{verify:?}");

    // Nothing is left to do today; six years on, the recent closure is due, the open
    // case never is.
    assert!(
        retention::run(&state, &policy, now, false)
            .await
            .unwrap()
            .cases
            .is_empty()
    );
    let later = retention::run(&state, &policy, now + Duration::days(6 * 366), true)
        .await
        .unwrap();
    assert_eq!(codes(&later), [recent["code"].as_str().unwrap()]);
    // A reopened case is not closed any more, whatever its old closing day.
    let sw = w.login("sw.vinh").await;
    let (status, _) = post(
        &sw,
        &format!("/api/v1/clients/{}/reopen", recent["id"].as_str().unwrap()),
        json!({ "on": "2024-08-01" }),
    )
    .await;
    assert_eq!(status, 200);
    let later = retention::run(&state, &policy, now + Duration::days(6 * 366), true)
        .await
        .unwrap();
    assert!(later.cases.is_empty(), "{:?}", codes(&later));
    assert_free_of(
        &crate::kit::captured_logs(),
        &["Người Cũ Giả Định", "Người Mới Giả Định"],
        "the log",
    );
}

#[tokio::test]
async fn the_retention_command_lists_with_dry_run_and_erases_without() {
    let w = world().await;
    let old = case(&w, "Người Cũ Giả Định", "2016-02-01", Some("2017-03-04")).await;
    let recent = case(&w, "Người Mới Giả Định", "2024-03-15", Some("2024-06-30")).await;
    let old_code = old["code"].as_str().unwrap();
    let recent_code = recent["code"].as_str().unwrap();
    let work = tempfile::tempdir().unwrap();
    let run = |args: &'static [&'static str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoanhap"));
        command
            .args(args)
            .current_dir(work.path())
            .env_remove("HOANHAP_CONFIG")
            .env("HOANHAP_DATA_DIR", w.env.data_dir())
            .env("HOANHAP_DATABASE_URL", &w.env.db.url)
            .env("HOANHAP_LOG__LEVEL", "warn");
        command.output()
    };

    let out = run(&["retention", "--dry-run"]).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("would erase {old_code} (closed on 2017-03-04)")),
        "{stdout}"
    );
    assert!(!stdout.contains(recent_code), "{stdout}");
    assert_eq!(w.count("clients").await, 2);

    let out = run(&["retention"]).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("erased {old_code}")), "{stdout}");
    assert!(!stdout.contains(recent_code), "{stdout}");
    assert_eq!(w.rows("clients", old["id"].as_str().unwrap()).await, 0);
    assert_eq!(w.rows("clients", recent["id"].as_str().unwrap()).await, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_free_of(&format!("{stdout}{stderr}"), &["Người Cũ"], "the command's output");
}
