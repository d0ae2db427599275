//! A dated addressee of the report, and the pair in force on a day.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// At most this many characters in a name.
pub const MAX_NAME: usize = 200;

/// Which name an entry gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AddresseeRole {
    /// The department that receives the six-monthly and yearly report.
    Recipient,
    /// The authority that owns the programme (printed on reports and referral slips).
    Owner,
}

impl AddresseeRole {
    pub const ALL: [Self; 2] = [Self::Recipient, Self::Owner];

    /// The code stored in `report_addressees.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recipient => "recipient",
            Self::Owner => "owner",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == code)
    }
}

/// One entry: from `valid_from` on, `name` is the role's name until a later entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Addressee {
    pub id: String,
    pub role: AddresseeRole,
    pub name: String,
    #[schema(value_type = String, format = Date)]
    pub valid_from: NaiveDate,
    pub created_at: String,
}

/// An admin's new entry (`POST /report-addressees`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAddressee {
    /// `recipient` or `owner`.
    pub role: String,
    pub name: String,
    /// `YYYY-MM-DD`, the day the name takes effect.
    pub valid_from: Option<String>,
}

/// The names a report printed on a day carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Addressees {
    pub recipient: String,
    pub owner: String,
}
