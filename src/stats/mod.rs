//! Anonymised statistics: the 60 % indicator, disclosure control and releases.
//!
//! * [`compute`] — the true counts of a period, as grouped SQL counts (the definitions);
//! * [`disclosure`] — suppression of small and derivable counts;
//! * [`release`] — protecting, storing and listing releases; live progress;
//! * [`linked`] — protecting a new release together with the published ones it overlaps;
//! * [`view`] — what one manager may see of a stored release (district scope);
//! * [`export`] — CSV and XLSX files of a release for the report to the department;
//! * [`chart`] — bar charts against the 60 % line, drawn on the server as SVG;
//! * `api` — the JSON API (`/api/v1/stats/...`); the managers' pages are
//!   `pages::stats`, with the other pages.

mod api;
pub mod chart;
pub mod compute;
pub mod disclosure;
pub mod export;
pub mod linked;
pub mod period;
pub mod release;
pub mod service;
pub mod view;

pub use api::api;
