//! The day's work in a real browser: headless Chromium over WebDriver, with axe-core
//! checking accessibility. Ignored in the plain test command (they need Debian's
//! `chromium` and `chromium-driver`, and `npm ci` for axe-core); `.ci/run` runs them.
//! A failing test leaves a screenshot in `target/browser-screenshots/`.

use std::sync::Arc;

use crate::kit::browser::{self, Browser};
use crate::kit::{Api, PASSWORD, TestEnv, TestServer, add_user};
use hoanhap::policy::Role;
use serde_json::json;

const NAME: &str = "Phạm Thị Thử Nghiệm";

async fn start() -> (TestEnv, TestServer) {
    let mut env = TestEnv::new().await;
    env.settings.auth.mfa_required_roles.clear();
    let server = TestServer::start(env.state().await).await;
    (env, server)
}

async fn login(b: &Browser, base: &str, username: &str) {
    b.goto(&format!("{base}/login")).await;
    b.fill("#f-username", username).await;
    b.fill("#f-password", PASSWORD).await;
    b.click("form[action='/login'] button[type=submit]").await;
    let text = b.text().await;
    assert!(
        !text.contains("Tên đăng nhập hoặc mật khẩu không đúng"),
        "login of {username} failed"
    );
}

/// Sets a form control's value directly (date inputs take a locale-dependent typed format).
async fn set_value(b: &Browser, css: &str, value: &str) {
    b.client
        .execute(
            "const el = document.querySelector(arguments[0]); el.value = arguments[1]; return el.value;",
            vec![json!(css), json!(value)],
        )
        .await
        .unwrap();
}

async fn assert_accessible(b: &Browser, page: &str) {
    let violations = b.serious_accessibility_violations().await;
    assert!(
        violations.is_empty(),
        "serious accessibility violations on the {page} page: {}",
        serde_json::to_string_pretty(&violations).unwrap()
    );
}

#[tokio::test]
#[ignore = "needs chromium, chromium-driver and axe-core"]
async fn a_social_worker_opens_a_case_records_a_need_and_refers_into_service() {
    let (_env, server) = start().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    let base = format!("http://{}", server.addr);
    let state = server.state.clone();
    browser::run("social_worker_day", move |b: Arc<Browser>| async move {
        login(&b, &base, "lan.sw").await;
        assert!(
            b.text().await.contains("Đăng xuất"),
            "the pages are in Vietnamese by default"
        );

        b.goto(&format!("{base}/clients/new")).await;
        assert_accessible(&b, "intake").await;
        set_value(&b, "#f-area", "412").await;
        b.fill("#f-full_name", NAME).await;
        set_value(&b, "#f-date_of_birth", "1994-02-03").await;
        b.click("input[name=eligible][value=yes]").await;
        b.click("input[name='consents.data_processing']").await;
        b.click("input[name='consents.referral_sharing'][value=vocational_training]")
            .await;
        b.click("form[action='/clients/new'] button[type=submit]").await;
        let done = b.text().await;
        assert!(done.contains("NA-"), "the new code is shown: {done}");
        b.click("a.button[href^='/clients/']").await;

        let url = b.client.current_url().await.unwrap();
        let client_id = url.path().trim_start_matches("/clients/").to_owned();
        assert!(b.text().await.contains(NAME), "the assigned worker sees the name");
        assert_accessible(&b, "case").await;

        b.open_section("form[action$='/needs']").await;
        set_value(&b, "#f-need_category", "vocational_training").await;
        b.click("form[action$='/needs'] button[type=submit]").await;
        assert!(
            b.text().await.contains("Đào tạo nghề"),
            "the need is listed on the case page"
        );
        let needs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM needs WHERE client_id = $1")
            .bind(&client_id)
            .fetch_one(&state.db.pool)
            .await
            .unwrap();
        assert_eq!(needs, 1, "the need was recorded");

        b.open_section("form[action$='/referrals']").await;
        set_value(&b, "#f-ref_category", "vocational_training").await;
        b.click("form[action$='/referrals'] button[type=submit]").await;
        wait_for_referral(&state, &client_id, "referred").await;

        b.click("button[name=to][value=accepted]").await;
        wait_for_referral(&state, &client_id, "accepted").await;
        b.click("button[name=to][value=in_service]").await;
        wait_for_referral(&state, &client_id, "in_service").await;
        b.text().await;
        // The page now offers only the moves allowed from in_service.
        let offered = b
            .client
            .find_all(fantoccini::Locator::Css("button[name=to]"))
            .await
            .unwrap();
        let mut values = Vec::new();
        for button in offered {
            values.push(button.attr("value").await.unwrap().unwrap_or_default());
        }
        values.sort();
        assert_eq!(values, vec!["completed", "dropped_out"]);
    })
    .await;
    assert!(!crate::kit::captured_logs().contains(NAME));
}

