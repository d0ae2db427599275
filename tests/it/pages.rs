//! The server-rendered pages, on the configured engine: login through the form, language,
//! CSRF on forms, field errors, role limits, and that no page shows a stored name to a
//! role that may not see it.

use crate::kit::pages::{PageClient, csrf_in, location};
use crate::kit::{PASSWORD, TestEnv, TestServer, add_user, http_client, server_without_mfa};
use hoanhap::policy::Role;

#[tokio::test]
async fn login_page_is_vietnamese_by_default_and_english_on_request() {
    let (_env, server) = server_without_mfa().await;
    let b = PageClient::new(&server);
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
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let b = PageClient::new(&server);
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
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let b = PageClient::new(&server);
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
    let (_env, server) = server_without_mfa().await;
    let b = PageClient::new(&server);
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
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "admin", Role::Admin, "40").await;
    let b = PageClient::login(&server, "admin").await;
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
    let res = b.post_raw("/logout", &[("csrf_token", "0000")]).await;
    assert_eq!(res.status(), 403);
    let (_, html) = b.get("/admin/users").await;
    assert!(!html.contains("new.user"), "nothing was created");
}

#[tokio::test]
async fn an_admin_manages_accounts_through_the_pages() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "admin", Role::Admin, "40").await;
    let b = PageClient::login(&server, "admin").await;
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
    let res = b.post(&format!("/admin/users/{}/disable", account.id), &[]).await;
    assert_eq!(res.status(), 303);
    let account = hoanhap::auth::accounts::by_id(&server.state.db, &account.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!account.is_active());
    // A non-admin gets the 403 page, in their language.
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let sw = PageClient::login(&server, "lan.sw").await;
    let (status, html) = sw.get("/admin/users?lang=en").await;
    assert_eq!(status, 403);
    assert!(html.contains("Not allowed"), "{html}");
}

#[tokio::test]
async fn the_auditor_filters_and_verifies_the_trail() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "dpo", Role::Auditor, "40").await;
    let b = PageClient::login(&server, "dpo").await;
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
    // A client code is a filter of the form POST only: never in a URL a proxy keeps.
    let res = b
        .post("/audit", &[("client_code", "NA-2024-00001"), ("flagged", "")])
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("value=\"NA-2024-00001\""),
        "the filter is kept in the form"
    );
    assert!(!html.contains("?client_code="), "{html}");
    let (_, html) = b.get("/audit?client_code=NA-2024-00001").await;
    assert!(
        !html.contains("value=\"NA-2024-00001\""),
        "a code in the query string is ignored"
    );
}

