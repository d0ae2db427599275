//! Areas: the province and its district-level units, as data. The 2024 units of Nghệ An
//! are the default seed; an admin edits them when units are reorganised.

mod api;
mod model;
mod store;

pub use api::api;
pub use model::{Area, AreaCatalog};
pub use store::{SeedError, exists, seed_if_empty};
