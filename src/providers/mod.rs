//! The service-provider directory: organisations clients are referred to (a vocational
//! school, the Social Policy Bank branch, a district health centre…). Organisation data,
//! not client data: names and contacts are plain. Read by everyone who refers or supports
//! clients and by the admin (`providers_read`); kept by supervisors and admins
//! (`providers_manage`).
//!
//! `service` authorises and audits; the pages and the JSON API (`api`) both call it.

mod api;
pub mod model;
pub mod service;
pub mod store;

pub use api::api;
pub use model::{Provider, ProviderFilter, ProviderInput, ProviderPatch};
