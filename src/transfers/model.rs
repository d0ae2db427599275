//! What a transfer is, as stored and as shown.

use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::clients::Pii;

/// Where a transfer stands. `requested` is the only state that can still change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    Requested,
    Accepted,
    Declined,
    Cancelled,
}

impl TransferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Requested, Self::Accepted, Self::Declined, Self::Cancelled]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// One transfer as its two sides see it: codes, areas and dates, with the reason and the
/// decision note written for the other side.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Transfer {
    pub id: String,
    pub client_id: String,
    pub client_code: String,
    pub from_area: String,
    pub to_area: String,
    pub status: TransferStatus,
    #[schema(value_type = String)]
    pub reason: Pii,
    pub requested_by: String,
    pub requested_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    #[schema(value_type = Option<String>)]
    pub note: Option<Pii>,
    /// The day the client belongs to `to_area` from (accepted transfers).
    pub effective_on: Option<String>,
}

/// The shortest reason for a transfer, in characters.
pub const MIN_REASON: u64 = 10;
/// The longest reason or decision note, in characters.
pub const MAX_TEXT: u64 = 1000;

/// `POST /clients/{id}/transfers`.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// The receiving area's code (`GET /areas`); not the client's own area.
    #[validate(required)]
    pub to_area: Option<String>,
    /// Why she moves, written for the receiving supervisor (10 to 1000 characters).
    /// Sealed with the client's data key.
    #[validate(required, custom(function = "crate::clients::validation::not_blank"))]
    #[schema(value_type = String)]
    pub reason: Option<Pii>,
}

/// `POST /transfers/{id}/accept` and `/decline`.
#[derive(Debug, Default, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// Accept only: an active social worker of the receiving area to take the case;
    /// unassigned when left out.
    pub assigned_worker: Option<String>,
    /// Accept only: the day she belongs to the new area from; default today, not in the
    /// future, not before she came to her current area.
    pub on: Option<String>,
    /// A note for the sending side (at most 1000 characters), sealed.
    #[schema(value_type = Option<String>)]
    pub note: Option<Pii>,
}
