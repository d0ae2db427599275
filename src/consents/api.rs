//! `POST /api/v1/clients/{id}/consents`, `POST /api/v1/clients/{id}/consents/{consent_id}/withdraw`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Consent, ConsentInput, WithdrawInput};
use crate::AppState;
use crate::authz::Authz;
use crate::clients::api::JsonOrEmpty;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(record)).routes(routes!(withdraw))
}

/// Records a consent the client gave.
#[utoipa::path(post, operation_id = "consent_record", path = "/api/v1/clients/{id}/consents", tag = "consents",
    params(("id" = String, Path, description = "Client id")),
    request_body = ConsentInput,
    responses((status = 201, description = "The consent", body = Consent),
        (status = 404, description = "No such client, or not yours to see"),
        (status = 403, description = "Not allowed"),
        (status = 422, description = "Bad fields: `scope`, `category`, `given_on`, `expires_on`")))]
async fn record(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConsentInput>,
) -> Result<(StatusCode, Json<Consent>), ApiError> {
    let consent = super::record(&state, &user, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(consent)))
}

/// Withdraws a consent (dated; the history is kept).
#[utoipa::path(post, operation_id = "consent_withdraw", path = "/api/v1/clients/{id}/consents/{consent_id}/withdraw", tag = "consents",
    params(("id" = String, Path, description = "Client id"), ("consent_id" = String, Path, description = "Consent id")),
    request_body = WithdrawInput,
    responses((status = 200, description = "The consent, withdrawn", body = Consent),
        (status = 404, description = "No such client or consent"),
        (status = 409, description = "`already_withdrawn`"),
        (status = 422, description = "Bad `on`")))]
async fn withdraw(
    State(state): State<AppState>,
    user: Authz,
    Path((id, consent_id)): Path<(String, String)>,
    JsonOrEmpty(input): JsonOrEmpty<WithdrawInput>,
) -> Result<Json<Consent>, ApiError> {
    Ok(Json(super::withdraw(&state, &user, &id, &consent_id, &input).await?))
}