#[tokio::test]
async fn unknown_pages_are_html_404_and_unknown_api_routes_stay_json() {
    let (_env, server) = server_without_mfa().await;
    let b = PageClient::new(&server);
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
    let (_env, server) = server_without_mfa().await;
    let res = http_client()
        .get(server.url("/static/hoanhap.css"))
        .send()
        .await
        .unwrap();
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

const NAME: &str = "Nguyễn Thị Hồng Nhung";
const CHOSEN: &str = "Bé Nhung";

/// Opens a case through the intake form; answers the client id.
async fn intake(b: &PageClient, extra: &[(&str, &str)]) -> String {
    let mut fields = vec![
        ("area", "412"),
        ("full_name", NAME),
        ("chosen_name", CHOSEN),
        ("date_of_birth", "15/03/1995"),
        ("id_number", "040195001234"),
        ("phone", "0912345678"),
        ("address", "Xóm 3, phường Hưng Bình"),
        ("notes", "Muốn học nghề may"),
        ("eligible", "yes"),
        ("consents.data_processing", "1"),
        ("consents.volunteer_contact", "1"),
        ("consents.reporting", "1"),
        ("consents.referral_sharing", "vocational_training"),
        ("consents.referral_sharing", "loan"),
    ];
    fields.extend_from_slice(extra);
    let res = b.post("/clients/new", &fields).await;
    assert_eq!(res.status(), 201);
    let html = res.text().await.unwrap();
    let main = &html[html.find("<main").unwrap()..];
    let at = main
        .find("class=\"button\" href=\"/clients/")
        .expect("a link to the new case");
    let rest = &main[at + "class=\"button\" href=\"/clients/".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn intake_through_the_form_then_the_case_page_by_role() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    add_user(&server.state, "mai.sup", Role::Supervisor, "412").await;
    let vol_id = add_user(&server.state, "hoa.vol", Role::Volunteer, "412").await;
    add_user(&server.state, "minh.mgr", Role::Manager, "40").await;
    add_user(&server.state, "dpo", Role::Auditor, "40").await;
    add_user(&server.state, "admin", Role::Admin, "40").await;
    let sw = PageClient::login(&server, "lan.sw").await;
    let (status, html) = sw.get("/clients/new").await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"consents.referral_sharing\" value=\"loan\""));
    let id = intake(&sw, &[]).await;

    // The social worker sees everything on her case.
    let (status, html) = sw.get(&format!("/clients/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(NAME), "{html}");
    assert!(html.contains("15/03/1995"), "dates are dd/mm/yyyy");
    assert!(html.contains("Muốn học nghề may"));
    let (_, home) = sw.get("/").await;
    assert!(home.contains(&format!("/clients/{id}")), "the case is on her caseload");
    assert!(!home.contains(NAME), "lists show codes and chosen names only");

    // A second intake with the same name and birth date is flagged, by code only.
    let res = sw
        .post(
            "/clients/new",
            &[
                ("area", "412"),
                ("full_name", NAME),
                ("date_of_birth", "1995-03-15"),
                ("eligible", "no"),
                ("consents.data_processing", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 201);
    let html = res.text().await.unwrap();
    assert!(html.contains("Có thể trùng"), "{html}");
    assert!(html.contains("NA-"), "the duplicate's code");
    assert!(!html.contains(NAME), "never the duplicate's name");

    // The supervisor assigns the volunteer.
    let sup = PageClient::login(&server, "mai.sup").await;
    let res = sup
        .post(&format!("/clients/{id}/volunteers"), &[("vol_user_id", &vol_id)])
        .await;
    assert_eq!(res.status(), 303);

    // The volunteer sees the chosen name and phone (contact consent), never the name.
    let vol = PageClient::login(&server, "hoa.vol").await;
    let (status, html) = vol.get("/").await;
    assert_eq!(status, 200);
    assert!(html.contains(CHOSEN));
    assert!(html.contains("0912345678"));
    assert!(!html.contains(NAME));
    let (status, html) = vol.get(&format!("/clients/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(CHOSEN));
    for secret in [NAME, "040195001234", "Xóm 3", "Muốn học nghề may", "15/03/1995"] {
        assert!(!html.contains(secret), "a volunteer must not see {secret}");
    }

    // Roles without client access are refused and see nothing of the client.
    for user in ["minh.mgr", "dpo", "admin"] {
        let b = PageClient::login(&server, user).await;
        let (status, html) = b.get(&format!("/clients/{id}")).await;
        assert!(status == 403 || status == 404, "{user}: {status}");
        assert!(!html.contains(NAME) && !html.contains(CHOSEN), "{user}");
        let (status, html) = b.get("/").await;
        assert_eq!(status, 200);
        assert!(!html.contains(NAME) && !html.contains(CHOSEN), "{user}");
    }
    let dpo = PageClient::login(&server, "dpo").await;
    let (status, html) = dpo.get("/audit").await;
    assert_eq!(status, 200);
    assert!(html.contains("client_read"));
    assert!(!html.contains(NAME) && !html.contains(CHOSEN));
}

#[tokio::test]
async fn bad_intake_input_is_422_with_messages_next_to_the_fields() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let sw = PageClient::login(&server, "lan.sw").await;
    let res = sw
        .post(
            "/clients/new",
            &[
                ("area", "412"),
                ("full_name", ""),
                ("date_of_birth", "31/02/1990"),
                ("phone", "12"),
                ("chosen_name", "Kept as typed"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    for field in [
        "full_name",
        "date_of_birth",
        "phone",
        "eligible",
        "consents.data_processing",
    ] {
        assert!(html.contains(&format!("id=\"e-{field}\"")), "{field}: {html}");
    }
    assert!(html.contains("aria-describedby=\"e-full_name\""));
    assert!(html.contains("value=\"Kept as typed\""));
    // Without the token: refused before anything happens.
    let res = sw.post_raw("/clients/new", &[("area", "412")]).await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn needs_referrals_and_only_the_allowed_transitions() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let sw = PageClient::login(&server, "lan.sw").await;
    let id = intake(&sw, &[]).await;
    // A bad need: 422, the error next to the category.
    let res = sw.post(&format!("/clients/{id}/needs"), &[("need_category", "")]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"e-need_category\""));
    let res = sw
        .post(
            &format!("/clients/{id}/needs"),
            &[("need_category", "vocational_training"), ("need_detail", "May mặc")],
        )
        .await;
    assert_eq!(res.status(), 303);
    // A referral without sharing consent for the category is refused with the reason.
    let res = sw
        .post(&format!("/clients/{id}/referrals"), &[("ref_category", "health_care")])
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("chưa đồng ý chia sẻ"));
    let res = sw
        .post(
            &format!("/clients/{id}/referrals"),
            &[("ref_category", "vocational_training"), ("ref_detail", "Lớp may")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, html) = sw.get(&format!("/clients/{id}")).await;
    assert!(html.contains("May mặc"));
    let at = html.find("action=\"/referrals/").unwrap();
    let rest = &html[at + "action=\"/referrals/".len()..];
    let referral = rest[..rest.find('/').unwrap()].to_owned();
    // Buttons for the next states of `referred` only.
    for to in ["accepted", "declined", "cancelled"] {
        assert!(html.contains(&format!("name=\"to\" value=\"{to}\"")), "{to}");
    }
    assert!(!html.contains("name=\"to\" value=\"completed\""));
    let res = sw
        .post(
            &format!("/referrals/{referral}/transitions"),
            &[("to", "accepted"), ("client_id", &id)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, html) = sw.get(&format!("/clients/{id}")).await;
    assert!(html.contains("name=\"to\" value=\"in_service\""));
    assert!(!html.contains("name=\"to\" value=\"accepted\""));
    // A move that skips a state is refused on the page.
    let res = sw
        .post(
            &format!("/referrals/{referral}/transitions"),
            &[("to", "completed"), ("client_id", &id)],
        )
        .await;
    assert_eq!(res.status(), 422);
    // The slip: code and category, never the legal name.
    let (status, html) = sw.get(&format!("/referrals/{referral}/slip")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Phiếu chuyển gửi"));
    assert!(html.contains("NA-"));
    assert!(!html.contains(NAME));
}

#[tokio::test]
async fn a_worker_outside_the_scope_gets_break_glass_and_a_volunteer_logs_support() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    add_user(&server.state, "tuan.sw", Role::SocialWorker, "413").await;
    add_user(&server.state, "mai.sup", Role::Supervisor, "412").await;
    let vol_id = add_user(&server.state, "hoa.vol", Role::Volunteer, "412").await;
    let sw = PageClient::login(&server, "lan.sw").await;
    let id = intake(&sw, &[]).await;

    let other = PageClient::login(&server, "tuan.sw").await;
    let (status, html) = other.get(&format!("/clients/{id}")).await;
    assert_eq!(status, 403);
    assert!(html.contains("Truy cập khẩn cấp"));
    assert!(!html.contains(NAME) && !html.contains(CHOSEN));
    let res = other
        .post(&format!("/clients/{id}/break-glass"), &[("reason", "short")])
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"e-reason\""));
    let res = other
        .post(
            &format!("/clients/{id}/break-glass"),
            &[("reason", "Client called the hotline in crisis, her worker is away")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (status, html) = other.get(&format!("/clients/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(NAME));
    // The assigned worker is told.
    let (_, home) = sw.get("/").await;
    assert!(home.contains("tuan.sw"), "the break-glass notice");

    // The volunteer logs a contact from her phone.
    let sup = PageClient::login(&server, "mai.sup").await;
    sup.post(&format!("/clients/{id}/volunteers"), &[("vol_user_id", &vol_id)])
        .await;
    let vol = PageClient::login(&server, "hoa.vol").await;
    let (status, html) = vol.get(&format!("/clients/{id}/support")).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"kind\" value=\"home_visit\""));
    let res = vol
        .post(
            &format!("/clients/{id}/support"),
            &[("kind", "teleport"), ("duration_minutes", "abc")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = vol
        .post(
            &format!("/clients/{id}/support"),
            &[
                ("kind", "home_visit"),
                ("duration_minutes", "45"),
                ("note", "Cần hỗ trợ vay vốn"),
                ("needs_follow_up", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, home) = sw.get("/").await;
    assert!(home.contains("Thăm tại nhà"), "the follow-up on the worker's home page");
}

#[tokio::test]
async fn a_supervisor_erases_a_case_with_a_reason() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    add_user(&server.state, "mai.sup", Role::Supervisor, "412").await;
    let sw = PageClient::login(&server, "lan.sw").await;
    let id = intake(&sw, &[]).await;
    let (_, html) = sw.get(&format!("/clients/{id}")).await;
    assert!(
        !html.contains(&format!("/clients/{id}/erase")),
        "social workers cannot erase"
    );
    let sup = PageClient::login(&server, "mai.sup").await;
    let (_, html) = sup.get(&format!("/clients/{id}")).await;
    assert!(html.contains(&format!("/clients/{id}/erase")));
    let res = sup
        .post(
            &format!("/clients/{id}/erase"),
            &[("erase_reason", "Client asked to be forgotten")],
        )
        .await;
    assert_eq!(res.status(), 422, "the confirmation box is needed");
    let res = sup
        .post(
            &format!("/clients/{id}/erase"),
            &[("erase_reason", "Client asked to be forgotten"), ("erase_confirm", "1")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (status, html) = sup.get(&format!("/clients/{id}")).await;
    assert_eq!(status, 404);
    assert!(!html.contains(NAME));
}

#[tokio::test]
async fn the_provider_directory_and_its_management() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "admin", Role::Admin, "40").await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let admin = PageClient::login(&server, "admin").await;
    let res = admin.post("/providers", &[("name", ""), ("category", "x")]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"e-name\""));
    let res = admin
        .post(
            "/providers",
            &[
                ("name", "Trung tâm dạy nghề Vinh"),
                ("category", "vocational_training"),
                ("area", "412"),
                ("contact", "0238 111 222"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let sw = PageClient::login(&server, "lan.sw").await;
    let (status, html) = sw.get("/providers?lang=en").await;
    assert_eq!(status, 200);
    assert!(html.contains("Trung tâm dạy nghề Vinh"));
    assert!(html.contains("Vocational training"));
    assert!(
        !html.contains("method=\"post\" action=\"/providers\""),
        "no management form for a social worker"
    );
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let at = html.find(start).unwrap_or_else(|| panic!("{start} in {html}")) + start.len();
    let rest = &html[at..];
    &rest[..rest.find(end).unwrap()]
}

fn totp_code(secret_base32: &str, now: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .with_account_name("x")
        .build()
        .unwrap();
    totp.generate(u64::try_from(now).unwrap()).to_string()
}

#[tokio::test]
async fn second_factor_enrolment_and_login_through_the_pages() {
    // The default settings require a second factor of social workers.
    let env = TestEnv::new().await;
    let server = TestServer::start(env.state().await).await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let mut b = PageClient::new(&server);
    let res = b
        .post_raw("/login", &[("username", "lan.sw"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/mfa");
    // Nothing else opens before enrolment.
    let res = b.http.get(format!("{}/", b.base)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/mfa");
    let (status, html) = b.get("/account/mfa").await;
    assert_eq!(status, 200);
    b.csrf = csrf_in(&html).unwrap();
    assert!(
        !html.contains("class=\"main-nav\""),
        "no navigation while enrolment is pending"
    );
    let res = b.post("/account/mfa/start", &[]).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("src=\"data:image/svg+xml;base64,"));
    let secret: String = between(&html, "<p class=\"secret\">", "</p>")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let res = b.post("/account/mfa/confirm", &[("code", "12345")]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"e-code\""));
    let code = totp_code(&secret, server.state.clock.now().timestamp());
    let res = b.post("/account/mfa/confirm", &[("code", &code)]).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("class=\"codes\""), "the recovery codes, once");
    let (status, _) = b.get("/").await;
    assert_eq!(status, 200);

    // The next login asks for the code.
    let b = PageClient::new(&server);
    let res = b
        .post_raw("/login", &[("username", "lan.sw"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), 401);
    let html = res.text().await.unwrap();
    assert!(html.contains("name=\"totp\""));
    server.state.clock.advance(chrono::Duration::seconds(30));
    let code = totp_code(&secret, server.state.clock.now().timestamp());
    let res = b
        .post_raw(
            "/login",
            &[("username", "lan.sw"), ("password", PASSWORD), ("totp", &code)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
}

#[tokio::test]
async fn the_first_admin_is_created_through_the_setup_link() {
    let (_env, server) = server_without_mfa().await;
    let token = hoanhap::auth::setup::issue_setup_token(&server.state).await.unwrap();
    let b = PageClient::new(&server);
    let (status, html) = b.get(&format!("/setup/{token}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"password_confirm\""));
    let (status, _) = b.get(&format!("/setup/{}", "0".repeat(64))).await;
    assert_eq!(status, 404);
    let path = format!("/setup/{token}");
    let res = b
        .post_raw(
            &path,
            &[
                ("username", "root.admin"),
                ("display_name", "Quản trị"),
                ("password", PASSWORD),
                ("password_confirm", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"e-password_confirm\""));
    let res = b
        .post_raw(
            &path,
            &[
                ("username", "root.admin"),
                ("display_name", "Quản trị"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    let admin = PageClient::login(&server, "root.admin").await;
    let (status, _) = admin.get("/admin/users").await;
    assert_eq!(status, 200);
    let (status, _) = b.get(&path).await;
    assert_eq!(status, 404, "the link works once");
}

#[tokio::test]
async fn a_worker_corrects_a_case_and_a_stale_form_is_refused() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let sw = PageClient::login(&server, "lan.sw").await;
    let id = intake(&sw, &[]).await;
    let (status, html) = sw.get(&format!("/clients/{id}/edit")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("value=\"{NAME}\"")));
    let version = between(&html, "name=\"version\" value=\"", "\"").to_owned();
    let form = |phone: &'static str, version: String| {
        vec![
            ("version".to_owned(), version),
            ("area".to_owned(), "412".to_owned()),
            ("eligible".to_owned(), "yes".to_owned()),
            ("full_name".to_owned(), NAME.to_owned()),
            ("date_of_birth".to_owned(), "15/03/1995".to_owned()),
            ("phone".to_owned(), phone.to_owned()),
        ]
    };
    let bad = form("12", version.clone());
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = sw.post(&format!("/clients/{id}/edit"), &bad).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"e-phone\""));
    let good = form("0987654321", version.clone());
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = sw.post(&format!("/clients/{id}/edit"), &good).await;
    assert_eq!(res.status(), 303);
    let (_, html) = sw.get(&format!("/clients/{id}")).await;
    assert!(html.contains("0987654321"));
    assert!(!html.contains("Xóm 3"), "an emptied optional field is cleared");
    // The same (now stale) form again: refused, nothing overwritten.
    let res = sw.post(&format!("/clients/{id}/edit"), &good).await;
    assert_eq!(res.status(), 409);
}

/// Checks the page in the browser at phone width: no serious accessibility problem (axe)
/// and nothing wider than the screen.
async fn check_in_browser(b: &crate::kit::browser::Browser, what: &str) {
    let width = b
        .client
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, inner) = (width[0].as_i64().unwrap(), width[1].as_i64().unwrap());
    assert!(inner <= 400, "{what}: the window is {inner} px wide");
    assert!(scroll <= inner, "{what}: {scroll} px of content in a {inner} px screen");
    let problems = b.serious_accessibility_violations().await;
    assert!(problems.is_empty(), "{what}: {problems:#?}");
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_pages_work_on_a_360_px_phone_and_pass_axe() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    add_user(&server.state, "mai.sup", Role::Supervisor, "412").await;
    let vol_id = add_user(&server.state, "hoa.vol", Role::Volunteer, "412").await;
    add_user(&server.state, "dpo", Role::Auditor, "40").await;
    add_user(&server.state, "admin", Role::Admin, "40").await;
    let sw = PageClient::login(&server, "lan.sw").await;
    let id = intake(&sw, &[]).await;
    sw.post(
        &format!("/clients/{id}/needs"),
        &[("need_category", "vocational_training"), ("need_detail", "May")],
    )
    .await;
    sw.post(&format!("/clients/{id}/referrals"), &[("ref_category", "loan")])
        .await;
    let sup = PageClient::login(&server, "mai.sup").await;
    sup.post(&format!("/clients/{id}/volunteers"), &[("vol_user_id", &vol_id)])
        .await;
    let base = format!("http://{}", server.addr);
    crate::kit::browser::run("pages_360", move |b| async move {
        b.client.set_window_size(360, 800).await.unwrap();
        b.goto(&format!("{base}/login")).await;
        check_in_browser(&b, "login").await;
        // Field errors after an empty submit.
        b.click("button[type=submit]").await;
        check_in_browser(&b, "login with errors").await;
        let pages_of = [
            (
                "lan.sw",
                vec![
                    "/".to_owned(),
                    "/clients/new".to_owned(),
                    format!("/clients/{id}"),
                    format!("/clients/{id}/edit"),
                    "/providers".to_owned(),
                    "/account".to_owned(),
                ],
            ),
            ("mai.sup", vec!["/".to_owned(), format!("/clients/{id}")]),
            (
                "hoa.vol",
                vec![
                    "/".to_owned(),
                    format!("/clients/{id}/support"),
                    format!("/clients/{id}"),
                ],
            ),
            ("dpo", vec!["/".to_owned(), "/audit".to_owned()]),
            ("admin", vec!["/admin/users".to_owned()]),
        ];
        for (user, paths) in pages_of {
            b.goto(&format!("{base}/login")).await;
            b.fill("#f-username", user).await;
            b.fill("#f-password", PASSWORD).await;
            b.click("button[type=submit]").await;
            for path in paths {
                b.goto(&format!("{base}{path}")).await;
                check_in_browser(&b, &format!("{user} {path}")).await;
                if std::env::var("SHOTS").is_ok() {
                    let png = b.client.screenshot().await.unwrap();
                    let name = format!("/tmp/shot-{user}-{}.png", path.replace('/', "_"));
                    std::fs::write(name, png).unwrap();
                }
            }
            b.click("form[action='/logout'] button").await;
        }
    })
    .await;
}

#[tokio::test]
async fn an_admin_adds_renames_and_retires_areas_through_the_pages() {
    let (_env, server) = server_without_mfa().await;
    add_user(&server.state, "admin", Role::Admin, "40").await;
    let b = PageClient::login(&server, "admin").await;
    let (status, html) = b.get("/admin/areas").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Thành phố Vinh") && html.contains("Thêm đơn vị"),
        "{html}"
    );
    let unit = |code: &'static str, parent: &'static str, from: &'static str, to: &'static str| {
        [
            ("code", code),
            ("name", "Phường Thử Trang"),
            ("kind", "ward"),
            ("parent", parent),
            ("valid_from", from),
            ("valid_to", to),
            ("predecessors", "412"),
        ]
    };
    // Each bad field answers 422 with its message beside it, and the form is kept.
    for (form, field) in [
        (unit("412", "40", "", ""), "code"),
        (unit("16999", "999", "", ""), "parent"),
        (unit("16999", "40", "2025-07-01", "2025-06-01"), "valid_to"),
        (unit("16999", "40", "1.7.2025", ""), "valid_from"),
    ] {
        let res = b.post("/admin/areas", &form).await;
        assert_eq!(res.status(), 422, "{field}");
        let html = res.text().await.unwrap();
        assert!(html.contains(&format!("id=\"e-{field}\"")), "{field}: {html}");
        assert!(html.contains("value=\"Phường Thử Trang\""), "the form keeps its input");
    }
    assert!(server.state.areas.current().get("16999").is_none(), "nothing was added");
    let res = b.post("/admin/areas", &unit("16999", "40", "2025-07-01", "")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(server.state.areas.current().get("16999").unwrap().predecessors, ["412"]);

    // Rename and retire on the unit's page; a cycle is refused naming the parent.
    let edit = |name: &'static str, parent: &'static str, to: &'static str| {
        [
            ("name", name),
            ("kind", "town"),
            ("parent", parent),
            ("valid_from", ""),
            ("valid_to", to),
        ]
    };
    let province = [
        ("name", "Tỉnh Nghệ An"),
        ("kind", "province"),
        ("parent", "412"),
        ("valid_from", ""),
        ("valid_to", ""),
    ];
    let res = b.post("/admin/areas/40", &province).await;
    let res_status = res.status();
    let html = res.text().await.unwrap();
    assert!(
        res_status == 422 && html.contains("id=\"e-parent\""),
        "the province inside its own unit: {html}"
    );
    let res = b
        .post("/admin/areas/413", &edit("Thị xã Cửa Lò (cũ)", "40", "2025-06-30"))
        .await;
    assert_eq!(res.status(), 303);
    let (status, html) = b.get("/admin/areas/413?done=updated").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Thị xã Cửa Lò (cũ)") && html.contains("2025-06-30"),
        "{html}"
    );
    let retired = server.state.areas.current().get("413").cloned().unwrap();
    assert_eq!(retired.valid_to, Some("2025-06-30".parse().unwrap()));
    let changes: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action IN ('area_create', 'area_update')")
            .fetch_one(&server.state.db.pool)
            .await
            .unwrap();
    assert_eq!(changes, 2, "one added, one changed: the refusals wrote nothing");

    // Only the admin has the page.
    add_user(&server.state, "lan.sup", Role::Supervisor, "412").await;
    let sup = PageClient::login(&server, "lan.sup").await;
    let (status, _) = sup.get("/admin/areas").await;
    assert_eq!(status, 403);
    let res = sup.post("/admin/areas/412", &edit("Vinh", "40", "")).await;
    assert_eq!(res.status(), 403);
}
