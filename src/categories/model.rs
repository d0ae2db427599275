//! A service category as stored and shown, and as an admin sends it.

use serde::{Deserialize, Serialize};

/// One service category.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Category {
    /// Stable code, e.g. `vocational_training`.
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub sort: i64,
    /// Inactive categories stay in history and statistics but take no new needs,
    /// providers or referrals.
    pub active: bool,
}

impl Category {
    /// The name in the given language.
    pub fn name(&self, lang: crate::web::Lang) -> &str {
        match lang {
            crate::web::Lang::Vi => &self.name_vi,
            crate::web::Lang::En => &self.name_en,
        }
    }
}

/// An added or renamed category, as the admin sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    /// Lowercase letters, digits and underscores, starting with a letter (2–40).
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    /// Position in lists; new categories go last when it is left out.
    pub sort: Option<i64>,
    /// Defaults to true for a new category and to unchanged for an existing one.
    pub active: Option<bool>,
}
