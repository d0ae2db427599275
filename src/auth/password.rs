//! Argon2id password hashing (OWASP parameters: 19 MiB, t=2, p=1), off the async runtime.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

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

pub async fn hash(password: SecretString) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || {
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
/// the time taken does not tell whether the username is known.
pub async fn verify(stored: Option<String>, password: SecretString) -> bool {
    tokio::task::spawn_blocking(move || {
        let known_user = stored.is_some();
        let stored = stored.unwrap_or_else(dummy_hash);
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        let matches = hasher()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        matches && known_user
    })
    .await
    .unwrap_or(false)
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
        assert!(!verify(Some(h), SecretString::from("wrong horse battery")).await);
        assert!(!verify(None, SecretString::from("not a password anyone has")).await);
        assert_eq!(
            check_strength(&SecretString::from("short")),
            Err("field-password_too_short")
        );
        assert!(check_strength(&SecretString::from("twelve chars")).is_ok());
    }
}
