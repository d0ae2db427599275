//! Volunteers: their assignment to clients (by a supervisor of the client's district),
//! the support contacts they log, and the follow-ups they flag for the assigned worker.
//!
//! A support log's kind and date are coded (statistics count contacts); its note is
//! sealed with the client's data key in `support_logs.note_sealed`. A volunteer reads the
//! notes of their own logs only; case workers read every note with
//! `client_read_narrative`.

mod api;
pub mod model;
pub mod service;
pub mod store;

pub use api::api;
pub use model::{AssignInput, Assignment, SUPPORT_KINDS, SupportFollowUp, SupportLog, SupportLogInput};
pub use service::{assign, follow_up_done, follow_ups, log_support, unassign};
pub use store::{assignments, support_logs};
