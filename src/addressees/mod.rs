//! Who the report is addressed to and who owns the programme, as dated data: the 2025
//! reorganisation moved this work between departments and ministries, so an admin records
//! each change with the day it takes effect, and every export prints the recipient and
//! owner in force at its period's end. Before the first entry of a role, the settings
//! `programme.report_recipient` and `programme.programme_owner` hold.

mod api;
pub mod model;
pub mod service;
mod store;

pub use api::api;
pub use model::{Addressee, AddresseeRole, Addressees, NewAddressee};
