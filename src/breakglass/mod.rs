//! Break-glass: a social worker or supervisor opens a client outside their scope with a
//! written reason. The grant lasts one hour (by `state.clock`), is flagged for the
//! auditor with its reason, and is listed to the client's assigned worker (and the
//! supervisors of the client's area). While it lasts, the policies let the holder do case
//! work on the client (`ClientFacts.break_glass`, read in `crate::authz`).

mod api;
pub mod model;
pub mod service;
pub mod store;

pub use api::api;
pub use model::Grant;
pub use service::{break_glass, visible_grants};
