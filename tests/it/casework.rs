//! Case work through the API: consents and their withdrawal, needs with health details,
//! volunteers and their support logs, the follow-up list, closing and reopening with
//! history, reassignment, child-protection alerts, and erasure that leaves nothing.

use crate::kit::world::*;
use serde_json::{Value, json};

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn consents_are_recorded_and_withdrawn_with_their_history() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let mut body = intake();
    body["consents"] = json!({ "data_processing": true });
    let client = open_case(&sw, body).await;
    let id = id_of(&client);
    let path = format!("/api/v1/clients/{id}/consents");

    let (status, body) = post(&sw, &path, json!({ "scope": "referral_sharing" })).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["category"].is_string());
    let (status, body) = post(&sw, &path, json!({ "scope": "reporting", "category": "loan" })).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["category"].is_string());
    let (status, body) = post(
        &sw,
        &path,
        json!({ "scope": "gossip", "given_on": "2999-01-01", "expires_on": "soon" }),
    )
    .await;
    assert_eq!(status, 422);
    for field in ["scope", "given_on", "expires_on"] {
        assert!(body["error"]["fields"][field].is_string(), "{field}: {body}");
    }
    let (status, loan) = post(
        &sw,
        &path,
        json!({ "scope": "referral_sharing", "category": "loan", "given_on": "2024-04-01" }),
    )
    .await;
    assert_eq!(status, 201, "{loan}");
    assert_eq!(loan["active"], true);
    assert_eq!(loan["category"], "loan");
    let (status, contact) = post(
        &sw,
        &path,
        json!({ "scope": "volunteer_contact", "given_on": "2024-04-01" }),
    )
    .await;
    assert_eq!(status, 201);

    // With contact consent the volunteer sees the phone; once withdrawn, no longer.
    let sup = w.login("sup.vinh").await;
    let (status, _) = post(
        &sup,
        &format!("/api/v1/clients/{id}/volunteers"),
        json!({ "user_id": w.staff.vol }),
    )
    .await;
    assert_eq!(status, 201);
    let vol = w.login("vol.vinh").await;
    assert_eq!(get(&vol, &format!("/api/v1/clients/{id}")).await.1["phone"], PHONE);
    let withdraw = format!("{path}/{}/withdraw", id_of(&contact));
    let (status, body) = post(&sw, &withdraw, json!({ "on": "2024-03-01" })).await;
    assert_eq!(status, 422, "before it was given: {body}");
    let res = sw.send(reqwest::Method::POST, &withdraw).send().await.unwrap();
    let (status, withdrawn) = json_of(res).await;
    assert_eq!(status, 200, "a withdrawal needs no body: {withdrawn}");
    assert_eq!(withdrawn["active"], false);
    assert!(withdrawn["withdrawn_on"].is_string());
    assert_eq!(withdrawn["withdrawn_by"], w.staff.sw.as_str());
    assert_eq!(post(&sw, &withdraw, json!({})).await.0, 409);
    let (_, seen) = get(&vol, &format!("/api/v1/clients/{id}")).await;
    assert!(seen.get("phone").is_none(), "{seen}");
    // The history is kept.
    let (_, full) = get(&sw, &format!("/api/v1/clients/{id}")).await;
    assert_eq!(full["consents"].as_array().unwrap().len(), 3);

    // Withdrawing consent to processing alerts the supervisors, who decide on erasure.
    let processing = full["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scope"] == "data_processing")
        .unwrap()
        .clone();
    let (status, _) = post(&sw, &format!("{path}/{}/withdraw", id_of(&processing)), json!({})).await;
    assert_eq!(status, 200);
    let (_, alerts) = get(&sup, "/api/v1/alerts").await;
    let kinds: Vec<&str> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["data_processing_withdrawn"]);
    assert_eq!(alerts["items"][0]["client_code"], client["code"]);

    // Volunteers and other workers cannot record consent.
    assert_eq!(post(&vol, &path, json!({ "scope": "reporting" })).await.0, 403);
    let sw2 = w.login("sw2.vinh").await;
    assert_eq!(post(&sw2, &path, json!({ "scope": "reporting" })).await.0, 403);
    let recorded: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('consent_record', 'consent_withdraw') AND outcome = 'success'",
    )
    .fetch_one(&w.state().db.pool)
    .await
    .unwrap();
    assert_eq!(recorded, 4);
}

