//! The case record through the API: intake with consents and duplicate codes, every
//! validation failure named with nothing written, what each role sees, caseload lists,
//! optimistic concurrency, and no stored name in the logs.

use crate::kit::world::*;
use crate::kit::{Api, queries};
use serde_json::{Value, json};

#[tokio::test]
async fn intake_stores_the_client_with_its_consents_and_names_possible_duplicates() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let created = open_case(&sw, intake()).await;
    let code = created["code"].as_str().unwrap();
    assert!(code.starts_with("NA-2024-"), "{code}");
    assert_eq!(created["status"], "open");
    assert_eq!(created["assigned_worker"], w.staff.sw.as_str());
    assert_eq!(created["opened_on"], OPENED);
    assert_eq!(created["age_band"], "25_34");
    assert_eq!(created["child_protection"], false);
    assert_eq!(created["version"], 1);
    assert_eq!(created["possible_duplicates"], json!([]));
    // The worker who opened the case sees what was recorded.
    assert_eq!(created["full_name"], NAME);
    assert_eq!(created["phone"], PHONE);
    let mut scopes: Vec<String> = created["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["given_on"], OPENED);
            assert_eq!(c["recorded_by"], w.staff.sw.as_str());
            assert_eq!(c["active"], true);
            format!(
                "{}:{}",
                c["scope"].as_str().unwrap(),
                c["category"].as_str().unwrap_or("-")
            )
        })
        .collect();
    scopes.sort();
    assert_eq!(
        scopes,
        [
            "data_processing:-",
            "referral_sharing:loan",
            "referral_sharing:vocational_training",
            "reporting:-",
            "volunteer_contact:-"
        ]
    );
    assert_eq!(
        created["case_periods"],
        json!([{"opened_on": OPENED, "closed_on": null, "closure_reason": null}])
    );

    // The same person typed differently, and another person with the same ID number.
    let mut again = person("PHẠM  thị giả định", DOB);
    again["consents"] = json!({ "data_processing": true });
    let second = open_case(&sw, again).await;
    assert_eq!(second["possible_duplicates"], json!([code]));
    assert_eq!(second["consents"].as_array().unwrap().len(), 1);
    let mut same_id = person("Lê Thị Khác Hẳn", "1988-01-01");
    same_id["id_number"] = json!("0401 9500 4321");
    let third = open_case(&sw, same_id).await;
    assert_eq!(third["possible_duplicates"], json!([code]));

    // A supervisor may open a case for a worker of the district, not for a volunteer.
    let sup = w.login("sup.vinh").await;
    let mut for_sw2 = person("Đỗ Thị Thứ Tư", "1990-02-02");
    for_sw2["assigned_worker"] = json!(w.staff.sw2);
    let fourth = open_case(&sup, for_sw2).await;
    assert_eq!(fourth["assigned_worker"], w.staff.sw2.as_str());
    let mut for_vol = person("Đỗ Thị Thứ Năm", "1990-02-03");
    for_vol["assigned_worker"] = json!(w.staff.vol);
    let (status, body) = post(&sup, "/api/v1/clients", for_vol).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["assigned_worker"].is_string());
    // A social worker cannot hand a new case to a colleague.
    let mut handed = person("Đỗ Thị Thứ Sáu", "1990-02-04");
    handed["assigned_worker"] = json!(w.staff.sw2);
    assert_eq!(post(&sw, "/api/v1/clients", handed).await.0, 403);

    let audit: Vec<String> =
        sqlx::query_scalar::<_, Option<String>>("SELECT client_code FROM audit_log WHERE action = 'client_create'")
            .fetch_all(&w.state().db.pool)
            .await
            .unwrap()
            .into_iter()
            .flatten()
            .collect();
    assert!(audit.contains(&code.to_owned()));
    assert_free_of(&crate::kit::captured_logs(), &SECRETS, "the log");
}

