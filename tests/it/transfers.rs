//! Moving a client between areas: never a field edit, never through break-glass; a
//! transfer asked by her own side and accepted by the receiving area's supervisor, with
//! her earlier area kept in her history. On both engines.

use crate::kit::world::*;
use serde_json::json;

fn glass(client: &str) -> String {
    format!("/api/v1/clients/{client}/break-glass")
}

fn transfers(client: &str) -> String {
    format!("/api/v1/clients/{client}/transfers")
}

async fn area_of(w: &World, client: &str) -> (String, Option<String>) {
    sqlx::query_as("SELECT area, assigned_worker FROM clients WHERE id = $1")
        .bind(client)
        .fetch_one(&w.state().db.pool)
        .await
        .unwrap()
}

async fn history(w: &World, client: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT area, from_date FROM client_areas WHERE client_id = $1 ORDER BY from_date, moved_at")
        .bind(client)
        .fetch_all(&w.state().db.pool)
        .await
        .unwrap()
}

async fn audited(w: &World, action: &str) -> Vec<(String, Option<String>, String)> {
    sqlx::query_as("SELECT actor, client_code, outcome FROM audit_log WHERE action = $1 ORDER BY seq")
        .bind(action)
        .fetch_all(&w.state().db.pool)
        .await
        .unwrap()
}

const REASON: &str = "Chị chuyển về ở với gia đình tại Cửa Lò từ tháng này";

