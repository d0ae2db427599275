//! Second factor: TOTP (RFC 6238, SHA-1, 6 digits, 30 s; what every authenticator app
//! speaks) with the secret sealed in the database, and one-time recovery codes stored as
//! SHA-256 hashes (they are long random strings, so a slow hash adds nothing).
//!
//! Enrolment is two steps: [`enrol`] creates a secret (stored sealed, not yet enabled)
//! and answers it with an `otpauth://` URL and a QR code; [`confirm`] checks a first code
//! from the app, enables the factor, clears the session's enrolment flag and answers ten
//! recovery codes, once. A TOTP code is accepted only for a time step later than the
//! last one accepted (`users.totp_last_step`), so an observed code cannot be replayed.
//! An admin undoes enrolment with [`reset`] (lost phone): it removes the factor and the
//! recovery codes and ends the account's sessions.
//!
//! The secret in memory: opened into `Sensitive` (wiped on drop), handed to `totp-rs`
//! built with its `zeroize` feature (its `Totp` wipes its copy on drop), and the
//! enrolment answer wipes its base32, URL and QR forms once sent.

mod api;
mod service;
mod store;

pub use api::api;
pub use service::*;
pub use store::{TOTP_COLUMN, recovery_codes_left, reset};
