//! Argon2id password hashing (OWASP parameters: 19 MiB, t=2, p=1), off the async runtime
//! and under a process-wide semaphore of about two permits per core: each hash holds
//! 19 MiB while it runs, so a storm of logins cannot take the server's memory nor its
//! cores. A login that cannot get a permit after a short, bounded wait is shed
//! ([`Busy`]); the permit moves into the blocking task, so the work never outlives it.
//! Checks reuse one of at most `permits` Argon2 work areas (zeroed after each use): left
//! to the allocator, each blocking thread's arena kept its own 19 MiB and a storm of 60
//! logins grew the process to 450 MiB (see `bench/login_storm.rs`).

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 256;

fn hasher() -> Argon2<'static> {
    // The parameters are constants within argon2's limits; the fallback is never taken.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Whether a new password is acceptable; the reason is a `field-*` message id.
pub fn check_strength(password: &SecretString) -> Result<(), &'static str> {
    let n = password.expose_secret().chars().count();
    if n < MIN_PASSWORD_CHARS {
        Err("field-password_too_short")
    } else if n > MAX_PASSWORD_CHARS {
        Err("field-too_long")
    } else {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

/// Too many password checks are running or waiting: answer 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password checks at once")]
pub struct Busy;

/// How long a login waits for a permit before it is shed.
pub const QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

struct Gate {
    permits: std::sync::Arc<Semaphore>,
    /// Logins waiting for a permit; more than `max_waiting` are shed at once.
    waiting: std::sync::atomic::AtomicUsize,
    max_waiting: usize,
}

fn gate() -> &'static Gate {
    static GATE: std::sync::OnceLock<Gate> = std::sync::OnceLock::new();
    GATE.get_or_init(|| Gate {
        permits: std::sync::Arc::new(Semaphore::new(max_concurrent())),
        waiting: std::sync::atomic::AtomicUsize::new(0),
        max_waiting: 4 * max_concurrent(),
    })
}

/// The number of password checks that may run at once.
pub fn max_concurrent() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    2 * cores
}

/// Password checks running and waiting for a permit (for `/metrics`).
pub fn gate_state() -> (usize, usize) {
    let gate = gate();
    (
        max_concurrent().saturating_sub(gate.permits.available_permits()),
        gate.waiting.load(std::sync::atomic::Ordering::Acquire),
    )
}

/// Whether every permit is taken and the queue is full: a login then is shed before it
/// costs the database anything.
pub fn saturated() -> bool {
    let gate = gate();
    gate.permits.available_permits() == 0 && gate.waiting.load(std::sync::atomic::Ordering::Acquire) >= gate.max_waiting
}

/// Counts a waiting login for as long as it waits.
struct Waiting<'a>(&'a Gate);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A permit after at most [`QUEUE_WAIT`], or [`Busy`] when the queue is full or the wait
/// runs out.
async fn permit_or_shed() -> Result<OwnedSemaphorePermit, Busy> {
    let gate = gate();
    if let Ok(permit) = gate.permits.clone().try_acquire_owned() {
        return Ok(permit);
    }
    let before = gate.waiting.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    let _waiting = Waiting(gate);
    if before >= gate.max_waiting {
        return Err(Busy);
    }
    match tokio::time::timeout(QUEUE_WAIT, gate.permits.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(Busy),
    }
}

/// Hashes a new password. Only staff (an admin, the first-admin link, the owner changing
/// it) reach this, so it waits for a permit rather than being shed.
pub async fn hash(password: SecretString) -> Result<String, HashError> {
    let permit = gate().permits.clone().acquire_owned().await.map_err(|_| HashError)?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| HashError)
    })
    .await
    .map_err(|_| HashError)?
}

/// Verifies against `stored`, or against a dummy hash when the user does not exist, so
/// the time taken does not tell whether the username is known. Waits for a permit as long
/// as it takes (for staff already logged in and the command line; logins use
/// [`verify_or_shed`]).
pub async fn verify(stored: Option<String>, password: SecretString) -> bool {
    match gate().permits.clone().acquire_owned().await {
        Ok(permit) => check_in_blocking(permit, stored, password).await,
        Err(_) => false,
    }
}

/// [`verify`] for logins: [`Busy`] when no permit came within the bounded wait.
pub async fn verify_or_shed(stored: Option<String>, password: SecretString) -> Result<bool, Busy> {
    let permit = permit_or_shed().await?;
    Ok(check_in_blocking(permit, stored, password).await)
}

/// The Argon2 check on a blocking thread that holds `permit` until it ends, even when
/// the request that started it has gone away.
async fn check_in_blocking(permit: OwnedSemaphorePermit, stored: Option<String>, password: SecretString) -> bool {
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let known_user = stored.is_some();
        let stored = stored.unwrap_or_else(dummy_hash);
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        let matches = with_work_area(|blocks| matches_in(blocks, &parsed, password.expose_secret().as_bytes()));
        matches && known_user
    })
    .await
    .unwrap_or(false)
}

/// Work areas of earlier checks, at most one per permit (only permit holders take one).
fn work_areas() -> &'static std::sync::Mutex<Vec<Vec<Block>>> {
    static AREAS: std::sync::OnceLock<std::sync::Mutex<Vec<Vec<Block>>>> = std::sync::OnceLock::new();
    AREAS.get_or_init(|| std::sync::Mutex::new(Vec::new()))
}

/// Runs `f` with a reused work area, zeroed afterwards.
fn with_work_area<R>(f: impl FnOnce(&mut Vec<Block>) -> R) -> R {
    let mut blocks = work_areas().lock().ok().and_then(|mut a| a.pop()).unwrap_or_default();
    let result = f(&mut blocks);
    blocks.fill(Block::default());
    if let Ok(mut areas) = work_areas().lock() {
        areas.push(blocks);
    }
    result
}

/// Whether `password` matches the PHC string `stored`, computed in `blocks` (grown to the
/// hash's memory cost); the comparison is constant-time.
fn matches_in(blocks: &mut Vec<Block>, stored: &PasswordHash<'_>, password: &[u8]) -> bool {
    let (Some(expected), Some(salt)) = (stored.hash, stored.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm) else {
        return false;
    };
    let Ok(version) = stored.version.map_or(Ok(Version::default()), Version::try_from) else {
        return false;
    };
    let Ok(params) = Params::try_from(stored) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt,
        &mut out,
        &mut blocks[..needed],
    );
    let matches = computed.is_ok() && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected);
    out.fill(0);
    matches
}

fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            hasher()
                .hash_password(b"not a password anyone has", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_pass() {
        let h = hash(SecretString::from("correct horse battery")).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(Some(h.clone()), SecretString::from("correct horse battery")).await);
        assert_eq!(
            verify_or_shed(Some(h.clone()), SecretString::from("correct horse battery")).await,
            Ok(true)
        );
        assert!(!verify(Some(h), SecretString::from("wrong horse battery")).await);
        assert_eq!(
            verify_or_shed(None, SecretString::from("not a password anyone has")).await,
            Ok(false)
        );
        assert_eq!(
            check_strength(&SecretString::from("short")),
            Err("field-password_too_short")
        );
        assert!(check_strength(&SecretString::from("twelve chars")).is_ok());
    }
}
