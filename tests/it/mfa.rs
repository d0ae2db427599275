//! The second factor: enrolment, login with a TOTP code or a recovery code, replay
//! refusal, roles that must enrol, and an admin's reset.

use crate::kit::{Api, PASSWORD, TestEnv, TestServer, add_user, http_client};
use hoanhap::policy::Role;
use serde_json::{Value, json};

/// A code from the authenticator app for the base32 `secret` at `unix_seconds`.
fn code_at(secret: &str, unix_seconds: u64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).unwrap().as_bytes().to_vec();
    let totp = totp_rs::Builder::new().with_secret(bytes).build().unwrap();
    totp.generate(unix_seconds).to_string()
}

fn server_seconds(server: &TestServer) -> u64 {
    u64::try_from(server.state.clock.now().timestamp()).unwrap()
}

/// A code from the authenticator app for the base32 `secret`, at the server's time.
fn code_for(server: &TestServer, secret: &str) -> String {
    code_at(secret, server_seconds(server))
}

async fn login(server: &TestServer, username: &str, totp: Option<&str>) -> (reqwest::StatusCode, Value) {
    let mut body = json!({ "username": username, "password": PASSWORD });
    if let Some(code) = totp {
        body["totp"] = json!(code);
    }
    let res = http_client()
        .post(server.url("/api/v1/session"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

/// Enrols the logged-in user; returns the base32 secret, the recovery codes and the
/// time of the code that confirmed the enrolment.
async fn enrol(server: &TestServer, api: &Api) -> (String, Vec<String>, u64) {
    let res = api.post("/api/v1/me/mfa/enrol", json!({})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let enrolment: Value = res.json().await.unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let at = server_seconds(server);
    let code = code_at(&secret, at);
    let res = api
        .post("/api/v1/me/mfa/confirm", json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes, at)
}

#[tokio::test]
async fn a_role_that_needs_a_second_factor_enrols_before_anything_else() {
    let env = TestEnv::new().await;
    assert!(env.settings.auth.mfa_required_roles.iter().any(|r| r == "supervisor"));
    let server = TestServer::start(env.state().await).await;
    add_user(&server.state, "mai.sup", Role::Supervisor, "412").await;

    let api = Api::login(&server, "mai.sup").await;
    let me: Value = api.get("/api/v1/me").send().await.unwrap().json().await.unwrap();
    assert_eq!(me["mfa_enrolment_required"], true);
    // Other routes refuse the session until the factor is enrolled.
    for path in ["/api/v1/users", "/api/v1/audit", "/api/v1/break-glass"] {
        let res = api.get(path).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "mfa_enrolment_required", "{path}");
    }

    let res = api.post("/api/v1/me/mfa/enrol", json!({})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let enrolment: Value = res.json().await.unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let url = enrolment["otpauth_url"].as_str().unwrap();
    assert!(url.starts_with("otpauth://totp/hoanhap:mai.sup?"), "{url}");
    assert!(url.contains(&format!("secret={secret}")));
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    // Not enabled until confirmed: a login still needs no code.
    let (status, _) = login(&server, "mai.sup", None).await;
    assert_eq!(status, 200);

    // A wrong code is refused naming the field.
    let res = api
        .post("/api/v1/me/mfa/confirm", json!({ "code": "000000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["fields"]["code"].is_string(), "{body}");

    let code = code_for(&server, &secret);
    let res = api
        .post("/api/v1/me/mfa/confirm", json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let codes = body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);

    // The same session now passes the enrolment gate (and meets the ordinary policy).
    let me: Value = api.get("/api/v1/me").send().await.unwrap().json().await.unwrap();
    assert_eq!(me["mfa_enrolment_required"], false);
    assert_eq!(me["user"]["totp_enabled"], true);
    let res = api.get("/api/v1/users").send().await.unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(api.get("/api/v1/break-glass").send().await.unwrap().status(), 200);

    // Enrolling again is refused while the factor is enabled.
    let again = api.post("/api/v1/me/mfa/enrol", json!({})).send().await.unwrap();
    assert_eq!(again.status(), 409);

    // Only the hashes of the recovery codes are stored.
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(&server.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    for code in codes {
        assert!(!stored.contains(&code.as_str().unwrap().to_owned()));
    }
    // The secret never reaches the log.
    assert!(!crate::kit::captured_logs().contains(&secret));

    let actions: Vec<String> = sqlx::query_scalar("SELECT action || ':' || outcome FROM audit_log ORDER BY seq")
        .fetch_all(&server.state.db.pool)
        .await
        .unwrap();
    for expected in ["mfa_enrol:success", "mfa_confirm:failure", "mfa_confirm:success"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} not in {actions:?}");
    }
}

#[tokio::test]
async fn login_of_an_enrolled_user_needs_a_fresh_code_or_a_recovery_code() {
    let env = TestEnv::new().await;
    let server = TestServer::start(env.state().await).await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let api = Api::login(&server, "lan.sw").await;
    let (secret, recovery, confirmed_at) = enrol(&server, &api).await;

    let (status, body) = login(&server, "lan.sw", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "totp_required");

    // The code that confirmed enrolment was used: it cannot be replayed.
    let used = code_at(&secret, confirmed_at);
    let (status, body) = login(&server, "lan.sw", Some(&used)).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_credentials");

    // The next time step's code works, once.
    server.state.clock.advance(chrono::Duration::seconds(30));
    let fresh = code_for(&server, &secret);
    let (status, body) = login(&server, "lan.sw", Some(&fresh)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mfa_enrolment_required"], false);
    let (status, _) = login(&server, "lan.sw", Some(&fresh)).await;
    assert_eq!(status, 401, "a TOTP code is accepted once");

    let (status, _) = login(&server, "lan.sw", Some("123456")).await;
    assert_eq!(status, 401);

    // A recovery code works once, in any case and with or without dashes.
    let code = recovery[3].to_uppercase().replace('-', "");
    let (status, _) = login(&server, "lan.sw", Some(&code)).await;
    assert_eq!(status, 200);
    let (status, _) = login(&server, "lan.sw", Some(&recovery[3])).await;
    assert_eq!(status, 401);
    assert_eq!(
        hoanhap::auth::mfa::recovery_codes_left(&server.state.db, api.user["id"].as_str().unwrap())
            .await
            .unwrap(),
        9
    );
    let (status, _) = login(&server, "lan.sw", Some("not-a-recovery-code")).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn no_required_roles_lets_everyone_in_without_enrolment() {
    let mut env = TestEnv::new().await;
    env.settings.auth.mfa_required_roles = Vec::new();
    let server = TestServer::start(env.state().await).await;
    add_user(&server.state, "an.audit", Role::Auditor, "40").await;
    let api = Api::login(&server, "an.audit").await;
    let me: Value = api.get("/api/v1/me").send().await.unwrap().json().await.unwrap();
    assert_eq!(me["mfa_enrolment_required"], false);
    assert_eq!(api.get("/api/v1/audit").send().await.unwrap().status(), 200);
    // Enrolment is still possible, and then the code is needed.
    let (secret, _, _) = enrol(&server, &api).await;
    assert!(!secret.is_empty());
    let (status, body) = login(&server, "an.audit", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "totp_required");
}

#[tokio::test]
async fn an_admin_reset_ends_sessions_and_asks_for_enrolment_again() {
    let env = TestEnv::new().await;
    let server = TestServer::start(env.state().await).await;
    let admin_id = add_user(&server.state, "root.admin", Role::Admin, "40").await;
    let user_id = add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let admin = Api::login(&server, "root.admin").await;
    enrol(&server, &admin).await;
    let user = Api::login(&server, "lan.sw").await;
    let (user_secret, _, _) = enrol(&server, &user).await;
    assert_eq!(user.get("/api/v1/me").send().await.unwrap().status(), 200);

    let res = admin
        .post(&format!("/api/v1/users/{user_id}/reset-mfa"), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["totp_enabled"], false);
    assert_eq!(user.get("/api/v1/me").send().await.unwrap().status(), 401);
    // The old secret is gone: logging in needs no code, and enrolment is pending again.
    let (status, body) = login(&server, "lan.sw", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["mfa_enrolment_required"], true);
    let stale = code_for(&server, &user_secret);
    assert!(!stale.is_empty());
    let left = hoanhap::auth::mfa::recovery_codes_left(&server.state.db, &user_id)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let flagged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'user_reset_mfa' AND actor = $1 AND object_id = $2",
    )
    .bind(&admin_id)
    .bind(&user_id)
    .fetch_one(&server.state.db.pool)
    .await
    .unwrap();
    assert_eq!(flagged, 1);
}