#[tokio::test]
async fn need_details_are_sealed_and_health_details_shown_only_to_health_roles() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let client = open_case(&sw, intake()).await;
    let id = id_of(&client);
    let needs = format!("/api/v1/clients/{id}/needs");
    let (status, health) = post(
        &sw,
        &needs,
        json!({ "category": "health_care", "detail": "Xét nghiệm HIV định kỳ", "assessed_on": "2024-03-20" }),
    )
    .await;
    assert_eq!(status, 201, "{health}");
    assert_eq!(health["category"], "health_care");
    assert_eq!(health["detail"], "Xét nghiệm HIV định kỳ");
    assert_eq!(health["assessed_on"], "2024-03-20");
    let (status, loan) = post(
        &sw,
        &needs,
        json!({ "category": "loan", "detail": "Vay 20 triệu mở quán" }),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(loan["assessed_on"], w.state().clock.today().to_string());
    let (status, bare) = post(&sw, &needs, json!({ "category": "counselling" })).await;
    assert_eq!(status, 201);
    assert_eq!(bare["has_detail"], false);

    let sup = w.login("sup.vinh").await;
    let (_, seen) = get(&sup, &format!("/api/v1/clients/{id}")).await;
    let details: Vec<&str> = seen["needs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["detail"].as_str())
        .collect();
    assert_eq!(details.len(), 2);
    // Volunteers see no need at all; the sealed column holds no plaintext.
    let (status, _) = post(
        &sup,
        &format!("/api/v1/clients/{id}/volunteers"),
        json!({ "user_id": w.staff.vol }),
    )
    .await;
    assert_eq!(status, 201);
    let vol = w.login("vol.vinh").await;
    let (_, text) = raw(vol.get(&format!("/api/v1/clients/{id}")).send().await.unwrap()).await;
    assert_free_of(&text, &["HIV", "Vay 20", "health_care"], "the volunteer");
    assert_eq!(post(&vol, &needs, json!({ "category": "loan" })).await.0, 403);
    let raw = raw_database(&w).await;
    assert!(!contains_bytes(&raw, "Xét nghiệm HIV".as_bytes()));
    assert!(!contains_bytes(&raw, "Vay 20 triệu".as_bytes()));
    assert!(!crate::kit::captured_logs().contains("HIV định kỳ"));
}

#[tokio::test]
async fn volunteers_log_support_and_workers_follow_up() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let sup = w.login("sup.vinh").await;
    let client = open_case(&sw, intake()).await;
    let id = id_of(&client);
    let assign = format!("/api/v1/clients/{id}/volunteers");

    // Only a supervisor of the district assigns, and only an active volunteer covering it.
    assert_eq!(post(&sw, &assign, json!({ "user_id": w.staff.vol })).await.0, 403);
    let sup_other = w.login("sup.cualo").await;
    assert_eq!(
        post(&sup_other, &assign, json!({ "user_id": w.staff.vol })).await.0,
        404
    );
    for wrong in [&w.staff.sw2, &w.staff.vol_other, &"no-such-user".to_owned()] {
        let (status, body) = post(&sup, &assign, json!({ "user_id": wrong })).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"]["fields"]["user_id"].is_string());
    }
    let (status, assigned) = post(&sup, &assign, json!({ "user_id": w.staff.vol })).await;
    assert_eq!(status, 201);
    assert_eq!(assigned["user_id"], w.staff.vol.as_str());
    assert_eq!(post(&sup, &assign, json!({ "user_id": w.staff.vol })).await.0, 200);
    assert_eq!(post(&sup, &assign, json!({ "user_id": w.staff.vol2 })).await.0, 201);

    let logs = format!("/api/v1/clients/{id}/support-logs");
    let vol = w.login("vol.vinh").await;
    let (status, body) = post(
        &vol,
        &logs,
        json!({ "kind": "dance", "on": "2024-03-01", "duration_minutes": 0, "note": "n".repeat(2001) }),
    )
    .await;
    assert_eq!(status, 422);
    for field in ["kind", "on", "duration_minutes", "note"] {
        assert!(body["error"]["fields"][field].is_string(), "{field}: {body}");
    }
    let (status, body) = post(&vol, &logs, json!({ "kind": "phone_call", "on": "2999-01-01" })).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["on"].is_string());
    assert_eq!(w.rows("support_logs", &id).await, 0);
    let (status, log) = post(
        &vol,
        &logs,
        json!({
            "kind": "home_visit",
            "on": "2024-04-02",
            "duration_minutes": 45,
            "note": "Chị ấy lo về tiền thuê nhà tháng tới",
            "needs_follow_up": true
        }),
    )
    .await;
    assert_eq!(status, 201, "{log}");
    assert_eq!(log["needs_follow_up"], true);
    assert_eq!(log["note"], "Chị ấy lo về tiền thuê nhà tháng tới");
    // Workers do not log support contacts; the volunteer of another client cannot.
    assert_eq!(
        post(&sw, &logs, json!({ "kind": "other", "on": "2024-04-02" })).await.0,
        403
    );

    // The second volunteer sees the contact, not the first volunteer's note.
    let vol2 = w.login("vol2.vinh").await;
    let (status, seen) = get(&vol2, &format!("/api/v1/clients/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(seen["support_logs"][0]["kind"], "home_visit");
    assert_eq!(seen["support_logs"][0]["has_note"], true);
    assert!(seen["support_logs"][0].get("note").is_none());
    let (_, own) = get(&vol, &format!("/api/v1/clients/{id}")).await;
    assert_eq!(own["support_logs"][0]["note"], "Chị ấy lo về tiền thuê nhà tháng tới");
    let (_, worker_view) = get(&sw, &format!("/api/v1/clients/{id}")).await;
    assert_eq!(
        worker_view["support_logs"][0]["note"],
        "Chị ấy lo về tiền thuê nhà tháng tới"
    );

    // The follow-up list of the assigned worker (codes only) and of the supervisor.
    let (status, list) = get(&sw, "/api/v1/follow-ups").await;
    assert_eq!(status, 200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["client_code"], client["code"]);
    assert_eq!(items[0]["kind"], "home_visit");
    assert_eq!(items[0]["on"], "2024-04-02");
    assert_eq!(items[0]["volunteer_id"], w.staff.vol.as_str());
    assert!(!list.to_string().contains("tiền thuê"));
    assert_eq!(
        get(&sup, "/api/v1/follow-ups").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let sw2 = w.login("sw2.vinh").await;
    assert_eq!(get(&sw2, "/api/v1/follow-ups").await.1["items"], json!([]));
    assert_eq!(get(&vol, "/api/v1/follow-ups").await.0, 403);
    let mgr = w.login("mgr").await;
    assert_eq!(get(&mgr, "/api/v1/follow-ups").await.0, 403);

    let done = format!("/api/v1/follow-ups/{}/done", id_of(&items[0]));
    assert_eq!(post(&vol, &done, json!({})).await.0, 403);
    assert_eq!(post(&sw2, &done, json!({})).await.0, 403);
    let (status, marked) = post(&sw, &done, json!({})).await;
    assert_eq!(status, 200, "{marked}");
    assert_eq!(marked["follow_up_done"], true);
    assert_eq!(post(&sw, &done, json!({})).await.0, 409);
    assert_eq!(get(&sw, "/api/v1/follow-ups").await.1["items"], json!([]));
    assert_eq!(
        get(&sw, "/api/v1/follow-ups?all=true").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Unassigned, the volunteer loses the client.
    let res = sup
        .send(reqwest::Method::DELETE, &format!("{assign}/{}", w.staff.vol))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(get(&vol, &format!("/api/v1/clients/{id}")).await.0, 404);
    assert_eq!(get(&vol, "/api/v1/clients").await.1["items"], json!([]));
    assert!(!crate::kit::captured_logs().contains("tiền thuê nhà"));
}

#[tokio::test]
async fn closing_and_reopening_keep_the_history() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let sup = w.login("sup.vinh").await;
    let client = open_case(&sw, intake()).await;
    let id = id_of(&client);
    let close = format!("/api/v1/clients/{id}/close");
    let reopen = format!("/api/v1/clients/{id}/reopen");

    let (status, body) = post(&sw, &close, json!({ "reason": "bored", "on": "2024-03-01" })).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["reason"].is_string() && body["error"]["fields"]["on"].is_string());
    let (status, body) = post(&sw, &close, json!({ "on": "2024-06-30" })).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["reason"].is_string());
    assert_eq!(post(&sw, &reopen, json!({})).await.0, 409);
    let (status, closed) = post(&sw, &close, json!({ "reason": "reintegrated", "on": "2024-06-30" })).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["closed_on"], "2024-06-30");
    assert_eq!(closed["closure_reason"], "reintegrated");
    let (status, again) = post(&sw, &close, json!({ "reason": "other" })).await;
    assert_eq!(status, 409);
    assert_eq!(again["error"]["code"], "case_not_open");
    // A worker's closure is shown to the supervisors for review.
    let (_, alerts) = get(&sup, "/api/v1/alerts").await;
    assert_eq!(alerts["items"][0]["kind"], "closure_review");
    assert_eq!(alerts["items"][0]["client_code"], client["code"]);

    let (status, body) = post(&sw, &reopen, json!({ "on": "2024-06-01" })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["on"].is_string());
    let (status, body) = post(&sw, &reopen, json!({ "on": "2024-09-01", "version": 1 })).await;
    assert_eq!(status, 409, "stale version: {body}");
    assert_eq!(body["error"]["code"], "conflict");
    let (status, reopened) = post(&sw, &reopen, json!({ "on": "2024-09-01" })).await;
    assert_eq!(status, 200, "{reopened}");
    assert_eq!(reopened["status"], "open");
    assert!(reopened["closed_on"].is_null());
    assert_eq!(
        reopened["case_periods"],
        json!([
            { "opened_on": OPENED, "closed_on": "2024-06-30", "closure_reason": "reintegrated" },
            { "opened_on": "2024-09-01", "closed_on": null, "closure_reason": null }
        ])
    );
    // A need cannot predate the case; a supervisor closes without a review alert.
    let (status, closed) = post(&sup, &close, json!({ "reason": "moved_away", "on": "2024-08-31" })).await;
    assert_eq!(status, 422, "before the episode opened: {closed}");
    let (status, closed) = post(&sup, &close, json!({ "reason": "moved_away", "on": "2024-10-15" })).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["case_periods"][1]["closed_on"], "2024-10-15");
    assert_eq!(closed["case_periods"][1]["closure_reason"], "moved_away");
    let (_, alerts) = get(&sup, "/api/v1/alerts").await;
    assert_eq!(alerts["items"].as_array().unwrap().len(), 1);
    // Acknowledged alerts leave the list.
    let ack = format!("/api/v1/alerts/{}/acknowledge", id_of(&alerts["items"][0]));
    assert_eq!(post(&sup, &ack, json!({})).await.0, 200);
    assert_eq!(post(&sup, &ack, json!({})).await.0, 409);
    assert_eq!(get(&sup, "/api/v1/alerts").await.1["items"], json!([]));
    assert_eq!(
        get(&sup, "/api/v1/alerts?all=true").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Others cannot close or reopen.
    let sw2 = w.login("sw2.vinh").await;
    assert_eq!(post(&sw2, &reopen, json!({})).await.0, 403);
    let vol = w.login("vol.vinh").await;
    assert_eq!(post(&vol, &reopen, json!({})).await.0, 404);
}

