//! hoanhap: confidential case management for community reintegration programmes.
//!
//! The server is [`app`] over an [`AppState`] built by [`open`]; the binary in `main.rs`
//! only parses the command line and calls into this library.

pub mod addressees;
pub mod areas;
pub mod audit;
pub mod audit_review;
pub mod auth;
pub mod authz;
pub mod backup;
pub mod breakglass;
pub mod categories;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod config;
pub mod consents;
pub mod crypto;
pub mod dates;
pub mod db;
pub mod demo;
pub mod erasures;
pub mod error;
mod health;
pub mod jobs;
pub mod keys;
pub mod metrics;
pub mod moves;
pub mod needs;
pub mod pages;
pub mod policy;
pub mod providers;
pub mod referrals;
pub mod retention;
pub mod stats;
pub mod transfers;
pub mod volunteers;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::areas::{AreaCatalog, AreaCatalogs};
use crate::audit::AuditLog;
use crate::clients::ClientStore;
use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::{CryptoError, Keyring};
use crate::db::{Db, DbError};
use crate::policy::{PolicyEngine, PolicyError};

/// Everything a request handler needs; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub keyring: Arc<Keyring>,
    pub clients: ClientStore,
    pub policy: Arc<PolicyEngine>,
    /// The area hierarchy every authorisation decision reads.
    pub areas: AreaCatalogs,
    pub audit_log: AuditLog,
    pub clock: Clock,
    /// This server's name among the servers of one database (job leases).
    pub node_id: Arc<str>,
}

impl AppState {
    /// The append-only erasure ledger file of this server.
    pub fn ledger_file(&self) -> erasures::LedgerFile {
        erasures::LedgerFile::new(self.settings.ledger_path())
    }

    /// Appends to the audit trail; if that fails the request fails (fail closed).
    pub async fn audit(&self, event: audit::Event) -> Result<(), error::Error> {
        self.audit_log
            .append(event, self.clock.now())
            .await
            .map(|_| ())
            .map_err(|e| {
                tracing::error!(error = %e, "audit append failed; refusing the request");
                error::Error::Unavailable
            })
    }

    /// Begins the transaction of a write whose audit entries commit with it
    /// ([`AppState::commit_audited`]).
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, error::Error> {
        Ok(self.db.pool.begin().await?)
    }

