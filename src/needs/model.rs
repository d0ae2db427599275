//! A need as shown and as sent.

use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::clients::{FieldClasses, Pii};

/// Categories whose details are health data.
pub const HEALTH_CATEGORIES: [&str; 1] = ["health_care"];

pub fn is_health(category: &str) -> bool {
    HEALTH_CATEGORIES.contains(&category)
}

/// A need as shown: the detail only when the caller may read its class.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Need {
    pub id: String,
    pub category: String,
    pub assessed_on: String,
    pub recorded_by: Option<String>,
    pub created_at: String,
    /// Whether a detail was recorded (shown or not).
    pub has_detail: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub detail: Option<Pii>,
}

/// `POST /clients/{id}/needs`.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NeedInput {
    /// A service category code (`GET /categories`).
    #[validate(required)]
    pub category: Option<String>,
    /// Free text, sealed; at most 2000 characters.
    #[validate(length(max = 2000, code = "too_long"))]
    #[schema(value_type = Option<String>)]
    pub detail: Option<Pii>,
    /// Default today; not in the future, not before the case was opened.
    pub assessed_on: Option<String>,
}

/// Whether `classes` lets the caller read the detail of a need of `category`.
pub fn detail_visible(classes: FieldClasses, category: &str) -> bool {
    if is_health(category) {
        classes.health
    } else {
        classes.narrative
    }
}
