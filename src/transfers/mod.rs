//! Transfers between areas. A client who moves is never edited into another area: the
//! sending side (her assigned worker or a supervisor of her area) requests a transfer
//! with a reason; a supervisor of the receiving area accepts or declines it; on
//! acceptance her area and worker change in one transaction and her earlier areas stay
//! in `client_areas`, so statistics count her where she was in each period. Break-glass
//! can never request a transfer (`transfer_request` is outside the `caseload` group).

mod api;
pub mod model;
pub mod service;
mod store;

pub use api::api;
pub use model::{DecisionInput, Transfer, TransferInput, TransferStatus};
