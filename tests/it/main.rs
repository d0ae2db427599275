//! The integration tests: one binary, one module per area of the service, and the test
//! kit in [`kit`] (a server on port 0 on SQLite or PostgreSQL, API and page clients, the
//! test world and captured logs). One binary links the crate once; `cargo test` runs it
//! on SQLite, with `HOANHAP_TEST_DATABASE_URL` on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod kit;

mod areas;
mod audit;
mod auth;
mod authz_matrix;
mod breakglass;
mod browser;
mod casework;
mod cli;
mod clients_api;
mod crash;
mod demo;
mod erasure_residue;
mod layout;
mod login_storm;
mod mfa;
mod migration_twins;
mod moves;
mod openapi;
mod operations;
mod outage;
mod pages;
mod providers;
mod referrals;
mod retention;
mod sealed_store;
mod startup;
mod stats;
mod transfers;
mod users;
