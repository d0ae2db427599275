//! Assessed needs: a coded service category and date (plain, for statistics) and an
//! optional free-text detail sealed with the client's data key in `needs.detail_sealed`.
//!
//! The detail of a need in a health category (HIV, STI, methadone…) is health data: only
//! callers allowed `client_read_health` see it. Other details are narrative
//! (`client_read_narrative`). The category itself stays coded and never carries the
//! health sub-type.

mod api;
pub mod model;
pub mod service;
pub mod store;

pub use api::api;
pub use model::{HEALTH_CATEGORIES, Need, NeedInput, detail_visible, is_health};
pub use service::record;
pub use store::list;
