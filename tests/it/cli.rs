//! The command line: `user …`, `policy check`, `audit verify|checkpoint`, and the first-admin setup
//! link printed by `serve`. Runs the real binary.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::kit::cli::{assert_fails, assert_ok, command, run, text};
use crate::kit::{TestEnv, add_user};
use secrecy::SecretString;

async fn password_of(env: &TestEnv, username: &str) -> (hoanhap::auth::accounts::Account, String) {
    let state = env.state().await;
    hoanhap::auth::accounts::for_login(&state.db, username)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn user_commands_manage_accounts_and_are_audited_as_cli() {
    let env = TestEnv::new().await;
    let add = [
        "user",
        "add",
        "--username",
        "lan.sw",
        "--role",
        "social_worker",
        "--area",
        "412",
        "--display-name",
        "Lan (Vinh)",
        "--password-stdin",
    ];
    // Bad input: messages, non-zero exits, nothing created.
    assert_fails(&run(&env, &add, "short\n"), "12");
    assert_fails(&run(&env, &add[..10], "a long enough password\n"), "--password-stdin");
    let mut bad_role = add;
    bad_role[5] = "boss";
    assert_fails(&run(&env, &bad_role, "a long enough password\n"), "boss");
    let mut bad_area = add;
    bad_area[7] = "999";
    assert_fails(&run(&env, &bad_area, "a long enough password\n"), "area");
    let mut bad_name = add;
    bad_name[3] = "x!";
    assert_fails(&run(&env, &bad_name, "a long enough password\n"), "username");
    assert_fails(&run(&env, &["user", "disable", "nobody"], ""), "nobody");
    let out = run(&env, &["user", "add", "--username", "x"], "");
    assert!(!out.status.success());
    assert!(!text(&out).contains("panicked"));

    let out = run(&env, &add, "a long enough password\n");
    let stdout = assert_ok(&out);
    assert!(stdout.contains("lan.sw"), "{stdout}");
    assert!(!text(&out).contains("a long enough password"));
    assert_fails(&run(&env, &add, "a long enough password\n"), "taken");

    let (account, hash) = password_of(&env, "lan.sw").await;
    assert_eq!(account.display_name, "Lan (Vinh)");
    assert_eq!(account.role, hoanhap::policy::Role::SocialWorker);
    assert!(hoanhap::auth::password::verify(Some(hash), SecretString::from("a long enough password")).await);

    let list = assert_ok(&run(&env, &["user", "list"], ""));
    assert!(
        list.contains("lan.sw") && list.contains("social_worker") && list.contains("active"),
        "{list}"
    );

    assert_ok(&run(&env, &["user", "disable", "lan.sw"], ""));
    assert_eq!(password_of(&env, "lan.sw").await.0.status, "disabled");
    assert!(assert_ok(&run(&env, &["user", "list"], "")).contains("disabled"));
    assert_ok(&run(&env, &["user", "enable", "lan.sw"], ""));
    assert_eq!(password_of(&env, "lan.sw").await.0.status, "active");

    assert_fails(
        &run(
            &env,
            &["user", "reset-password", "lan.sw", "--password-stdin"],
            "tiny\n",
        ),
        "12",
    );
    assert_ok(&run(
        &env,
        &["user", "reset-password", "lan.sw", "--password-stdin"],
        "a brand new password\r\n",
    ));
    let (_, hash) = password_of(&env, "lan.sw").await;
    assert!(hoanhap::auth::password::verify(Some(hash), SecretString::from("a brand new password")).await);
    assert_ok(&run(&env, &["user", "reset-mfa", "lan.sw"], ""));

    let state = env.state().await;
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE actor = 'cli' ORDER BY seq")
        .fetch_all(&state.db.pool)
        .await
        .unwrap();
    for action in [
        "user_create",
        "users_list",
        "user_disable",
        "user_enable",
        "user_reset_password",
        "user_reset_mfa",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} not in {actions:?}");
    }
    let objects: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE actor = 'cli' AND object_id = $1")
        .bind(&account.id)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(objects, 5);
    assert_eq!(
        state.audit_log.verify().await.unwrap(),
        hoanhap::audit::Verification::Intact {
            ok: true,
            entries: i64::try_from(actions.len()).unwrap()
        }
    );
}