#[tokio::test]
async fn every_bad_intake_field_is_named_and_nothing_is_written() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let bad = json!({
        "area": "999",
        "full_name": "   ",
        "chosen_name": "x".repeat(101),
        "date_of_birth": "2999-01-01",
        "id_number": "12",
        "phone": "12345",
        "address": "y".repeat(301),
        "notes": "z".repeat(2001),
        "eligible": true,
        "opened_on": "2999-02-01",
        "consents": { "data_processing": false, "referral_sharing": ["astrology"] }
    });
    let res = sw
        .post("/api/v1/clients", bad)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation");
    let fields = body["error"]["fields"].as_object().unwrap();
    for field in [
        "area",
        "full_name",
        "chosen_name",
        "date_of_birth",
        "id_number",
        "phone",
        "address",
        "notes",
        "opened_on",
        "consents.data_processing",
        "consents.referral_sharing",
    ] {
        assert!(fields.contains_key(field), "{field} is not named: {body}");
    }
    assert_eq!(fields["phone"], "Not a valid phone number.");
    assert_eq!(fields["opened_on"], "The date cannot be in the future.");
    assert_eq!(fields["area"], "No such area.");
    assert_eq!(fields["consents.referral_sharing"], "No such service category.");

    // Vietnamese by default.
    let (_, vi) = post(&sw, "/api/v1/clients", json!({ "area": "412" })).await;
    assert_eq!(vi["error"]["fields"]["full_name"], "Bắt buộc nhập.");
    for field in ["full_name", "date_of_birth", "eligible", "consents.data_processing"] {
        assert!(vi["error"]["fields"].get(field).is_some(), "{field} missing: {vi}");
    }

    // Missing consent to processing alone is enough to refuse.
    let mut no_consent = intake();
    no_consent["consents"] = json!({ "reporting": true });
    let (status, body) = post(&sw, "/api/v1/clients", no_consent).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"].as_object().unwrap().len(), 1, "{body}");
    assert!(body["error"]["fields"]["consents.data_processing"].is_string());
    let mut no_consents = intake();
    no_consents.as_object_mut().unwrap().remove("consents");
    let (status, body) = post(&sw, "/api/v1/clients", no_consents).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["consents.data_processing"].is_string());

    // Opened before birth; a date in another format.
    let mut before_birth = intake();
    before_birth["opened_on"] = json!("1990-01-01");
    let (status, body) = post(&sw, "/api/v1/clients", before_birth).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["opened_on"].is_string(), "{body}");
    let mut slashed = intake();
    slashed["date_of_birth"] = json!("21/07/1994");
    let (status, body) = post(&sw, "/api/v1/clients", slashed).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["date_of_birth"].is_string(), "{body}");

    for table in [
        "clients",
        "consents",
        "case_periods",
        "client_keys",
        "case_alerts",
        "code_sequences",
    ] {
        assert_eq!(w.count(table).await, 0, "{table} was written");
    }

    // A need dated before the case opened, and an unknown category, are refused too.
    let client = open_case(&sw, intake()).await;
    let id = client["id"].as_str().unwrap();
    let (status, body) = post(
        &sw,
        &format!("/api/v1/clients/{id}/needs"),
        json!({ "category": "astrology", "assessed_on": "2024-03-01", "detail": "d".repeat(2001) }),
    )
    .await;
    assert_eq!(status, 422);
    let fields = body["error"]["fields"].as_object().unwrap();
    for field in ["category", "assessed_on", "detail"] {
        assert!(fields.contains_key(field), "{field} is not named: {body}");
    }
    let (status, body) = post(
        &sw,
        &format!("/api/v1/clients/{id}/needs"),
        json!({ "category": "loan", "assessed_on": "2999-01-01" }),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"]["assessed_on"], "Ngày không được ở tương lai.");
    assert_eq!(w.rows("needs", id).await, 0);
    // A manager is refused before the body is looked at.
    let mgr = w.login("mgr").await;
    assert_eq!(post(&mgr, "/api/v1/clients", json!({})).await.0, 403);
    assert_free_of(&crate::kit::captured_logs(), &SECRETS, "the log");
}

