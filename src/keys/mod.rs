//! The keys of an installation over its life: the retired chain keys that keep the audit
//! trail and the erasure ledger verifying across rotations, `hoanhap keys rotate` and
//! `hoanhap keys recipients`.

pub mod recipients;
pub mod service;
pub mod store;
