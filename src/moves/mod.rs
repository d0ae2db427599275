//! Moves across a reform. When a unit is retired (a 2024 district on 30 June 2025), its
//! clients keep it as their area until they are moved, and until then the staff of the
//! retired unit and of each unit that succeeded it see them. A supervisor moves each
//! client to a successor, one by one or in bulk from a CSV (`code,to`), dated, her
//! earlier area kept in `client_areas`; an admin moves the staff accounts of retired
//! units. `GET /moves` lists what is still to be moved.

mod api;
pub mod model;
pub mod service;
mod store;

pub use api::api;
pub use model::{AccountMove, AccountMoves, ClientMove, ClientMoves, Moved, Pending, PendingAccount, PendingClient};