#[tokio::test]
async fn a_child_at_intake_alerts_the_district_supervisors() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let today = w.state().clock.today();
    let dob = today.checked_sub_months(chrono::Months::new(16 * 12)).unwrap();
    let mut body = person("Em Gái Giả Định", &dob.to_string());
    body["opened_on"] = json!(today.to_string());
    let child = open_case(&sw, body).await;
    assert_eq!(child["child_protection"], true);
    assert_eq!(child["age_band"], "under_18");
    let sup = w.login("sup.vinh").await;
    let (status, alerts) = get(&sup, "/api/v1/alerts").await;
    assert_eq!(status, 200);
    let items = alerts["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "child_protection");
    assert_eq!(items[0]["client_code"], child["code"]);
    assert_eq!(items[0]["raised_by"], w.staff.sw.as_str());
    assert!(!alerts.to_string().contains("Em Gái"));
    // The assigned worker sees it on their own case; other districts do not.
    assert_eq!(get(&sw, "/api/v1/alerts").await.1["items"].as_array().unwrap().len(), 1);
    let sup_other = w.login("sup.cualo").await;
    assert_eq!(get(&sup_other, "/api/v1/alerts").await.1["items"], json!([]));
    let mgr = w.login("mgr").await;
    assert_eq!(get(&mgr, "/api/v1/alerts").await.0, 403);
    let flagged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'client_create' AND client_code = $1 AND flagged = $2",
    )
    .bind(child["code"].as_str().unwrap())
    .bind(true)
    .fetch_one(&w.state().db.pool)
    .await
    .unwrap();
    assert_eq!(flagged, 1);

    // An adult whose birth date is corrected to a child's raises it too.
    let adult = open_case(&sw, person("Chị Lớn Giả Định", "1990-01-01")).await;
    let path = format!("/api/v1/clients/{}", id_of(&adult));
    let (status, fixed) = patch(&sw, &path, json!({ "version": 1, "date_of_birth": "2009-01-01" })).await;
    assert_eq!(status, 200, "{fixed}");
    assert_eq!(fixed["child_protection"], true);
    assert_eq!(
        get(&sup, "/api/v1/alerts").await.1["items"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn a_supervisor_reassigns_within_the_district() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let sw2 = w.login("sw2.vinh").await;
    let sup = w.login("sup.vinh").await;
    let client = open_case(&sw, intake()).await;
    let id = id_of(&client);
    let path = format!("/api/v1/clients/{id}/reassign");
    assert_eq!(post(&sw, &path, json!({ "user_id": w.staff.sw2 })).await.0, 403);
    for wrong in [&w.staff.vol, &w.staff.sw_other, &w.staff.sup] {
        let (status, body) = post(&sup, &path, json!({ "user_id": wrong })).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"]["fields"]["user_id"].is_string());
    }
    let (status, moved) = post(&sup, &path, json!({ "user_id": w.staff.sw2 })).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["assigned_worker"], w.staff.sw2.as_str());
    assert_eq!(get(&sw2, &format!("/api/v1/clients/{id}")).await.1["full_name"], NAME);
    assert_eq!(get(&sw, &format!("/api/v1/clients/{id}")).await.0, 403);
    let sup_other = w.login("sup.cualo").await;
    assert_eq!(post(&sup_other, &path, json!({ "user_id": w.staff.sw })).await.0, 404);
}

