//! The area routes of the JSON API: the hierarchy for any logged-in user; adding and
//! changing units for the admin.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Area, AreaPatch, NewArea};
use super::service;
use crate::AppState;
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_areas, create_area))
        .routes(routes!(update_area))
}

/// `GET /api/v1/areas`: every unit, retired ones included, with its validity.
#[utoipa::path(get, path = "/api/v1/areas", tag = "areas",
    responses((status = 200, description = "`{items: [{code, name, kind, parent, valid_from, valid_to, predecessors}]}`, the province first"),
        (status = 401, description = "Not logged in")))]
async fn list_areas(user: Authz) -> Json<Value> {
    Json(json!({ "items": service::list(&user) }))
}

/// `POST /api/v1/areas`: adds a unit (admin). Audited `area_create`.
#[utoipa::path(post, path = "/api/v1/areas", tag = "areas", request_body = NewArea,
    responses((status = 201, description = "Added", body = Area),
        (status = 403, description = "Not an admin"),
        (status = 422, description = "`validation` naming the bad fields")))]
async fn create_area(
    State(state): State<AppState>,
    user: Authz,
    ApiJson(input): ApiJson<NewArea>,
) -> Result<(StatusCode, Json<Area>), ApiError> {
    let area = service::create(&state, &user, &input).await?;
    Ok((StatusCode::CREATED, Json(area)))
}

/// `PATCH /api/v1/areas/{code}`: renames, moves or retires a unit (admin). Audited
/// `area_update`.
#[utoipa::path(patch, path = "/api/v1/areas/{code}", tag = "areas", request_body = AreaPatch,
    params(("code" = String, Path, description = "Area code")),
    responses((status = 200, description = "Changed", body = Area),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such area"),
        (status = 422, description = "`validation` naming the bad fields")))]
async fn update_area(
    State(state): State<AppState>,
    user: Authz,
    Path(code): Path<String>,
    ApiJson(patch): ApiJson<AreaPatch>,
) -> Result<Json<Area>, ApiError> {
    Ok(Json(service::update(&state, &user, &code, &patch).await?))
}
