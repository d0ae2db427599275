//! `POST /api/v1/clients/{id}/break-glass` and `GET /api/v1/break-glass`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{BreakGlassRequest, Grant, ListQuery};
use super::service::{break_glass, visible_grants};
use crate::AppState;
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(request)).routes(routes!(list))
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
