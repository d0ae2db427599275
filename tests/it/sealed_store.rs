//! The secure core on the configured engine: sealed storage, crypto-shredding, keys,
//! codes, blind indexes and the bare server.

use crate::kit::{TestEnv, TestServer};
use chrono::{NaiveDate, Utc};
use hoanhap::clients::{FieldClasses, NewClient, StoreError};
use hoanhap::crypto::{CryptoError, Sensitive};
use sqlx::Row;

const NAME: &str = "Nguyễn Thị Lan";
const PHONE: &str = "0912 345 678";
const ID_NUMBER: &str = "040190001234";
const NOTE: &str = "Muốn học nghề may ở Vinh";

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn new_client(name: &str, dob: &str) -> NewClient {
    NewClient {
        area: "412".into(),
        full_name: Sensitive::from(name),
        chosen_name: Some(Sensitive::from("Lan")),
        date_of_birth: date(dob),
        id_number: Some(Sensitive::from(ID_NUMBER)),
        phone: Some(Sensitive::from(PHONE)),
        address: Some(Sensitive::from("Xóm 3, phường Hưng Bình")),
        notes: Some(Sensitive::from(NOTE)),
        eligible: true,
        opened_on: date("2024-03-15"),
        assigned_worker: None,
    }
}

/// Every stored byte a thief of the database would get: the SQLite file and its WAL, or
/// every text and bytea value of every table in PostgreSQL.
async fn raw_database(env: &TestEnv, state: &hoanhap::AppState) -> Vec<u8> {
    if env.db.is_postgres() {
        let columns = sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type IN ('text', 'bytea', 'character varying')",
        )
        .fetch_all(&state.db.pool)
        .await
        .unwrap();
        let mut out = Vec::new();
        for col in columns {
            let (t, c): (String, String) = (col.get("t"), col.get("c"));
            let rows = sqlx::query(&format!(
                "SELECT CAST({c} AS BYTEA) AS v FROM {t} WHERE {c} IS NOT NULL"
            ))
            .fetch_all(&state.db.pool)
            .await
            .unwrap();
            for r in rows {
                out.extend_from_slice(&r.get::<Vec<u8>, _>("v"));
            }
        }
        out
    } else {
        ["", "-wal", "-shm"]
            .iter()
            .flat_map(|suffix| std::fs::read(env.dir.path().join(format!("hoanhap.db{suffix}"))).unwrap_or_default())
            .collect()
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_client_round_trips_and_the_database_holds_no_plaintext() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    let created = state
        .clients
        .create(&new_client(NAME, "1990-04-01"), Utc::now())
        .await
        .unwrap();
    assert!(created.client.code.starts_with("NA-2024-"), "{}", created.client.code);
    assert_eq!(created.client.status, hoanhap::clients::ClientStatus::Open);
    assert_eq!(created.client.age_band, "25_34");

    let read = state.clients.get(&created.client.id, FieldClasses::ALL).await.unwrap();
    assert_eq!(read.full_name.as_ref().unwrap().expose(), NAME);
    assert_eq!(read.phone.as_ref().unwrap().expose(), PHONE);
    assert_eq!(read.id_number.as_ref().unwrap().expose(), ID_NUMBER);
    assert_eq!(read.notes.as_ref().unwrap().expose(), NOTE);
    assert_eq!(read.date_of_birth.as_ref().unwrap().expose(), "1990-04-01");

    let coded_only = state.clients.get(&created.client.id, FieldClasses::NONE).await.unwrap();
    assert!(coded_only.full_name.is_none() && coded_only.phone.is_none());

    let raw = raw_database(&env, &state).await;
    assert!(raw.len() > 1000, "the raw database was read");
    assert!(
        contains(&raw, &created.client.code),
        "coded fields are plain, so the scan sees them"
    );
    for secret in [
        NAME,
        PHONE,
        ID_NUMBER,
        NOTE,
        "Nguyen Thi Lan",
        "Hưng Bình",
        "1990-04-01",
    ] {
        assert!(!contains(&raw, secret), "{secret:?} is readable in the database");
    }
    assert!(!crate::kit::captured_logs().contains(NAME));
}

