//! Sessions: signing in (password, throttling, second factor), signing out, and what
//! the signed-in user's session holds.

mod api;
pub mod service;

pub use api::api;
