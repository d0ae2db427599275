//! `GET /api/v1/categories` (any logged-in user) and `POST /api/v1/categories` (admin).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Category, CategoryInput};
use crate::AppState;
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, save))
}

/// The service categories, active or not, in display order.
#[utoipa::path(get, path = "/api/v1/categories", operation_id = "list_categories", tag = "categories",
    responses((status = 200, description = "`{items: [{code, name_vi, name_en, sort, active}]}`"),
        (status = 401, description = "Not logged in")))]
async fn list(State(state): State<AppState>, _user: Authz) -> Result<Json<Value>, ApiError> {
    let items = super::list(&state.db).await?;
    Ok(Json(json!({ "items": items })))
}

/// Adds a category, or renames / reorders / deactivates the one with that code (admin).
#[utoipa::path(post, path = "/api/v1/categories", operation_id = "save_category", tag = "categories", request_body = CategoryInput,
    responses((status = 201, description = "Added", body = Category),
        (status = 200, description = "Renamed", body = Category),
        (status = 403, description = "Not an admin"),
        (status = 422, description = "`validation` naming the bad fields")))]
async fn save(
    State(state): State<AppState>,
    user: Authz,
    ApiJson(input): ApiJson<CategoryInput>,
) -> Result<(StatusCode, Json<Category>), ApiError> {
    let (category, created) = super::service::save(&state, &user, &input).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(category)))
}
