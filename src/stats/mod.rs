//! Anonymised statistics: the 60 % indicator, disclosure control and releases.
//!
//! * [`compute`] — the true counts of a period, as grouped SQL counts (the definitions);
//! * [`disclosure`] — suppression of small and derivable counts;
//! * [`release`] — protecting, storing and listing releases; live progress;
//! * [`view`] — what one manager may see of a stored release (district scope);
//! * [`export`] — CSV and XLSX files of a release for the report to the department;
//! * `handlers` — the JSON API (`/api/v1/stats/...`).

pub mod compute;
pub mod disclosure;
pub mod export;
mod handlers;
pub mod period;
pub mod release;
pub mod view;

pub use handlers::api;
