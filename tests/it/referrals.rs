//! Referrals through the API: consent or a supervisor's override, the state machine with
//! dates, the printable slip, the follow-up list, and no stored text in logs or audit.

use crate::kit::{Api, TestEnv, TestServer, add_user};
use chrono::{Duration, NaiveDate};
use hoanhap::AppState;
use hoanhap::clients::NewClient;
use hoanhap::crypto::Sensitive;
use hoanhap::policy::Role;
use serde_json::{Value, json};

const NAME: &str = "Phạm Thị Thử Nghiệm";
const CHOSEN: &str = "Hoa Thử";
const ID_NUMBER: &str = "040195009876";
const PHONE: &str = "0987 654 321";
const ADDRESS: &str = "Ngõ 7, phường Thử Nghiệm";
const HEALTH_DETAIL: &str = "Điều trị methadone giai đoạn hai";
const LOAN_DETAIL: &str = "Muốn vay vốn mở quán may đo";
const NOTE: &str = "Đã đến lớp buổi đầu, cô giáo khen";
const OVERRIDE: &str = "Thân chủ đồng ý bằng lời, chưa ký giấy vì đang ở bệnh viện";

struct World {
    _env: TestEnv,
    server: TestServer,
    state: AppState,
    sw_id: String,
    client_id: String,
    client_code: String,
    opened_on: NaiveDate,
    school: String,
    bank: String,
    clinic: String,
}

async fn json_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// A district with a supervisor, two social workers, a volunteer, a manager, an auditor,
/// a supervisor of another district, three providers and one client of `sw` opened 30
/// days ago.
async fn world() -> World {
    let mut env = TestEnv::new().await;
    env.settings.auth.mfa_required_roles.clear();
    let state = env.state().await;
    let mut sw_id = String::new();
    for (name, role, area) in [
        ("admin", Role::Admin, "40"),
        ("sup.vinh", Role::Supervisor, "412"),
        ("sup.cualo", Role::Supervisor, "413"),
        ("sw.lan", Role::SocialWorker, "412"),
        ("sw.mai", Role::SocialWorker, "412"),
        ("vol.hoa", Role::Volunteer, "412"),
        ("mgr.tinh", Role::Manager, "40"),
        ("auditor", Role::Auditor, "40"),
    ] {
        let id = add_user(&state, name, role, area).await;
        if name == "sw.lan" {
            sw_id = id;
        }
    }
    let opened_on = state.clock.today() - Duration::days(30);
    let client = state
        .clients
        .create(
            &NewClient {
                area: "412".into(),
                full_name: Sensitive::from(NAME),
                chosen_name: Some(Sensitive::from(CHOSEN)),
                date_of_birth: "1995-02-03".parse().unwrap(),
                id_number: Some(Sensitive::from(ID_NUMBER)),
                phone: Some(Sensitive::from(PHONE)),
                address: Some(Sensitive::from(ADDRESS)),
                notes: None,
                eligible: true,
                opened_on,
                assigned_worker: Some(sw_id.clone()),
            },
            state.clock.now(),
        )
        .await
        .unwrap()
        .client;
    let server = TestServer::start(state.clone()).await;
    let admin = Api::login(&server, "admin").await;
    let school = add_provider(&admin, "Trường Trung cấp nghề Vinh", "vocational_training", "412").await;
    let bank = add_provider(&admin, "Ngân hàng Chính sách xã hội", "loan", "40").await;
    let clinic = add_provider(&admin, "Trung tâm Y tế thành phố Vinh", "health_care", "412").await;
    World {
        _env: env,
        server,
        state,
        sw_id,
        client_id: client.id,
        client_code: client.code,
        opened_on,
        school,
        bank,
        clinic,
    }
}

