//! Areas an admin edits: units added, renamed and retired with the dates they take
//! effect, put in force at once, audited, and bad input answered 422 naming the field.

use hoanhap::policy::Role;
use serde_json::{Value, json};

use crate::kit::add_user;
use crate::kit::world::{World, get, intake, open_case, patch, post, world};

fn area<'a>(list: &'a Value, code: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == code)
        .unwrap_or_else(|| panic!("no area {code} in {list}"))
}

async fn audited(w: &World, action: &str, object: &str, outcome: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND object_id = $2 AND outcome = $3")
        .bind(action)
        .bind(object)
        .bind(outcome)
        .fetch_one(&w.state().db.pool)
        .await
        .unwrap()
}

fn in_area(code: &str) -> Value {
    let mut body = intake();
    body["area"] = json!(code);
    body
}

#[tokio::test]
async fn an_admin_adds_renames_and_retires_units_that_take_effect_at_once() {
    let w = world().await;
    let admin = w.login("admin").await;
    let sw_other = w.login("sw.cualo").await;
    let sup_other = w.login("sup.cualo").await;
    let kept = open_case(&sw_other, in_area("413")).await;
    let kept_id = kept["id"].as_str().unwrap().to_owned();

    // A ward of the 2025 reform, taking over Cửa Lò from 1 July 2025.
    let (status, added) = post(
        &admin,
        "/api/v1/areas",
        json!({ "code": "16732", "name": "Phường Cửa Lò", "kind": "ward", "parent": "40",
                "valid_from": "2025-07-01", "predecessors": ["413"] }),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["valid_from"], "2025-07-01");
    assert_eq!(added["valid_to"], Value::Null);
    assert_eq!(added["predecessors"], json!(["413"]));
    assert_eq!(audited(&w, "area_create", "16732", "success").await, 1);

    // Cửa Lò retires the day before; renaming it is a separate, audited change.
    let (status, retired) = patch(
        &admin,
        "/api/v1/areas/413",
        json!({ "valid_to": "2025-06-30", "name": "Thị xã Cửa Lò (cũ)" }),
    )
    .await;
    assert_eq!(status, 200, "{retired}");
    assert_eq!(retired["valid_to"], "2025-06-30");
    assert_eq!(audited(&w, "area_update", "413", "success").await, 1);

    // Every user sees the change at once, the retired unit included.
    let (_, list) = get(&sw_other, "/api/v1/areas").await;
    assert_eq!(area(&list, "413")["name"], "Thị xã Cửa Lò (cũ)");
    assert_eq!(area(&list, "413")["valid_to"], "2025-06-30");
    assert_eq!(area(&list, "16732")["kind"], "ward");

    // A retired unit takes no new case and no new account ...
    let (status, body) = post(&sw_other, "/api/v1/clients", in_area("413")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["area"].is_string(), "{body}");
    let (status, body) = post(
        &admin,
        "/api/v1/users",
        json!({ "username": "sw.old", "display_name": "SW", "role": "social_worker", "area": "413",
                "password": "a long enough password" }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["area"].is_string(), "{body}");
    // ... but keeps its clients and their history until they are moved.
    let (status, still) = get(&sup_other, &format!("/api/v1/clients/{kept_id}")).await;
    assert_eq!(status, 200, "{still}");
    assert_eq!(still["area"], "413");

    // A paper record of 2024 typed in after the reform is filed under today's ward.
    add_user(&w.state().clone(), "sw.ward", Role::SocialWorker, "16732").await;
    let sw_ward = w.login("sw.ward").await;
    let (status, filed) = post(&sw_ward, "/api/v1/clients", in_area("16732")).await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["area"], "16732");
}