#[tokio::test]
async fn erasure_leaves_nothing_of_the_client() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let sup = w.login("sup.vinh").await;
    let client = open_case(&sw, intake()).await;
    let keep = open_case(&sw, person("Người Ở Lại Giả Định", "1991-01-01")).await;
    let id = id_of(&client);
    let code = client["code"].as_str().unwrap().to_owned();
    let (status, _) = post(
        &sw,
        &format!("/api/v1/clients/{id}/needs"),
        json!({ "category": "health_care", "detail": "Điều trị ARV" }),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = post(
        &sup,
        &format!("/api/v1/clients/{id}/volunteers"),
        json!({ "user_id": w.staff.vol }),
    )
    .await;
    assert_eq!(status, 201);
    let vol = w.login("vol.vinh").await;
    let (status, _) = post(
        &vol,
        &format!("/api/v1/clients/{id}/support-logs"),
        json!({ "kind": "phone_call", "on": "2024-04-01", "note": "Hẹn gặp ở chợ", "needs_follow_up": true }),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = post(
        &sw,
        &format!("/api/v1/clients/{id}/close"),
        json!({ "reason": "withdrew" }),
    )
    .await;
    assert_eq!(status, 200);

    // Every sealed byte and the wrapped key, to look for afterwards.
    let pool = &w.state().db.pool;
    let mut sealed: Vec<Vec<u8>> = Vec::new();
    for (sql, what) in [
        ("SELECT full_name_sealed FROM clients WHERE id = $1", "name"),
        ("SELECT notes_sealed FROM clients WHERE id = $1", "notes"),
        ("SELECT phone_sealed FROM clients WHERE id = $1", "phone"),
        ("SELECT wrapped_key FROM client_keys WHERE client_id = $1", "key"),
        ("SELECT detail_sealed FROM needs WHERE client_id = $1", "need"),
        (
            "SELECT note_sealed FROM support_logs WHERE client_id = $1",
            "support note",
        ),
    ] {
        let bytes: Vec<u8> = sqlx::query_scalar(sql).bind(&id).fetch_one(pool).await.unwrap();
        assert!(bytes.len() > 16, "{what}");
        sealed.push(bytes);
    }

    let erase = format!("/api/v1/clients/{id}/erase");
    assert_eq!(
        post(&sw, &erase, json!({ "reason": "Thân chủ yêu cầu xóa dữ liệu" }))
            .await
            .0,
        403
    );
    let sup_other = w.login("sup.cualo").await;
    assert_eq!(
        post(&sup_other, &erase, json!({ "reason": "Thân chủ yêu cầu xóa dữ liệu" }))
            .await
            .0,
        404
    );
    let (status, body) = post(&sup, &erase, json!({ "reason": "ngắn" })).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["reason"].is_string());
    let (status, body) = post(&sup, &erase, json!({})).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["reason"].is_string());
    let res = sup
        .post(&erase, json!({ "reason": "Thân chủ yêu cầu xóa dữ liệu" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);

    for user in [&sup, &sw, &vol] {
        assert_eq!(get(user, &format!("/api/v1/clients/{id}")).await.0, 404);
    }
    assert_eq!(
        post(&sup, &erase, json!({ "reason": "Thân chủ yêu cầu xóa dữ liệu" }))
            .await
            .0,
        404
    );
    for table in [
        "clients",
        "client_keys",
        "consents",
        "needs",
        "support_logs",
        "client_volunteers",
        "case_periods",
        "case_alerts",
        "referrals",
        "break_glass_grants",
    ] {
        assert_eq!(w.rows(table, &id).await, 0, "{table} keeps rows of the erased client");
    }
    let raw = raw_database(&w).await;
    for (i, bytes) in sealed.iter().enumerate() {
        assert!(!contains_bytes(&raw, bytes), "sealed value {i} survives");
    }
    assert!(!contains_bytes(&raw, NAME.as_bytes()));
    let ledger: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM erasures WHERE code = $1")
        .bind(&code)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(ledger, 1);
    let flagged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'client_erase' AND client_code = $1 AND flagged = $2 \
         AND outcome = 'success'",
    )
    .bind(&code)
    .bind(true)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(flagged, 1);
    // The other client is untouched; lists no longer carry the erased code.
    assert_eq!(get(&sw, &format!("/api/v1/clients/{}", id_of(&keep))).await.0, 200);
    let (_, list) = get(&sup, "/api/v1/clients").await;
    assert!(!list.to_string().contains(&code));
    assert_eq!(get(&sw, "/api/v1/follow-ups?all=true").await.1["items"], json!([]));
    assert_free_of(&crate::kit::captured_logs(), &SECRETS, "the log");
}

