//! The server-rendered pages, on the configured engine: login through the form, language,
//! CSRF on forms, field errors, role limits, and that no page shows a stored name to a
//! role that may not see it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{PASSWORD, TestEnv, TestServer, add_user, http_client};
use hoanhap::policy::Role;

async fn server() -> (TestEnv, TestServer) {
    let mut env = TestEnv::new().await;
    env.settings.auth.mfa_required_roles.clear();
    let server = TestServer::start(env.state().await).await;
    (env, server)
}

/// A browser: a cookie jar that does not follow redirects, so each answer is seen.
struct Browser {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

fn browser_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the first hidden `csrf_token` field of a page.
fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf_token\" value=\"")?;
    let rest = &html[at + "name=\"csrf_token\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

impl Browser {
    fn new(server: &TestServer) -> Self {
        Self {
            http: browser_client(),
            base: format!("http://{}", server.addr),
            csrf: String::new(),
        }
    }

    /// Logs in through the login form; answers the redirect target.
    async fn login(server: &TestServer, username: &str) -> Self {
        let mut b = Self::new(server);
        let res = b
            .post_raw("/login", &[("username", username), ("password", PASSWORD)])
            .await;
        assert_eq!(res.status(), 303, "login of {username}");
        let (status, html) = b.get("/account").await;
        assert_eq!(status, 200);
        b.csrf = csrf_in(&html).expect("a csrf token on the page");
        b
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let res = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.text().await.unwrap())
    }

    async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(fields))
            .send()
            .await
            .unwrap()
    }

    /// A form post with the session's CSRF token.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &self.csrf));
        self.post_raw(path, &all).await
    }
}