#[tokio::test]
async fn bad_area_input_answers_422_naming_the_field_and_writes_nothing() {
    let w = world().await;
    let admin = w.login("admin").await;
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM areas")
        .fetch_one(&w.state().db.pool)
        .await
        .unwrap();
    let cases = [
        (
            json!({ "code": "412", "name": "Vinh again", "kind": "city", "parent": "40" }),
            "code",
        ),
        (
            json!({ "code": "x y", "name": "Spaces", "kind": "ward", "parent": "40" }),
            "code",
        ),
        (
            json!({ "code": "99001", "name": "Orphan", "kind": "ward", "parent": "4242" }),
            "parent",
        ),
        (
            json!({ "code": "99002", "name": "Odd", "kind": "hamlet", "parent": "40" }),
            "kind",
        ),
        (
            json!({ "code": "99003", "name": "", "kind": "ward", "parent": "40" }),
            "name",
        ),
        (
            json!({ "code": "99004", "name": "Backwards", "kind": "ward", "parent": "40",
                    "valid_from": "2025-07-01", "valid_to": "2025-06-30" }),
            "valid_to",
        ),
        (
            json!({ "code": "99005", "name": "Bad date", "kind": "ward", "parent": "40", "valid_from": "1/7/2025" }),
            "valid_from",
        ),
        (
            json!({ "code": "99006", "name": "From nowhere", "kind": "ward", "parent": "40", "predecessors": ["777"] }),
            "predecessors",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = post(&admin, "/api/v1/areas", body.clone()).await;
        assert_eq!(status, 422, "{body} → {answer}");
        assert!(answer["error"]["fields"][field].is_string(), "{body} → {answer}");
    }
    let (_, duplicate) = post(
        &admin,
        "/api/v1/areas",
        json!({ "code": "412", "name": "Vinh again", "kind": "city", "parent": "40" }),
    )
    .await;
    assert_eq!(duplicate["error"]["fields"]["code"], "Đã có địa bàn mang mã này.");

    // A cycle: the province under one of its own districts, or a unit under itself.
    for (code, parent) in [("40", "412"), ("412", "412")] {
        let (status, answer) = patch(&admin, &format!("/api/v1/areas/{code}"), json!({ "parent": parent })).await;
        assert_eq!(status, 422, "{code} under {parent} → {answer}");
        assert!(answer["error"]["fields"]["parent"].is_string(), "{answer}");
    }
    let (status, answer) = patch(
        &admin,
        "/api/v1/areas/412",
        json!({ "valid_from": "2030-01-01", "valid_to": "2029-12-31" }),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["error"]["fields"]["valid_to"].is_string(), "{answer}");
    let (status, _) = patch(&admin, "/api/v1/areas/4242", json!({ "name": "Nowhere" })).await;
    assert_eq!(status, 404);

    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM areas")
        .fetch_one(&w.state().db.pool)
        .await
        .unwrap();
    assert_eq!(after, before);
    let (_, list) = get(&admin, "/api/v1/areas").await;
    assert_eq!(area(&list, "40")["parent"], Value::Null);
    assert_eq!(area(&list, "412")["valid_to"], Value::Null);
}

#[tokio::test]
async fn only_the_admin_edits_areas_and_a_refusal_is_audited() {
    let w = world().await;
    for username in ["sup.vinh", "sw.vinh", "mgr", "aud", "vol.vinh"] {
        let user = w.login(username).await;
        let (status, _) = post(
            &user,
            "/api/v1/areas",
            json!({ "code": "99100", "name": "Mine", "kind": "ward", "parent": "40" }),
        )
        .await;
        assert_eq!(status, 403, "{username} added an area");
        let (status, _) = patch(&user, "/api/v1/areas/412", json!({ "name": "Renamed" })).await;
        assert_eq!(status, 403, "{username} renamed an area");
    }
    let denied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'areas_manage' AND outcome = 'denied'")
            .fetch_one(&w.state().db.pool)
            .await
            .unwrap();
    assert_eq!(denied, 10);
    let (_, list) = get(&w.login("sw.vinh").await, "/api/v1/areas").await;
    assert_eq!(area(&list, "412")["name"], "Thành phố Vinh");
}

/// A new installation on the default seed works in today's geography: 130 communes and
/// wards in force, the 2024 districts kept as retired units, and a ward's social worker
/// opening a case in her ward.
#[tokio::test]
async fn a_new_installation_starts_with_the_units_of_the_2025_reform() {
    let mut env = crate::kit::TestEnv::new().await;
    let default_seed = hoanhap::config::Settings::default().programme.area_seed;
    assert_eq!(default_seed, hoanhap::config::AreaSeed::NgheAn2025);
    env.settings.programme.area_seed = default_seed;
    env.settings.auth.mfa_required_roles.clear();
    let state = env.state().await;
    add_user(&state, "sw.thanhvinh", Role::SocialWorker, "16681").await;
    let refused = hoanhap::auth::accounts::create(
        &state.db,
        hoanhap::auth::accounts::NewAccount {
            username: "sw.old".into(),
            display_name: "In a retired district".into(),
            role: Role::SocialWorker,
            area: "412".into(),
            password: secrecy::SecretString::from("a long enough password"),
        },
        state.clock.now(),
    )
    .await;
    assert!(refused.is_err(), "an account in a retired district");
    let server = crate::kit::TestServer::start(state).await;
    let sw = crate::kit::Api::login(&server, "sw.thanhvinh").await;

    let (_, list) = get(&sw, "/api/v1/areas").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        152,
        "the province, 21 districts of 2024 and 130 units of 2025"
    );
    let current: Vec<&Value> = items.iter().filter(|a| a["valid_to"].is_null()).collect();
    assert_eq!(current.len(), 131);
    assert_eq!(area(&list, "412")["valid_to"], "2025-06-30");
    assert_eq!(area(&list, "16681")["predecessors"], json!(["412"]));
    assert_eq!(area(&list, "16681")["valid_from"], "2025-07-01");

    let created = open_case(&sw, in_area("16681")).await;
    assert_eq!(created["area"], "16681");
    let (status, body) = post(&sw, "/api/v1/clients", in_area("412")).await;
    assert_eq!(status, 422, "{body}");
}