/// A volunteer's access ends when her assignment ends or the case closes: she cannot read
/// the client or log support afterwards, even if the case is reopened.
#[tokio::test]
async fn a_volunteer_loses_access_when_the_assignment_or_the_case_ends() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let sup = w.login("sup.vinh").await;
    let vol = w.login("vol.vinh").await;
    let client = open_case(&sw, intake()).await;
    let id = client["id"].as_str().unwrap();
    let read = format!("/api/v1/clients/{id}");
    let log = format!("/api/v1/clients/{id}/support-logs");
    let contact = || json!({ "kind": "phone_call", "on": OPENED, "duration_minutes": 5 });

    let (status, _) = post(
        &sup,
        &format!("/api/v1/clients/{id}/volunteers"),
        json!({"user_id": w.staff.vol}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(get(&vol, &read).await.0, 200);
    assert_eq!(post(&vol, &log, contact()).await.0, 201);

    // The assignment ends.
    let res = sup
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/clients/{id}/volunteers/{}", w.staff.vol),
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(get(&vol, &read).await.0, 404);
    assert_eq!(post(&vol, &log, contact()).await.0, 404);

    // Assigned again, then the case closes.
    let (status, _) = post(
        &sup,
        &format!("/api/v1/clients/{id}/volunteers"),
        json!({"user_id": w.staff.vol}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = post(
        &sup,
        &format!("/api/v1/clients/{id}/close"),
        json!({ "reason": "reintegrated" }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(get(&vol, &read).await.0, 404);
    assert_eq!(post(&vol, &log, contact()).await.0, 404);
    let (_, list) = get(&vol, "/api/v1/clients").await;
    assert_eq!(list["items"], json!([]));
    let (status, _) = post(&sup, &format!("/api/v1/clients/{id}/reopen"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&vol, &read).await.0,
        404,
        "reopening does not bring the assignment back"
    );
}
