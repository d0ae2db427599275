//! `POST /api/v1/me/password`: staff change their own password, giving the current one.
//! The only route (with `me` and logout) a session accepts while its password must be
//! changed. Wrong current passwords count against the account like failed logins, so a
//! stolen session cannot be used to guess it.

mod api;
mod service;

pub use api::api;
pub use service::change;
