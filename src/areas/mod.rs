//! Areas: the province and its units at any depth, as data with a period of validity.
//! The 2024 units of Nghệ An are the default seed; an admin adds, renames and retires
//! units (`service`) when they are reorganised.

mod api;
mod model;
pub mod service;
mod store;

pub use api::api;
pub use model::{Area, AreaCatalog, AreaCatalogs, AreaPatch, KINDS, NewArea, name_of};
pub use store::{SeedError, in_force, seed_if_empty};