/// The attack of the first build: a supervisor of another district breaks the glass on a
/// client, then edits her area to her own district. The edit is refused naming the
/// transfer route, a transfer cannot be asked through break-glass, and the client stays
/// where she was.
#[tokio::test]
async fn break_glass_cannot_take_a_client_into_another_district() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let client = open_case(&sw, intake()).await;
    let id = client["id"].as_str().unwrap();
    let code = client["code"].as_str().unwrap();

    let thief = w.login("sup.cualo").await;
    let (status, _) = post(
        &thief,
        &glass(id),
        json!({"reason": "Cần xem gấp vì thân chủ gọi điện cho đơn vị chúng tôi"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, read) = get(&thief, &format!("/api/v1/clients/{id}")).await;
    assert_eq!(status, 200, "break-glass reads");
    let version = read["version"].clone();

    let res = thief
        .send(reqwest::Method::PATCH, &format!("/api/v1/clients/{id}"))
        .header("accept-language", "en")
        .json(&json!({"version": version, "area": "413"}))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, 422, "{body}");
    let message = body["error"]["fields"]["area"].as_str().unwrap();
    assert!(message.contains("/api/v1/clients/{id}/transfers"), "{message}");

    // Nor by a transfer: break-glass is case work only.
    let (status, body) = post(&thief, &transfers(id), json!({"to_area": "413", "reason": REASON})).await;
    assert_eq!(status, 403, "{body}");
    // Nor by the district's own worker editing the field.
    let (status, _) = patch(
        &sw,
        &format!("/api/v1/clients/{id}"),
        json!({"version": version, "area": "413"}),
    )
    .await;
    assert_eq!(status, 422);
    // The same area is no change and is accepted with the rest of an edit.
    let (status, body) = patch(
        &sw,
        &format!("/api/v1/clients/{id}"),
        json!({"version": version, "area": "412", "eligible": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(area_of(&w, id).await, ("412".to_owned(), Some(w.staff.sw.clone())));
    assert_eq!(w.count("client_transfers").await, 0);
    assert_eq!(history(&w, id).await, vec![("412".to_owned(), OPENED.to_owned())]);
    let denied = audited(&w, "transfer_request").await;
    assert_eq!(
        denied,
        vec![(w.staff.sup_other.clone(), Some(code.to_owned()), "denied".to_owned())]
    );
    // The receiving district cannot accept what nobody asked, and the case stays in the
    // sending district's lists.
    let sup = w.login("sup.vinh").await;
    let (_, list) = get(&sup, "/api/v1/clients").await;
    assert!(list["items"].as_array().unwrap().iter().any(|c| c["id"] == id));
}

#[tokio::test]
async fn an_accepted_transfer_moves_the_client_and_keeps_her_history() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let client = open_case(&sw, intake()).await;
    let id = client["id"].as_str().unwrap();
    let code = client["code"].as_str().unwrap();
    let sup = w.login("sup.vinh").await;
    let (status, _) = post(
        &sup,
        &format!("/api/v1/clients/{id}/volunteers"),
        json!({"user_id": w.staff.vol}),
    )
    .await;
    assert_eq!(status, 201);

    // Bad requests are named field by field, and nothing is stored.
    for (body, field) in [
        (json!({"to_area": "412", "reason": REASON}), "to_area"),
        (json!({"to_area": "999", "reason": REASON}), "to_area"),
        (json!({"to_area": "413", "reason": "ngắn"}), "reason"),
        (json!({"to_area": "413"}), "reason"),
        (json!({"reason": REASON}), "to_area"),
    ] {
        let (status, err) = post(&sw, &transfers(id), body.clone()).await;
        assert_eq!(status, 422, "{body} → {err}");
        assert!(err["error"]["fields"][field].is_string(), "{body} → {err}");
    }
    assert_eq!(w.count("client_transfers").await, 0);

    let (status, asked) = post(&sw, &transfers(id), json!({"to_area": "413", "reason": REASON})).await;
    assert_eq!(status, 201, "{asked}");
    assert_eq!(asked["status"], "requested");
    assert_eq!(asked["client_code"], code);
    assert_eq!(asked["reason"], REASON);
    let transfer = asked["id"].as_str().unwrap().to_owned();
    // One open request at a time.
    let (status, _) = post(&sup, &transfers(id), json!({"to_area": "413", "reason": REASON})).await;
    assert_eq!(status, 409);

    // The receiving supervisor sees the request (code, areas, reason) but not the client.
    let receiver = w.login("sup.cualo").await;
    let (status, list) = get(&receiver, "/api/v1/transfers?status=requested").await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["reason"], REASON);
    let (status, _) = get(&receiver, &format!("/api/v1/clients/{id}")).await;
    assert!(matches!(status, 403 | 404), "{status}");
    // Nobody else does: not another worker of the sending district, not a worker of the
    // receiving district, not a manager.
    for name in ["sw2.vinh", "sw.cualo"] {
        let other = w.login(name).await;
        let (status, list) = get(&other, "/api/v1/transfers").await;
        assert_eq!(status, 200);
        assert_eq!(list["items"], json!([]), "{name}");
        let (status, _) = post(&other, &format!("/api/v1/transfers/{transfer}/accept"), json!({})).await;
        assert_eq!(status, 404, "{name}");
    }
    let mgr = w.login("mgr").await;
    let (status, _) = get(&mgr, "/api/v1/transfers").await;
    assert_eq!(status, 403);
    // The sending side cannot accept its own request.
    let (status, _) = post(&sup, &format!("/api/v1/transfers/{transfer}/accept"), json!({})).await;
    assert_eq!(status, 403);
    // A worker of another district cannot be given the case.
    let (status, err) = post(
        &receiver,
        &format!("/api/v1/transfers/{transfer}/accept"),
        json!({"assigned_worker": w.staff.sw2}),
    )
    .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(area_of(&w, id).await.0, "412", "nothing half-written");

    let (status, accepted) = post(
        &receiver,
        &format!("/api/v1/transfers/{transfer}/accept"),
        json!({"assigned_worker": w.staff.sw_other, "note": "Đã nhận, sẽ gặp chị tuần sau"}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["decided_by"], w.staff.sup_other.as_str());
    let today = w.state().clock.today().to_string();
    assert_eq!(accepted["effective_on"], today.as_str());
    assert_eq!(
        area_of(&w, id).await,
        ("413".to_owned(), Some(w.staff.sw_other.clone()))
    );
    assert_eq!(
        history(&w, id).await,
        vec![("412".to_owned(), OPENED.to_owned()), ("413".to_owned(), today)]
    );
    assert_eq!(
        w.rows("client_volunteers", id).await,
        0,
        "the Vinh volunteer's access ended"
    );
    // Decided once.
    let (status, _) = post(&receiver, &format!("/api/v1/transfers/{transfer}/decline"), json!({})).await;
    assert_eq!(status, 409);

    // The case is now Cửa Lò's: its worker reads it, Vinh's staff no longer do.
    let new_worker = w.login("sw.cualo").await;
    let (status, read) = get(&new_worker, &format!("/api/v1/clients/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(read["area"], "413");
    assert_eq!(read["full_name"], NAME);
    for (api, name) in [(&sw, "sw.vinh"), (&sup, "sup.vinh")] {
        let (status, _) = get(api, &format!("/api/v1/clients/{id}")).await;
        assert!(matches!(status, 403 | 404), "{name}: {status}");
    }
    let vol = w.login("vol.vinh").await;
    let (status, _) = get(&vol, &format!("/api/v1/clients/{id}")).await;
    assert!(matches!(status, 403 | 404), "volunteer: {status}");
    // Both sides still see how it went.
    let (_, list) = get(&sup, "/api/v1/transfers").await;
    assert_eq!(list["items"][0]["status"], "accepted");
    assert_eq!(list["items"][0]["note"], "Đã nhận, sẽ gặp chị tuần sau");
    let (_, list) = get(&sw, "/api/v1/transfers").await;
    assert_eq!(list["items"][0]["id"], transfer.as_str());

    for action in ["transfer_request", "transfer_accept"] {
        let entries = audited(&w, action).await;
        assert!(
            entries
                .iter()
                .any(|(_, c, o)| c.as_deref() == Some(code) && o == "success"),
            "{action}: {entries:?}"
        );
    }
    let logs = crate::kit::captured_logs();
    assert_free_of(&logs, &[REASON, NAME, "Đã nhận, sẽ gặp chị"], "the log");
    // The reason is sealed: not in the stored bytes.
    let stored = raw_database(&w).await;
    assert!(!contains_bytes(&stored, REASON.as_bytes()));
}

#[tokio::test]
async fn a_transfer_can_be_declined_or_withdrawn_and_the_client_stays() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let client = open_case(&sw, intake()).await;
    let id = client["id"].as_str().unwrap();
    let receiver = w.login("sup.cualo").await;

    let (_, asked) = post(&sw, &transfers(id), json!({"to_area": "413", "reason": REASON})).await;
    let transfer = asked["id"].as_str().unwrap().to_owned();
    // Accept-only fields make no sense on a decline.
    let (status, _) = post(
        &receiver,
        &format!("/api/v1/transfers/{transfer}/decline"),
        json!({"assigned_worker": w.staff.sw_other}),
    )
    .await;
    assert_eq!(status, 422);
    let (status, declined) = post(
        &receiver,
        &format!("/api/v1/transfers/{transfer}/decline"),
        json!({"note": "Địa chỉ mới không thuộc Cửa Lò"}),
    )
    .await;
    assert_eq!(status, 200, "{declined}");
    assert_eq!(declined["status"], "declined");
    assert_eq!(area_of(&w, id).await.0, "412");

    // Asked again, then withdrawn by the sending side; the receiver cannot withdraw it.
    let (status, again) = post(&sw, &transfers(id), json!({"to_area": "413", "reason": REASON})).await;
    assert_eq!(status, 201);
    let transfer = again["id"].as_str().unwrap().to_owned();
    let (status, _) = post(&receiver, &format!("/api/v1/transfers/{transfer}/cancel"), json!({})).await;
    assert_eq!(status, 404, "the client is not the receiver's to act on");
    // An empty body is an empty decision.
    let res = sw
        .send(reqwest::Method::POST, &format!("/api/v1/transfers/{transfer}/cancel"))
        .send()
        .await
        .unwrap();
    let (status, cancelled) = json_of(res).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    // Withdrawn, it is the sending side's business only: the receiver finds nothing.
    let (status, _) = post(&receiver, &format!("/api/v1/transfers/{transfer}/accept"), json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(area_of(&w, id).await.0, "412");
    assert_eq!(history(&w, id).await.len(), 1);
    // The receiving side no longer sees what was declined or withdrawn.
    let (_, theirs) = get(&receiver, "/api/v1/transfers").await;
    assert_eq!(theirs["items"], json!([]), "{theirs}");

    // A supervisor whose area covers both sides cannot approve her own request.
    crate::kit::add_user(w.state(), "sup.tinh", hoanhap::policy::Role::Supervisor, "40").await;
    let province = w.login("sup.tinh").await;
    let (status, own) = post(&province, &transfers(id), json!({"to_area": "413", "reason": REASON})).await;
    assert_eq!(status, 201, "{own}");
    let own = own["id"].as_str().unwrap().to_owned();
    let (status, _) = post(&province, &format!("/api/v1/transfers/{own}/accept"), json!({})).await;
    assert_eq!(status, 403);

    // Closing the case withdraws the waiting request: a closed case is moved nowhere.
    let sup = w.login("sup.vinh").await;
    let (status, _) = post(
        &sup,
        &format!("/api/v1/clients/{id}/close"),
        json!({"reason": "moved_away"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = post(&receiver, &format!("/api/v1/transfers/{own}/accept"), json!({})).await;
    assert_eq!(status, 404, "withdrawn, so no longer the receiver's to see");
    let status: String = sqlx::query_scalar("SELECT status FROM client_transfers WHERE id = $1")
        .bind(&own)
        .fetch_one(&w.state().db.pool)
        .await
        .unwrap();
    assert_eq!(status, "cancelled");
    let (status, _) = post(&sw, &transfers(id), json!({"to_area": "413", "reason": REASON})).await;
    assert_eq!(status, 409, "a closed case cannot be asked to move");
    assert_eq!(area_of(&w, id).await.0, "412");
}

/// Statistics count a client in the area she belonged to during the period: a client of
/// Vinh who reached a service in the first half of 2024 and moved to Cửa Lò in September
/// stays in Vinh's figures for 2024-H1 and is Cửa Lò's at the end of the year.
#[tokio::test]
async fn statistics_count_a_transferred_client_where_she_was() {
    use hoanhap::stats::compute::{Scope, Window, figures};
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let sup = w.login("sup.vinh").await;
    let client = open_case(&sw, intake()).await;
    let id = client["id"].as_str().unwrap();
    let (status, provider) = post(
        &sup,
        "/api/v1/providers",
        json!({"name": "Quỹ tín dụng thử nghiệm", "category": "loan", "area": "412"}),
    )
    .await;
    assert_eq!(status, 201, "{provider}");
    let (status, need) = post(
        &sw,
        &format!("/api/v1/clients/{id}/needs"),
        json!({"category": "loan", "assessed_on": "2024-03-20"}),
    )
    .await;
    assert_eq!(status, 201, "{need}");
    let (status, referral) = post(
        &sw,
        &format!("/api/v1/clients/{id}/referrals"),
        json!({"category": "loan", "need_id": need["id"], "provider_id": provider["id"], "on": "2024-03-25"}),
    )
    .await;
    assert_eq!(status, 201, "{referral}");
    let moves = format!("/api/v1/referrals/{}/transitions", referral["id"].as_str().unwrap());
    for (to, on) in [("accepted", "2024-04-01"), ("in_service", "2024-04-15")] {
        let (status, body) = post(&sw, &moves, json!({"to": to, "on": on})).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, asked) = post(&sw, &transfers(id), json!({"to_area": "413", "reason": REASON})).await;
    let receiver = w.login("sup.cualo").await;
    let (status, body) = post(
        &receiver,
        &format!("/api/v1/transfers/{}/accept", asked["id"].as_str().unwrap()),
        json!({"on": "2024-09-01"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let today = w.state().clock.today();
    let window = |from: &str, to: &str| Window {
        from: from.parse().unwrap(),
        to: to.parse().unwrap(),
        as_of: to.parse().unwrap(),
        today,
    };
    let db = &w.state().db;
    let h1 = figures(db, window("2024-01-01", "2024-06-30"), true, Scope::Release)
        .await
        .unwrap();
    let areas = |f: &hoanhap::stats::compute::Figures| {
        f.by_area
            .iter()
            .map(|(area, pair)| (area.clone(), pair.cohort, pair.reached))
            .collect::<Vec<_>>()
    };
    assert_eq!(areas(&h1), vec![("412".to_owned(), 1, 1)]);
    let year = figures(db, window("2024-01-01", "2024-12-31"), true, Scope::Release)
        .await
        .unwrap();
    assert_eq!(areas(&year), vec![("413".to_owned(), 1, 1)]);
}

async fn form(api: &crate::kit::Api, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        body.append_pair(k, v);
    }
    body.append_pair("csrf_token", &api.csrf);
    api.send(reqwest::Method::POST, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.finish())
        .send()
        .await
        .unwrap()
}

/// The same flow in the pages: the case offers the transfer, the form names bad fields,
/// the receiving supervisor's home page says a transfer waits, and she accepts it there.
#[tokio::test]
async fn a_transfer_through_the_pages() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let client = open_case(&sw, intake()).await;
    let id = client["id"].as_str().unwrap();
    let (status, case) = raw(sw.get(&format!("/clients/{id}")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(
        case.contains(&format!("/clients/{id}/transfer\"")),
        "the case page offers it"
    );
    let (status, edit) = raw(sw.get(&format!("/clients/{id}/edit")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(!edit.contains("name=\"area\""), "the area is not an edit field");

    let res = form(
        &sw,
        &format!("/clients/{id}/transfer"),
        &[("to_area", "413"), ("reason", "ngắn")],
    )
    .await;
    let (status, page) = raw(res).await;
    assert_eq!(status, 422);
    assert!(page.contains("aria-invalid=\"true\""), "{page}");
    assert_eq!(w.count("client_transfers").await, 0);
    // (The client follows the redirect to the list.)
    let res = form(
        &sw,
        &format!("/clients/{id}/transfer"),
        &[("to_area", "413"), ("reason", REASON)],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.url().path(), "/transfers");
    assert_eq!(res.url().query(), Some("done=requested"));

    let receiver = w.login("sup.cualo").await;
    let (_, home) = raw(receiver.get("/").send().await.unwrap()).await;
    const WAITING: &str = "Yêu cầu chuyển hồ sơ đang chờ quyết định: 1";
    assert!(home.contains(WAITING), "{home}");
    let (status, list) = raw(receiver.get("/transfers").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(list.contains(REASON));
    let transfer: String = sqlx::query_scalar("SELECT id FROM client_transfers")
        .fetch_one(&w.state().db.pool)
        .await
        .unwrap();
    assert!(list.contains(&format!("/transfers/{transfer}/accept")));
    let res = form(
        &receiver,
        &format!("/transfers/{transfer}/accept"),
        &[("assigned_worker", w.staff.sw_other.as_str()), ("note", "")],
    )
    .await;
    assert_eq!(res.url().query(), Some("done=accepted"));
    assert_eq!(
        area_of(&w, id).await,
        ("413".to_owned(), Some(w.staff.sw_other.clone()))
    );
    let (_, home) = raw(receiver.get("/").send().await.unwrap()).await;
    assert!(
        !home.contains("Yêu cầu chuyển hồ sơ đang chờ quyết định"),
        "nothing waits any more"
    );
}
