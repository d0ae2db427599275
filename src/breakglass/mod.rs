//! Break-glass: a social worker or supervisor opens a client outside their scope with a
//! written reason. The grant lasts one hour (by `state.clock`), is flagged for the
//! auditor with its reason, and is listed to the client's assigned worker (and the
//! supervisors of the client's area). While it lasts, the policies let the holder do case
//! work on the client (`ClientFacts.break_glass`, computed in `policy::access`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::Authz;
use crate::db::timestamp;
use crate::policy::{Action, Reach};
use crate::web::{ApiError, ApiJson};

/// How long a grant lasts.
pub const GRANT_MINUTES: i64 = 60;
/// The shortest acceptable reason, in characters.
pub const MIN_REASON_CHARS: usize = 20;
const MAX_REASON_CHARS: usize = 1000;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(request)).routes(routes!(list))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassRequest {
    /// Why access is needed now; at least 20 characters. Shown to the auditor and the
    /// client's worker: write the justification, not the client's details.
    pub reason: String,
}

/// One grant as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub client_code: String,
    /// The account that broke the glass.
    pub user_id: String,
    pub username: String,
    pub reason: String,
    pub granted_at: String,
    pub expires_at: String,
    /// Whether the grant is still in force.
    pub active: bool,
}

/// Checks the reason: trimmed, 20 to 1000 characters.
pub fn check_reason(reason: &str) -> Result<&str, ApiError> {
    let reason = reason.trim();
    let n = reason.chars().count();
    if n < MIN_REASON_CHARS {
        Err(ApiError::field("reason", "field-reason_too_short"))
    } else if n > MAX_REASON_CHARS {
        Err(ApiError::field("reason", "field-too_long"))
    } else {
        Ok(reason)
    }
}

/// Grants the caller one hour of access to a client outside their scope; the path takes
/// the client id or its code. Returns the grant. The reason is flagged for the auditor.
pub async fn break_glass(state: &AppState, user: &Authz, client: &str, reason: &str) -> Result<Grant, ApiError> {
    // The input first: a bad reason is refused before anything is looked up, so the
    // answer to it says nothing about the client.
    let reason = check_reason(reason)?;
    // A worker usually starts from a code heard on the phone; accept it as well as the id.
    // An unknown one is refused like a client the caller may not know of (404), audited
    // without the text typed (it could be anything, a name even).
    let client_id = match state.clients.id_for_code(client).await? {
        Some(id) => id,
        None if user.client_exists(client).await? => client.to_owned(),
        None => {
            state
                .audit(
                    user.event(Action::BreakGlass.name(), Outcome::Denied)
                        .reason("no such client"),
                )
                .await?;
            return Err(ApiError::not_found());
        }
    };
    let client = user.require_client(&client_id, Action::BreakGlass).await?;
    let now = state.clock.now();
    let id = uuid::Uuid::new_v4().to_string();
    let granted_at = timestamp(now);
    let expires_at = timestamp(now + Duration::minutes(GRANT_MINUTES));
    sqlx::query(
        "INSERT INTO break_glass_grants (id, user_id, client_id, reason, granted_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(user.id())
    .bind(&client.id)
    .bind(reason)
    .bind(&granted_at)
    .bind(&expires_at)
    .execute(&state.db.pool)
    .await?;
    let audited = state
        .audit(
            user.event(Action::BreakGlass.name(), Outcome::Success)
                .client(&client.code)
                .object(&id)
                .reason(reason)
                .flagged(),
        )
        .await;
    if let Err(e) = audited {
        // No access without its audit entry.
        sqlx::query("DELETE FROM break_glass_grants WHERE id = $1")
            .bind(&id)
            .execute(&state.db.pool)
            .await?;
        return Err(e.into());
    }
    Ok(Grant {
        id,
        client_id: client.id,
        client_code: client.code,
        user_id: user.id().to_owned(),
        username: user.account.username.clone(),
        reason: reason.to_owned(),
        granted_at,
        expires_at,
        active: true,
    })
}

/// Opens a client outside the caller's scope for one hour, with a written reason
/// (social workers and supervisors). `{id}` is the client id or code.
#[utoipa::path(post, path = "/api/v1/clients/{id}/break-glass", tag = "break-glass", request_body = BreakGlassRequest,
    params(("id" = String, Path, description = "Client id or code")),
    responses((status = 201, description = "The grant, valid one hour", body = Grant),
        (status = 403, description = "Not allowed (e.g. the client is already in the caller's scope)"),
        (status = 404, description = "No such client, or the caller may not break glass"),
        (status = 422, description = "`fields.reason`: at least 20 characters")))]