#[tokio::test]
async fn each_role_sees_only_the_fields_it_may() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let sup = w.login("sup.vinh").await;
    let with_contact = open_case(&sw, intake()).await;
    let mut no_contact_body = person("Vũ Thị Không Liên Lạc", "1992-05-05");
    no_contact_body["chosen_name"] = json!("Mận Giả");
    no_contact_body["phone"] = json!("0988 111 222");
    no_contact_body["consents"] = json!({ "data_processing": true });
    let no_contact = open_case(&sw, no_contact_body).await;
    let a = with_contact["id"].as_str().unwrap();
    let b = no_contact["id"].as_str().unwrap();
    // A health need, whose detail is health data.
    let (status, need) = post(
        &sw,
        &format!("/api/v1/clients/{a}/needs"),
        json!({ "category": "health_care", "detail": "Điều trị methadone", "assessed_on": "2024-04-01" }),
    )
    .await;
    assert_eq!(status, 201, "{need}");
    assert_eq!(need["detail"], "Điều trị methadone");
    for id in [a, b] {
        let (status, body) = post(
            &sup,
            &format!("/api/v1/clients/{id}/volunteers"),
            json!({ "user_id": w.staff.vol }),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }

    // The assigned worker sees everything.
    let (status, full) = get(&sw, &format!("/api/v1/clients/{a}")).await;
    assert_eq!(status, 200);
    for (field, value) in [
        ("full_name", NAME),
        ("chosen_name", CHOSEN),
        ("date_of_birth", DOB),
        ("id_number", ID_NUMBER),
        ("phone", PHONE),
        ("address", ADDRESS),
        ("notes", NOTE),
    ] {
        assert_eq!(full[field], value, "{field}");
    }
    assert_eq!(full["needs"][0]["detail"], "Điều trị methadone");
    assert_eq!(full["volunteers"][0]["user_id"], w.staff.vol.as_str());
    // So does the district's supervisor.
    let (status, seen) = get(&sup, &format!("/api/v1/clients/{a}")).await;
    assert_eq!(status, 200);
    assert_eq!(seen["full_name"], NAME);

    // The volunteer: code, chosen name, area, phone only with contact consent.
    let vol = w.login("vol.vinh").await;
    let (status, text) = raw(vol.get(&format!("/api/v1/clients/{a}")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["chosen_name"], CHOSEN);
    assert_eq!(body["phone"], PHONE);
    assert_eq!(body["area"], "412");
    for hidden in [
        "full_name",
        "date_of_birth",
        "id_number",
        "address",
        "notes",
        "needs",
        "consents",
    ] {
        assert!(body.get(hidden).is_none(), "the volunteer sees {hidden}: {body}");
    }
    assert_free_of(
        &text,
        &[NAME, ID_NUMBER, ADDRESS, NOTE, DOB, "methadone"],
        "the volunteer",
    );
    let (status, text) = raw(vol.get(&format!("/api/v1/clients/{b}")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["chosen_name"], "Mận Giả");
    assert!(body.get("phone").is_none(), "no contact consent, no phone: {body}");
    assert!(!text.contains("0988 111 222"));
    let (status, text) = raw(vol.get("/api/v1/clients").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&text).unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let item_a = items.iter().find(|i| i["id"] == a).unwrap();
    let item_b = items.iter().find(|i| i["id"] == b).unwrap();
    assert_eq!(item_a["phone"], PHONE);
    assert_eq!(item_a["chosen_name"], CHOSEN);
    assert!(item_b.get("phone").is_none());
    assert_free_of(
        &text,
        &[NAME, ID_NUMBER, ADDRESS, NOTE, "0988 111 222"],
        "the volunteer's list",
    );
    // Another volunteer of the district sees nothing of clients not assigned to them.
    let vol2 = w.login("vol2.vinh").await;
    assert_eq!(get(&vol2, &format!("/api/v1/clients/{a}")).await.0, 404);

    // A colleague in the district sees the code exists but may not open it; other
    // districts, managers, auditors and admins do not even learn it exists.
    let sw2 = w.login("sw2.vinh").await;
    let (status, text) = raw(sw2.get(&format!("/api/v1/clients/{a}")).send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert_free_of(&text, &[NAME, CHOSEN], "another worker");
    for user in ["sup.cualo", "sw.cualo", "mgr", "aud", "admin"] {
        let api = w.login(user).await;
        let (status, text) = raw(api.get(&format!("/api/v1/clients/{a}")).send().await.unwrap()).await;
        assert_eq!(status, 404, "{user}: {text}");
        assert_free_of(&text, &[NAME, CHOSEN], user);
        let (status, text) = raw(api.get("/api/v1/clients").send().await.unwrap()).await;
        if ["mgr", "aud", "admin"].contains(&user) {
            assert_eq!(status, 403, "{user}");
        }
        assert_free_of(&text, &[NAME, CHOSEN, with_contact["code"].as_str().unwrap()], user);
    }
    // Reads are audited with the code, never the content.
    let reads: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'client_read' AND outcome = 'success' AND client_code = $1",
    )
    .bind(with_contact["code"].as_str().unwrap())
    .fetch_one(&w.state().db.pool)
    .await
    .unwrap();
    assert!(reads >= 3, "{reads}");
    assert_free_of(&crate::kit::captured_logs(), &SECRETS, "the log");
}

#[tokio::test]
async fn caseload_lists_follow_the_role() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let sw2 = w.login("sw2.vinh").await;
    let sup = w.login("sup.vinh").await;
    let sup_other = w.login("sup.cualo").await;
    let one = open_case(&sw, person("Người Thử Một", "1990-01-01")).await;
    let two = open_case(&sw, person("Người Thử Hai", "1990-01-02")).await;
    let three = open_case(&sw2, person("Người Thử Ba", "1990-01-03")).await;
    let mut far = person("Người Thử Bốn", "1990-01-04");
    far["area"] = json!("413");
    let four = open_case(&sup_other, far).await;
    assert!(
        four["assigned_worker"].is_null(),
        "a supervisor's intake waits for assignment"
    );

    let codes = |list: &Value| {
        let mut c: Vec<String> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["code"].as_str().unwrap().to_owned())
            .collect();
        c.sort();
        c
    };
    let code = |c: &Value| c["code"].as_str().unwrap().to_owned();
    let (status, mine) = get(&sw, "/api/v1/clients").await;
    assert_eq!(status, 200);
    assert_eq!(codes(&mine), [code(&one), code(&two)]);
    let item = &mine["items"][0];
    assert_eq!(item["status"], "open");
    assert_eq!(item["area"], "412");
    assert_eq!(item["assigned_worker"], w.staff.sw.as_str());
    assert!(item.get("full_name").is_none() && item.get("phone").is_none());
    assert_eq!(codes(&get(&sw2, "/api/v1/clients").await.1), [code(&three)]);
    assert_eq!(
        codes(&get(&sup, "/api/v1/clients").await.1),
        [code(&one), code(&two), code(&three)]
    );
    assert_eq!(codes(&get(&sup_other, "/api/v1/clients").await.1), [code(&four)]);
    let vol = w.login("vol.vinh").await;
    assert_eq!(codes(&get(&vol, "/api/v1/clients").await.1), Vec::<String>::new());

    // Closed cases leave the open list.
    let (status, _) = post(
        &sw,
        &format!("/api/v1/clients/{}/close", one["id"].as_str().unwrap()),
        json!({ "reason": "moved_away", "on": "2024-05-01" }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(codes(&get(&sw, "/api/v1/clients?status=open").await.1), [code(&two)]);
    assert_eq!(codes(&get(&sw, "/api/v1/clients?status=closed").await.1), [code(&one)]);
    assert_eq!(get(&sw, "/api/v1/clients?status=lost").await.0, 400);
    let (_, text) = raw(sup.get("/api/v1/clients").send().await.unwrap()).await;
    assert_free_of(&text, &["Người Thử", ID_NUMBER, PHONE], "the supervisor's list");
}

#[tokio::test]
async fn a_stale_version_is_refused_with_409_and_nothing_changes() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let client = open_case(&sw, intake()).await;
    let path = format!("/api/v1/clients/{}", client["id"].as_str().unwrap());
    let (status, updated) = patch(
        &sw,
        &path,
        json!({ "version": 1, "phone": "+84 987 654 321", "chosen_name": null }),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["phone"], "+84 987 654 321");
    assert!(updated.get("chosen_name").is_none());
    assert_eq!(updated["full_name"], NAME, "fields not sent stay as they were");

    // Someone who read version 1 saves later.
    let res = sw
        .send(reqwest::Method::PATCH, &path)
        .header("accept-language", "en")
        .json(&json!({ "version": 1, "notes": "Ghi chú cũ" }))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(body["error"]["details"]["current_version"], 2);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Someone else changed"),
        "{body}"
    );
    let (_, now) = get(&sw, &path).await;
    assert_eq!(now["version"], 2);
    assert_eq!(now["notes"], NOTE);

    // Bad values are named; version is required.
    let (status, body) = patch(
        &sw,
        &path,
        json!({ "version": 2, "phone": "abc", "date_of_birth": "2999-01-01" }),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["phone"].is_string() && body["error"]["fields"]["date_of_birth"].is_string());
    let (status, body) = patch(&sw, &path, json!({ "notes": "x" })).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["version"].is_string());
    // A volunteer or a colleague may not edit.
    let sw2 = w.login("sw2.vinh").await;
    assert_eq!(patch(&sw2, &path, json!({ "version": 2, "notes": "x" })).await.0, 403);
    let (_, now) = get(&sw, &path).await;
    assert_eq!(now["version"], 2);
    let updates: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'client_update' AND outcome = 'success'")
            .fetch_one(&w.state().db.pool)
            .await
            .unwrap();
    assert_eq!(updates, 1);
    assert_free_of(&crate::kit::captured_logs(), &SECRETS, "the log");
}

