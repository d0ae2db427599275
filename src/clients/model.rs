use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::crypto::Sensitive;

pub type Pii = Sensitive<String>;

/// Which sealed field classes a caller may have opened. Decided per caller by the
/// policies: `chosen_name` with `client_read`, `identity` (full name, birth date, ID
/// number) with `client_read_identity`, `contact` (phone, address) with
/// `client_read_contact`, `narrative` (notes, need and support details) with
/// `client_read_narrative`, `health` (details of health needs) with `client_read_health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldClasses {
    pub chosen_name: bool,
    pub identity: bool,
    pub contact: bool,
    pub narrative: bool,
    pub health: bool,
}

impl FieldClasses {
    pub const ALL: Self = Self {
        chosen_name: true,
        identity: true,
        contact: true,
        narrative: true,
        health: true,
    };
    pub const NONE: Self = Self {
        chosen_name: false,
        identity: false,
        contact: false,
        narrative: false,
        health: false,
    };

    /// Whether any sealed column of the client row is to be opened.
    pub fn opens_client_row(self) -> bool {
        self.chosen_name || self.identity || self.contact || self.narrative
    }
}

/// A new case as received at intake; the personal fields are sealed before storage.
#[derive(Debug)]
pub struct NewClient {
    pub area: String,
    pub full_name: Pii,
    pub chosen_name: Option<Pii>,
    /// `YYYY-MM-DD`, already validated.
    pub date_of_birth: NaiveDate,
    pub id_number: Option<Pii>,
    pub phone: Option<Pii>,
    pub address: Option<Pii>,
    pub notes: Option<Pii>,
    pub eligible: bool,
    pub opened_on: NaiveDate,
    pub assigned_worker: Option<String>,
}

/// Changes to a client; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ClientPatch {
    pub version: i64,
    pub full_name: Option<Pii>,
    pub chosen_name: Option<Option<Pii>>,
    pub date_of_birth: Option<NaiveDate>,
    pub id_number: Option<Option<Pii>>,
    pub phone: Option<Option<Pii>>,
    pub address: Option<Option<Pii>>,
    pub notes: Option<Option<Pii>>,
    pub eligible: Option<bool>,
}

/// A client as read back: coded fields always, sealed fields only for the classes asked.
#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub id: String,
    pub code: String,
    pub area: String,
    pub status: ClientStatus,
    pub eligible: bool,
    pub age_band: String,
    pub opened_on: String,
    pub closed_on: Option<String>,
    pub closure_reason: Option<String>,
    pub assigned_worker: Option<String>,
    pub child_protection: bool,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen_name: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<Pii>,
}

/// One episode of a case: reopening adds a new one, so "open at some time in a period"
/// is answered from history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CasePeriod {
    pub opened_on: String,
    pub closed_on: Option<String>,
    pub closure_reason: Option<String>,
}

/// Why a case was closed (coded).
pub const CLOSURE_REASONS: [&str; 6] = [
    "reintegrated",
    "moved_away",
    "withdrew",
    "lost_contact",
    "deceased",
    "other",
];

/// Whose clients a list shows.
#[derive(Debug, Clone)]
pub enum ListScope {
    /// A social worker's caseload.
    AssignedTo(String),
    /// The clients a volunteer is assigned to.
    Volunteer(String),
    /// Every client in these areas (a supervisor's district, from `Areas::within`).
    Areas(Vec<String>),
}

/// Whether a case is open (worked on, counted as active) or closed (with a reason; it
/// can be reopened). Stored as its code in `clients.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    Open,
    Closed,
}

impl ClientStatus {
    /// The code stored in `clients.status` and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

impl sqlx::Type<sqlx::Any> for ClientStatus {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<sqlx::Any>>::type_info()
    }
}

/// Any other stored code is a damaged record: a decode error.
impl<'r> sqlx::Decode<'r, sqlx::Any> for ClientStatus {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        match <String as sqlx::Decode<sqlx::Any>>::decode(value)?.as_str() {
            "open" => Ok(Self::Open),
            "closed" => Ok(Self::Closed),
            _ => Err("a stored case status is unknown".into()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ListFilter {
    pub scope: ListScope,
    /// `None`: open and closed cases.
    pub status: Option<ClientStatus>,
}

/// The result of intake: the client and every possible duplicate (id and code only,
/// whoever may see them: the caller of the store filters them).
#[derive(Debug, Serialize)]
pub struct Created {
    #[serde(flatten)]
    pub client: Client,
    pub possible_duplicates: Vec<DuplicateMatch>,
}

/// A client whose blind indexes match another's: the same folded name and birth date,
/// or the same ID number. Never content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateMatch {
    pub id: String,
    pub code: String,
}

/// Age band at intake: coded, coarse enough not to identify anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeBand {
    Under18,
    From18To24,
    From25To34,
    From35To44,
    From45,
}

impl AgeBand {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Under18 => "under_18",
            Self::From18To24 => "18_24",
            Self::From25To34 => "25_34",
            Self::From35To44 => "35_44",
            Self::From45 => "45_plus",
        }
    }
}

/// Completed years between birth and `on`, banded.
pub fn age_band(date_of_birth: NaiveDate, on: NaiveDate) -> AgeBand {
    let mut years = on.year() - date_of_birth.year();
    if (on.month(), on.day()) < (date_of_birth.month(), date_of_birth.day()) {
        years -= 1;
    }
    match years {
        ..18 => AgeBand::Under18,
        18..=24 => AgeBand::From18To24,
        25..=34 => AgeBand::From25To34,
        35..=44 => AgeBand::From35To44,
        _ => AgeBand::From45,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn age_band_counts_birthdays() {
        assert_eq!(age_band(d("2006-05-02"), d("2024-05-01")), AgeBand::Under18);
        assert_eq!(age_band(d("2006-05-01"), d("2024-05-01")), AgeBand::From18To24);
        assert_eq!(age_band(d("1999-01-01"), d("2024-06-30")), AgeBand::From25To34);
        assert_eq!(age_band(d("1970-01-01"), d("2024-06-30")), AgeBand::From45);
    }
}
