//! Clients: the case record. Coded fields (area, status, eligibility, age band, dates) are
//! plain for statistics; identity, contact and narrative fields are sealed with the
//! client's own data key.

pub mod alerts;
pub mod api;
mod model;
pub mod service;
mod store;
pub mod validation;

pub use api::api;
pub use model::{
    AgeBand, CLOSURE_REASONS, CasePeriod, Client, ClientPatch, ClientStatus, Created, DuplicateMatch, FieldClasses,
    ListFilter, ListScope, NewClient, Pii, age_band,
};
pub use store::{ClientKey, ClientStore, Closure, StoreError, delete_client_rows, push_scope, rekey_clients};
