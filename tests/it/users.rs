//! The accounts API (admin) and first-admin setup.

use crate::kit::{Api, PASSWORD, TestEnv, TestServer, add_user, http_client, server_without_mfa};
use hoanhap::auth::setup::{self, SetupError};
use hoanhap::policy::Role;
use secrecy::SecretString;
use serde_json::{Value, json};

async fn try_login(server: &TestServer, username: &str, password: &str) -> reqwest::StatusCode {
    http_client()
        .post(server.url("/api/v1/session"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
}

async fn audit_count(server: &TestServer, action: &str, object: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND object_id = $2 AND outcome = 'success'")
        .bind(action)
        .bind(object)
        .fetch_one(&server.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_creates_lists_disables_enables_and_resets_accounts() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "root.admin", Role::Admin, "40").await;
    let admin = Api::login(&server, "root.admin").await;

    let res = admin
        .post(
            "/api/v1/users",
            json!({ "username": "Hoa.SW", "display_name": "Hoa (SW Vinh)", "role": "social_worker",
                    "area": "412", "password": "a long enough password" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["username"], "hoa.sw");
    assert_eq!(created["role"], "social_worker");
    assert_eq!(created["area"], "412");
    assert_eq!(created["status"], "active");
    assert!(created.get("password").is_none() && created.get("password_hash").is_none());
    assert_eq!(audit_count(&server, "user_create", &id).await, 1);

    let list: Value = admin.get("/api/v1/users").send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hoa.sw", "root.admin"]);

    // The new account logs in.
    assert_eq!(try_login(&server, "hoa.sw", "a long enough password").await, 200);
    let http = http_client();
    let login: Value = http
        .post(server.url("/api/v1/session"))
        .json(&json!({ "username": "hoa.sw", "password": "a long enough password" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(login["user"]["id"], id.as_str());
    let me = |http: &reqwest::Client| http.get(server.url("/api/v1/me")).send();
    assert_eq!(me(&http).await.unwrap().status(), 200);

    // Disabling ends the session at once and refuses logins.
    let res = admin
        .post(&format!("/api/v1/users/{id}/disable"), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "disabled");
    assert_eq!(me(&http).await.unwrap().status(), 401);
    assert_eq!(try_login(&server, "hoa.sw", "a long enough password").await, 401);
    assert_eq!(audit_count(&server, "user_disable", &id).await, 1);

    let res = admin
        .post(&format!("/api/v1/users/{id}/enable"), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(audit_count(&server, "user_enable", &id).await, 1);
    assert_eq!(try_login(&server, "hoa.sw", "a long enough password").await, 200);

    // A password reset ends sessions; the old password stops working.
    let http = http_client();
    http.post(server.url("/api/v1/session"))
        .json(&json!({ "username": "hoa.sw", "password": "a long enough password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(me(&http).await.unwrap().status(), 200);
    let short = admin
        .post(
            &format!("/api/v1/users/{id}/reset-password"),
            json!({ "password": "short" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), 422);
    let body: Value = short.json().await.unwrap();
    assert!(body["error"]["fields"]["password"].is_string());
    let res = admin
        .post(
            &format!("/api/v1/users/{id}/reset-password"),
            json!({ "password": "another long password" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(me(&http).await.unwrap().status(), 401);
    assert_eq!(try_login(&server, "hoa.sw", "a long enough password").await, 401);
    assert_eq!(try_login(&server, "hoa.sw", "another long password").await, 200);
    assert_eq!(audit_count(&server, "user_reset_password", &id).await, 1);

    // Unknown ids are 404.
    let res = admin
        .post("/api/v1/users/no-such-id/disable", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // No password reaches the log.
    let logs = crate::kit::captured_logs();
    assert!(!logs.contains("a long enough password") && !logs.contains("another long password"));
}

#[tokio::test]
async fn bad_fields_are_named_and_a_taken_username_is_refused() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "root.admin", Role::Admin, "40").await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let admin = Api::login(&server, "root.admin").await;

    let res = admin
        .post(
            "/api/v1/users",
            json!({ "username": "x!", "display_name": " ", "role": "boss", "area": "999", "password": "short" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let fields = body["error"]["fields"].as_object().unwrap();
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["area", "display_name", "password", "role", "username"]);

    let res = admin
        .post("/api/v1/users", json!({ "username": "lan.sw", "role": "volunteer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "missing fields are named");

    let res = admin
        .post(
            "/api/v1/users",
            json!({ "username": "LAN.SW", "display_name": "Another Lan", "role": "volunteer",
                    "area": "412", "password": PASSWORD }),
        )
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert!(res.status() == 409 || res.status() == 422, "{}", res.status());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["fields"]["username"], "This username is taken.");
}

#[tokio::test]
async fn only_admins_manage_accounts_and_an_admin_cannot_lock_themselves_out() {
    let (_env, server) = server_without_mfa().await;
    let admin_id = add_user(&server.state, "root.admin", Role::Admin, "40").await;
    let sw_id = add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    for (name, role, area) in [
        ("mai.sup", Role::Supervisor, "412"),
        ("an.audit", Role::Auditor, "40"),
        ("minh.mgr", Role::Manager, "40"),
        ("thu.vol", Role::Volunteer, "412"),
    ] {
        add_user(&server.state, name, role, area).await;
    }
    for name in ["lan.sw", "mai.sup", "an.audit", "minh.mgr", "thu.vol"] {
        let api = Api::login(&server, name).await;
        assert_eq!(api.get("/api/v1/users").send().await.unwrap().status(), 403, "{name}");
        let res = api
            .post(
                "/api/v1/users",
                json!({ "username": "new.one", "display_name": "New", "role": "admin", "area": "40",
                        "password": PASSWORD }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}");
        for action in ["disable", "enable", "reset-mfa"] {
            let res = api
                .post(&format!("/api/v1/users/{sw_id}/{action}"), json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 403, "{name} {action}");
        }
    }
    assert!(
        hoanhap::auth::accounts::by_username(&server.state.db, "new.one")
            .await
            .unwrap()
            .is_none()
    );
    let admin = Api::login(&server, "root.admin").await;
    let res = admin
        .post(&format!("/api/v1/users/{admin_id}/disable"), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(admin.get("/api/v1/me").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_setup_token_creates_the_first_admin_once_and_expires_after_30_minutes() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    assert!(setup::needs_first_admin(&state).await.unwrap());
    let token = setup::issue_setup_token(&state).await.unwrap();
    assert_eq!(token.len(), 64);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
    // Only the hash is stored.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM setup_tokens")
        .fetch_all(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);
    assert!(!crate::kit::captured_logs().contains(&token));

    assert!(setup::check_setup_token(&state, &token).await.unwrap());
    assert!(!setup::check_setup_token(&state, &"0".repeat(64)).await.unwrap());
    assert!(!setup::check_setup_token(&state, "not a token").await.unwrap());

    // Expiry, by the clock.
    let expiring = setup::issue_setup_token(&state).await.unwrap();
    state.clock.advance(chrono::Duration::minutes(29));
    assert!(setup::check_setup_token(&state, &expiring).await.unwrap());
    state.clock.advance(chrono::Duration::minutes(2));
    assert!(!setup::check_setup_token(&state, &expiring).await.unwrap());
    assert!(!setup::check_setup_token(&state, &token).await.unwrap());
    let late = setup::create_first_admin(&state, &token, "root", "Root", SecretString::from(PASSWORD)).await;
    assert!(matches!(late, Err(SetupError::InvalidToken)), "{late:?}");

    let token = setup::issue_setup_token(&state).await.unwrap();
    let other = setup::issue_setup_token(&state).await.unwrap();
    // Bad fields leave the token usable.
    let bad = setup::create_first_admin(&state, &token, "x", " ", SecretString::from("short")).await;
    match bad {
        Err(SetupError::Invalid(fields)) => {
            assert_eq!(
                fields.keys().copied().collect::<Vec<_>>(),
                ["display_name", "password", "username"]
            );
        }
        other => panic!("{other:?}"),
    }
    // So does a taken username.
    add_user(&state, "lan.sw", Role::SocialWorker, "412").await;
    let taken = setup::create_first_admin(&state, &token, "lan.sw", "Lan", SecretString::from(PASSWORD)).await;
    assert!(matches!(taken, Err(SetupError::UsernameTaken)), "{taken:?}");
    assert!(setup::check_setup_token(&state, &token).await.unwrap());
    let admin = setup::create_first_admin(&state, &token, "Root.Admin", "Quản trị", SecretString::from(PASSWORD))
        .await
        .unwrap();
    assert_eq!(admin.username, "root.admin");
    assert_eq!(admin.role, Role::Admin);
    assert_eq!(admin.area, state.settings.programme.province_area);
    assert!(admin.is_active());
    assert!(!setup::needs_first_admin(&state).await.unwrap());

    // Used once; the other outstanding link is used up too.
    for t in [&token, &other] {
        assert!(!setup::check_setup_token(&state, t).await.unwrap());
        let again = setup::create_first_admin(&state, t, "second", "Second", SecretString::from(PASSWORD)).await;
        assert!(matches!(again, Err(SetupError::InvalidToken)), "{again:?}");
    }
    // A new token is pointless while an admin exists.
    let after = setup::issue_setup_token(&state).await.unwrap();
    assert!(!setup::check_setup_token(&state, &after).await.unwrap());
    let created: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'first_admin_create'")
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(created, 1);

    // The new admin logs in through the API.
    let server = TestServer::start(state).await;
    let api = Api::login(&server, "root.admin").await;
    assert_eq!(api.user["role"], "admin");
}

// ---- An admin never learns a working password (issue 8) ----

async fn flagged(server: &TestServer, action: &str, object: &str) -> bool {
    let flags: Vec<Value> = sqlx::query("SELECT flagged FROM audit_log WHERE action = $1 AND object_id = $2")
        .bind(action)
        .bind(object)
        .fetch_all(&server.state.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|row| json!(sqlx::Row::try_get::<hoanhap::db::Flag, _>(row, "flagged").unwrap().0))
        .collect();
    assert_eq!(flags.len(), 1, "{action} {object}");
    flags[0] == json!(true)
}

/// Logs in with a cookie jar and answers the client, the CSRF token and the login body.
async fn login_with(server: &TestServer, username: &str, password: &str) -> (reqwest::Client, String, Value) {
    let http = http_client();
    let res = http
        .post(server.url("/api/v1/session"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "login of {username}");
    let body: Value = res.json().await.unwrap();
    (http, body["csrf_token"].as_str().unwrap().to_owned(), body)
}

#[tokio::test]
async fn a_password_an_admin_chose_only_lets_its_owner_choose_their_own() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "root.admin", Role::Admin, "40").await;
    let admin = Api::login(&server, "root.admin").await;
    let given = "given by the admin 1";
    let create = |name: &str, role: &str| {
        admin
            .post(
                "/api/v1/users",
                json!({ "username": name, "display_name": name, "role": role, "area": "412", "password": given }),
            )
            .send()
    };
    let res = create("hoa.sw", "social_worker").await.unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert!(
        flagged(&server, "user_create", &id).await,
        "a role that reads client content"
    );
    let res = create("minh.mgr", "manager").await.unwrap();
    let manager = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert!(!flagged(&server, "user_create", &manager).await, "statistics only");

    // The admin (or anyone who read the password) logs in: nothing opens but the change.
    let (http, csrf, body) = login_with(&server, "hoa.sw", given).await;
    assert_eq!(body["password_change_required"], true);
    for path in ["/api/v1/areas", "/api/v1/clients", "/api/v1/break-glass"] {
        let res = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "password_change_required", "{path}");
    }
    let res = http
        .post(server.url("/api/v1/me/mfa/enrol"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "not even the second factor first");
    assert_eq!(http.get(server.url("/api/v1/me")).send().await.unwrap().status(), 200);
    // Pages send the user to the change form.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let res = no_redirects
        .post(server.url("/api/v1/session"))
        .json(&json!({ "username": "hoa.sw", "password": given }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = no_redirects.get(server.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/account/password");
    assert_eq!(
        no_redirects
            .get(server.url("/account/password"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // The change needs the current password and a new one.
    let change = |current: &str, new: &str| {
        http.post(server.url("/api/v1/me/password"))
            .header("x-csrf-token", &csrf)
            .json(&json!({ "current_password": current, "new_password": new }))
            .send()
    };
    let res = change("not the password", "my very own password").await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.json::<Value>().await.unwrap()["error"]["fields"]["current_password"].is_string());
    let res = change(given, given).await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.json::<Value>().await.unwrap()["error"]["fields"]["new_password"].is_string());
    let res = change(given, "short").await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(change(given, "my very own password").await.unwrap().status(), 204);
    // This session goes on; the other one (the page client's) has ended.
    assert_eq!(
        http.get(server.url("/api/v1/areas")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        no_redirects
            .get(server.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(try_login(&server, "hoa.sw", given).await, 401);
    let (_, _, body) = login_with(&server, "hoa.sw", "my very own password").await;
    assert_eq!(body["password_change_required"], false);

    // A reset is flagged and asks for a change again.
    let res = admin
        .post(
            &format!("/api/v1/users/{id}/reset-password"),
            json!({ "password": "a reset password 2" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(flagged(&server, "user_reset_password", &id).await);
    let (http, _, body) = login_with(&server, "hoa.sw", "a reset password 2").await;
    assert_eq!(body["password_change_required"], true);
    assert_eq!(
        http.get(server.url("/api/v1/areas")).send().await.unwrap().status(),
        403
    );
    let logs = crate::kit::captured_logs();
    assert!(!logs.contains(given) && !logs.contains("my very own password"));
}

#[tokio::test]
async fn wrong_current_passwords_count_like_failed_logins() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let api = Api::login(&server, "lan.sw").await;
    let mut statuses = Vec::new();
    for i in 0..7 {
        let res = api
            .post(
                "/api/v1/me/password",
                json!({ "current_password": format!("guess number {i}"), "new_password": "a new long password" }),
            )
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [422, 422, 422, 422, 422, 429, 429]);
}
