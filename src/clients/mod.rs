//! Clients: the case record. Coded fields (area, status, eligibility, age band, dates) are
//! plain for statistics; identity, contact and narrative fields are sealed with the
//! client's own data key.

mod model;
mod store;

pub use model::{AgeBand, Client, ClientPatch, Created, FieldClasses, NewClient, age_band};
pub use store::{ClientStore, StoreError};
