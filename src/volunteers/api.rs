//! Volunteer assignment, support logs and the follow-up list.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AssignInput, Assignment, SupportFollowUp, SupportLog, SupportLogInput};
use crate::AppState;
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(assign))
        .routes(routes!(unassign))
        .routes(routes!(log_support))
        .routes(routes!(follow_ups))
        .routes(routes!(follow_up_done))
}

/// Assigns a volunteer to the client (supervisor of the client's district).
#[utoipa::path(post, operation_id = "volunteer_assign", path = "/api/v1/clients/{id}/volunteers", tag = "volunteers",
    params(("id" = String, Path, description = "Client id")),
    request_body = AssignInput,
    responses((status = 201, description = "Assigned", body = Assignment),
        (status = 200, description = "Was already assigned", body = Assignment),
        (status = 403, description = "Not a supervisor of the client's district"),
        (status = 404, description = "No such client, or not yours to see"),
        (status = 422, description = "`user_id` is not an active volunteer covering the client's area")))]
async fn assign(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AssignInput>,
) -> Result<(StatusCode, Json<Assignment>), ApiError> {
    let (created, assignment) = super::assign(&state, &user, &id, &input).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(assignment)))
}

/// Ends a volunteer's assignment (supervisor of the client's district).
#[utoipa::path(delete, operation_id = "volunteer_unassign", path = "/api/v1/clients/{id}/volunteers/{user_id}", tag = "volunteers",
    params(("id" = String, Path, description = "Client id"), ("user_id" = String, Path, description = "Volunteer's user id")),
    responses((status = 204, description = "Unassigned"),
        (status = 403, description = "Not a supervisor of the client's district"),
        (status = 404, description = "No such client or assignment")))]
async fn unassign(
    State(state): State<AppState>,
    user: Authz,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    super::unassign(&state, &user, &id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Logs a support contact (a volunteer assigned to the client). The note is sealed.
#[utoipa::path(post, operation_id = "support_log_create", path = "/api/v1/clients/{id}/support-logs", tag = "volunteers",
    params(("id" = String, Path, description = "Client id")),
    request_body = SupportLogInput,
    responses((status = 201, description = "The support log", body = SupportLog),
        (status = 403, description = "Not allowed"),
        (status = 404, description = "No such client, or not assigned to you"),
        (status = 422, description = "Bad fields: `kind`, `on`, `duration_minutes`, `note`")))]
async fn log_support(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SupportLogInput>,
) -> Result<(StatusCode, Json<SupportLog>), ApiError> {
    let log = super::log_support(&state, &user, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(log)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FollowUpQuery {
    /// Also list the follow-ups already done.
    all: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SupportFollowUpList {
    pub items: Vec<SupportFollowUp>,
}

/// Support contacts flagged "needs follow-up" on the caller's clients (a worker's
/// caseload, a supervisor's district): codes, kind, date and volunteer.
#[utoipa::path(get, operation_id = "support_follow_ups", path = "/api/v1/follow-ups", tag = "volunteers", params(FollowUpQuery),
    responses((status = 200, description = "The follow-ups", body = SupportFollowUpList),
        (status = 403, description = "Not a social worker or supervisor")))]
async fn follow_ups(
    State(state): State<AppState>,
    user: Authz,
    query: Result<Query<FollowUpQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SupportFollowUpList>, ApiError> {
    let Query(query) = query.map_err(|_| ApiError::bad_request())?;
    let items = super::follow_ups(&state, &user, query.all.unwrap_or(false)).await?;
    Ok(Json(SupportFollowUpList { items }))
}

/// Marks a follow-up done (the assigned worker or a supervisor of the district).
#[utoipa::path(post, operation_id = "support_follow_up_done", path = "/api/v1/follow-ups/{id}/done", tag = "volunteers",
    params(("id" = String, Path, description = "Support log id")),
    responses((status = 200, description = "The support log", body = SupportLog),
        (status = 404, description = "No such follow-up, or not yours to see"),
        (status = 409, description = "`follow_up_done`: already done")))]
async fn follow_up_done(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
) -> Result<Json<SupportLog>, ApiError> {
    Ok(Json(super::follow_up_done(&state, &user, &id).await?))
}
