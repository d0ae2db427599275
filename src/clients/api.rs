//! The clients API: intake, caseload, read, edit, close, reopen, reassign, erase, and the
//! alerts of a district. The work is done in [`super::service`]; these only translate
//! HTTP.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ClientStatus;
use super::alerts::Alert;
use super::service::{
    self, CaseloadItem, ClientView, CloseInput, EraseInput, IntakeInput, IntakeResult, ReassignInput, ReopenInput,
    UpdateInput,
};
use crate::AppState;
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

/// A JSON body that may also be left out entirely (then `T::default()`), for actions
/// whose every field is optional (`reopen`, `withdraw`).
pub struct JsonOrEmpty<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for JsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 64 * 1024)
            .await
            .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        let req = Request::from_parts(parts, Body::from(bytes));
        let ApiJson(value) = ApiJson::<T>::from_request(req, state).await?;
        Ok(Self(value))
    }
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(intake, caseload))
        .routes(routes!(read, update))
        .routes(routes!(close))
        .routes(routes!(reopen))
        .routes(routes!(reassign))
        .routes(routes!(erase))
        .routes(routes!(alerts))
        .routes(routes!(acknowledge_alert))
}

/// Opens a case with the consents given at intake. Answers the client as the caller may
/// see it and the codes of possible duplicates.
#[utoipa::path(post, operation_id = "client_intake", path = "/api/v1/clients", tag = "clients", request_body = IntakeInput,
    responses((status = 201, description = "The new client", body = IntakeResult),
        (status = 403, description = "Not allowed to open cases in that area"),
        (status = 422, description = "Bad fields, each named in `fields`; nothing was stored")))]
async fn intake(
    State(state): State<AppState>,
    user: Authz,
    ApiJson(input): ApiJson<IntakeInput>,
) -> Result<(StatusCode, Json<IntakeResult>), ApiError> {
    let created = service::intake(&state, &user, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseloadQuery {
    /// `open` or `closed`; both when left out.
    #[param(inline)]
    status: Option<ClientStatus>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseloadList {
    pub items: Vec<CaseloadItem>,
}

/// The caller's caseload: a social worker's clients, a supervisor's district, a
/// volunteer's assigned clients (code, chosen name, area, phone with contact consent).
#[utoipa::path(get, operation_id = "client_caseload", path = "/api/v1/clients", tag = "clients", params(CaseloadQuery),
    responses((status = 200, description = "The caseload", body = CaseloadList),
        (status = 403, description = "A role without a caseload")))]
async fn caseload(
    State(state): State<AppState>,
    user: Authz,
    query: Result<Query<CaseloadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CaseloadList>, ApiError> {
    let Query(query) = query.map_err(|_| ApiError::bad_request())?;
    let items = service::caseload(&state, &user, query.status).await?;
    Ok(Json(CaseloadList { items }))
}

/// One client, with only the fields the caller's role may see.
#[utoipa::path(get, operation_id = "client_get", path = "/api/v1/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    responses((status = 200, description = "The client", body = ClientView),
        (status = 404, description = "No such client, or not yours to see")))]
async fn read(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, ApiError> {
    Ok(Json(service::read(&state, &user, &id).await?))
}

/// Changes a client's fields; `version` must be the one read.
#[utoipa::path(patch, operation_id = "client_patch", path = "/api/v1/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    request_body = UpdateInput,
    responses((status = 200, description = "The client", body = ClientView),
        (status = 404, description = "No such client, or not yours to see"),
        (status = 409, description = "`conflict`: someone changed it; `details.current_version`"),
        (status = 422, description = "Bad fields")))]
async fn update(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<UpdateInput>,
) -> Result<Json<ClientView>, ApiError> {
    Ok(Json(service::update(&state, &user, &id, input).await?))
}