/// Waits (up to five seconds) for the form post to land: the client's referral reaches `status`.
async fn wait_for_referral(state: &hoanhap::AppState, client_id: &str, status: &str) {
    let mut seen = None;
    for _ in 0..50 {
        seen = sqlx::query_scalar::<_, String>("SELECT status FROM referrals WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&state.db.pool)
            .await
            .unwrap();
        if seen.as_deref() == Some(status) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the referral is {seen:?}, not {status}");
}

#[tokio::test]
#[ignore = "needs chromium, chromium-driver and axe-core"]
async fn a_volunteer_logs_a_contact_on_a_phone_sized_screen() {
    let (_env, server) = start().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    add_user(&server.state, "mai.sup", Role::Supervisor, "412").await;
    let volunteer = add_user(&server.state, "hoa.vol", Role::Volunteer, "412").await;
    let sw = Api::login(&server, "lan.sw").await;
    let created: serde_json::Value = sw
        .post(
            "/api/v1/clients",
            json!({
                "area": "412", "full_name": NAME, "chosen_name": "Hồng", "date_of_birth": "1992-05-06",
                "phone": "0912 345 678", "eligible": true,
                "consents": {"data_processing": true, "volunteer_contact": true}
            }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = created["id"].as_str().unwrap().to_owned();
    let sup = Api::login(&server, "mai.sup").await;
    let assigned = sup
        .post(
            &format!("/api/v1/clients/{client_id}/volunteers"),
            json!({ "user_id": volunteer }),
        )
        .send()
        .await
        .unwrap();
    assert!(assigned.status().is_success());

    let base = format!("http://{}", server.addr);
    let state = server.state.clone();
    browser::run("volunteer_contact", move |b: Arc<Browser>| async move {
        b.client.set_window_size(360, 740).await.unwrap();
        login(&b, &base, "hoa.vol").await;
        let home = b.text().await;
        assert!(home.contains("Hồng"), "the volunteer sees the chosen name");
        assert!(!home.contains(NAME), "but never the full name");
        b.click(&format!("a.button[href='/clients/{client_id}/support']")).await;
        assert_accessible(&b, "volunteer contact").await;
        let fits: bool = b
            .client
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await
            .unwrap()
            .as_bool()
            .unwrap();
        assert!(fits, "the contact form needs no sideways scrolling at 360 px");
        b.click("input[name=kind][value=home_visit]").await;
        b.fill("#f-duration_minutes", "45").await;
        b.fill("#f-note", "Đã thăm, cần hỗ trợ thêm").await;
        b.click("input[name=needs_follow_up]").await;
        b.click(&format!(
            "form[action='/clients/{client_id}/support'] button[type=submit]"
        ))
        .await;
        let mut logged = 0;
        for _ in 0..50 {
            logged = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM support_logs WHERE client_id = $1 AND kind = 'home_visit' \
                 AND duration_minutes = 45 AND needs_follow_up = $2",
            )
            .bind(&client_id)
            .bind(true)
            .fetch_one(&state.db.pool)
            .await
            .unwrap();
            if logged == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(logged, 1, "the contact was logged");
    })
    .await;
    // The flag reaches the assigned worker's follow-up list.
    let follow_ups: serde_json::Value = sw.get("/api/v1/follow-ups").send().await.unwrap().json().await.unwrap();
    assert!(
        follow_ups.to_string().contains(created["code"].as_str().unwrap()),
        "{follow_ups}"
    );
}

#[tokio::test]
#[ignore = "needs chromium, chromium-driver and axe-core"]
async fn a_manager_opening_a_client_page_is_refused() {
    let (_env, server) = start().await;
    add_user(&server.state, "lan.sw", Role::SocialWorker, "412").await;
    add_user(&server.state, "tam.mgr", Role::Manager, "40").await;
    let sw = Api::login(&server, "lan.sw").await;
    let created: serde_json::Value = sw
        .post(
            "/api/v1/clients",
            json!({
                "area": "412", "full_name": NAME, "date_of_birth": "1992-05-06", "eligible": true,
                "consents": {"data_processing": true}
            }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = created["id"].as_str().unwrap().to_owned();
    let code = created["code"].as_str().unwrap().to_owned();
    let base = format!("http://{}", server.addr);
    browser::run("manager_refused", move |b: Arc<Browser>| async move {
        login(&b, &base, "tam.mgr").await;
        b.goto(&format!("{base}/clients/{client_id}")).await;
        let text = b.text().await;
        assert!(!text.contains(NAME), "the manager must not see the name");
        assert!(!text.contains(&code), "nor the client's code");
        assert!(
            text.contains("Không tìm thấy") || text.contains("không có quyền"),
            "a refusal page is shown: {text}"
        );
    })
    .await;
}

/// The message shown beside a form field, if any.
async fn field_error(b: &Browser, field: &str) -> Option<String> {
    let found = b
        .client
        .execute(
            "const el = document.getElementById(arguments[0]); return el ? el.textContent : null;",
            vec![json!(format!("e-{field}"))],
        )
        .await
        .unwrap();
    found.as_str().map(str::to_owned)
}

#[tokio::test]
#[ignore = "needs chromium, chromium-driver and axe-core"]
async fn an_admin_adds_renames_and_retires_a_unit_in_the_areas_page() {
    let (_env, server) = start().await;
    add_user(&server.state, "an.admin", Role::Admin, "40").await;
    let base = format!("http://{}", server.addr);
    let state = server.state.clone();
    browser::run("admin_areas", move |b: Arc<Browser>| async move {
        login(&b, &base, "an.admin").await;
        b.click("a[href='/admin/areas']").await;
        assert!(b.text().await.contains("Thị xã Cửa Lò"));
        assert_accessible(&b, "areas").await;

        // A duplicate code, then an end before the start: each named beside its field.
        b.fill("#f-code", "413").await;
        b.fill("#f-name", "Phường Cửa Lò").await;
        set_value(&b, "#f-kind", "ward").await;
        b.fill("#f-parent", "40").await;
        b.fill("#f-predecessors", "413").await;
        b.click("form[action='/admin/areas'] button[type=submit]").await;
        b.text().await;
        assert_eq!(
            field_error(&b, "code").await.as_deref(),
            Some("Đã có địa bàn mang mã này.")
        );
        assert_accessible(&b, "areas with errors").await;
        b.fill("#f-code", "16732").await;
        b.fill("#f-valid_from", "2025-07-01").await;
        b.fill("#f-valid_to", "2025-01-01").await;
        b.click("form[action='/admin/areas'] button[type=submit]").await;
        b.text().await;
        assert!(field_error(&b, "code").await.is_none());
        assert_eq!(
            field_error(&b, "valid_to").await.as_deref(),
            Some("Ngày cuối trước ngày đầu.")
        );
        b.fill("#f-valid_to", "").await;
        b.click("form[action='/admin/areas'] button[type=submit]").await;
        assert!(b.text_with("Đã thêm đơn vị.").await.contains("Đã thêm đơn vị."));

        // Rename and retire Cửa Lò on its page.
        b.click("a[href='/admin/areas/413']").await;
        // The list has a form with the same fields: fill only once the unit's page is up.
        b.wait_for_path("/admin/areas/413").await;
        b.fill("#f-name", "Thị xã Cửa Lò (đến 2025)").await;
        b.fill("#f-valid_to", "2025-06-30").await;
        b.click("form[action='/admin/areas/413'] button[type=submit]").await;
        let page = b.text_with("Đã thay đổi đơn vị.").await;
        assert!(
            page.contains("Đã thay đổi đơn vị.") && page.contains("Thị xã Cửa Lò (đến 2025)"),
            "{page}"
        );
        let old = state.areas.current().get("413").cloned().unwrap();
        assert_eq!(old.valid_to, Some("2025-06-30".parse().unwrap()));
        assert_eq!(state.areas.current().get("16732").unwrap().predecessors, ["413"]);
        // An unknown parent is refused naming it.
        b.fill("#f-parent", "999").await;
        b.click("form[action='/admin/areas/413'] button[type=submit]").await;
        b.text_with("Không có địa bàn nào mang mã này.").await;
        assert_eq!(
            field_error(&b, "parent").await.as_deref(),
            Some("Không có địa bàn nào mang mã này.")
        );
    })
    .await;
}
