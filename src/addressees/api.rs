//! The report-addressee routes of the JSON API (admin); the work is done in
//! [`super::service`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Addressee, NewAddressee};
use super::service;
use crate::AppState;
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create))
}

/// Every recipient and owner entry with the day it takes effect (admin).
#[utoipa::path(get, operation_id = "addressee_list", path = "/api/v1/report-addressees", tag = "settings",
    responses((status = 200, description = "`{items: [{id, role, name, valid_from, created_at}]}`"),
        (status = 403, description = "Not an admin")))]
async fn list(State(state): State<AppState>, user: Authz) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "items": service::list(&state, &user).await? })))
}

/// Records who receives the report, or who owns the programme, from a day (admin).
/// Audited `addressee_create`.
#[utoipa::path(post, operation_id = "addressee_create", path = "/api/v1/report-addressees", tag = "settings",
    request_body = NewAddressee,
    responses((status = 201, description = "Recorded", body = Addressee),
        (status = 403, description = "Not an admin"),
        (status = 409, description = "`addressee_taken`: the role already has an entry from that day"),
        (status = 422, description = "`validation` naming the bad fields")))]
async fn create(
    State(state): State<AppState>,
    user: Authz,
    ApiJson(input): ApiJson<NewAddressee>,
) -> Result<(StatusCode, Json<Addressee>), ApiError> {
    Ok((StatusCode::CREATED, Json(service::create(&state, &user, &input).await?)))
}
