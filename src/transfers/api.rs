//! The transfers API; the work is done in [`super::service`].

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{DecisionInput, Transfer, TransferInput, TransferStatus};
use super::service;
use crate::AppState;
use crate::authz::Authz;
use crate::clients::api::JsonOrEmpty;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request))
        .routes(routes!(list))
        .routes(routes!(accept))
        .routes(routes!(decline))
        .routes(routes!(cancel))
}

/// Asks for the client to be moved to another area. The client's assigned worker or a
/// supervisor of her area; never through break-glass.
#[utoipa::path(post, operation_id = "transfer_request", path = "/api/v1/clients/{id}/transfers", tag = "transfers",
    params(("id" = String, Path, description = "Client id")),
    request_body = TransferInput,
    responses((status = 201, description = "The request, waiting for the receiving supervisor", body = Transfer),
        (status = 403, description = "Not on the client's own side (e.g. break-glass)"),
        (status = 404, description = "No such client, or not yours to see"),
        (status = 409, description = "`transfer_pending` or `case_not_open`"),
        (status = 422, description = "Bad fields, each named in `fields`; nothing was stored")))]
async fn request(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<TransferInput>,
) -> Result<(StatusCode, Json<Transfer>), ApiError> {
    let transfer = service::request(&state, &user, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(transfer)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only transfers in this state.
    #[param(inline)]
    status: Option<TransferStatus>,
    /// Page number from 1 (50 a page).
    #[param(minimum = 1)]
    page: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransferList {
    pub items: Vec<Transfer>,
}

/// The caller's transfers, newest first: a supervisor's into and out of her area, a
/// social worker's asked by her or about her clients.
#[utoipa::path(get, operation_id = "transfer_list", path = "/api/v1/transfers", tag = "transfers", params(ListQuery),
    responses((status = 200, description = "One page of transfers", body = TransferList),
        (status = 403, description = "A role without case work")))]
async fn list(
    State(state): State<AppState>,
    user: Authz,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TransferList>, ApiError> {
    let Query(query) = query.map_err(|_| ApiError::bad_request())?;
    let items = service::list(&state, &user, query.status, query.page.unwrap_or(1)).await?;
    Ok(Json(TransferList { items }))
}

/// Accepts a transfer into the caller's area: the client's area and worker change at once.
#[utoipa::path(post, operation_id = "transfer_accept", path = "/api/v1/transfers/{id}/accept", tag = "transfers",
    params(("id" = String, Path, description = "Transfer id")),
    request_body = DecisionInput,
    responses((status = 200, description = "The accepted transfer", body = Transfer),
        (status = 403, description = "Not a supervisor of the receiving area"),
        (status = 404, description = "No such transfer, or not yours to see"),
        (status = 409, description = "`transfer_decided`"),
        (status = 422, description = "Bad fields")))]
async fn accept(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    JsonOrEmpty(input): JsonOrEmpty<DecisionInput>,
) -> Result<Json<Transfer>, ApiError> {
    Ok(Json(service::accept(&state, &user, &id, &input).await?))
}

/// Declines a transfer into the caller's area, with an optional note.
#[utoipa::path(post, operation_id = "transfer_decline", path = "/api/v1/transfers/{id}/decline", tag = "transfers",
    params(("id" = String, Path, description = "Transfer id")),
    request_body = DecisionInput,
    responses((status = 200, description = "The declined transfer", body = Transfer),
        (status = 403, description = "Not a supervisor of the receiving area"),
        (status = 404, description = "No such transfer, or not yours to see"),
        (status = 409, description = "`transfer_decided`"),
        (status = 422, description = "Bad fields")))]
async fn decline(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    JsonOrEmpty(input): JsonOrEmpty<DecisionInput>,
) -> Result<Json<Transfer>, ApiError> {
    Ok(Json(service::decline(&state, &user, &id, &input).await?))
}

/// Withdraws a request (the sending side).
#[utoipa::path(post, operation_id = "transfer_cancel", path = "/api/v1/transfers/{id}/cancel", tag = "transfers",
    params(("id" = String, Path, description = "Transfer id")),
    request_body = DecisionInput,
    responses((status = 200, description = "The cancelled transfer", body = Transfer),
        (status = 403, description = "Not on the sending side"),
        (status = 404, description = "No such transfer, or not yours to see"),
        (status = 409, description = "`transfer_decided`"),
        (status = 422, description = "Bad fields")))]
async fn cancel(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    JsonOrEmpty(input): JsonOrEmpty<DecisionInput>,
) -> Result<Json<Transfer>, ApiError> {
    Ok(Json(service::cancel(&state, &user, &id, &input).await?))
}
