//! The auditor's review of the trail: search it, verify it (and that it still holds a
//! checkpoint she kept off the server), take a new checkpoint. The trail itself, its
//! chain and its checkpoints are the shared `audit` layer; this feature is what an
//! auditor does with it, by the API ([`api`]) or the pages (`pages/audit.rs`), both
//! through [`service`].

mod api;
pub mod service;
pub use api::api;
