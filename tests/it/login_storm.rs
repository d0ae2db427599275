//! A burst of logins larger than the password-check queue: some are shed with 503 and
//! `Retry-After`, none fails with another server error, and logins work again after it.
//! Its own test binary, because the Argon2 semaphore is shared by the whole process.

use crate::kit::{PASSWORD, TestEnv, TestServer, add_user};
use hoanhap::policy::Role;
use serde_json::json;

#[tokio::test]
async fn a_login_storm_is_shed_with_503_and_retry_after_never_500() {
    let mut env = TestEnv::new().await;
    env.settings.auth.mfa_required_roles.clear();
    let server = TestServer::start(env.state().await).await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    // Running permits + the queue (4 × permits) + as many again.
    let burst = hoanhap::auth::password::max_concurrent() * 10 + 20;
    let http = reqwest::Client::new();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..burst {
        let http = http.clone();
        let url = server.url("/api/v1/session");
        set.spawn(async move {
            let res = http
                .post(url)
                .json(&json!({ "username": format!("storm.{i}"), "password": "wrong password!!" }))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.headers().get("retry-after").is_some())
        });
    }
    let mut answers = Vec::new();
    while let Some(answer) = set.join_next().await {
        answers.push(answer.unwrap());
    }
    let shed = answers.iter().filter(|(s, _)| *s == 503).count();
    assert!(shed > 0, "a burst of {burst} is larger than the queue");
    assert!(answers.iter().filter(|(s, _)| *s == 503).all(|(_, retry)| *retry));
    assert!(answers.iter().all(|(s, _)| *s == 401 || *s == 503), "{answers:?}");
    // Shed attempts were not counted against anyone; the storm over, logins work.
    let res = reqwest::Client::new()
        .post(server.url("/api/v1/session"))
        .json(&json!({ "username": "lan.sw", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
