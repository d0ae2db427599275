//! Assignments, support logs and follow-ups as shown, and what is sent.

use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::clients::Pii;

pub const SUPPORT_KINDS: [&str; 6] = [
    "home_visit",
    "phone_call",
    "accompaniment",
    "peer_group",
    "material_support",
    "other",
];

/// A volunteer assigned to a client.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Assignment {
    pub user_id: String,
    pub display_name: String,
    pub assigned_by: Option<String>,
    pub assigned_at: String,
}

/// A logged support contact, as the caller may see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SupportLog {
    pub id: String,
    pub client_id: String,
    pub volunteer_id: String,
    pub kind: String,
    pub on: String,
    pub duration_minutes: Option<i64>,
    pub needs_follow_up: bool,
    pub follow_up_done: bool,
    pub follow_up_done_at: Option<String>,
    pub created_at: String,
    pub has_note: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Pii>,
}

/// A support contact flagged for follow-up, for the assigned worker's list: codes only.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SupportFollowUp {
    /// The support log's id (`POST /follow-ups/{id}/done`).
    pub id: String,
    pub client_id: String,
    pub client_code: String,
    pub kind: String,
    pub on: String,
    pub volunteer_id: String,
    pub volunteer: String,
    pub done: bool,
    pub done_at: Option<String>,
}

/// `POST /clients/{id}/volunteers`.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// An active volunteer whose area covers the client's area.
    #[validate(required)]
    pub user_id: Option<String>,
}

/// `POST /clients/{id}/support-logs`.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportLogInput {
    /// `home_visit`, `phone_call`, `accompaniment`, `peer_group`, `material_support`, `other`.
    #[validate(required)]
    pub kind: Option<String>,
    /// The day of the contact: not in the future, not before the case was opened.
    #[validate(required)]
    pub on: Option<String>,
    /// 1 to 1440.
    #[validate(range(min = 1, max = 1440, code = "out_of_range"))]
    pub duration_minutes: Option<i64>,
    /// Free text, sealed; at most 2000 characters.
    #[validate(length(max = 2000, code = "too_long"))]
    #[schema(value_type = Option<String>)]
    pub note: Option<Pii>,
    /// Ask the assigned worker to follow up.
    pub needs_follow_up: Option<bool>,
}