#[tokio::test]
async fn policy_check_validates_the_built_in_and_a_folder_of_policies() {
    let env = TestEnv::new().await;
    let out = assert_ok(&run(&env, &["policy", "check"], ""));
    assert!(out.contains("valid"), "{out}");
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/policies");
    assert_ok(&run(&env, &["policy", "check", "--dir", shipped], ""));

    let dir = env.dir.path().join("policies");
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["schema.cedarschema", "hoanhap.cedar"] {
        std::fs::copy(format!("{shipped}/{file}"), dir.join(file)).unwrap();
    }
    let dir_arg = dir.to_str().unwrap();
    assert_ok(&run(&env, &["policy", "check", "--dir", dir_arg], ""));
    // A policy naming an attribute the schema does not have fails validation.
    std::fs::write(
        dir.join("extra.cedar"),
        "permit (principal, action, resource) when { principal.shoe_size == 42 };\n",
    )
    .unwrap();
    let out = run(&env, &["policy", "check", "--dir", dir_arg], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_fails(&out, "extra.cedar");
    let out = run(&env, &["policy", "check", "--dir", "/no/such/folder"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains("panicked"));
}

#[tokio::test]
async fn audit_verify_prints_the_count() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    for i in 0..5 {
        state
            .audit_log
            .append(
                hoanhap::audit::Event::new("system", "test_event", hoanhap::audit::Outcome::Success)
                    .object(&i.to_string()),
                state.clock.now(),
            )
            .await
            .unwrap();
    }
    let out = assert_ok(&run(&env, &["audit", "verify"], ""));
    assert!(out.contains("5 entries"), "{out}");
    // The verification is itself recorded, and the chain still holds.
    let out = assert_ok(&run(&env, &["audit", "verify"], ""));
    assert!(out.contains("6 entries"), "{out}");
}

#[tokio::test]
async fn audit_checkpoint_prints_a_signed_head_and_refuses_a_broken_chain() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    for i in 0..3 {
        state
            .audit_log
            .append(
                hoanhap::audit::Event::new("system", "test_event", hoanhap::audit::Outcome::Success)
                    .object(&i.to_string()),
                state.clock.now(),
            )
            .await
            .unwrap();
    }
    // To standard output; the checkpoint covers its own entry (seq 4).
    let out = assert_ok(&run(&env, &["audit", "checkpoint"], ""));
    let kept: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(kept["seq"], 4, "{out}");
    assert_eq!(kept["key_id"], state.keyring.key_id());
    let file = env.dir.path().join("kept.json");
    std::fs::write(&file, &out).unwrap();
    let out = assert_ok(&run(
        &env,
        &["audit", "verify", "--checkpoint", file.to_str().unwrap()],
        "",
    ));
    assert!(out.contains("checkpoint seq 4 "), "{out}");
    // Not a checkpoint, or no such file: a message, exit 1.
    let junk = env.dir.path().join("junk.json");
    std::fs::write(&junk, "{\"format\": 1}").unwrap();
    assert_fails(
        &run(&env, &["audit", "verify", "--checkpoint", junk.to_str().unwrap()], ""),
        "not a hoanhap audit checkpoint",
    );
    assert_fails(
        &run(&env, &["audit", "verify", "--checkpoint", "/no/such/file"], ""),
        "cannot read /no/such/file",
    );
    // A broken chain gets no checkpoint, and no file is left behind.
    sqlx::query("UPDATE audit_log SET actor = 'someone else' WHERE seq = 2")
        .execute(&state.db.pool)
        .await
        .unwrap();
    let target = env.dir.path().join("new.json");
    assert_fails(
        &run(&env, &["audit", "checkpoint", "--output", target.to_str().unwrap()], ""),
        "broken at entry seq 2",
    );
    assert!(!target.exists());
}

