//! The test harness: a fresh database per test (a SQLite file in a temporary folder, or
//! a PostgreSQL database of its own when `HOANHAP_TEST_DATABASE_URL` is set, dropped
//! afterwards), fresh keys, the app on 127.0.0.1:0, and captured logs.
#![allow(dead_code)]

pub mod browser;
pub mod cli;
pub mod pages;
pub mod queries;
pub mod world;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use hoanhap::AppState;
use hoanhap::config::{AreaSeed, Settings};
use secrecy::SecretString;
use sqlx::Connection;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

/// Every log line written during the tests of one test binary.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let logs = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .with_filter(EnvFilter::new(
                "debug,sqlx=warn,hyper=warn,h2=warn,tower=warn,reqwest=warn",
            ));
        let _ = tracing_subscriber::registry()
            .with(logs)
            .with(queries::Counter.with_filter(queries::Counter::filter()))
            .try_init();
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One test's database.
pub struct TestDb {
    pub url: String,
    pub postgres: Option<(String, String)>, // (admin url, database name)
}

impl TestDb {
    pub async fn new(dir: &Path) -> Self {
        match std::env::var("HOANHAP_TEST_DATABASE_URL") {
            Ok(admin) if !admin.is_empty() => {
                let name = format!("hoanhap_t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("connect to the test server");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{name}"),
                    None => panic!("HOANHAP_TEST_DATABASE_URL must name a database"),
                };
                Self {
                    url,
                    postgres: Some((admin, name)),
                }
            }
            _ => Self {
                url: format!("sqlite://{}?mode=rwc", dir.join("hoanhap.db").display()),
                postgres: None,
            },
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            // Drop runs outside any runtime we may block; use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A fresh installation: data dir, keys and database.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub db: TestDb,
    pub settings: Settings,
}

impl TestEnv {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::new(dir.path()).await;
        Self::with_db(dir, db)
    }

    /// An installation on SQLite whatever engine the suite runs on.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("hoanhap.db").display()),
            postgres: None,
        };
        Self::with_db(dir, db)
    }

    fn with_db(dir: tempfile::TempDir, db: TestDb) -> Self {
        log_buffer();
        let mut settings = Settings {
            data_dir: dir.path().join("data"),
            database_url: Some(SecretString::from(db.url.clone())),
            listen: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        };
        settings.auth.insecure_cookies = true;
        // The test world is Vinh (412) and Cửa Lò (413) with records of 2024: an
        // installation of the 2024 districts. The 2025 seed has tests of its own.
        settings.programme.area_seed = AreaSeed::NgheAn2024;
        hoanhap::ensure_keys(&settings).unwrap();
        Self { dir, db, settings }
    }

    pub async fn state(&self) -> AppState {
        hoanhap::open(self.settings.clone()).await.unwrap()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.settings.data_dir.clone()
    }
}

/// The server on a free port; stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(state: AppState) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server_state = state.clone();
        let handle = tokio::spawn(async move {
            hoanhap::serve(listener, server_state, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Self {
            addr,
            state,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Creates an account directly in the store.
pub async fn add_user(state: &AppState, username: &str, role: hoanhap::policy::Role, area: &str) -> String {
    hoanhap::auth::accounts::create(
        &state.db,
        hoanhap::auth::accounts::NewAccount {
            username: username.into(),
            display_name: format!("Test {username}"),
            role,
            area: area.into(),
            password: SecretString::from(PASSWORD),
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap()
    .id
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A logged-in API client: cookie jar plus the CSRF token.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: String,
    pub user: serde_json::Value,
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

impl Api {
    pub async fn login(server: &TestServer, username: &str) -> Self {
        Self::login_at(&format!("http://{}", server.addr), username).await
    }

    /// Logs in to a server at `base` (`http://127.0.0.1:PORT`), in this process or not.
    pub async fn login_at(base: &str, username: &str) -> Self {
        let http = http_client();
        let res = http
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({ "username": username, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login of {username}");
        let body: serde_json::Value = res.json().await.unwrap();
        Self {
            http,
            base: base.to_owned(),
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
            user: body["user"].clone(),
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }

    pub fn send(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
    }

    pub fn post(&self, path: &str, body: serde_json::Value) -> reqwest::RequestBuilder {
        self.send(reqwest::Method::POST, path).json(&body)
    }
}

/// A fresh installation served on a free port, where no role needs a second factor (the
/// tests log in with a password).
pub async fn server_without_mfa() -> (TestEnv, TestServer) {
    let mut env = TestEnv::new().await;
    env.settings.auth.mfa_required_roles.clear();
    let server = TestServer::start(env.state().await).await;
    (env, server)
}

/// The audit entry of an erasure a test makes through the store.
pub fn test_erasure() -> hoanhap::audit::Event {
    hoanhap::audit::Event::new(
        "test",
        hoanhap::audit::actions::CLIENT_ERASE,
        hoanhap::audit::Outcome::Success,
    )
}