/// The attack of the first build: a worker of another district types a neighbour's name
/// and birth date (or only her ID number) into intake and learns from
/// `possible_duplicates` that she is a client. The match outside the caller's reach
/// yields no code and no hint; the supervisors of the district holding the match get an
/// alert naming the new case, flagged for the auditor. Same-district matches still show.
#[tokio::test]
async fn intake_never_tells_a_worker_that_a_person_is_a_client_elsewhere() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let neighbour = open_case(&sw, intake()).await;
    let neighbour_code = neighbour["code"].as_str().unwrap().to_owned();

    let curious = w.login("sw.cualo").await;
    let mut by_name = person("pham thi  gia dinh", DOB);
    by_name["area"] = json!("413");
    let probe = curious.post("/api/v1/clients", by_name).send().await.unwrap();
    let (status, text) = raw(probe).await;
    assert_eq!(status, 201, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["possible_duplicates"], json!([]));
    assert!(!text.contains(&neighbour_code), "{text}");
    let probe_code = answer["code"].as_str().unwrap().to_owned();

    let mut by_id = person("Tên Khác Hẳn", "1980-05-05");
    by_id["area"] = json!("413");
    by_id["id_number"] = json!(ID_NUMBER);
    let (status, second) = post(&curious, "/api/v1/clients", by_id).await;
    assert_eq!(status, 201);
    assert_eq!(second["possible_duplicates"], json!([]));
    // No hint either: the answer has the same shape as for somebody unknown.
    let mut stranger = person("Người Chưa Từng Gặp", "1981-06-06");
    stranger["area"] = json!("413");
    let (_, unknown) = post(&curious, "/api/v1/clients", stranger).await;
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&answer), keys(&unknown));

    // Vinh's supervisors are told, with the code of the case opened in Cửa Lò.
    let sup = w.login("sup.vinh").await;
    let (_, alerts) = get(&sup, "/api/v1/alerts").await;
    let dup: Vec<&Value> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "possible_duplicate")
        .collect();
    assert_eq!(dup.len(), 2, "{alerts}");
    assert!(dup.iter().all(|a| a["client_code"] == neighbour_code.as_str()));
    assert!(dup.iter().any(|a| a["related_code"] == probe_code.as_str()));
    // The curious worker's own district hears nothing of Vinh's client.
    let sup_other = w.login("sup.cualo").await;
    let (_, theirs) = get(&sup_other, "/api/v1/alerts").await;
    assert!(!theirs.to_string().contains(&neighbour_code), "{theirs}");
    let flagged: Vec<(String, bool)> =
        sqlx::query("SELECT actor, flagged FROM audit_log WHERE action = 'duplicate_alert' AND client_code = $1")
            .bind(&neighbour_code)
            .fetch_all(&w.state().db.pool)
            .await
            .unwrap()
            .iter()
            .map(|row| {
                use sqlx::Row;
                (
                    row.get("actor"),
                    row.try_get::<hoanhap::db::Flag, _>("flagged").unwrap().0,
                )
            })
            .collect();
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    assert!(flagged.iter().all(|(actor, f)| *actor == w.staff.sw_other && *f));

    // Inside the district the match still shows, folded as before.
    let colleague = w.login("sw2.vinh").await;
    let (_, same) = post(&colleague, "/api/v1/clients", person("PHẠM  thị giả định", DOB)).await;
    assert_eq!(same["possible_duplicates"], json!([neighbour_code]));
}

