//! What one manager may see of a stored release: everything, as the stored bytes, for a
//! province-scope manager; for a manager whose scope is a district, the stored release
//! with `by_area` narrowed to their district (filtered at read time, never recomputed).

use super::release::{self, Release};
use crate::AppState;
use crate::authz::Authz;
use crate::error::{Error, Internal};
use crate::policy::Areas;

/// A release as one user may see it.
#[derive(Debug, Clone)]
pub struct Viewed {
    /// The JSON to send: the stored bytes when nothing was filtered out.
    pub bytes: String,
    pub release: Release,
}

/// Whether a `by_area` row may be shown to a user whose scope is `scope`: everything for a
/// scope at the top of the hierarchy (the province, which also sees the `other` row);
/// otherwise the row's area is inside the scope, or contains it (a commune-level manager
/// sees their district's row).
pub fn row_visible(areas: &Areas, scope: &str, row_area: &str) -> bool {
    if areas.get(scope).is_some_and(|node| node.parent.is_none()) {
        return true;
    }
    areas.covers(scope, row_area) || areas.covers(row_area, scope)
}

/// Narrows `by_area` and `by_former_area` to the rows the scope may see; `true` when
/// something was removed.
pub fn narrow(release: &mut Release, areas: &Areas, scope: &str) -> bool {
    let before = release.by_area.len() + release.by_former_area.len();
    release.by_area.retain(|row| row_visible(areas, scope, &row.area));
    release
        .by_former_area
        .retain(|row| row_visible(areas, scope, &row.area));
    release.by_area.len() + release.by_former_area.len() != before
}

/// Loads release `id` for `user` (already authorised for `stats_view`). 404 when it does
/// not exist.
pub async fn for_user(state: &AppState, user: &Authz, id: &str) -> Result<Viewed, Error> {
    let stored = release::stored_body(&state.db, id).await?.ok_or(Error::NotFound)?;
    let mut parsed: Release = serde_json::from_str(&stored)
        .map_err(|e| Error::Internal(Internal::Inconsistent(format!("stored release: {e}"))))?;
    let areas = user.areas();
    if narrow(&mut parsed, areas, &user.account.area) {
        let bytes = serde_json::to_string(&parsed)
            .map_err(|e| Error::Internal(Internal::Inconsistent(format!("stored release: {e}"))))?;
        Ok(Viewed { bytes, release: parsed })
    } else {
        Ok(Viewed {
            bytes: stored,
            release: parsed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::AreaNode;

    fn areas() -> Areas {
        let node = |code: &str, kind: &str, parent: Option<&str>| AreaNode {
            code: code.into(),
            kind: kind.into(),
            parent: parent.map(Into::into),
            successors: vec![],
        };
        Areas::new([
            node("40", "province", None),
            node("412", "city", Some("40")),
            node("413", "town", Some("40")),
            node("41201", "commune", Some("412")),
        ])
        .unwrap()
    }

    #[test]
    fn a_district_sees_its_row_the_province_sees_all() {
        let areas = areas();
        for row in ["412", "413", release::OTHER_AREA] {
            assert!(row_visible(&areas, "40", row), "{row}");
        }
        assert!(row_visible(&areas, "412", "412"));
        assert!(!row_visible(&areas, "412", "413"));
        assert!(!row_visible(&areas, "412", release::OTHER_AREA));
        assert!(row_visible(&areas, "41201", "412"));
        assert!(!row_visible(&areas, "41201", "413"));
        assert!(!row_visible(&areas, "unknown", "412"));
    }
}