/// Starts `serve`, waits for "hoanhap is serving" on stderr, stops it; returns stdout
/// and stderr.
fn serve_until_ready(env: &TestEnv) -> (String, String) {
    let mut child = command(env, &["serve"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("hoanhap is serving") {
                let _ = tx.send(());
            }
        }
        seen
    });
    let ready = rx.recv_timeout(Duration::from_secs(60));
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = reader.join().unwrap();
    assert!(ready.is_ok(), "the server did not start: {stderr}");
    (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

fn token_in(stdout: &str) -> Option<String> {
    let start = stdout.find("/setup/")? + "/setup/".len();
    Some(stdout[start..].chars().take_while(char::is_ascii_hexdigit).collect())
}

#[tokio::test]
async fn serve_prints_a_one_time_setup_link_until_an_admin_exists() {
    let env = TestEnv::new().await;
    let (stdout, stderr) = serve_until_ready(&env);
    let token = token_in(&stdout).unwrap_or_else(|| panic!("no setup link in: {stdout}"));
    assert_eq!(token.len(), 64, "{stdout}");
    assert!(stdout.contains("http://127.0.0.1:"), "{stdout}");
    assert!(!stderr.contains(&token), "the token reached the log");

    // Each start gives a new link.
    let (again, _) = serve_until_ready(&env);
    let second = token_in(&again).unwrap();
    assert_ne!(second, token);

    let state = env.state().await;
    assert!(hoanhap::auth::setup::check_setup_token(&state, &token).await.unwrap());
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 OR token_hash = $2")
        .bind(&token)
        .bind(&second)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "tokens are stored hashed");
    hoanhap::auth::setup::create_first_admin(
        &state,
        &second,
        "root.admin",
        "Quản trị",
        SecretString::from(crate::kit::PASSWORD),
    )
    .await
    .unwrap();
    assert!(!hoanhap::auth::setup::check_setup_token(&state, &token).await.unwrap());

    // With an admin, no link.
    let (stdout, _) = serve_until_ready(&env);
    assert!(!stdout.contains("/setup/"), "{stdout}");
}

/// `areas import` and `areas reform`: the 2025 units loaded into an installation of the
/// 2024 districts, the districts retired the day before, every change audited as `cli`,
/// and a bad file refused whole.
#[tokio::test]
async fn areas_reform_loads_the_2025_units_and_retires_the_2024_districts() {
    let env = TestEnv::new().await;
    let dir = env.dir.path();
    let file_2025 = concat!(env!("CARGO_MANIFEST_DIR"), "/seed/areas-nghe-an-2025.csv");

    // A bad file changes nothing and names the line and the field.
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "code,name,kind,parent\n99001,Phường Mới,ward,40\n99002,Xã Lạ,hamlet,40\n99003,Xã Mồ Côi,commune,4242\n",
    )
    .unwrap();
    let out = run(&env, &["areas", "import", bad.to_str().unwrap()], "");
    assert_fails(&out, "line 3: kind");
    assert!(text(&out).contains("parent"), "{}", text(&out));
    let listed = assert_ok(&run(&env, &["areas", "list"], ""));
    assert!(!listed.contains("99001"), "{listed}");
    assert_eq!(listed.lines().count(), 22, "{listed}");
    assert_fails(
        &run(&env, &["areas", "reform", "--file", file_2025, "--on", "1/7/2025"], ""),
        "--on",
    );

    let out = assert_ok(&run(
        &env,
        &["areas", "reform", "--file", file_2025, "--on", "2025-07-01"],
        "",
    ));
    // The file names one 2024 district per unit; 20 of the 21 are named (Cửa Lò, 413, is
    // not), and only those are retired.
    assert!(out.contains("130 units added, 1 already present, 20 retired"), "{out}");
    let listed = assert_ok(&run(&env, &["areas", "list"], ""));
    assert_eq!(listed.lines().count(), 152, "{listed}");
    let line = |code: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(&format!("{code}\t")))
            .unwrap_or_else(|| panic!("no {code} in {listed}"))
            .to_owned()
    };
    assert_eq!(line("412"), "412\tThành phố Vinh\tcity\t40\t-\t2025-06-30");
    assert_eq!(line("16681"), "16681\tPhường Thành Vinh\tward\t40\t2025-07-01\t-");
    assert_eq!(line("40"), "40\tTỉnh Nghệ An\tprovince\t-\t-\t-");
    assert!(line("413").ends_with("\t-\t-"), "{}", line("413"));

    // The predecessor links are recorded, and the running catalogue holds them.
    let state = env.state().await;
    let catalog = state.areas.current();
    let vinh_wards: Vec<&str> = catalog
        .all()
        .iter()
        .filter(|a| a.predecessors == ["412"])
        .map(|a| a.code.as_str())
        .collect();
    assert!(vinh_wards.len() >= 3 && vinh_wards.contains(&"16681"), "{vinh_wards:?}");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE actor = 'cli' AND action IN ('area_create', 'area_update')",
    )
    .fetch_one(&state.db.pool)
    .await
    .unwrap();
    assert_eq!(audited, 150);

    // The same file again, as a plain import, finds everything present.
    let out = assert_ok(&run(&env, &["areas", "import", file_2025], ""));
    assert!(out.contains("0 units added, 131 already present, 0 retired"), "{out}");
}

