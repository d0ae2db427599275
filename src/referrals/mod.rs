//! Referrals of clients to service providers, and their state machine
//! (`referred` → `accepted` | `declined` | `cancelled`; `accepted` → `in_service` |
//! `dropped_out` | `cancelled`; `in_service` → `completed` | `dropped_out`).
//!
//! Category, status and dates are coded (statistics count them); the detail, the notes of
//! each move and a supervisor's override reason are sealed with the client's data key.
//! The free text of a `health_care` referral is health data, that of the others narrative.
//!
//! The pages and the JSON API both call the functions re-exported here; they authorise,
//! write in one transaction and audit.

mod api;
mod model;
mod service;
mod store;

pub use api::api;
pub use model::{FollowUp, NewReferral, Referral, ReferralEvent, Slip, SlipProvider, Status, TransitionInput};
pub use service::{create, follow_ups, get, invalid_transition, list_for_client, may_read_free_text, slip, transition};
pub use store::has_sharing_consent;