/// Closes the case. A worker's closure is shown to the district's supervisors for review.
#[utoipa::path(post, operation_id = "client_close", path = "/api/v1/clients/{id}/close", tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    request_body = CloseInput,
    responses((status = 200, description = "The client, closed", body = ClientView),
        (status = 404, description = "No such client, or not yours to see"),
        (status = 409, description = "`case_not_open`, or `conflict` on a stale `version`"),
        (status = 422, description = "Bad `reason` or `on`")))]
async fn close(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CloseInput>,
) -> Result<Json<ClientView>, ApiError> {
    Ok(Json(service::close(&state, &user, &id, &input).await?))
}

/// Reopens a closed case: a new case period begins.
#[utoipa::path(post, operation_id = "client_reopen", path = "/api/v1/clients/{id}/reopen", tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    request_body = ReopenInput,
    responses((status = 200, description = "The client, open", body = ClientView),
        (status = 404, description = "No such client, or not yours to see"),
        (status = 409, description = "`case_not_closed`, or `conflict` on a stale `version`"),
        (status = 422, description = "Bad `on`")))]
async fn reopen(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    JsonOrEmpty(input): JsonOrEmpty<ReopenInput>,
) -> Result<Json<ClientView>, ApiError> {
    Ok(Json(service::reopen(&state, &user, &id, &input).await?))
}

/// Moves the case to another social worker of the district (supervisor).
#[utoipa::path(post, operation_id = "client_reassign", path = "/api/v1/clients/{id}/reassign", tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    request_body = ReassignInput,
    responses((status = 200, description = "The client", body = ClientView),
        (status = 403, description = "Not a supervisor of the client's district"),
        (status = 404, description = "No such client, or not yours to see"),
        (status = 422, description = "`user_id` is not an active social worker of the district")))]
async fn reassign(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReassignInput>,
) -> Result<Json<ClientView>, ApiError> {
    Ok(Json(service::reassign(&state, &user, &id, &input).await?))
}

/// Erases the client for good (supervisor): the data key and every row are deleted, so
/// nobody can recover the content; the code stays in the erasure ledger.
#[utoipa::path(post, operation_id = "client_erase", path = "/api/v1/clients/{id}/erase", tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    request_body = EraseInput,
    responses((status = 204, description = "Erased"),
        (status = 403, description = "Not a supervisor of the client's district"),
        (status = 404, description = "No such client, or not yours to see"),
        (status = 422, description = "`reason` missing or shorter than 10 characters")))]
async fn erase(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<EraseInput>,
) -> Result<StatusCode, ApiError> {
    service::erase(&state, &user, &id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// Also list acknowledged alerts.
    all: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertList {
    pub items: Vec<Alert>,
}

/// Alerts on the caller's clients (a supervisor's district, a worker's caseload):
/// `child_protection`, `closure_review`, `data_processing_withdrawn`. Codes only.
#[utoipa::path(get, operation_id = "alerts_list", path = "/api/v1/alerts", tag = "clients", params(AlertQuery),
    responses((status = 200, description = "The alerts", body = AlertList),
        (status = 403, description = "Not a social worker or supervisor")))]
async fn alerts(
    State(state): State<AppState>,
    user: Authz,
    query: Result<Query<AlertQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AlertList>, ApiError> {
    let Query(query) = query.map_err(|_| ApiError::bad_request())?;
    let items = service::alerts(&state, &user, query.all.unwrap_or(false)).await?;
    Ok(Json(AlertList { items }))
}

/// Marks an alert as seen.
#[utoipa::path(post, operation_id = "alert_acknowledge", path = "/api/v1/alerts/{id}/acknowledge", tag = "clients",
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 200, description = "The alert", body = Alert),
        (status = 404, description = "No such alert, or not yours to see"),
        (status = 409, description = "`alert_acknowledged`: already seen")))]
async fn acknowledge_alert(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
) -> Result<Json<Alert>, ApiError> {
    Ok(Json(service::acknowledge_alert(&state, &user, &id).await?))
}