/// `areas move`: after the reform, an installation of 2024 moves its clients (`code,to`)
/// and staff (`username,to`) to the 2025 units from two CSV files, audited as `cli`; a bad
/// line refuses the whole file.
#[tokio::test]
async fn areas_move_takes_clients_and_staff_to_the_new_units_from_a_file() {
    let env = TestEnv::new().await;
    let dir = env.dir.path();
    let state = env.state().await;
    let mut codes = Vec::new();
    for name in ["Khách Chuyển Một", "Khách Chuyển Hai"] {
        let created = state
            .clients
            .create(
                &hoanhap::clients::NewClient {
                    area: "412".into(),
                    full_name: hoanhap::crypto::Sensitive::from(name),
                    chosen_name: None,
                    date_of_birth: "1990-01-01".parse().unwrap(),
                    id_number: None,
                    phone: None,
                    address: None,
                    notes: None,
                    eligible: true,
                    opened_on: "2024-05-01".parse().unwrap(),
                    assigned_worker: None,
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        codes.push(created.client.code);
    }
    add_user(&state, "gs.vinh", hoanhap::policy::Role::Supervisor, "412").await;
    let file_2025 = concat!(env!("CARGO_MANIFEST_DIR"), "/seed/areas-nghe-an-2025.csv");
    assert_ok(&run(
        &env,
        &["areas", "reform", "--file", file_2025, "--on", "2025-07-01"],
        "",
    ));

    let clients = dir.join("clients.csv");
    std::fs::write(&clients, format!("code,to\n{},16681\n{},16813\n", codes[0], codes[1])).unwrap();
    let out = run(
        &env,
        &[
            "areas",
            "move",
            "--file",
            clients.to_str().unwrap(),
            "--on",
            "2025-07-01",
        ],
        "",
    );
    assert_fails(&out, "moves[1].to");
    std::fs::write(&clients, format!("code,to\n{},16681\n{},16690\n", codes[0], codes[1])).unwrap();
    assert_fails(
        &run(&env, &["areas", "move", "--file", clients.to_str().unwrap()], ""),
        ": on: ",
    );
    let out = assert_ok(&run(
        &env,
        &[
            "areas",
            "move",
            "--file",
            clients.to_str().unwrap(),
            "--on",
            "2025-07-01",
        ],
        "",
    ));
    assert!(out.contains("2 moved"), "{out}");
    let staff = dir.join("staff.csv");
    std::fs::write(&staff, "\u{feff}username,to\ngs.vinh,16681\n").unwrap();
    assert_fails(
        &run(
            &env,
            &["areas", "move", "--file", staff.to_str().unwrap(), "--on", "2025-07-01"],
            "",
        ),
        "--on",
    );
    assert!(assert_ok(&run(&env, &["areas", "move", "--file", staff.to_str().unwrap()], "")).contains("1 moved"));

    let areas: Vec<String> = sqlx::query_scalar("SELECT area FROM clients ORDER BY code")
        .fetch_all(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(areas, ["16681", "16690"]);
    let account = hoanhap::auth::accounts::by_username(&state.db, "gs.vinh")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.area, "16681");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE actor = 'cli' AND action IN ('client_move', 'user_move') AND outcome = 'success'",
    )
    .fetch_one(&state.db.pool)
    .await
    .unwrap();
    assert_eq!(audited, 3);
    assert!(!out.contains("Khách Chuyển"), "no name is printed");
}
