//! The referral routes of the JSON API.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service;
use super::{NewReferral, Referral, Slip, TransitionInput};
use crate::AppState;
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list_for_client))
        .routes(routes!(follow_ups))
        .routes(routes!(one))
        .routes(routes!(transition))
        .routes(routes!(slip))
}

/// Refers a client to a service. Needs the client's sharing consent for the category,
/// or a supervisor's `override_reason`.
#[utoipa::path(post, path = "/api/v1/clients/{id}/referrals", operation_id = "create_referral", tag = "referrals", request_body = NewReferral,
    params(("id" = String, Path, description = "Client id")),
    responses((status = 201, description = "The referral, `status: referred`", body = Referral),
        (status = 403, description = "Not allowed to refer this client"),
        (status = 404, description = "No such client (or not visible to the caller)"),
        (status = 422, description = "`consent_missing`, `client_closed`, or `validation` naming the bad fields")))]
async fn create(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewReferral>,
) -> Result<(StatusCode, Json<Referral>), ApiError> {
    let referral = service::create(&state, &user, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(referral)))
}

/// A client's referrals, newest first.
#[utoipa::path(get, path = "/api/v1/clients/{id}/referrals", operation_id = "list_client_referrals", tag = "referrals",
    params(("id" = String, Path, description = "Client id")),
    responses((status = 200, description = "`{items: [referral]}`"),
        (status = 403, description = "Not allowed to read this client's referrals"),
        (status = 404, description = "No such client (or not visible to the caller)")))]
async fn list_for_client(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let items = service::list_for_client(&state, &user, &id).await?;
    Ok(Json(json!({ "items": items })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FollowUpQuery {
    /// Days without a move (default: the `[cases] referral_followup_days` setting).
    days: Option<u32>,
}

/// Referrals of the caller's caseload still `referred` or `accepted` with no move for
/// the configured number of days, oldest first.
#[utoipa::path(get, path = "/api/v1/referrals/follow-ups", operation_id = "referral_follow_ups", tag = "referrals", params(FollowUpQuery),
    responses((status = 200, description = "`{days, items: [{referral_id, client_id, client_code, category, status, \
        provider_id, provider_name, referred_on, last_moved_on, days_waiting}]}`"),
        (status = 400, description = "Bad query"),
        (status = 403, description = "Not a social worker or supervisor")))]
async fn follow_ups(
    State(state): State<AppState>,
    user: Authz,
    query: Result<Query<FollowUpQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|_| ApiError::bad_request())?;
    if query.days.is_some_and(|d| d > 3660) {
        return Err(ApiError::bad_request());
    }
    let items = service::follow_ups(&state, &user, query.days).await?;
    let days = query.days.unwrap_or(state.settings.cases.referral_followup_days);
    Ok(Json(json!({ "days": days, "items": items })))
}

/// One referral with its dated moves.
#[utoipa::path(get, path = "/api/v1/referrals/{id}", operation_id = "get_referral", tag = "referrals",
    params(("id" = String, Path, description = "Referral id")),
    responses((status = 200, description = "The referral", body = Referral),
        (status = 403, description = "Not allowed to read this client's referrals"),
        (status = 404, description = "No such referral (or not visible to the caller)")))]
async fn one(State(state): State<AppState>, user: Authz, Path(id): Path<String>) -> Result<Json<Referral>, ApiError> {
    Ok(Json(service::get(&state, &user, &id).await?))
}

/// Moves a referral to its next state.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/transitions", operation_id = "transition_referral", tag = "referrals", request_body = TransitionInput,
    params(("id" = String, Path, description = "Referral id")),
    responses((status = 200, description = "The referral after the move", body = Referral),
        (status = 403, description = "Not allowed to move this client's referrals"),
        (status = 404, description = "No such referral (or not visible to the caller)"),
        (status = 409, description = "`conflict`: someone else moved it meanwhile"),
        (status = 422, description = "`invalid_transition` with `details.allowed`, or `validation`")))]
async fn transition(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<TransitionInput>,
) -> Result<Json<Referral>, ApiError> {
    Ok(Json(service::transition(&state, &user, &id, &input).await?))
}

/// The printable referral slip: only what the client agreed to share.
#[utoipa::path(get, path = "/api/v1/referrals/{id}/slip", operation_id = "referral_slip", tag = "referrals",
    params(("id" = String, Path, description = "Referral id")),
    responses((status = 200, description = "The slip", body = Slip),
        (status = 403, description = "Not allowed to read this client's referrals"),
        (status = 404, description = "No such referral (or not visible to the caller)")))]
async fn slip(State(state): State<AppState>, user: Authz, Path(id): Path<String>) -> Result<Json<Slip>, ApiError> {
    Ok(Json(service::slip(&state, &user, &id).await?))
}