fn encode(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn login_page_is_vietnamese_by_default_and_english_on_request() {
    let (_env, server) = server().await;
    let b = Browser::new(&server);
    let (status, html) = b.get("/login").await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"vi\">"), "{html}");
    assert!(html.contains("Đăng nhập"));
    assert!(html.contains("href=\"/login?lang=en\""));
    // The switch remembers the choice in a cookie.
    let (status, html) = b.get("/login?lang=en").await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("Log in"));
    let (_, html) = b.get("/login").await;
    assert!(html.contains("<html lang=\"en\">"), "the cookie keeps English");
    // Accept-Language works without a cookie.
    let res = http_client()
        .get(server.url("/login"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn a_user_logs_in_through_the_form_and_sees_their_home_page() {
    let (_env, server) = server().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let b = Browser::new(&server);
    // Not logged in: sent to the login page.
    let res = b.http.get(format!("{}/account", b.base)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=%2Faccount");
    // Wrong password: the form again, with a message, never the password.
    let res = b
        .post_raw("/login", &[("username", "lan.sw"), ("password", "wrong password!!")])
        .await;
    assert_eq!(res.status(), 401);
    let html = res.text().await.unwrap();
    assert!(html.contains("Tên đăng nhập hoặc mật khẩu không đúng"));
    assert!(html.contains("value=\"lan.sw\""));
    assert!(!html.contains("wrong password!!"));
    // Right password: a session and the page asked for first.
    let res = b
        .post_raw(
            "/login",
            &[("username", "lan.sw"), ("password", PASSWORD), ("next", "/account")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account");
    let (status, html) = b.get("/account").await;
    assert_eq!(status, 200);
    assert!(html.contains("Test lan.sw"), "the user's name in the header");
    assert!(html.contains("Cán bộ công tác xã hội"), "the role in Vietnamese");
    assert!(html.contains("action=\"/logout\""));
    // Logging out ends the session.
    let csrf = csrf_in(&html).unwrap();
    let res = b.post_raw("/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(res.status(), 303);
    let res = b.http.get(format!("{}/account", b.base)).send().await.unwrap();
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn an_open_redirect_is_not_possible_after_login() {
    let (_env, server) = server().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let b = Browser::new(&server);
    let res = b
        .post_raw(
            "/login",
            &[
                ("username", "lan.sw"),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
}

#[tokio::test]
async fn missing_login_fields_are_422_with_messages_next_to_the_inputs() {
    let (_env, server) = server().await;
    let b = Browser::new(&server);
    let res = b.post_raw("/login", &[("username", ""), ("password", "")]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("aria-describedby=\"e-username\""));
    assert!(html.contains("id=\"e-password\""));
    assert!(html.contains("Bắt buộc nhập."));
}

#[tokio::test]
async fn a_form_post_without_the_csrf_token_is_refused() {
    let (_env, server) = server().await;
    add_user(&server.state, "admin", Role::Admin, "40").await;
    let b = Browser::login(&server, "admin").await;
    let res = b
        .post_raw(
            "/admin/users",
            &[
                ("username", "new.user"),
                ("display_name", "New"),
                ("role", "volunteer"),
                ("area", "412"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = b
        .post_raw("/logout", &[("csrf_token", "0000")])
        .await;
    assert_eq!(res.status(), 403);
    let (_, html) = b.get("/admin/users").await;
    assert!(!html.contains("new.user"), "nothing was created");
}

#[tokio::test]
async fn an_admin_manages_accounts_through_the_pages() {
    let (_env, server) = server().await;
    add_user(&server.state, "admin", Role::Admin, "40").await;
    let b = Browser::login(&server, "admin").await;
    let (status, html) = b.get("/admin/users").await;
    assert_eq!(status, 200);
    assert!(html.contains("Tạo tài khoản mới"));
    // Bad input: 422 and a message per field.
    let res = b
        .post(
            "/admin/users",
            &[
                ("username", "X"),
                ("display_name", ""),
                ("role", "king"),
                ("area", "999"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    for field in ["username", "display_name", "role", "area", "password"] {
        assert!(html.contains(&format!("id=\"e-{field}\"")), "{field}");
    }
    // Good input: created.
    let res = b
        .post(
            "/admin/users",
            &[
                ("username", "hoa.vol"),
                ("display_name", "Hoa"),
                ("role", "volunteer"),
                ("area", "412"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let account = hoanhap::auth::accounts::by_username(&server.state.db, "hoa.vol")
        .await
        .unwrap()
        .unwrap();
    let (status, html) = b.get(&format!("/admin/users/{}", account.id)).await;
    assert_eq!(status, 200);
    assert!(html.contains("hoa.vol"));
    let res = b
        .post(&format!("/admin/users/{}/disable", account.id), &[])
        .await;
    assert_eq!(res.status(), 303);
    let account = hoanhap::auth::accounts::by_id(&server.state.db, &account.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!account.is_active());
    // A non-admin gets the 403 page, in their language.
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let sw = Browser::login(&server, "lan.sw").await;
    let (status, html) = sw.get("/admin/users?lang=en").await;
    assert_eq!(status, 403);
    assert!(html.contains("Not allowed"), "{html}");
}

#[tokio::test]
async fn the_auditor_filters_and_verifies_the_trail() {
    let (_env, server) = server().await;
    add_user(&server.state, "dpo", Role::Auditor, "40").await;
    let b = Browser::login(&server, "dpo").await;
    let (status, html) = b.get("/audit").await;
    assert_eq!(status, 200);
    assert!(html.contains("login"), "the login is in the trail");
    let (status, html) = b.get("/audit/verify").await;
    assert_eq!(status, 200);
    assert!(html.contains("Chuỗi nhật ký nguyên vẹn"), "{html}");
    let (status, html) = b.get("/audit?from=not-a-date").await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"e-from\""));
    let (status, _) = b.get("/audit?flagged=1&actor=dpo&from=01%2F01%2F2020").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unknown_pages_are_html_404_and_unknown_api_routes_stay_json() {
    let (_env, server) = server().await;
    let b = Browser::new(&server);
    let (status, html) = b.get("/no/such/page").await;
    assert_eq!(status, 404);
    assert!(html.contains("<html lang=\"vi\">"));
    assert!(html.contains("Không tìm thấy trang"));
    let res = http_client().get(server.url("/api/v1/nothing")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn the_stylesheet_is_served_and_pages_carry_the_strict_policy() {
    let (_env, server) = server().await;
    let res = http_client().get(server.url("/static/hoanhap.css")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    let res = http_client().get(server.url("/login")).send().await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'"));
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script"));
    assert!(!html.contains("style=\""));
    assert!(html.contains("class=\"skip\" href=\"#main\""));
}