/// Two admins' edits at the same moment take turns: each is checked against the
/// hierarchy the other left, so together they can never make a cycle, and a rename
/// never undoes a retirement made meanwhile.
#[tokio::test]
async fn simultaneous_edits_cannot_make_a_cycle_or_undo_each_other() {
    let w = world().await;
    let admin = w.login("admin").await;
    for round in 0..5 {
        let (x, y) = (format!("9{round}001"), format!("9{round}002"));
        for code in [&x, &y] {
            let (status, body) = post(
                &admin,
                "/api/v1/areas",
                json!({ "code": code, "name": format!("Xã {code}"), "kind": "commune", "parent": "40" }),
            )
            .await;
            assert_eq!(status, 201, "{body}");
        }
        let (x_path, y_path) = (format!("/api/v1/areas/{x}"), format!("/api/v1/areas/{y}"));
        let (a, b) = tokio::join!(
            patch(&admin, &x_path, json!({ "parent": y })),
            patch(&admin, &y_path, json!({ "parent": x })),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 422], "round {round}: {a:?} {b:?}");
        let refused = if a.0 == 422 { &a.1 } else { &b.1 };
        assert!(refused["error"]["fields"]["parent"].is_string(), "{refused}");

        let (c, d) = tokio::join!(
            patch(&admin, &x_path, json!({ "valid_to": "2025-06-30" })),
            patch(&admin, &x_path, json!({ "name": format!("Xã {x} mới") })),
        );
        assert_eq!((c.0, d.0), (200, 200), "{c:?} {d:?}");
        let (status, list) = get(&admin, "/api/v1/areas").await;
        assert_eq!(status, 200);
        assert_eq!(
            area(&list, &x)["valid_to"],
            "2025-06-30",
            "the rename undid the retirement"
        );
        assert_eq!(area(&list, &x)["name"], format!("Xã {x} mới"));
    }
}

