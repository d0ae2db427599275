//! Consents: what the client agreed to, when, until when, and its withdrawal.
//!
//! Scopes: `data_processing` (required to open a case), `reporting` (counted in
//! statistics where the policy asks it), `volunteer_contact` (a volunteer may see the
//! phone and contact the client), `referral_sharing` (per service category: a referral
//! of that category may be made). Rows are never deleted while the case exists: a
//! withdrawal is dated, so the history stays answerable.
//!
//! `store` takes a connection or the pool; the authorised operations used by both the
//! API and the pages are in `service`.

mod api;
pub mod model;
pub mod service;
pub mod store;

pub use api::api;
pub use model::{
    Consent, ConsentInput, DATA_PROCESSING, NewConsent, REFERRAL_SHARING, REPORTING, SCOPES, VOLUNTEER_CONTACT,
    WithdrawInput,
};
pub use service::{record, withdraw};
pub use store::{insert, list};
