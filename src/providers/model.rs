//! The directory's records and what the API and the pages send.

use serde::{Deserialize, Serialize};

/// One provider.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Provider {
    pub id: String,
    pub name: String,
    /// Service category code.
    pub category: String,
    /// Area code of the place the provider serves from.
    pub area: String,
    /// The organisation's contact (office phone, address): never a client's.
    pub contact: Option<String>,
    /// Deactivated providers stay on past referrals but take no new ones.
    pub active: bool,
    pub created_at: String,
}

/// A new provider, as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    pub name: String,
    pub category: String,
    pub area: String,
    pub contact: Option<String>,
}

/// Changes to a provider; a field left out stays as it is. An empty `contact` clears it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderPatch {
    pub name: Option<String>,
    pub category: Option<String>,
    pub area: Option<String>,
    pub contact: Option<String>,
    pub active: Option<bool>,
}

/// Which providers to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProviderFilter {
    /// Only this service category.
    pub category: Option<String>,
    /// Only providers serving this area: in it, in an area inside it, or in an area that
    /// contains it (a province-wide provider serves every district).
    pub area: Option<String>,
    /// Also list deactivated providers.
    pub include_inactive: Option<bool>,
}
