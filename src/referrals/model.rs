//! The referral state machine and the shapes of referrals as read back.

use serde::{Deserialize, Serialize};

use crate::crypto::Sensitive;

pub type Pii = Sensitive<String>;

/// Where a referral stands. `referred` → `accepted` | `declined` | `cancelled`;
/// `accepted` → `in_service` | `dropped_out` | `cancelled`; `in_service` → `completed` |
/// `dropped_out`. `declined`, `cancelled`, `completed` and `dropped_out` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Referred,
    Accepted,
    Declined,
    Cancelled,
    InService,
    Completed,
    DroppedOut,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Referred,
        Status::Accepted,
        Status::Declined,
        Status::Cancelled,
        Status::InService,
        Status::Completed,
        Status::DroppedOut,
    ];

    /// The code stored in `referrals.status` and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Referred => "referred",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
            Status::Cancelled => "cancelled",
            Status::InService => "in_service",
            Status::Completed => "completed",
            Status::DroppedOut => "dropped_out",
        }
    }

    pub fn parse(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == code)
    }

    /// The states a referral in this state may move to.
    pub fn next(self) -> &'static [Status] {
        match self {
            Status::Referred => &[Status::Accepted, Status::Declined, Status::Cancelled],
            Status::Accepted => &[Status::InService, Status::DroppedOut, Status::Cancelled],
            Status::InService => &[Status::Completed, Status::DroppedOut],
            Status::Declined | Status::Cancelled | Status::Completed | Status::DroppedOut => &[],
        }
    }

    pub fn may_move_to(self, to: Status) -> bool {
        self.next().contains(&to)
    }

    /// The codes of [`Status::next`].
    pub fn next_codes(self) -> Vec<&'static str> {
        self.next().iter().map(|s| s.as_str()).collect()
    }
}

/// A new referral, as sent by the API and the pages.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReferral {
    /// Service category code.
    pub category: String,
    /// The assessed need this referral answers (same client, same category).
    pub need_id: Option<String>,
    /// An active provider of the same category.
    pub provider_id: Option<String>,
    /// Free text, sealed: for `health_care` the health sub-type (HIV, STI, methadone…)
    /// belongs here and nowhere coded. Readable by roles that may read health data
    /// (`health_care`) or narrative (other categories).
    #[schema(value_type = Option<String>)]
    pub detail: Option<Pii>,
    /// Whether the client agreed that `detail` is printed on the referral slip; needs
    /// the client's sharing consent for the category (not an override). Default false.
    pub share_detail: Option<bool>,
    /// `YYYY-MM-DD`, default today; not in the future, not before the case was opened.
    pub on: Option<String>,
    /// A supervisor's written reason (at least 10 characters) to refer without the
    /// client's sharing consent for the category. Sealed; the override is audited and
    /// flagged for the auditor.
    #[schema(value_type = Option<String>)]
    pub override_reason: Option<Pii>,
}

/// A move of a referral to another state.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    /// The new state.
    pub to: String,
    /// `YYYY-MM-DD`, default today; not before the previous move, not in the future.
    pub on: Option<String>,
    /// Free text, sealed like the referral's detail.
    #[schema(value_type = Option<String>)]
    pub note: Option<Pii>,
}

/// One dated, attributed move of a referral (the first one is the referral itself).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferralEvent {
    pub id: String,
    pub from_status: Option<String>,
    pub to_status: String,
    /// The date the move happened (`YYYY-MM-DD`).
    pub on: String,
    /// The user who recorded it.
    pub by_user: Option<String>,
    /// When it was recorded (RFC 3339).
    pub at: String,
    /// Only for callers who may read the referral's free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Pii>,
}

/// A referral as read back: coded fields always, free text only for callers allowed it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Referral {
    pub id: String,
    pub client_id: String,
    pub client_code: String,
    pub category: String,
    pub need_id: Option<String>,
    pub provider_id: Option<String>,
    pub provider_name: Option<String>,
    pub status: String,
    /// The states it may move to next (empty once final).
    pub allowed_next: Vec<&'static str>,
    pub referred_on: String,
    pub last_moved_on: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub version: i64,
    /// Made without the client's sharing consent, on a supervisor's override.
    pub consent_overridden: bool,
    /// The client agreed that the detail is printed on the slip.
    pub share_detail: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub detail: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub override_reason: Option<Pii>,
    pub events: Vec<ReferralEvent>,
}

/// A referral waiting too long for its next move.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FollowUp {
    pub referral_id: String,
    pub client_id: String,
    pub client_code: String,
    pub category: String,
    pub status: String,
    pub provider_id: Option<String>,
    pub provider_name: Option<String>,
    pub referred_on: String,
    pub last_moved_on: String,
    /// Whole days since the last move.
    pub days_waiting: i64,
}

/// The provider named on a slip.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlipProvider {
    pub name: String,
    pub area: String,
    pub contact: Option<String>,
}

/// The printable referral slip handed to the client or the provider: only what the
/// client agreed to share. Never the legal name, ID number, address, phone, other needs
/// or referrals.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Slip {
    pub referral_id: String,
    pub client_code: String,
    /// Only with the client's consent to be contacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub chosen_name: Option<Pii>,
    pub category: String,
    pub category_name_vi: String,
    pub category_name_en: String,
    pub provider: Option<SlipProvider>,
    /// The referral date.
    pub referred_on: String,
    /// The date the slip was made.
    pub printed_on: String,
    /// Only when the client agreed to share it and their sharing consent for the
    /// category holds today.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub detail: Option<Pii>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_is_the_designed_one() {
        use Status::*;
        let allowed: Vec<(Status, Status)> = Status::ALL
            .into_iter()
            .flat_map(|from| Status::ALL.into_iter().map(move |to| (from, to)))
            .filter(|(from, to)| from.may_move_to(*to))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Referred, Accepted),
                (Referred, Declined),
                (Referred, Cancelled),
                (Accepted, Cancelled),
                (Accepted, InService),
                (Accepted, DroppedOut),
                (InService, Completed),
                (InService, DroppedOut),
            ]
        );
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("done"), None);
    }
}
