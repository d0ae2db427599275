//! Assessed needs: a coded service category and date (plain, for statistics) and an
//! optional free-text detail sealed with the client's data key in `needs.detail_sealed`.
//!
//! The detail of a need in a health category (HIV, STI, methadone…) is health data: only
//! callers allowed `client_read_health` see it. Other details are narrative
//! (`client_read_narrative`). The category itself stays coded and never carries the
//! health sub-type.

mod handlers;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use validator::Validate;

pub use handlers::api;

use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::Authz;
use crate::clients::validation::{self as v};
use crate::clients::{FieldClasses, Pii};
use crate::db::timestamp;
use crate::policy::Action;
use crate::web::ApiError;

/// Categories whose details are health data.
pub const HEALTH_CATEGORIES: [&str; 1] = ["health_care"];

const TABLE: &str = "needs";
const DETAIL: &str = "detail";

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

/// The needs of a client, oldest first, details opened where `classes` allow.
pub async fn list(state: &AppState, client_id: &str, classes: FieldClasses) -> Result<Vec<Need>, ApiError> {
    let rows = sqlx::query(
        "SELECT id, category, assessed_on, recorded_by, created_at, detail_sealed FROM needs WHERE client_id = $1 \
         ORDER BY assessed_on, created_at, id",
    )
    .bind(client_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut needs = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get("id")?;
        let category: String = row.try_get("category")?;
        let sealed: Option<Vec<u8>> = row.try_get("detail_sealed")?;
        let detail = match &sealed {
            Some(bytes) if detail_visible(classes, &category) => {
                Some(state.clients.open(client_id, TABLE, DETAIL, &id, bytes).await?)
            }
            _ => None,
        };
        needs.push(Need {
            id,
            category,
            assessed_on: row.try_get("assessed_on")?,
            recorded_by: row.try_get("recorded_by")?,
            created_at: row.try_get("created_at")?,
            has_detail: sealed.is_some(),
            detail,
        });
    }
    Ok(needs)
}

/// Stores a need (already validated); the detail is sealed before it is written.
pub async fn insert(
    state: &AppState,
    client_id: &str,
    category: &str,
    detail: Option<&Pii>,
    assessed_on: NaiveDate,
    recorded_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let sealed = match detail {
        Some(d) => Some(state.clients.seal(client_id, TABLE, DETAIL, &id, d.expose()).await?),
        None => None,
    };
    sqlx::query(
        "INSERT INTO needs (id, client_id, category, detail_sealed, assessed_on, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(client_id)
    .bind(category)
    .bind(sealed)
    .bind(assessed_on.to_string())
    .bind(recorded_by)
    .bind(timestamp(now))
    .execute(&state.db.pool)
    .await?;
    Ok(id)
}

/// Records a need of a client the caller works on (`need_record`); audited. Answers the
/// need as the caller may see it.
pub async fn record(state: &AppState, user: &Authz, client_id: &str, input: &NeedInput) -> Result<Need, ApiError> {
    let client = user.require_client(client_id, Action::NeedRecord).await?;
    let today = state.clock.today();
    let coded = state
        .clients
        .get(&client.id, FieldClasses::NONE)
        .await
        .map_err(crate::clients::service::store_error)?;
    let mut errors = v::check(input);
    if let Some(category) = &input.category {
        v::known_category(&state.db, &mut errors, "category", category).await?;
    }
    let detail = input.detail.as_ref().filter(|d| !d.expose().trim().is_empty());
    let assessed_on = v::past_date(&mut errors, "assessed_on", input.assessed_on.as_deref(), today);
    if let Some(opened) = crate::dates::parse_iso(&coded.opened_on) {
        v::not_before_opened(&mut errors, "assessed_on", assessed_on.or(Some(today)), opened);
    }
    v::finish(errors)?;
    let category = input.category.clone().unwrap_or_default();
    let now = state.clock.now();
    let id = insert(
        state,
        &client.id,
        &category,
        detail,
        assessed_on.unwrap_or(today),
        Some(user.id()),
        now,
    )
    .await?;
    state
        .audit(
            user.event(actions::NEED_RECORD, Outcome::Success)
                .client(&client.code)
                .object(&id),
        )
        .await?;
    let classes = crate::clients::service::field_classes(user, &client);
    let needs = list(state, &client.id, classes).await?;
    needs.into_iter().find(|n| n.id == id).ok_or_else(ApiError::not_found)
}
