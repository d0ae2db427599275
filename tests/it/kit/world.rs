//! Shared set-up of the case tests (clients_api, casework, retention): a district with
//! its staff, and intake bodies with clearly fake names.
#![allow(dead_code)]

use hoanhap::policy::Role;
use serde_json::{Value, json};

use super::{Api, TestEnv, TestServer, add_user};

pub const NAME: &str = "Phạm Thị Giả Định";
pub const CHOSEN: &str = "Hoa Giả";
pub const ID_NUMBER: &str = "040195004321";
pub const PHONE: &str = "0912 345 678";
pub const ADDRESS: &str = "Xóm 9, phường Thử Nghiệm";
pub const NOTE: &str = "Muốn học nghề may, đang ở nhờ nhà chị gái";
pub const DOB: &str = "1994-07-21";
pub const OPENED: &str = "2024-03-15";

/// Every stored text a leak must not show (the chosen name is visible to volunteers).
pub const SECRETS: [&str; 5] = [NAME, ID_NUMBER, PHONE, ADDRESS, NOTE];

/// Ids of the staff of the test world.
pub struct Staff {
    pub admin: String,
    pub sup: String,
    pub sup_other: String,
    pub sw: String,
    pub sw2: String,
    pub sw_other: String,
    pub vol: String,
    pub vol2: String,
    pub vol_other: String,
    pub mgr: String,
    pub aud: String,
}

pub struct World {
    pub env: TestEnv,
    pub server: TestServer,
    pub staff: Staff,
}

/// Thành phố Vinh (412) with a supervisor, two social workers and two volunteers;
/// Cửa Lò (413) with a supervisor, a social worker and a volunteer; a province-level
/// admin, manager and auditor. No second factor, so the tests log in with a password.
pub async fn world() -> World {
    let mut env = TestEnv::new().await;
    env.settings.auth.mfa_required_roles.clear();
    let state = env.state().await;
    let add = |name: &'static str, role, area: &'static str| {
        let state = state.clone();
        async move { add_user(&state, name, role, area).await }
    };
    let staff = Staff {
        admin: add("admin", Role::Admin, "40").await,
        sup: add("sup.vinh", Role::Supervisor, "412").await,
        sup_other: add("sup.cualo", Role::Supervisor, "413").await,
        sw: add("sw.vinh", Role::SocialWorker, "412").await,
        sw2: add("sw2.vinh", Role::SocialWorker, "412").await,
        sw_other: add("sw.cualo", Role::SocialWorker, "413").await,
        vol: add("vol.vinh", Role::Volunteer, "412").await,
        vol2: add("vol2.vinh", Role::Volunteer, "412").await,
        vol_other: add("vol.cualo", Role::Volunteer, "413").await,
        mgr: add("mgr", Role::Manager, "40").await,
        aud: add("aud", Role::Auditor, "40").await,
    };
    let server = TestServer::start(state).await;
    World { env, server, staff }
}

impl World {
    pub async fn login(&self, username: &str) -> Api {
        Api::login(&self.server, username).await
    }

    pub fn state(&self) -> &hoanhap::AppState {
        &self.server.state
    }

    /// A row count in one table for one client.
    pub async fn rows(&self, table: &str, client_id: &str) -> i64 {
        let column = if table == "clients" { "id" } else { "client_id" };
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1"))
            .bind(client_id)
            .fetch_one(&self.state().db.pool)
            .await
            .unwrap()
    }

    /// Every row of a table.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.state().db.pool)
            .await
            .unwrap()
    }
}

/// A complete intake body in Vinh with every consent.
pub fn intake() -> Value {
    json!({
        "area": "412",
        "full_name": NAME,
        "chosen_name": CHOSEN,
        "date_of_birth": DOB,
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "address": ADDRESS,
        "notes": NOTE,
        "eligible": true,
        "opened_on": OPENED,
        "consents": {
            "data_processing": true,
            "reporting": true,
            "volunteer_contact": true,
            "referral_sharing": ["loan", "vocational_training"]
        }
    })
}

/// An intake body for another (fake) person.
pub fn person(name: &str, dob: &str) -> Value {
    let mut body = intake();
    body["full_name"] = json!(name);
    body["date_of_birth"] = json!(dob);
    body["id_number"] = Value::Null;
    body
}

pub async fn json_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Opens a case and answers the created client.
pub async fn open_case(api: &Api, body: Value) -> Value {
    let (status, created) = json_of(api.post("/api/v1/clients", body).send().await.unwrap()).await;
    assert_eq!(status, 201, "{created}");
    created
}

pub async fn get(api: &Api, path: &str) -> (u16, Value) {
    json_of(api.get(path).send().await.unwrap()).await
}

pub async fn post(api: &Api, path: &str, body: Value) -> (u16, Value) {
    json_of(api.post(path, body).send().await.unwrap()).await
}

pub async fn patch(api: &Api, path: &str, body: Value) -> (u16, Value) {
    json_of(api.send(reqwest::Method::PATCH, path).json(&body).send().await.unwrap()).await
}

/// The raw text of a response body (for "never contains" checks).
pub async fn raw(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// Fails if any of `secrets` is in `text`.
pub fn assert_free_of(text: &str, secrets: &[&str], who: &str) {
    for secret in secrets {
        assert!(!text.contains(secret), "{who} sees {secret:?}: {text}");
    }
}

/// Every stored byte a thief of the database would get: the SQLite file and its WAL
/// (after a checkpoint), or every text and bytea value of every table in PostgreSQL.
pub async fn raw_database(world: &World) -> Vec<u8> {
    let pool = &world.state().db.pool;
    if world.env.db.is_postgres() {
        every_stored_value(pool).await
    } else {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await
            .unwrap();
        ["", "-wal", "-shm"]
            .iter()
            .flat_map(|suffix| {
                std::fs::read(world.env.dir.path().join(format!("hoanhap.db{suffix}"))).unwrap_or_default()
            })
            .collect()
    }
}

/// Every text and bytea value of every table (PostgreSQL).
pub async fn every_stored_value(pool: &sqlx::AnyPool) -> Vec<u8> {
    use sqlx::Row;
    let columns = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type IN ('text', 'bytea', 'character varying')",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for col in columns {
        let (t, c): (String, String) = (col.get("t"), col.get("c"));
        let rows = sqlx::query(&format!(
            "SELECT CAST({c} AS BYTEA) AS v FROM {t} WHERE {c} IS NOT NULL"
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        for r in rows {
            out.extend_from_slice(&r.get::<Vec<u8>, _>("v"));
        }
    }
    out
}

pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
