//! Operations: backup, restore into an empty database (of either engine), the erasure
//! ledger that keeps an erased client erased through both, and `erasures verify`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use hoanhap::config::Settings;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::kit::cli::{assert_fails, assert_ok, command, run_command};
use crate::kit::world::{NAME, SECRETS, World, contains_bytes, get, intake, open_case, person, post, world};
use crate::kit::{Api, TestDb, TestEnv, TestServer};

/// A recovery identity held offline, and its recipient.
fn recovery_identity(dir: &Path) -> (PathBuf, String) {
    let identity = age::x25519::Identity::generate();
    let path = dir.join("recovery.txt");
    std::fs::write(&path, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    (path, identity.to_public().to_string())
}

/// A world whose master key is also encrypted to a recovery recipient.
async fn world_with_recovery() -> (World, PathBuf) {
    let w = world().await;
    let (identity, recipient) = recovery_identity(w.env.dir.path());
    let files = w.env.settings.key_files();
    // The world's keys were made without one: re-encrypt master.age as `keys recipients add` does.
    let out = run_command(
        with_ledger(
            command(&w.env, &["keys", "recipients", "add", &recipient]),
            &w.env.settings,
        ),
        "",
    );
    assert_ok(&out);
    assert!(
        std::fs::read_to_string(files.recipients())
            .unwrap()
            .contains(&recipient)
    );
    (w, identity)
}

fn with_ledger(mut cmd: Command, settings: &Settings) -> Command {
    cmd.env("HOANHAP_ERASURE_LEDGER_FILE", settings.ledger_path());
    cmd
}

/// Clients, needs, a support log and an account's state to bring back.
async fn fill(w: &World) -> (String, String) {
    let sw = w.login("sw.vinh").await;
    let kept = open_case(&sw, intake()).await;
    let erased = open_case(&sw, person("Lê Thị Sẽ Xóa", "1990-01-02")).await;
    let kept_id = kept["id"].as_str().unwrap().to_owned();
    let (status, body) = post(
        &sw,
        &format!("/api/v1/clients/{kept_id}/needs"),
        json!({ "category": "loan", "detail": "Vay 20 triệu mở quán" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (kept_id, erased["id"].as_str().unwrap().to_owned())
}

async fn erase(w: &World, id: &str) {
    let sup = w.login("sup.vinh").await;
    let (status, body) = post(
        &sup,
        &format!("/api/v1/clients/{id}/erase"),
        json!({ "reason": "Thân chủ yêu cầu xóa dữ liệu" }),
    )
    .await;
    assert_eq!(status, 204, "{body}");
}

/// Decrypts a backup file with one identity.
fn decrypt(file: &Path, identity: &Path) -> String {
    let text = std::fs::read_to_string(identity).unwrap();
    let identity: age::x25519::Identity = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .parse()
        .unwrap();
    let bytes = std::fs::read(file).unwrap();
    let decryptor = age::Decryptor::new(&bytes[..]).unwrap();
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .unwrap();
    let mut out = String::new();
    reader.read_to_string(&mut out).unwrap();
    out
}

/// An empty installation elsewhere (its own data dir, no keys, a new database) that reads
/// the source's ledger file, as an operator who copied it off the server would.
struct Target {
    dir: tempfile::TempDir,
    db: TestDb,
    ledger: PathBuf,
}

impl Target {
    async fn new(ledger: PathBuf, postgres: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = if postgres {
            TestDb::new(dir.path()).await
        } else {
            TestDb {
                url: format!("sqlite://{}?mode=rwc", dir.path().join("restored.db").display()),
                postgres: None,
            }
        };
        Self { dir, db, ledger }
    }

    fn settings(&self) -> Settings {
        let mut settings = Settings {
            data_dir: self.dir.path().join("data"),
            database_url: Some(SecretString::from(self.db.url.clone())),
            erasure_ledger_file: Some(self.ledger.clone()),
            listen: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        };
        settings.auth.insecure_cookies = true;
        settings.auth.mfa_required_roles.clear();
        settings.programme.area_seed = hoanhap::config::AreaSeed::NgheAn2024;
        settings
    }

    /// With the source's keys: restores `input`, then backs the result up to `output`.
    fn restore_and_back_up(&self, source: &Settings, input: &Path, output: &Path) {
        std::fs::create_dir_all(self.dir.path().join("data")).unwrap();
        copy_keys(source, &self.settings());
        for args in [
            ["restore", "--input", input.to_str().unwrap()],
            ["backup", "--output", output.to_str().unwrap()],
        ] {
            assert_ok(&run_command(self.command(&args), ""));
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoanhap"));
        cmd.args(args)
            .env_clear()
            .env("HOANHAP_DATA_DIR", self.dir.path().join("data"))
            .env("HOANHAP_DATABASE_URL", &self.db.url)
            .env("HOANHAP_ERASURE_LEDGER_FILE", &self.ledger)
            .env("HOANHAP_PROGRAMME__AREA_SEED", "nghe-an-2024")
            .current_dir(self.dir.path());
        cmd
    }
}

#[tokio::test]
async fn a_backup_restored_after_an_erasure_brings_back_everything_but_the_erased_client() {
    let (w, recovery) = world_with_recovery().await;
    let (kept, erased) = fill(&w).await;
    let erased_code = get(&w.login("sup.vinh").await, &format!("/api/v1/clients/{erased}"))
        .await
        .1["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let backup = w.env.dir.path().join("nightly.age");
    let out = run_command(
        with_ledger(
            command(&w.env, &["backup", "--output", backup.to_str().unwrap()]),
            &w.env.settings,
        ),
        "",
    );
    let said = assert_ok(&out);
    assert!(said.contains("backup written"), "{said}");

    // Encrypted from its first byte; no name in it; opens with the recovery identity alone.
    let bytes = std::fs::read(&backup).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"));
    for secret in SECRETS.iter().chain([&"Lê Thị Sẽ Xóa"]) {
        assert!(
            !contains_bytes(&bytes, secret.as_bytes()),
            "the backup file shows {secret}"
        );
    }
    let plain = decrypt(&backup, &recovery);
    assert!(plain.starts_with("{\"header\":{\"format\":\"hoanhap-backup/1\""));
    assert!(plain.contains("\"table\":\"clients\""));
    for secret in SECRETS {
        assert!(
            !plain.contains(secret),
            "a sealed field is readable in the backup: {secret}"
        );
    }
    // A running server is refused the same file name.
    let again = run_command(command(&w.env, &["backup", "--output", backup.to_str().unwrap()]), "");
    assert_fails(&again, "exists");

    // Erased after the backup was taken.
    erase(&w, &erased).await;
    let ledger = w.env.settings.ledger_path();
    let lines = std::fs::read_to_string(&ledger).unwrap();
    assert_eq!(lines.lines().count(), 1);
    assert!(lines.contains(&erased_code) && lines.contains(&erased));
    for secret in SECRETS.iter().chain([&"Lê Thị Sẽ Xóa"]) {
        assert!(!lines.contains(secret));
    }

    // Restore onto a new machine with the recovery identity and the ledger copied off.
    let target = Target::new(ledger.clone(), false).await;
    let out = run_command(
        target.command(&[
            "restore",
            "--input",
            backup.to_str().unwrap(),
            "--identity",
            recovery.to_str().unwrap(),
        ]),
        "",
    );
    let said = assert_ok(&out);
    assert!(said.contains(&format!("erased again: {erased_code}")), "{said}");

    let state = hoanhap::open(target.settings()).await.unwrap();
    let present: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients WHERE id = $1")
        .bind(&erased)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(present, 0, "the erased client came back");
    let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM client_keys WHERE client_id = $1")
        .bind(&erased)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(keys, 0);
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "a session came back with the backup");
    assert!(matches!(
        state.audit_log.verify().await.unwrap(),
        hoanhap::audit::Verification::Intact { .. }
    ));
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action IN ('erasure_reapply', 'backup_restore') ORDER BY seq",
    )
    .fetch_all(&state.db.pool)
    .await
    .unwrap();
    assert_eq!(actions, ["erasure_reapply", "backup_restore"]);

    // Served from the restored database: staff log in again; the kept client reads back whole.
    hoanhap::erasures::reconcile(&state).await.unwrap();
    let server = TestServer::start(state).await;
    let sw = Api::login(&server, "sw.vinh").await;
    let (status, client) = get(&sw, &format!("/api/v1/clients/{kept}")).await;
    assert_eq!(status, 200, "{client}");
    assert_eq!(client["full_name"], NAME);
    assert_eq!(needs_detail(&client["needs"]), ["Vay 20 triệu mở quán"]);
    assert_eq!(get(&sw, &format!("/api/v1/clients/{erased}")).await.0, 404);
    server.stop().await;

    // Restarting finds nothing more to do; the file verifies; a second restore is refused.
    let state = hoanhap::open(target.settings()).await.unwrap();
    let again = hoanhap::erasures::reconcile(&state).await.unwrap();
    assert!(again.erased_again.is_empty());
    let verify = assert_ok(&run_command(target.command(&["erasures", "verify"]), ""));
    assert!(verify.contains("1 entries, chain intact"), "{verify}");
    let out = run_command(
        target.command(&[
            "restore",
            "--input",
            backup.to_str().unwrap(),
            "--identity",
            recovery.to_str().unwrap(),
        ]),
        "",
    );
    assert_fails(&out, "is not empty");
    assert_fails(&out, "nothing was restored");
}

fn needs_detail(needs: &Value) -> Vec<String> {
    needs
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["detail"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn serve_erases_again_a_client_restored_by_other_means_and_a_changed_ledger_is_refused() {
    let (w, _) = world_with_recovery().await;
    let (_, erased) = fill(&w).await;
    let backup = w.env.dir.path().join("before.age");
    assert_ok(&run_command(
        with_ledger(
            command(&w.env, &["backup", "--output", backup.to_str().unwrap()]),
            &w.env.settings,
        ),
        "",
    ));
    erase(&w, &erased).await;
    let ledger = w.env.settings.ledger_path();

    // Restored without the ledger (as pg_restore of an old dump would): the client is back.
    let target = Target::new(w.env.dir.path().join("elsewhere.ledger"), false).await;
    std::fs::create_dir_all(target.dir.path().join("data")).unwrap();
    copy_keys(&w.env.settings, &target.settings());
    assert_ok(&run_command(
        target.command(&["restore", "--input", backup.to_str().unwrap()]),
        "",
    ));
    let mut settings = target.settings();
    let state = hoanhap::open(settings.clone()).await.unwrap();
    let back: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients WHERE id = $1")
        .bind(&erased)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(back, 1);

    // Started with the real ledger, serve's check erases her again.
    settings.erasure_ledger_file = Some(ledger.clone());
    let state = hoanhap::open(settings.clone()).await.unwrap();
    let done = hoanhap::erasures::reconcile(&state).await.unwrap();
    assert_eq!(done.erased_again.len(), 1);
    assert_eq!(done.recorded, 1);
    let back: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients WHERE id = $1")
        .bind(&erased)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(back, 0);
    let logs = crate::kit::captured_logs();
    assert!(!logs.contains("Lê Thị Sẽ Xóa"));

    // An altered ledger stops the start-up.
    let text = std::fs::read_to_string(&ledger).unwrap();
    std::fs::write(&ledger, text.replace("\"seq\":1", "\"seq\":2")).unwrap();
    let err = hoanhap::erasures::reconcile(&state).await.unwrap_err();
    assert!(err.to_string().contains("entry"), "{err}");
    let out = run_command(
        with_ledger(command(&w.env, &["erasures", "verify"]), &w.env.settings),
        "",
    );
    assert_fails(&out, "broken at entry 1");
}

fn copy_keys(from: &Settings, to: &Settings) {
    let (a, b) = (from.key_files(), to.key_files());
    std::fs::create_dir_all(b.master.parent().unwrap()).unwrap();
    std::fs::copy(a.identity, b.identity).unwrap();
    std::fs::copy(a.master, b.master).unwrap();
}

/// Every line of a backup after its header: the rows, table by table.
fn rows_of(plain: &str) -> Vec<String> {
    plain.lines().skip(1).map(str::to_owned).collect()
}

#[tokio::test]
#[ignore = "needs PostgreSQL too: runs with HOANHAP_TEST_DATABASE_URL set"]
async fn a_backup_moves_between_sqlite_and_postgresql_unchanged() {
    assert!(
        std::env::var("HOANHAP_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()),
        "set HOANHAP_TEST_DATABASE_URL to a PostgreSQL database"
    );
    // The source is whichever engine the suite runs on: make it SQLite here.
    let source = TestEnv::sqlite().await;
    let mut settings = source.settings.clone();
    settings.auth.mfa_required_roles.clear();
    let state = hoanhap::open(settings.clone()).await.unwrap();
    crate::kit::add_user(&state, "sw.vinh", hoanhap::policy::Role::SocialWorker, "412").await;
    crate::kit::add_user(&state, "qly", hoanhap::policy::Role::Manager, "40").await;
    let server = TestServer::start(state).await;
    let sw = Api::login(&server, "sw.vinh").await;
    open_case(&sw, intake()).await;
    open_case(&sw, person("Trần Thị Thử", "1992-05-06")).await;
    let manager = Api::login(&server, "qly").await;
    let res = manager
        .post("/api/v1/stats/releases", json!({"period": "2024-H1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    server.stop().await;
    let identity = source.settings.key_files().identity;
    let first = source.dir.path().join("sqlite.age");
    assert_ok(&run_command(
        with_ledger(
            command(&source, &["backup", "--output", first.to_str().unwrap()]),
            &source.settings,
        ),
        "",
    ));

    // SQLite → PostgreSQL, then PostgreSQL → SQLite.
    let pg = Target::new(source.settings.ledger_path(), true).await;
    assert!(pg.db.is_postgres());
    let second = source.dir.path().join("postgres.age");
    pg.restore_and_back_up(&source.settings, &first, &second);
    let back = Target::new(source.settings.ledger_path(), false).await;
    let third = source.dir.path().join("again.age");
    back.restore_and_back_up(&source.settings, &second, &third);

    // The same rows each way, audit entries aside (each restore and backup adds its own),
    // the same release bytes among them, and every chain verifies.
    let strip = |plain: String| -> Vec<String> {
        let mut in_audit = false;
        rows_of(&plain)
            .into_iter()
            .filter(|l| {
                if l.starts_with("{\"table\":") {
                    in_audit = l.contains("\"table\":\"audit_log\"") || l.contains("\"table\":\"audit_head\"");
                    return true;
                }
                !in_audit && !l.starts_with("{\"manifest\"")
            })
            .collect()
    };
    let (a, b, c) = (
        strip(decrypt(&first, &identity)),
        strip(decrypt(&second, &identity)),
        strip(decrypt(&third, &identity)),
    );
    assert!(a.iter().any(|l| l.contains("2024-H1")), "no release in the backup");
    assert_eq!(a, b, "SQLite → PostgreSQL changed rows");
    assert_eq!(a, c, "PostgreSQL → SQLite changed rows");
    for settings in [pg.settings(), back.settings()] {
        let state = hoanhap::open(settings).await.unwrap();
        assert!(matches!(
            state.audit_log.verify().await.unwrap(),
            hoanhap::audit::Verification::Intact { .. }
        ));
    }
}

/// A client's TOTP seed, sealed as enrolment seals it.
async fn give_second_factor(state: &hoanhap::AppState, user_id: &str, seed: &[u8]) {
    let sealed = state
        .keyring
        .seal_account_secret(user_id, hoanhap::auth::mfa::TOTP_COLUMN, seed)
        .unwrap();
    sqlx::query("UPDATE users SET totp_secret_sealed = $1 WHERE id = $2")
        .bind(sealed)
        .bind(user_id)
        .execute(&state.db.pool)
        .await
        .unwrap();
}

async fn second_factor(state: &hoanhap::AppState, user_id: &str) -> Vec<u8> {
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT totp_secret_sealed FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    state
        .keyring
        .open_account_secret(user_id, hoanhap::auth::mfa::TOTP_COLUMN, &sealed)
        .unwrap()
        .expose()
        .clone()
}

#[tokio::test]
async fn a_key_rotation_keeps_every_record_readable_and_every_chain_verifying() {
    let (w, _) = world_with_recovery().await;
    let (kept, erased) = fill(&w).await;
    erase(&w, &erased).await;
    give_second_factor(w.state(), &w.staff.sup, b"0123456789abcdefghij").await;
    let settings = w.env.settings.clone();
    let files = settings.key_files();
    let checkpoint = w.env.dir.path().join("checkpoint.json");
    assert_ok(&run_command(
        command(
            &w.env,
            &["audit", "checkpoint", "--output", checkpoint.to_str().unwrap()],
        ),
        "",
    ));
    let old_master = std::fs::read(&files.master).unwrap();
    let old_identity = std::fs::read(&files.identity).unwrap();
    let old_id = w.state().keyring.key_id().to_owned();
    let World { env, server, staff } = w;
    server.stop().await;

    let said = assert_ok(&run_command(
        with_ledger(command(&env, &["keys", "rotate"]), &settings),
        "",
    ));
    assert!(said.contains("audit trail intact"), "{said}");
    assert!(!files.master.with_extension("age.new").exists());
    assert!(!files.identity.with_extension("txt.new").exists());
    // The server identity is new too: an exposed identity.txt opens nothing written since.
    assert_ne!(std::fs::read(&files.identity).unwrap(), old_identity);

    let state = hoanhap::open(settings.clone()).await.unwrap();
    assert_ne!(state.keyring.key_id(), old_id);
    assert_eq!(second_factor(&state, &staff.sup).await, b"0123456789abcdefghij");
    let wrapped_with: Vec<String> = sqlx::query_scalar("SELECT DISTINCT master_key_id FROM client_keys")
        .fetch_all(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(wrapped_with, [state.keyring.key_id().to_owned()]);
    let server = TestServer::start(state).await;
    let sw = Api::login(&server, "sw.vinh").await;
    let (status, client) = get(&sw, &format!("/api/v1/clients/{kept}")).await;
    assert_eq!(status, 200);
    assert_eq!(client["full_name"], NAME);
    // The blind indexes follow the new key: the same person is still found.
    let again = open_case(&sw, intake()).await;
    assert_eq!(again["possible_duplicates"], json!([client["code"]]));
    server.stop().await;

    // The trail verifies across the rotation, with the checkpoint signed by the old key;
    // so does the erasure ledger's entry from before it.
    let env_cmd = |args: &[&str]| with_ledger(command(&env, args), &settings);
    let verified = assert_ok(&run_command(
        env_cmd(&["audit", "verify", "--checkpoint", checkpoint.to_str().unwrap()]),
        "",
    ));
    assert!(
        verified.contains("entries verified") && verified.contains("is in the chain"),
        "{verified}"
    );
    assert!(assert_ok(&run_command(env_cmd(&["erasures", "verify"]), "")).contains("1 entries"));
    // An erasure after the rotation chains on under the new key.
    let state = hoanhap::open(settings.clone()).await.unwrap();
    let code = state
        .clients
        .erase(
            again["id"].as_str().unwrap(),
            Some(&staff.sup),
            state.clock.now(),
            (&state.audit_log, crate::kit::test_erasure()),
        )
        .await
        .unwrap();
    assert!(
        assert_ok(&run_command(env_cmd(&["erasures", "verify"]), "")).contains("2 entries"),
        "{code}"
    );
    drop(state);

    // The old key files are refused.
    let (new_master, new_identity) = (
        std::fs::read(&files.master).unwrap(),
        std::fs::read(&files.identity).unwrap(),
    );
    std::fs::write(&files.master, &old_master).unwrap();
    std::fs::write(&files.identity, &old_identity).unwrap();
    let err = hoanhap::open(settings.clone()).await.unwrap_err();
    assert!(matches!(err, hoanhap::StartupError::KeyMismatch { .. }), "{err}");
    // Unless the new ones stand staged beside them (a rotation killed after its commit)...
    std::fs::write(files.master.with_extension("age.new"), &new_master).unwrap();
    std::fs::write(files.identity.with_extension("txt.new"), &new_identity).unwrap();
    let state = hoanhap::open(settings.clone()).await.unwrap();
    assert_eq!(std::fs::read(&files.master).unwrap(), new_master);
    assert_eq!(std::fs::read(&files.identity).unwrap(), new_identity);
    drop(state);
    // ...or the identity was renamed already and only the master key is still staged.
    std::fs::write(&files.master, &old_master).unwrap();
    std::fs::write(files.master.with_extension("age.new"), &new_master).unwrap();
    let state = hoanhap::open(settings.clone()).await.unwrap();
    assert_eq!(std::fs::read(&files.master).unwrap(), new_master);
    drop(state);
}

#[tokio::test]
async fn a_rotation_killed_at_any_moment_leaves_an_installation_that_opens() {
    let (w, _) = world_with_recovery().await;
    let (kept, _) = fill(&w).await;
    for i in 0..30 {
        open_case(
            &w.login("sw.vinh").await,
            person(&format!("Người Thử {i}"), "1991-01-01"),
        )
        .await;
    }
    let settings = w.env.settings.clone();
    let World { env, server, .. } = w;
    server.stop().await;
    let mut seen_new = 0;
    // Kills spread from before the new keys are staged to after the commit; how far a
    // run gets in a given time depends on the machine, so the delays run long.
    for delay_ms in [0u64, 5, 15, 30, 60, 100, 150, 250, 400, 700, 1200] {
        let before = hoanhap::open(settings.clone())
            .await
            .unwrap()
            .keyring
            .key_id()
            .to_owned();
        let mut child = with_ledger(command(&env, &["keys", "rotate"]), &settings)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let state = hoanhap::open(settings.clone())
            .await
            .unwrap_or_else(|e| panic!("killed after {delay_ms} ms, it does not open: {e}"));
        if state.keyring.key_id() != before {
            seen_new += 1;
        }
        let client = state
            .clients
            .get(&kept, hoanhap::clients::FieldClasses::ALL)
            .await
            .unwrap_or_else(|e| panic!("killed after {delay_ms} ms, the client does not open: {e}"));
        assert_eq!(client.full_name.as_ref().unwrap().expose(), NAME);
        assert!(matches!(
            state.audit_log.verify().await.unwrap(),
            hoanhap::audit::Verification::Intact { .. }
        ));
    }
    // Uninterrupted, it completes; and whatever the kills left, the keys open.
    let before = hoanhap::open(settings.clone())
        .await
        .unwrap()
        .keyring
        .key_id()
        .to_owned();
    assert_ok(&run_command(
        with_ledger(command(&env, &["keys", "rotate"]), &settings),
        "",
    ));
    let state = hoanhap::open(settings.clone()).await.unwrap();
    assert_ne!(state.keyring.key_id(), before);
    eprintln!("{seen_new} of 11 killed rotations had committed");
}

#[tokio::test]
async fn metrics_are_scraped_on_their_own_listener_and_name_no_client() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let client = open_case(&sw, intake()).await;
    let (id, code) = (client["id"].as_str().unwrap(), client["code"].as_str().unwrap());
    assert_eq!(get(&sw, &format!("/api/v1/clients/{id}")).await.0, 200);
    assert_eq!(get(&sw, &format!("/api/v1/clients/{code}-no-such")).await.0, 404);
    let wrong = crate::kit::http_client()
        .post(w.server.url("/api/v1/session"))
        .json(&json!({ "username": "sw.vinh", "password": "not the password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // Not on the application's listener.
    assert_eq!(sw.get("/metrics").send().await.unwrap().status(), 404);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = hoanhap::metrics_app(w.state().clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let res = reqwest::get(format!("http://{address}/metrics")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = res.text().await.unwrap();
    for expected in [
        "hoanhap_http_requests_total{method=\"GET\",route=\"/api/v1/clients/{id}\",status=\"200\"}",
        "hoanhap_http_requests_total{method=\"GET\",route=\"/api/v1/clients/{id}\",status=\"404\"}",
        "hoanhap_http_request_duration_seconds_bucket{route=\"/api/v1/clients/{id}\",le=\"+Inf\"}",
        "hoanhap_audit_queue_depth ",
        "hoanhap_audit_write_seconds_count ",
        "hoanhap_db_connections{state=\"in_use\"}",
        "hoanhap_password_checks{state=\"running\"}",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    let failures: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("hoanhap_login_failures_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(failures >= 1);
    for secret in [id, code, "sw.vinh", NAME, "127.0.0.1"] {
        assert!(!text.contains(secret), "the metrics show {secret}");
    }
}

#[tokio::test]
async fn two_servers_on_one_database_share_logins_codes_the_audit_chain_and_the_daily_job() {
    let mut env = TestEnv::new().await;
    env.settings.auth.mfa_required_roles.clear();
    let first = env.state().await;
    let second = env.state().await;
    crate::kit::add_user(&first, "sw.vinh", hoanhap::policy::Role::SocialWorker, "412").await;
    let (a, b) = (
        TestServer::start(first.clone()).await,
        TestServer::start(second.clone()).await,
    );

    // A login on one is a session on the other.
    let login = crate::kit::http_client()
        .post(a.url("/api/v1/session"))
        .json(&json!({ "username": "sw.vinh", "password": crate::kit::PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me = reqwest::Client::new()
        .get(b.url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // Intakes on both at once get distinct codes.
    let (on_a, on_b) = (Api::login(&a, "sw.vinh").await, Api::login(&b, "sw.vinh").await);
    let mut intakes = tokio::task::JoinSet::new();
    for i in 0..24 {
        let api = if i % 2 == 0 { on_a.clone() } else { on_b.clone() };
        intakes.spawn(async move {
            let res = api
                .post("/api/v1/clients", person(&format!("Người Song Song {i}"), "1993-03-03"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned()
        });
    }
    let mut codes = Vec::new();
    while let Some(code) = intakes.join_next().await {
        codes.push(code.unwrap());
    }
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 24, "two servers handed out one code twice");

    // One audit chain, written by both, verifies.
    assert!(matches!(
        first.audit_log.verify().await.unwrap(),
        hoanhap::audit::Verification::Intact { .. }
    ));
    assert!(matches!(
        second.audit_log.verify().await.unwrap(),
        hoanhap::audit::Verification::Intact { .. }
    ));

    // The daily job runs on one of them.
    let policy = hoanhap::retention::RetentionPolicy::embedded().unwrap();
    let now = first.clock.now();
    let (x, y) = tokio::join!(
        hoanhap::retention::run_daily(&first, &policy, now),
        hoanhap::retention::run_daily(&second, &policy, now)
    );
    assert_eq!(
        usize::from(x.unwrap().is_some()) + usize::from(y.unwrap().is_some()),
        1,
        "the daily job ran on both servers, or on none"
    );
    // The next day it runs again, once.
    let tomorrow = now + chrono::Duration::days(1);
    let x = hoanhap::retention::run_daily(&second, &policy, tomorrow).await.unwrap();
    let y = hoanhap::retention::run_daily(&first, &policy, tomorrow).await.unwrap();
    assert!(x.is_some() && y.is_none());
    a.stop().await;
    b.stop().await;
}
