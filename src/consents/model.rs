//! Consents as stored, shown and sent.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use validator::Validate;

pub const DATA_PROCESSING: &str = "data_processing";
pub const REPORTING: &str = "reporting";
pub const VOLUNTEER_CONTACT: &str = "volunteer_contact";
pub const REFERRAL_SHARING: &str = "referral_sharing";
pub const SCOPES: [&str; 4] = [DATA_PROCESSING, REPORTING, VOLUNTEER_CONTACT, REFERRAL_SHARING];

/// A consent to record.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub scope: String,
    /// The service category, for `referral_sharing` only.
    pub category: Option<String>,
    pub given_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
}

/// A stored consent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Consent {
    pub id: String,
    pub scope: String,
    pub category: Option<String>,
    pub given_on: String,
    pub expires_on: Option<String>,
    pub withdrawn_on: Option<String>,
    pub recorded_by: Option<String>,
    pub withdrawn_by: Option<String>,
    /// Given, not withdrawn and not expired today.
    pub active: bool,
}

/// `POST /clients/{id}/consents`.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// `data_processing`, `reporting`, `volunteer_contact` or `referral_sharing`.
    #[validate(required)]
    pub scope: Option<String>,
    /// Service category; required for `referral_sharing`, refused otherwise.
    pub category: Option<String>,
    /// Default today; not in the future.
    pub given_on: Option<String>,
    /// After `given_on`.
    pub expires_on: Option<String>,
}

/// `POST /clients/{id}/consents/{consent_id}/withdraw`.
#[derive(Debug, Default, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawInput {
    /// Default today; not in the future, not before the consent was given.
    pub on: Option<String>,
}