/// A caseload is read in a fixed number of statements, whatever its size: its clients'
/// facts and keys are read together, not several queries per client.
#[tokio::test]
async fn a_caseload_costs_as_many_queries_for_thirty_clients_as_for_three() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let sup = w.login("sup.vinh").await;
    let vol = w.login("vol.vinh").await;
    let add = async |n: usize| {
        for i in 0..n {
            let client = open_case(&sw, person(&format!("Người Đếm {i}"), "1990-01-01")).await;
            let path = format!("/api/v1/clients/{}/volunteers", client["id"].as_str().unwrap());
            let (status, _) = post(&sup, &path, json!({ "user_id": w.staff.vol })).await;
            assert_eq!(status, 201, "assigning the volunteer");
        }
    };
    let cost = async |api: &Api| {
        let res = api.get("/api/v1/clients").send().await.unwrap();
        let queries = queries::of(&res);
        let (status, body) = json_of(res).await;
        assert_eq!(status, 200);
        (body["items"].as_array().unwrap().len(), queries)
    };

    add(3).await;
    let few = [cost(&sw).await, cost(&sup).await, cost(&vol).await];
    add(27).await;
    let many = [cost(&sw).await, cost(&sup).await, cost(&vol).await];
    for ((who, (small, at_few)), (large, at_many)) in ["worker", "supervisor", "volunteer"].iter().zip(few).zip(many) {
        assert_eq!((small, large), (3, 30), "the {who} lists every client");
        assert!(at_few > 0, "the {who}'s list was counted");
        assert_eq!(at_few, at_many, "the {who}'s list costs the same for 3 and 30 clients");
    }
    // The volunteer's list opened the names and phones it shows (contact consent given).
    let (_, list) = get(&vol, "/api/v1/clients").await;
    assert_eq!(list["items"][0]["chosen_name"], CHOSEN);
    assert_eq!(list["items"][0]["phone"], PHONE);
}
