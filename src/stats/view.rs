//! What one manager may see of a stored release: everything, as the stored bytes, for a
//! province-scope manager; for a manager whose scope is a district, the stored release
//! with `by_area` narrowed to their district (filtered at read time, never recomputed).

use super::release::{self, Release};
use crate::AppState;
use crate::auth::AuthUser;
use crate::policy::Areas;
use crate::web::ApiError;

/// A release as one user may see it.
#[derive(Debug, Clone)]
pub struct Viewed {
    /// The JSON to send: the stored bytes when nothing was filtered out.
    pub bytes: String,
    pub release: Release,
}

/// Whether a `by_area` row may be shown to a user whose scope is `scope`: the row's area is
/// inside the scope, or contains it (a commune-level manager sees their district's row).
pub fn row_visible(areas: &Areas, scope: &str, row_area: &str) -> bool {
    areas.covers(scope, row_area) || areas.covers(row_area, scope)
}

/// Narrows `by_area` to the rows the scope may see; `true` when something was removed.
pub fn narrow(release: &mut Release, areas: &Areas, scope: &str) -> bool {
    let before = release.by_area.len();
    release.by_area.retain(|row| row_visible(areas, scope, &row.area));
    release.by_area.len() != before
}

/// Loads release `id` for `user` (already authorised for `stats_view`). 404 when it does
/// not exist.
pub async fn for_user(state: &AppState, user: &AuthUser, id: &str) -> Result<Viewed, ApiError> {
    let stored = release::stored_body(&state.db, id)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(ApiError::not_found)?;
    let mut parsed: Release = serde_json::from_str(&stored).map_err(|e| ApiError::internal(&e))?;
    let areas = state.areas().await?;
    if narrow(&mut parsed, &areas, &user.account.area) {
        let bytes = serde_json::to_string(&parsed).map_err(|e| ApiError::internal(&e))?;
        Ok(Viewed { bytes, release: parsed })
    } else {
        Ok(Viewed {
            bytes: stored,
            release: parsed,
        })
    }
}