async fn add_provider(admin: &Api, name: &str, category: &str, area: &str) -> String {
    let (status, body) = json_of(
        admin
            .post(
                "/api/v1/providers",
                json!({"name": name, "category": category, "area": area}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Records a consent directly (the consent API is another feature).
async fn consent(w: &World, scope: &str, category: Option<&str>, given_on: NaiveDate) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO consents (id, client_id, scope, category, given_on, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&w.client_id)
    .bind(scope)
    .bind(category)
    .bind(given_on.to_string())
    .bind(&w.sw_id)
    .bind(hoanhap::db::timestamp(w.state.clock.now()))
    .execute(&w.state.db.pool)
    .await
    .unwrap();
    id
}

async fn count(w: &World, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&w.state.db.pool)
        .await
        .unwrap()
}

fn day(w: &World, offset: i64) -> String {
    (w.opened_on + Duration::days(offset)).to_string()
}

async fn refer(api: &Api, w: &World, body: Value) -> (u16, Value) {
    json_of(
        api.post(&format!("/api/v1/clients/{}/referrals", w.client_id), body)
            .header("accept-language", "en")
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn move_to(api: &Api, referral: &str, body: Value) -> (u16, Value) {
    json_of(
        api.post(&format!("/api/v1/referrals/{referral}/transitions"), body)
            .header("accept-language", "en")
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn audit_entries(w: &World) -> Vec<Value> {
    let aud = Api::login(&w.server, "auditor").await;
    let (status, body) = json_of(aud.get("/api/v1/audit?limit=500").send().await.unwrap()).await;
    assert_eq!(status, 200);
    body["items"].as_array().unwrap().clone()
}

fn assert_no_content_leaked(text: &str) {
    for secret in [
        NAME,
        CHOSEN,
        ID_NUMBER,
        PHONE,
        ADDRESS,
        HEALTH_DETAIL,
        LOAN_DETAIL,
        NOTE,
        OVERRIDE,
    ] {
        assert!(!text.contains(secret), "{secret:?} leaked");
    }
}

#[tokio::test]
async fn without_sharing_consent_a_referral_is_refused_and_nothing_is_written() {
    let w = world().await;
    let sw = Api::login(&w.server, "sw.lan").await;
    let (status, body) = refer(
        &sw,
        &w,
        json!({"category": "loan", "provider_id": w.bank, "detail": LOAN_DETAIL}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "consent_missing");
    assert!(body["error"]["message"].as_str().unwrap().contains("consent"));

    // A social worker cannot override, whatever the reason.
    let (status, body) = refer(
        &sw,
        &w,
        json!({"category": "loan", "detail": LOAN_DETAIL, "override_reason": OVERRIDE}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "consent_missing");

    // Consent for another category, a withdrawn one and an expired one do not count.
    consent(&w, "referral_sharing", Some("vocational_training"), w.opened_on).await;
    let withdrawn = consent(&w, "referral_sharing", Some("loan"), w.opened_on).await;
    sqlx::query("UPDATE consents SET withdrawn_on = $1 WHERE id = $2")
        .bind(day(&w, 5))
        .bind(&withdrawn)
        .execute(&w.state.db.pool)
        .await
        .unwrap();
    let expired = consent(&w, "referral_sharing", Some("loan"), w.opened_on).await;
    sqlx::query("UPDATE consents SET expires_on = $1 WHERE id = $2")
        .bind(day(&w, 10))
        .bind(&expired)
        .execute(&w.state.db.pool)
        .await
        .unwrap();
    let (status, body) = refer(&sw, &w, json!({"category": "loan"})).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "consent_missing");
    // ...but the expired one covers a referral dated while it held.
    let (status, body) = refer(&sw, &w, json!({"category": "loan", "on": day(&w, 8)})).await;
    assert_eq!(status, 201, "{body}");
    sqlx::query("DELETE FROM referral_events")
        .execute(&w.state.db.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM referrals")
        .execute(&w.state.db.pool)
        .await
        .unwrap();

    let (status, _) = refer(&sw, &w, json!({"category": "loan", "on": day(&w, 12)})).await;
    assert_eq!(status, 422);
    assert_eq!(count(&w, "referrals").await, 0);
    assert_eq!(count(&w, "referral_events").await, 0);

    // The refusals are on the audit trail, by code, without content.
    let entries = audit_entries(&w).await;
    assert!(entries.iter().any(|e| e["action"] == "referral_create"
        && e["outcome"] == "failure"
        && e["client_code"] == w.client_code.as_str()));
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "consent_override" && e["outcome"] == "denied")
    );
    assert_no_content_leaked(&Value::Array(entries).to_string());
    assert_no_content_leaked(&crate::kit::captured_logs());
}

#[tokio::test]
async fn with_consent_a_referral_is_made_and_its_detail_is_sealed() {
    let w = world().await;
    consent(&w, "referral_sharing", Some("loan"), w.opened_on).await;
    let sw = Api::login(&w.server, "sw.lan").await;
    let (status, referral) = refer(
        &sw,
        &w,
        json!({"category": "loan", "provider_id": w.bank, "detail": LOAN_DETAIL, "on": day(&w, 3)}),
    )
    .await;
    assert_eq!(status, 201, "{referral}");
    assert_eq!(referral["status"], "referred");
    assert_eq!(referral["category"], "loan");
    assert_eq!(referral["client_code"], w.client_code.as_str());
    assert_eq!(referral["provider_name"], "Ngân hàng Chính sách xã hội");
    assert_eq!(referral["referred_on"], day(&w, 3));
    assert_eq!(referral["detail"], LOAN_DETAIL);
    assert_eq!(referral["consent_overridden"], false);
    assert_eq!(referral["allowed_next"], json!(["accepted", "declined", "cancelled"]));
    let events = referral["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["to_status"], "referred");
    assert_eq!(events[0]["on"], day(&w, 3));
    assert_eq!(events[0]["by_user"], w.sw_id.as_str());

    // Stored sealed: the detail is not in the row.
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT detail_sealed FROM referrals")
        .fetch_one(&w.state.db.pool)
        .await
        .unwrap();
    assert!(!sealed.windows(LOAN_DETAIL.len()).any(|x| x == LOAN_DETAIL.as_bytes()));

    // Read back by id and in the client's list; other roles are kept out.
    let id = referral["id"].as_str().unwrap();
    let (status, one) = json_of(sw.get(&format!("/api/v1/referrals/{id}")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(one["detail"], LOAN_DETAIL);
    let (status, list) = json_of(
        sw.get(&format!("/api/v1/clients/{}/referrals", w.client_id))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let sup = Api::login(&w.server, "sup.vinh").await;
    let (status, _) = json_of(sup.get(&format!("/api/v1/referrals/{id}")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let sw2 = Api::login(&w.server, "sw.mai").await;
    let (status, _) = json_of(sw2.get(&format!("/api/v1/referrals/{id}")).send().await.unwrap()).await;
    assert_eq!(status, 403, "another caseload of the district");
    let (status, _) = refer(&sw2, &w, json!({"category": "loan"})).await;
    assert_eq!(status, 403);
    for who in ["vol.hoa", "mgr.tinh", "sup.cualo", "admin"] {
        let api = Api::login(&w.server, who).await;
        let (status, body) = json_of(api.get(&format!("/api/v1/referrals/{id}")).send().await.unwrap()).await;
        assert_eq!(status, 404, "{who}: {body}");
        let (status, _) = json_of(
            api.get(&format!("/api/v1/clients/{}/referrals", w.client_id))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 404, "{who}");
    }
    let (status, _) = json_of(sw.get("/api/v1/referrals/no-such-referral").send().await.unwrap()).await;
    assert_eq!(status, 404);

    let entries = audit_entries(&w).await;
    assert!(entries.iter().any(|e| e["action"] == "referral_create"
        && e["outcome"] == "success"
        && e["client_code"] == w.client_code.as_str()
        && e["object_id"] == id));
    assert_no_content_leaked(&Value::Array(entries).to_string());
    assert_no_content_leaked(&crate::kit::captured_logs());
}

#[tokio::test]
async fn a_supervisor_may_override_missing_consent_with_a_reason_and_the_auditor_sees_it() {
    let w = world().await;
    let sup = Api::login(&w.server, "sup.vinh").await;
    let (status, body) = refer(
        &sup,
        &w,
        json!({"category": "health_care", "provider_id": w.clinic, "detail": HEALTH_DETAIL, "override_reason": "urgent"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["override_reason"].is_string());
    let (status, body) = refer(
        &sup,
        &w,
        json!({"category": "health_care", "detail": HEALTH_DETAIL, "override_reason": OVERRIDE, "share_detail": true}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["share_detail"].is_string());
    assert_eq!(count(&w, "referrals").await, 0);

    let (status, referral) = refer(
        &sup,
        &w,
        json!({"category": "health_care", "provider_id": w.clinic, "detail": HEALTH_DETAIL, "override_reason": OVERRIDE}),
    )
    .await;
    assert_eq!(status, 201, "{referral}");
    assert_eq!(referral["status"], "referred");
    assert_eq!(referral["consent_overridden"], true);
    assert_eq!(referral["override_reason"], OVERRIDE);
    let id = referral["id"].as_str().unwrap();

    let sealed: Vec<u8> = sqlx::query_scalar("SELECT override_reason_sealed FROM referrals WHERE id = $1")
        .bind(id)
        .fetch_one(&w.state.db.pool)
        .await
        .unwrap();
    assert!(!sealed.windows(10).any(|x| x == &OVERRIDE.as_bytes()[..10]));

    let entries = audit_entries(&w).await;
    let flagged: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "consent_override" && e["outcome"] == "success")
        .collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0]["flagged"], true);
    assert_eq!(flagged[0]["client_code"], w.client_code.as_str());
    assert_eq!(flagged[0]["object_id"], id);
    assert_no_content_leaked(&Value::Array(entries).to_string());

    // The override never puts the detail on the slip.
    let (status, slip) = json_of(sup.get(&format!("/api/v1/referrals/{id}/slip")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(slip.get("detail").is_none(), "{slip}");
    assert_no_content_leaked(&crate::kit::captured_logs());
}

#[tokio::test]
async fn a_referral_walks_to_in_service_then_completed_with_dates_and_authors() {
    let w = world().await;
    consent(&w, "referral_sharing", Some("vocational_training"), w.opened_on).await;
    let sw = Api::login(&w.server, "sw.lan").await;
    let sup = Api::login(&w.server, "sup.vinh").await;
    let (status, referral) = refer(
        &sw,
        &w,
        json!({"category": "vocational_training", "provider_id": w.school, "on": day(&w, 2)}),
    )
    .await;
    assert_eq!(status, 201, "{referral}");
    let id = referral["id"].as_str().unwrap().to_owned();

    // Not before the previous step, not in the future.
    let (status, body) = move_to(&sw, &id, json!({"to": "accepted", "on": day(&w, 1)})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["on"].is_string());
    let tomorrow = (w.state.clock.today() + Duration::days(1)).to_string();
    let (status, body) = move_to(&sw, &id, json!({"to": "accepted", "on": tomorrow})).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"]["on"], "The date cannot be in the future.");
    let (status, body) = move_to(&sw, &id, json!({"to": "finished"})).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["to"].is_string());

    let (status, accepted) = move_to(&sw, &id, json!({"to": "accepted", "on": day(&w, 5)})).await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["last_moved_on"], day(&w, 5));
    let (status, in_service) = move_to(&sup, &id, json!({"to": "in_service", "on": day(&w, 9), "note": NOTE})).await;
    assert_eq!(status, 200, "{in_service}");
    assert_eq!(in_service["status"], "in_service");
    assert_eq!(in_service["allowed_next"], json!(["completed", "dropped_out"]));
    let (status, completed) = move_to(&sw, &id, json!({"to": "completed"})).await;
    assert_eq!(status, 200, "{completed}");
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["allowed_next"], json!([]));
    assert_eq!(completed["referred_on"], day(&w, 2));
    assert_eq!(completed["last_moved_on"], w.state.clock.today().to_string());

    let (_, read) = json_of(sw.get(&format!("/api/v1/referrals/{id}")).send().await.unwrap()).await;
    let events = read["events"].as_array().unwrap();
    let steps: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["from_status"].as_str().unwrap_or("-"),
                e["to_status"].as_str().unwrap(),
                e["on"].as_str().unwrap(),
            )
        })
        .collect();
    let today = w.state.clock.today().to_string();
    assert_eq!(
        steps,
        vec![
            ("-", "referred", day(&w, 2).as_str()),
            ("referred", "accepted", day(&w, 5).as_str()),
            ("accepted", "in_service", day(&w, 9).as_str()),
            ("in_service", "completed", today.as_str()),
        ]
    );
    let sup_id = sup.user["id"].as_str().unwrap();
    assert_eq!(events[2]["by_user"], sup_id);
    assert_eq!(events[2]["note"], NOTE);
    assert_eq!(events[3]["by_user"], w.sw_id.as_str());

    // The events are what the statistics count: one in_service and one completed row.
    let rows: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM referral_events WHERE referral_id = $1 AND to_status IN ('in_service', 'completed')",
    )
    .bind(&id)
    .fetch_one(&w.state.db.pool)
    .await
    .unwrap();
    assert_eq!(rows, 2);

    // A finished referral moves no more, and says so.
    let (status, body) = move_to(&sw, &id, json!({"to": "dropped_out"})).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "invalid_transition");
    assert_eq!(body["error"]["details"]["allowed"], json!([]));

    // Others cannot move it.
    let sw2 = Api::login(&w.server, "sw.mai").await;
    let (status, _) = move_to(&sw2, &id, json!({"to": "cancelled"})).await;
    assert_eq!(status, 403);
    let vol = Api::login(&w.server, "vol.hoa").await;
    let (status, _) = move_to(&vol, &id, json!({"to": "cancelled"})).await;
    assert_eq!(status, 404);
    assert_no_content_leaked(&crate::kit::captured_logs());
}

#[tokio::test]
async fn an_invalid_transition_names_the_allowed_next_states() {
    let w = world().await;
    consent(&w, "referral_sharing", Some("loan"), w.opened_on).await;
    let sw = Api::login(&w.server, "sw.lan").await;
    let (_, referral) = refer(&sw, &w, json!({"category": "loan"})).await;
    let id = referral["id"].as_str().unwrap();
    let (status, body) = move_to(&sw, id, json!({"to": "completed"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_transition");
    assert_eq!(
        body["error"]["details"]["allowed"],
        json!(["accepted", "declined", "cancelled"])
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("accepted, declined, cancelled"), "{message}");
    // In Vietnamese too.
    let vi = sw
        .post(
            &format!("/api/v1/referrals/{id}/transitions"),
            json!({"to": "in_service"}),
        )
        .send()
        .await
        .unwrap();
    let (_, body) = json_of(vi).await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("accepted, declined, cancelled"), "{message}");
    assert!(message.contains("trạng thái"), "{message}");
    // Nothing moved.
    let (_, read) = json_of(sw.get(&format!("/api/v1/referrals/{id}")).send().await.unwrap()).await;
    assert_eq!(read["status"], "referred");
    assert_eq!(read["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn dates_before_the_case_was_opened_or_in_the_future_are_refused() {
    let w = world().await;
    consent(&w, "referral_sharing", Some("loan"), w.opened_on - Duration::days(60)).await;
    let sw = Api::login(&w.server, "sw.lan").await;
    let (status, body) = refer(&sw, &w, json!({"category": "loan", "on": day(&w, -1)})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation");
    assert_eq!(
        body["error"]["fields"]["on"],
        "The date cannot be before the case was opened."
    );
    let tomorrow = (w.state.clock.today() + Duration::days(1)).to_string();
    let (status, body) = refer(&sw, &w, json!({"category": "loan", "on": tomorrow})).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["on"].is_string());
    let (status, body) = refer(&sw, &w, json!({"category": "loan", "on": "03/04/2024"})).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["on"].is_string());
    // Other bad fields are named together.
    let (status, body) = refer(
        &sw,
        &w,
        json!({"category": "astrology", "provider_id": "nope", "need_id": "nope", "on": day(&w, -3)}),
    )
    .await;
    assert_eq!(status, 422);
    let fields = body["error"]["fields"].as_object().unwrap();
    for f in ["category", "provider_id", "need_id", "on"] {
        assert!(fields.contains_key(f), "{f}: {body}");
    }
    let (status, body) = refer(&sw, &w, json!({"category": "loan", "provider_id": w.school})).await;
    assert_eq!(status, 422);
    assert!(
        body["error"]["fields"]["provider_id"].is_string(),
        "a school is no loan provider"
    );
    let (status, body) = refer(&sw, &w, json!({"provider_id": w.bank})).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["category"].is_string());
    // The opening day itself is fine.
    let (status, body) = refer(&sw, &w, json!({"category": "loan", "on": day(&w, 0)})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(count(&w, "referrals").await, 1);

    // A referral answers a need of the same client and category.
    let need = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO needs (id, client_id, category, assessed_on, recorded_by, created_at) \
         VALUES ($1, $2, 'loan', $3, $4, $5)",
    )
    .bind(&need)
    .bind(&w.client_id)
    .bind(day(&w, 1))
    .bind(&w.sw_id)
    .bind(hoanhap::db::timestamp(w.state.clock.now()))
    .execute(&w.state.db.pool)
    .await
    .unwrap();
    consent(&w, "referral_sharing", Some("vocational_training"), w.opened_on).await;
    let (status, body) = refer(&sw, &w, json!({"category": "vocational_training", "need_id": need})).await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["need_id"].is_string(), "{body}");
    let (status, body) = refer(
        &sw,
        &w,
        json!({"category": "loan", "need_id": need, "provider_id": w.bank}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["need_id"], need.as_str());
}

#[tokio::test]
async fn two_people_moving_one_referral_at_once_leave_one_consistent_history() {
    let w = world().await;
    consent(&w, "referral_sharing", Some("loan"), w.opened_on).await;
    let sw = Api::login(&w.server, "sw.lan").await;
    let sup = Api::login(&w.server, "sup.vinh").await;
    let (_, referral) = refer(&sw, &w, json!({"category": "loan"})).await;
    let id = referral["id"].as_str().unwrap().to_owned();
    let (a, b) = tokio::join!(
        move_to(&sw, &id, json!({"to": "accepted"})),
        move_to(&sup, &id, json!({"to": "declined"})),
    );
    let statuses = [a.0, b.0];
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{a:?} {b:?}");
    assert!(statuses.iter().all(|s| [200, 409, 422].contains(s)), "{a:?} {b:?}");
    let winner = if a.0 == 200 { &a.1 } else { &b.1 };
    let (_, read) = json_of(sw.get(&format!("/api/v1/referrals/{id}")).send().await.unwrap()).await;
    assert_eq!(read["status"], winner["status"]);
    assert_eq!(read["events"].as_array().unwrap().len(), 2);
    assert_eq!(read["version"], 2);
}

#[tokio::test]
async fn the_slip_shows_only_what_the_client_agreed_to_share() {
    let w = world().await;
    consent(&w, "referral_sharing", Some("health_care"), w.opened_on).await;
    consent(&w, "referral_sharing", Some("loan"), w.opened_on).await;
    let sw = Api::login(&w.server, "sw.lan").await;
    // Another referral whose detail must never show on this slip.
    let (status, _) = refer(
        &sw,
        &w,
        json!({"category": "loan", "detail": LOAN_DETAIL, "share_detail": true}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, referral) = refer(
        &sw,
        &w,
        json!({"category": "health_care", "provider_id": w.clinic, "detail": HEALTH_DETAIL, "on": day(&w, 4)}),
    )
    .await;
    assert_eq!(status, 201, "{referral}");
    let id = referral["id"].as_str().unwrap();

    let (status, slip) = json_of(sw.get(&format!("/api/v1/referrals/{id}/slip")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{slip}");
    assert_eq!(slip["client_code"], w.client_code.as_str());
    assert_eq!(slip["category"], "health_care");
    assert_eq!(slip["category_name_vi"], "Chăm sóc sức khỏe");
    assert_eq!(slip["provider"]["name"], "Trung tâm Y tế thành phố Vinh");
    assert_eq!(slip["referred_on"], day(&w, 4));
    assert!(slip.get("detail").is_none(), "not agreed to share: {slip}");
    assert!(slip.get("chosen_name").is_none(), "no contact consent: {slip}");
    assert_no_content_leaked(&slip.to_string());

    // With the client's agreement to print the detail and to be contacted.
    consent(&w, "volunteer_contact", None, w.opened_on).await;
    let (status, shared) = refer(
        &sw,
        &w,
        json!({"category": "health_care", "provider_id": w.clinic, "detail": HEALTH_DETAIL, "share_detail": true}),
    )
    .await;
    assert_eq!(status, 201, "{shared}");
    let shared_id = shared["id"].as_str().unwrap();
    let (_, slip) = json_of(
        sw.get(&format!("/api/v1/referrals/{shared_id}/slip"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(slip["detail"], HEALTH_DETAIL);
    assert_eq!(slip["chosen_name"], CHOSEN);
    let text = slip.to_string();
    for never in [NAME, ID_NUMBER, PHONE, ADDRESS, LOAN_DETAIL] {
        assert!(!text.contains(never), "{never:?} on the slip");
    }

    // Withdrawing the sharing consent takes the detail off the slip again.
    sqlx::query("UPDATE consents SET withdrawn_on = $1 WHERE scope = 'referral_sharing' AND category = 'health_care'")
        .bind(w.state.clock.today().to_string())
        .execute(&w.state.db.pool)
        .await
        .unwrap();
    let (_, slip) = json_of(
        sw.get(&format!("/api/v1/referrals/{shared_id}/slip"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(slip.get("detail").is_none(), "{slip}");

    // A volunteer never gets a slip; printing is audited.
    let vol = Api::login(&w.server, "vol.hoa").await;
    let (status, _) = json_of(vol.get(&format!("/api/v1/referrals/{id}/slip")).send().await.unwrap()).await;
    assert_eq!(status, 404);
    let entries = audit_entries(&w).await;
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "referral_slip" && e["object_id"] == id)
    );
    assert_no_content_leaked(&Value::Array(entries).to_string());
    assert_no_content_leaked(&crate::kit::captured_logs());
}

#[tokio::test]
async fn stalled_referrals_appear_on_the_follow_up_list_after_the_configured_days() {
    let w = world().await;
    consent(&w, "referral_sharing", Some("vocational_training"), w.opened_on).await;
    consent(&w, "referral_sharing", Some("loan"), w.opened_on).await;
    let sw = Api::login(&w.server, "sw.lan").await;
    let (_, stalled) = refer(
        &sw,
        &w,
        json!({"category": "vocational_training", "provider_id": w.school}),
    )
    .await;
    let stalled = stalled["id"].as_str().unwrap().to_owned();
    let (_, moving) = refer(&sw, &w, json!({"category": "loan"})).await;
    let moving = moving["id"].as_str().unwrap().to_owned();
    let (status, list) = json_of(sw.get("/api/v1/referrals/follow-ups").send().await.unwrap()).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["days"], 14);
    assert_eq!(list["items"], json!([]));

    let ids = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["referral_id"].as_str().unwrap().to_owned())
            .collect()
    };

    // After 10 days: not yet. (Sessions have a lifetime, so log in again after moving time.)
    w.state.clock.advance(Duration::days(10));
    let sw = Api::login(&w.server, "sw.lan").await;
    let (_, list) = json_of(sw.get("/api/v1/referrals/follow-ups").send().await.unwrap()).await;
    assert!(ids(&list).is_empty(), "{list}");
    let (status, _) = move_to(&sw, &moving, json!({"to": "accepted"})).await;
    assert_eq!(status, 200);

    // After 15 days: the one that never moved is listed; the one accepted on day 10 is not.
    w.state.clock.advance(Duration::days(5));
    let sw = Api::login(&w.server, "sw.lan").await;
    let (_, list) = json_of(sw.get("/api/v1/referrals/follow-ups").send().await.unwrap()).await;
    assert_eq!(ids(&list), vec![stalled.clone()], "{list}");
    let item = &list["items"][0];
    assert_eq!(item["client_code"], w.client_code.as_str());
    assert_eq!(item["status"], "referred");
    assert_eq!(item["days_waiting"], 15);
    assert_eq!(item["provider_name"], "Trường Trung cấp nghề Vinh");
    // A shorter window on request.
    let (_, list) = json_of(sw.get("/api/v1/referrals/follow-ups?days=5").send().await.unwrap()).await;
    assert_eq!(ids(&list).len(), 2);

    // The supervisor of the district sees it; another caseload and another district do not.
    let sup = Api::login(&w.server, "sup.vinh").await;
    let (_, list) = json_of(sup.get("/api/v1/referrals/follow-ups").send().await.unwrap()).await;
    assert_eq!(ids(&list), vec![stalled.clone()]);
    for who in ["sw.mai", "sup.cualo"] {
        let api = Api::login(&w.server, who).await;
        let (status, list) = json_of(api.get("/api/v1/referrals/follow-ups").send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert!(ids(&list).is_empty(), "{who}: {list}");
    }
    for who in ["vol.hoa", "mgr.tinh", "admin"] {
        let api = Api::login(&w.server, who).await;
        let (status, _) = json_of(api.get("/api/v1/referrals/follow-ups").send().await.unwrap()).await;
        assert_eq!(status, 403, "{who}");
    }

    // Once it moves, it leaves the list.
    let (status, _) = move_to(&sw, &stalled, json!({"to": "accepted"})).await;
    assert_eq!(status, 200);
    let (_, list) = json_of(sw.get("/api/v1/referrals/follow-ups").send().await.unwrap()).await;
    assert!(ids(&list).is_empty());
}

#[tokio::test]
async fn a_closed_case_takes_no_new_referral() {
    let w = world().await;
    consent(&w, "referral_sharing", Some("loan"), w.opened_on).await;
    sqlx::query("UPDATE clients SET status = 'closed', closed_on = $1, closure_reason = 'moved_away' WHERE id = $2")
        .bind(w.state.clock.today().to_string())
        .bind(&w.client_id)
        .execute(&w.state.db.pool)
        .await
        .unwrap();
    let sw = Api::login(&w.server, "sw.lan").await;
    let (status, body) = refer(&sw, &w, json!({"category": "loan"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "client_closed");
    assert_eq!(count(&w, "referrals").await, 0);
}
