//! Service categories (vocational training, loan, health care…): data, not code, so an
//! admin can add one or rename it. Codes are stable identifiers used in needs, consents,
//! providers, referrals and statistics; only the names and the order change.

mod api;
mod model;
pub mod service;
mod store;

pub use api::api;
pub use model::{Category, CategoryInput};
pub use store::{get, is_active, list};
