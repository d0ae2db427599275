//! Grants as listed and what is sent.

use serde::{Deserialize, Serialize};

/// How long a grant lasts.
pub const GRANT_MINUTES: i64 = 60;
/// The shortest acceptable reason, in characters.
pub const MIN_REASON_CHARS: usize = 20;
pub const MAX_REASON_CHARS: usize = 1000;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassRequest {
    /// Why access is needed now; at least 20 characters. Shown to the auditor and the
    /// client's worker: write the justification, not the client's details.
    pub reason: String,
}

/// One grant as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub client_code: String,
    /// The account that broke the glass.
    pub user_id: String,
    pub username: String,
    pub reason: String,
    pub granted_at: String,
    pub expires_at: String,
    /// Whether the grant is still in force.
    pub active: bool,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only grants still in force.
    pub active: Option<bool>,
}
