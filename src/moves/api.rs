//! The move routes of the JSON API; the work is done in [`super::service`].

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{AccountMoves, ClientMoves, Moved, Pending};
use super::service;
use crate::AppState;
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pending))
        .routes(routes!(move_clients))
        .routes(routes!(move_accounts))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PendingQuery {
    /// Page of clients from 1 (100 a page).
    #[param(minimum = 1)]
    page: Option<u32>,
}

/// What is still to be moved after a reform: a supervisor's clients of retired units, an
/// admin's accounts of retired units.
#[utoipa::path(get, operation_id = "moves_pending", path = "/api/v1/moves", tag = "moves", params(PendingQuery),
    responses((status = 200, description = "What is still to be moved", body = Pending),
        (status = 403, description = "Neither a supervisor nor an admin")))]
async fn pending(
    State(state): State<AppState>,
    user: Authz,
    Query(query): Query<PendingQuery>,
) -> Result<Json<Pending>, ApiError> {
    Ok(Json(service::pending(&state, &user, query.page.unwrap_or(1)).await?))
}

/// Moves clients of retired units to the units that succeeded them, from a day; all or
/// none. Audited `client_move` for each.
#[utoipa::path(post, operation_id = "moves_clients", path = "/api/v1/moves/clients", tag = "moves",
    request_body = ClientMoves,
    responses((status = 200, description = "How many were moved", body = Moved),
        (status = 409, description = "`moved_meanwhile`: a client moved while the batch was checked; nothing was written"),
        (status = 422, description = "Bad lines, each named in `fields` (`on`, `moves[i].code`, `moves[i].to`); nothing was written")))]
async fn move_clients(
    State(state): State<AppState>,
    user: Authz,
    ApiJson(input): ApiJson<ClientMoves>,
) -> Result<Json<Moved>, ApiError> {
    Ok(Json(service::move_clients(&state, &user, &input).await?))
}

/// Moves staff accounts of retired units into units in force (admin); all or none.
/// Audited `user_move` for each.
#[utoipa::path(post, operation_id = "moves_accounts", path = "/api/v1/moves/accounts", tag = "moves",
    request_body = AccountMoves,
    responses((status = 200, description = "How many were moved", body = Moved),
        (status = 403, description = "Not an admin"),
        (status = 422, description = "Bad lines, each named in `fields`; nothing was written")))]
async fn move_accounts(
    State(state): State<AppState>,
    user: Authz,
    ApiJson(input): ApiJson<AccountMoves>,
) -> Result<Json<Moved>, ApiError> {
    Ok(Json(service::move_accounts(&state, &user, &input).await?))
}
