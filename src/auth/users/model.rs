//! What the accounts API and pages send.

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub display_name: String,
    /// `admin`, `supervisor`, `social_worker`, `volunteer`, `manager` or `auditor`.
    pub role: String,
    /// Area code of the account's scope.
    pub area: String,
    /// At least 12 characters.
    #[schema(value_type = String)]
    pub password: SecretString,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// At least 12 characters.
    #[schema(value_type = String)]
    pub password: SecretString,
}
