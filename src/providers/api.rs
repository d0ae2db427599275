//! `GET/POST /api/v1/providers`, `GET/PATCH /api/v1/providers/{id}`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Provider, ProviderFilter, ProviderInput, ProviderPatch};
use super::service;
use crate::AppState;
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(one, update))
}

/// The provider directory, by name (everyone who refers or supports clients; admin).
#[utoipa::path(get, path = "/api/v1/providers", operation_id = "list_providers", tag = "providers", params(ProviderFilter),
    responses((status = 200, description = "`{items: [provider]}`"),
        (status = 400, description = "Unknown query parameter"),
        (status = 403, description = "The role may not read the directory")))]
async fn list(
    State(state): State<AppState>,
    user: Authz,
    query: Result<Query<ProviderFilter>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    // Authorised before the query is looked at, so that a refusal is audited whatever
    // was sent.
    service::open(&user).await?;
    let Query(filter) = query.map_err(|_| ApiError::bad_request())?;
    let items = service::directory(&state, &user, &filter).await?;
    Ok(Json(json!({ "items": items })))
}

/// Adds a provider (supervisor or admin).
#[utoipa::path(post, path = "/api/v1/providers", operation_id = "create_provider", tag = "providers", request_body = ProviderInput,
    responses((status = 201, description = "Added", body = Provider),
        (status = 403, description = "Not a supervisor or admin"),
        (status = 422, description = "`validation` naming the bad fields")))]
async fn create(
    State(state): State<AppState>,
    user: Authz,
    ApiJson(input): ApiJson<ProviderInput>,
) -> Result<(StatusCode, Json<Provider>), ApiError> {
    let provider = service::create(&state, &user, &input).await?;
    Ok((StatusCode::CREATED, Json(provider)))
}

/// One provider, active or not.
#[utoipa::path(get, path = "/api/v1/providers/{id}", operation_id = "get_provider", tag = "providers",
    params(("id" = String, Path, description = "Provider id")),
    responses((status = 200, description = "The provider", body = Provider),
        (status = 403, description = "The role may not read the directory"),
        (status = 404, description = "No such provider")))]
async fn one(State(state): State<AppState>, user: Authz, Path(id): Path<String>) -> Result<Json<Provider>, ApiError> {
    Ok(Json(service::one(&state, &user, &id).await?))
}

/// Renames, moves or (de)activates a provider (supervisor or admin). An empty `contact`
/// clears it.
#[utoipa::path(patch, path = "/api/v1/providers/{id}", operation_id = "update_provider", tag = "providers", request_body = ProviderPatch,
    params(("id" = String, Path, description = "Provider id")),
    responses((status = 200, description = "The provider as changed", body = Provider),
        (status = 403, description = "Not a supervisor or admin"),
        (status = 404, description = "No such provider"),
        (status = 422, description = "`validation` naming the bad fields")))]
async fn update(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ProviderPatch>,
) -> Result<Json<Provider>, ApiError> {
    Ok(Json(service::update(&state, &user, &id, &patch).await?))
}
