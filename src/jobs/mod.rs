//! Background jobs shared by app servers on one database: a job that must run once a day
//! across them (retention) takes a lease row first, and only the server holding it runs.

pub mod store;

/// A server's name as a lease holder: random for each [`crate::open`], so two servers differ
/// wherever they run.
pub fn new_node_id() -> String {
    crate::crypto::random_hex::<8>().unwrap_or_else(|_| format!("pid-{}", std::process::id()))
}
