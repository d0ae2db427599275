//! The accounts API (admin, `users_manage`): list, create, disable, enable, reset a
//! password or a second factor. Every change is audited with the account id as object;
//! disabling and resets end the account's sessions at once.
//!
//! An admin never learns a working password: the password given when creating an account
//! or resetting one only lets its owner in to choose their own (every other route answers
//! `403 password_change_required` until then). Creating an account that may read client
//! content, and every reset, is flagged for the auditor.
//!
//! `service` does each of these, authorised and audited; the API (`api`) and the admin
//! pages both call it.

mod api;
pub mod model;
pub mod service;

pub use api::api;
pub use model::{CreateUser, ResetPassword};
pub use service::reads_client_content;