async fn request(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BreakGlassRequest>,
) -> Result<(StatusCode, Json<Grant>), ApiError> {
    let grant = break_glass(&state, &user, &id, &body.reason).await?;
    Ok((StatusCode::CREATED, Json(grant)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only grants still in force.
    active: Option<bool>,
}

/// Grants the caller may see: an auditor all of them; a social worker her own and those
/// on clients assigned to her; a supervisor also those on clients of her area.
pub async fn visible_grants(state: &AppState, user: &Authz, active_only: bool) -> Result<Vec<Grant>, ApiError> {
    let principal = user.principal();
    let everything = principal.is_auditor();
    let areas: Vec<String> = match principal.reach(user.areas()) {
        _ if everything => Vec::new(),
        Reach::Areas(areas) => areas,
        Reach::Assigned => Vec::new(),
        Reach::Supported | Reach::Nobody => {
            state
                .audit(user.event(actions::BREAK_GLASS_LIST, Outcome::Denied))
                .await?;
            return Err(ApiError::forbidden());
        }
    };
    let now = timestamp(state.clock.now());
    // Who may see which rows is decided here in SQL: the auditor all, the others their
    // own grants and those on clients assigned to them or (supervisors) in their area.
    let mut scope = String::new();
    if !everything {
        scope.push_str(" AND (c.assigned_worker = $3 OR g.user_id = $3");
        if !areas.is_empty() {
            let marks: Vec<String> = (0..areas.len()).map(|i| format!("${}", i + 4)).collect();
            scope.push_str(&format!(" OR c.area IN ({})", marks.join(", ")));
        }
        scope.push(')');
    }
    let sql = format!(
        "SELECT g.id, g.client_id, c.code, g.user_id, u.username, g.reason, g.granted_at, g.expires_at \
         FROM break_glass_grants g JOIN clients c ON c.id = g.client_id JOIN users u ON u.id = g.user_id \
         WHERE ($1 = 0 OR g.expires_at > $2){scope} ORDER BY g.granted_at DESC, g.id LIMIT 1000"
    );
    let mut query = sqlx::query(&sql).bind(i64::from(active_only)).bind(&now);
    if !everything {
        query = query.bind(user.id());
        for area in &areas {
            query = query.bind(area);
        }
    }
    let rows = query.fetch_all(&state.db.pool).await?;
    let mut grants = Vec::with_capacity(rows.len());
    for row in &rows {
        let expires_at: String = row.try_get("expires_at")?;
        grants.push(Grant {
            id: row.try_get("id")?,
            client_id: row.try_get("client_id")?,
            client_code: row.try_get("code")?,
            user_id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            reason: row.try_get("reason")?,
            granted_at: row.try_get("granted_at")?,
            active: expires_at > now,
            expires_at,
        });
    }
    state
        .audit(user.event(actions::BREAK_GLASS_LIST, Outcome::Success))
        .await?;
    Ok(grants)
}

/// Break-glass grants, newest first: all of them for an auditor; for a social worker her
/// own and those on her clients; for a supervisor also those on her area's clients.
#[utoipa::path(get, path = "/api/v1/break-glass", tag = "break-glass", params(ListQuery),
    responses((status = 200, description = "`{items: [{id, client_id, client_code, user_id, username, reason, granted_at, expires_at, active}]}`"),
        (status = 403, description = "Not an auditor, social worker or supervisor")))]
async fn list(
    State(state): State<AppState>,
    user: Authz,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query.map_err(|_| ApiError::bad_request())?;
    let items = visible_grants(&state, &user, query.active.unwrap_or(false)).await?;
    Ok(Json(serde_json::json!({ "items": items })))
}