#[tokio::test]
async fn a_sealed_value_moved_or_altered_does_not_open() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    let a = state
        .clients
        .create(&new_client(NAME, "1990-04-01"), Utc::now())
        .await
        .unwrap()
        .client;
    let b = state
        .clients
        .create(&new_client("Trần Thị Mai", "1992-07-09"), Utc::now())
        .await
        .unwrap()
        .client;
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT full_name_sealed FROM clients WHERE id = $1")
        .bind(&a.id)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();

    // To another row.
    sqlx::query("UPDATE clients SET full_name_sealed = $1 WHERE id = $2")
        .bind(&sealed)
        .bind(&b.id)
        .execute(&state.db.pool)
        .await
        .unwrap();
    let err = state.clients.get(&b.id, FieldClasses::ALL).await.unwrap_err();
    assert!(matches!(err, StoreError::Crypto(CryptoError::Integrity)), "{err:?}");

    // To another column of the same row.
    sqlx::query("UPDATE clients SET phone_sealed = $1 WHERE id = $2")
        .bind(&sealed)
        .bind(&a.id)
        .execute(&state.db.pool)
        .await
        .unwrap();
    let err = state.clients.get(&a.id, FieldClasses::ALL).await.unwrap_err();
    assert!(matches!(err, StoreError::Crypto(CryptoError::Integrity)), "{err:?}");

    // One flipped byte in its own place.
    let mut flipped = sealed.clone();
    let last = flipped.len() - 1;
    flipped[last / 2] ^= 0x40;
    sqlx::query("UPDATE clients SET full_name_sealed = $1, phone_sealed = NULL WHERE id = $2")
        .bind(&flipped)
        .bind(&a.id)
        .execute(&state.db.pool)
        .await
        .unwrap();
    let err = state.clients.get(&a.id, FieldClasses::ALL).await.unwrap_err();
    assert!(matches!(err, StoreError::Crypto(CryptoError::Integrity)), "{err:?}");

    // Put back, it opens again.
    sqlx::query("UPDATE clients SET full_name_sealed = $1 WHERE id = $2")
        .bind(&sealed)
        .bind(&a.id)
        .execute(&state.db.pool)
        .await
        .unwrap();
    let read = state.clients.get(&a.id, FieldClasses::ALL).await.unwrap();
    assert_eq!(read.full_name.unwrap().expose(), NAME);
}

#[tokio::test]
async fn erasure_shreds_the_client_and_its_code_is_never_reused() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    let client = state
        .clients
        .create(&new_client(NAME, "1990-04-01"), Utc::now())
        .await
        .unwrap()
        .client;
    let wrapped: Vec<u8> = sqlx::query_scalar("SELECT wrapped_key FROM client_keys WHERE client_id = $1")
        .bind(&client.id)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT full_name_sealed FROM clients WHERE id = $1")
        .bind(&client.id)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();

    let code = state
        .clients
        .erase(
            &client.id,
            None,
            Utc::now(),
            (&state.audit_log, crate::kit::test_erasure()),
        )
        .await
        .unwrap();
    assert_eq!(code, client.code);
    assert!(matches!(
        state.clients.get(&client.id, FieldClasses::ALL).await,
        Err(StoreError::NotFound)
    ));
    // With the master key in hand, the data key is gone: nothing is left to unwrap.
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM client_keys WHERE client_id = $1")
        .bind(&client.id)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    if !env.db.is_postgres() {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&state.db.pool)
            .await
            .unwrap();
    }
    let raw = raw_database(&env, &state).await;
    let hex = |b: &[u8]| hex::encode(b);
    assert!(
        !raw.windows(wrapped.len()).any(|w| w == wrapped.as_slice()),
        "the wrapped key {} survives in the database",
        hex(&wrapped[..4])
    );
    assert!(!raw.windows(sealed.len()).any(|w| w == sealed.as_slice()));
    // And a retained copy of a sealed field cannot be opened with the keyring: the only key
    // that opens it was random, not derived from the master key.
    assert!(state.keyring.unwrap(&sealed, &client.id).is_err());

    let erased: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM erasures WHERE code = $1")
        .bind(&code)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(erased, 1);
    let next = state
        .clients
        .create(&new_client(NAME, "1990-04-01"), Utc::now())
        .await
        .unwrap();
    assert_ne!(next.client.code, code);
    assert!(
        next.possible_duplicates.is_empty(),
        "the erased client is not a duplicate any more"
    );
}

#[tokio::test]
async fn fifty_concurrent_intakes_get_fifty_distinct_codes() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let store = state.clients.clone();
        tasks.spawn(async move {
            store
                .create(&new_client(&format!("Người Thử {i}"), "1995-01-01"), Utc::now())
                .await
                .unwrap()
                .client
                .code
        });
    }
    let mut codes = std::collections::BTreeSet::new();
    while let Some(code) = tasks.join_next().await {
        codes.insert(code.unwrap());
    }
    assert_eq!(codes.len(), 50);
    assert_eq!(codes.first().unwrap(), "NA-2024-00001");
    assert_eq!(codes.last().unwrap(), "NA-2024-00050");
}