    /// Appends `events` to the audit trail inside `tx`, the write's transaction, then
    /// commits both: the write is not answered 2xx unless its entries are durable with it.
    pub async fn commit_audited(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        events: &[audit::Event],
    ) -> Result<(), error::Error> {
        self.audit_log.append_in(&mut tx, events, self.clock.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Appends several audit entries at once: they reach the writer together and commit in
    /// one batch, so an operation on many clients waits for one commit, not one each (and
    /// an intake with a hidden match takes no measurably longer than one without).
    pub async fn audit_all(&self, events: Vec<audit::Event>) -> Result<(), error::Error> {
        let mut pending = tokio::task::JoinSet::new();
        for event in events {
            let state = self.clone();
            pending.spawn(async move { state.audit(event).await });
        }
        while let Some(done) = pending.join_next().await {
            done.map_err(|e| {
                error::Error::Internal(error::Internal::Inconsistent(format!("an audit task failed: {e}")))
            })??;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "the master key in {path} (key id {found}) is not the key this database was created with \
         (key id {expected}); restore the right identity and master.age"
    )]
    KeyMismatch {
        path: String,
        found: String,
        expected: String,
    },
    #[error("the policies are not valid: {0}")]
    Policy(#[from] PolicyError),
    #[error("cannot seed the areas: {0}")]
    Seed(#[from] areas::SeedError),
    #[error(transparent)]
    Keys(#[from] keys::store::KeyStoreError),
}

/// Creates the keys when neither key file exists yet, so that the first `serve` on an
/// empty data dir just works. Returns whether it did.
pub fn ensure_keys(settings: &Settings) -> Result<bool, CryptoError> {
    let files = settings.key_files();
    if files.identity.exists() || files.master.exists() {
        return Ok(false);
    }
    let outcome = crypto::init_keys(&files, &settings.keys.recovery_recipients)?;
    tracing::info!(
        identity = %files.identity.display(),
        master = %files.master.display(),
        server_recipient = %outcome.server_recipient,
        recovery_recipients = outcome.recovery_recipients,
        "created the server identity and master key"
    );
    if outcome.recovery_recipients == 0 {
        tracing::warn!(
            "no recovery recipient is configured: losing {} loses all client data; \
             add one with `hoanhap init --recovery-recipient age1...` on a new installation",
            files.identity.display()
        );
    }
    Ok(true)
}

/// Loads the keys, connects and migrates the database, checks that the master key is the
/// one the database was created with, and seeds the areas on first start.
pub async fn open(settings: Settings) -> Result<AppState, StartupError> {
    let policy = Arc::new(load_policies(&settings)?);
    let files = settings.key_files();
    let db = Db::connect(&settings.database_url()?).await?;
    let keyring = Arc::new(load_keyring(&db, &files).await?);
    if areas::seed_if_empty(&db, settings.programme.area_seed).await? {
        tracing::info!(seed = ?settings.programme.area_seed, "seeded the areas");
    }
    let clock = Clock::new(settings.programme.utc_offset_minutes);
    let areas = AreaCatalogs::new(AreaCatalog::load(&db, clock.today()).await?);
    let clients = ClientStore::new(
        db.clone(),
        keyring.clone(),
        settings.programme.code_prefix.clone(),
        erasures::LedgerFile::new(settings.ledger_path()),
    );
    let (audit_keys, checkpoint_keys) = {
        let mut conn = db.pool.acquire().await.map_err(DbError::from)?;
        let audit = keys::store::chain_keys(&mut conn, &keyring, crypto::Chain::Audit).await?;
        let retired = keys::store::retired_opened(&mut conn, &keyring, crypto::Chain::Checkpoint).await?;
        (audit, audit::CheckpointKeys::new(&keyring, retired))
    };
    let audit_log = AuditLog::start(db.clone(), audit_keys, checkpoint_keys);
    Ok(AppState {
        settings: Arc::new(settings),
        db,
        keyring,
        clients,
        policy,
        areas,
        audit_log,
        clock,
        node_id: jobs::new_node_id().into(),
    })
}

/// The policies in `policy_dir`, or those built into the binary; validated either way.
pub fn load_policies(settings: &Settings) -> Result<PolicyEngine, PolicyError> {
    match &settings.policy_dir {
        Some(dir) => PolicyEngine::load(dir),
        None => PolicyEngine::embedded(),
    }
}

/// The keyring the database was created with (or last rotated to). A key rotation killed
/// before its commit left staged key files the database does not know: they are deleted.
/// One killed after its commit left the database on the staged master key, found with the
/// staged identity or, once that was renamed, with the current one: the rotation is
/// finished by renaming what is still staged.
async fn load_keyring(db: &Db, files: &crypto::KeyFiles) -> Result<Keyring, StartupError> {
    let staged = keys::service::staged(files);
    let current = Keyring::load(files);
    let current_error = match current {
        Ok(current) => match check_key(db, &current, &files.master.display().to_string()).await {
            Ok(()) => {
                if keys::service::discard(files)? {
                    tracing::warn!("deleted the new keys of a key rotation that did not commit");
                }
                return Ok(current);
            }
            Err(e) => e,
        },
        Err(e) => StartupError::Crypto(e),
    };
    if !staged.master.exists() {
        return Err(current_error);
    }
    let pairs = [
        crypto::KeyFiles {
            identity: staged.identity.clone(),
            master: staged.master.clone(),
        },
        crypto::KeyFiles {
            identity: files.identity.clone(),
            master: staged.master.clone(),
        },
    ];
    for pair in pairs.iter().filter(|p| p.identity.exists()) {
        let Ok(next) = Keyring::load(pair) else { continue };
        if check_key(db, &next, &pair.master.display().to_string()).await.is_ok() {
            keys::service::finish(files)?;
            tracing::warn!(key_id = %next.key_id(), "finished a key rotation that stopped after its commit");
            return Ok(next);
        }
    }
    Err(current_error)
}

/// Records the key-check value on first use; refuses a different key afterwards.
async fn check_key(db: &Db, keyring: &Keyring, master_path: &str) -> Result<(), StartupError> {
    let stored: Option<(String, Vec<u8>)> = sqlx::query_as("SELECT key_id, check_value FROM keyring WHERE id = 1")
        .fetch_optional(&db.pool)
        .await
        .map_err(DbError::from)?;
    match stored {
        Some((_, check)) if check == keyring.check_value() => Ok(()),
        Some((expected, _)) => Err(StartupError::KeyMismatch {
            path: master_path.to_owned(),
            found: keyring.key_id().to_owned(),
            expected,
        }),
        None => {
            sqlx::query(
                "INSERT INTO keyring (id, key_id, check_value, created_at) VALUES (1, $1, $2, $3) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(keyring.key_id())
            .bind(keyring.check_value())
            .bind(db::timestamp(chrono::Utc::now()))
            .execute(&db.pool)
            .await
            .map_err(DbError::from)?;
            Ok(())
        }
    }
}

/// The whole HTTP application.
/// Every API route, registered together with its OpenAPI description so the document
/// cannot miss one.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::api())
        .merge(areas::api())
        .merge(addressees::api())
        .merge(audit_review::api())
        .merge(clients::api())
        .merge(consents::api())
        .merge(needs::api())
        .merge(volunteers::api())
        .merge(categories::api())
        .merge(providers::api())
        .merge(referrals::api())
        .merge(breakglass::api())
        .merge(transfers::api())
        .merge(moves::api())
        .merge(stats::api())
        .split_for_parts();
    let mut doc = doc;
    unique_operation_ids(&mut doc);
    (router, doc)
}

/// OpenAPI requires operation ids to be unique, but utoipa takes them from handler names
/// (`list` in several modules): a repeated id is prefixed with the operation's first tag,
/// then with its method if it still repeats.
fn unique_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    fn operations(doc: &mut utoipa::openapi::OpenApi) -> Vec<(&'static str, &mut utoipa::openapi::path::Operation)> {
        doc.paths
            .paths
            .values_mut()
            .flat_map(|item| {
                [
                    ("get", item.get.as_mut()),
                    ("put", item.put.as_mut()),
                    ("post", item.post.as_mut()),
                    ("delete", item.delete.as_mut()),
                    ("options", item.options.as_mut()),
                    ("head", item.head.as_mut()),
                    ("patch", item.patch.as_mut()),
                    ("trace", item.trace.as_mut()),
                ]
            })
            .filter_map(|(method, op)| op.map(|op| (method, op)))
            .collect()
    }
    let counts = |doc: &mut utoipa::openapi::OpenApi| {
        let mut counts = std::collections::HashMap::<String, usize>::new();
        for (_, op) in operations(doc) {
            if let Some(id) = &op.operation_id {
                *counts.entry(id.clone()).or_default() += 1;
            }
        }
        counts
    };
    let seen = counts(doc);
    for (_, op) in operations(doc) {
        if let Some(id) = op
            .operation_id
            .clone()
            .filter(|id| seen.get(id).is_some_and(|n| *n > 1))
        {
            let tag = op.tags.as_ref().and_then(|t| t.first()).cloned().unwrap_or_default();
            op.operation_id = Some(format!("{tag}_{id}"));
        }
    }
    let seen = counts(doc);
    for (method, op) in operations(doc) {
        if let Some(id) = op
            .operation_id
            .clone()
            .filter(|id| seen.get(id).is_some_and(|n| *n > 1))
        {
            op.operation_id = Some(format!("{method}_{id}"));
        }
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "hoanhap",
    description = "Confidential case management for community reintegration. Errors are \
        `{\"error\": {\"code\", \"message\", \"fields\"?}}` in the language of `Accept-Language`."
))]
struct ApiDoc;

async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    axum::Json(DOC.get_or_init(|| api().1).clone())
}

pub fn app(state: AppState) -> Router {
    let (api_router, _) = api();
    let sessions = auth::session_layer(&state.settings, state.db.clone());
    let settings = state.settings.clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(api_router)
        .route("/api/openapi.json", get(openapi_json))
        .merge(pages::pages())
        .with_state(state)
        .layer(axum::middleware::from_fn(auth::csrf::protect))
        .layer(sessions)
        .layer(axum::middleware::from_fn(web::error::localise_errors))
        .layer(axum::middleware::from_fn_with_state(settings, web::security_headers))
        .layer(axum::middleware::from_fn(metrics::record))
        .layer(web::trace_layer())
        .layer(axum::middleware::from_fn(web::request_id))
}

/// The metrics listener's application (`metrics_listen`): `GET /metrics` only.
pub fn metrics_app(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics::scrape)).with_state(state)
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
