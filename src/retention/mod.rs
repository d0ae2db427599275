//! Retention: cases closed longer ago than `closed_case_years` (in
//! `policies/retention.toml`) are erased by crypto-shredding, like a supervisor's
//! erasure, each with a flagged audit entry whose actor is `system`.
//!
//! [`run`] takes `now` as a parameter so tests and the command line decide the day;
//! [`spawn_daily`] runs it once a day from `serve`; `hoanhap retention [--dry-run]`
//! calls [`command`].

mod service;

pub use service::*;