#[tokio::test]
async fn the_blind_index_finds_folded_names_and_not_other_birth_dates() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    let lan = state
        .clients
        .create(&new_client(NAME, "1990-04-01"), Utc::now())
        .await
        .unwrap();
    assert!(lan.possible_duplicates.is_empty());

    let found = state
        .clients
        .find_duplicates("nguyen thi  lan", date("1990-04-01"), None)
        .await
        .unwrap();
    let codes = |found: Vec<hoanhap::clients::DuplicateMatch>| found.into_iter().map(|m| m.code).collect::<Vec<_>>();
    assert_eq!(codes(found), vec![lan.client.code.clone()]);
    let other_day = state
        .clients
        .find_duplicates("nguyen thi  lan", date("1990-04-02"), None)
        .await
        .unwrap();
    assert!(other_day.is_empty());
    let by_id = state
        .clients
        .find_duplicates("Someone Else", date("1980-01-01"), Some("0401 9000 1234"))
        .await
        .unwrap();
    assert_eq!(codes(by_id), vec![lan.client.code.clone()]);

    let again = state
        .clients
        .create(&new_client("NGUYỄN  thị lan", "1990-04-01"), Utc::now())
        .await
        .unwrap();
    assert_eq!(codes(again.possible_duplicates), vec![lan.client.code]);
}

#[tokio::test]
async fn updates_need_the_current_version() {
    let env = TestEnv::new().await;
    let state = env.state().await;
    let c = state
        .clients
        .create(&new_client(NAME, "1990-04-01"), Utc::now())
        .await
        .unwrap()
        .client;
    let patch = hoanhap::clients::ClientPatch {
        version: c.version,
        phone: Some(None),
        notes: Some(Some(Sensitive::from("Đã có việc làm"))),
        ..Default::default()
    };
    let updated = state.clients.update(&c.id, &patch, Utc::now()).await.unwrap();
    assert_eq!(updated.version, c.version + 1);
    assert!(updated.phone.is_none());
    assert_eq!(updated.notes.unwrap().expose(), "Đã có việc làm");
    let stale = state.clients.update(&c.id, &patch, Utc::now()).await.unwrap_err();
    assert!(matches!(stale, StoreError::Conflict { current } if current == c.version + 1));
    // The area is not an editable field: only an accepted transfer moves a client.
    let now = state.clients.get(&c.id, FieldClasses::NONE).await.unwrap();
    assert_eq!(now.version, c.version + 1);
    assert_eq!(now.area, "412");
}

#[tokio::test]
async fn the_master_key_is_recoverable_with_a_recovery_identity_alone() {
    let dir = tempfile::tempdir().unwrap();
    let recovery = age::x25519::Identity::generate();
    let files = hoanhap::crypto::KeyFiles {
        identity: dir.path().join("keys/identity.txt"),
        master: dir.path().join("keys/master.age"),
    };
    hoanhap::crypto::init_keys(&files, &[recovery.to_public().to_string()]).unwrap();
    let server = hoanhap::crypto::Keyring::load(&files).unwrap();
    std::fs::remove_file(&files.identity).unwrap();

    use secrecy::ExposeSecret;
    let master = hoanhap::crypto::recover_master_key(&files.master, recovery.to_string().expose_secret()).unwrap();
    let recovered = hoanhap::crypto::Keyring::from_master(&master).unwrap();
    assert_eq!(recovered.key_id(), server.key_id());
    // A data key wrapped by the server unwraps with the recovered key.
    let key = hoanhap::crypto::DataKey::generate().unwrap();
    let wrapped = server.wrap(&key, "c1").unwrap();
    assert!(recovered.unwrap(&wrapped, "c1").is_ok());

    let stranger = age::x25519::Identity::generate();
    let err = hoanhap::crypto::recover_master_key(&files.master, stranger.to_string().expose_secret()).unwrap_err();
    assert!(matches!(err, CryptoError::MasterKeyUndecryptable { .. }));
}

#[tokio::test]
async fn the_server_answers_health_and_readiness_with_security_headers() {
    let env = TestEnv::new().await;
    let server = TestServer::start(env.state().await).await;
    let http = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let res = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["cache-control"], "no-store");
    }
    let ready: serde_json::Value = http
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], true);
    assert_eq!(ready["keys"], true);

    let missing = http
        .get(server.url("/api/v1/no/such/thing"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["message"], "Not found.");
    server.stop().await;
}