/// A transfer requested before the receiving unit was retired lands only on a day the
/// unit still existed.
#[tokio::test]
async fn a_transfer_never_lands_in_a_unit_after_its_retirement() {
    let w = world().await;
    let admin = w.login("admin").await;
    let sw = w.login("sw.vinh").await;
    let sup_other = w.login("sup.cualo").await;
    let client = open_case(&sw, intake()).await;
    let id = client["id"].as_str().unwrap();
    let (status, transfer) = post(
        &sw,
        &format!("/api/v1/clients/{id}/transfers"),
        json!({ "to_area": "413", "reason": "Chị chuyển về ở với gia đình tại Cửa Lò từ tháng này" }),
    )
    .await;
    assert_eq!(status, 201, "{transfer}");
    let accept = format!("/api/v1/transfers/{}/accept", transfer["id"].as_str().unwrap());
    let (status, _) = patch(&admin, "/api/v1/areas/413", json!({ "valid_to": "2025-06-30" })).await;
    assert_eq!(status, 200);

    let (status, refused) = post(&sup_other, &accept, json!({})).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"]["fields"]["on"].is_string(), "{refused}");
    let (_, still) = get(&sw, &format!("/api/v1/clients/{id}")).await;
    assert_eq!(still["area"], "412");

    let (status, moved) = post(&sup_other, &accept, json!({ "on": "2025-06-01" })).await;
    assert_eq!(status, 200, "{moved}");
    let (_, now) = get(&sup_other, &format!("/api/v1/clients/{id}")).await;
    assert_eq!(now["area"], "413");
}

/// The report's recipient and the programme's owner are dated data: each export prints
/// the names in force at its period's end.
#[tokio::test]
async fn each_export_names_the_recipient_in_force_at_its_periods_end() {
    let w = world().await;
    let admin = w.login("admin").await;
    let settings = &w.state().settings.programme;
    let (status, list) = get(&admin, "/api/v1/report-addressees").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"], json!([]));

    // Bad input is named; a second entry for the same role and day is refused.
    let (status, refused) = post(
        &admin,
        "/api/v1/report-addressees",
        json!({ "role": "minister", "name": " ", "valid_from": "1.3.2025" }),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    for field in ["role", "name", "valid_from"] {
        assert!(refused["error"]["fields"][field].is_string(), "{field}: {refused}");
    }
    let (status, refused) = post(
        &admin,
        "/api/v1/report-addressees",
        json!({ "role": "owner", "name": "Bộ Y tế\nSở khác", "valid_from": "2025-03-01" }),
    )
    .await;
    assert_eq!(status, 422, "a name on two lines: {refused}");
    assert!(refused["error"]["fields"]["name"].is_string());
    let recipient = "Sở Y tế tỉnh Nghệ An";
    let body = json!({ "role": "recipient", "name": recipient, "valid_from": "2025-03-01" });
    let (status, added) = post(&admin, "/api/v1/report-addressees", body.clone()).await;
    assert_eq!(status, 201, "{added}");
    let (status, _) = post(&admin, "/api/v1/report-addressees", body).await;
    assert_eq!(status, 409);
    assert_eq!(
        audited(&w, "addressee_create", added["id"].as_str().unwrap(), "success").await,
        1
    );
    // Only the admin records them.
    let manager = w.login("mgr").await;
    let (status, _) = post(
        &manager,
        "/api/v1/report-addressees",
        json!({ "role": "owner", "name": "Bộ Y tế", "valid_from": "2025-03-01" }),
    )
    .await;
    assert_eq!(status, 403);

    // A release of 2024-H2 goes to the department of then, one of 2025-H1 to today's.
    let export = async |period: &str| {
        let (status, release) = post(&manager, "/api/v1/stats/releases", json!({ "period": period })).await;
        assert_eq!(status, 201, "{release}");
        let path = format!("/api/v1/stats/releases/{}.csv", release["id"].as_str().unwrap());
        manager.get(&path).send().await.unwrap().text().await.unwrap()
    };
    let old = export("2024-H2").await;
    assert!(
        old.contains(&settings.report_recipient) && !old.contains(recipient),
        "{old}"
    );
    let new = export("2025-H1").await;
    assert!(
        new.contains(recipient) && !new.contains(&settings.report_recipient),
        "{new}"
    );
    assert!(new.contains(&settings.programme_owner), "the owner did not change");

    // The admin's page shows who is in force today.
    let page = crate::kit::pages::PageClient::login(&w.server, "admin").await;
    let (status, html) = page.get("/admin/report-addressees").await;
    assert_eq!(status, 200);
    assert!(html.contains(recipient), "{html}");
    let res = page
        .post(
            "/admin/report-addressees",
            &[("role", "owner"), ("name", ""), ("valid_from", "2025-07-01")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"e-name\""));
}
