//! The second-factor routes of the JSON API.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::service::{Enrolment, confirm, enrol};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::extract::SessionUser;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enrol_api))
        .routes(routes!(confirm_api))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// The 6-digit code the authenticator app shows now.
    pub code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConfirmResponse {
    /// Ten one-time recovery codes, shown this once.
    pub recovery_codes: Vec<String>,
}

/// Starts enrolment of a TOTP second factor for the logged-in user (allowed while
/// enrolment is pending).
#[utoipa::path(post, path = "/api/v1/me/mfa/enrol", tag = "session",
    responses((status = 200, description = "`{secret, otpauth_url, qr_svg}`", body = Enrolment),
        (status = 401, description = "Not logged in"),
        (status = 409, description = "`mfa_already_enrolled`")))]
pub async fn enrol_api(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
) -> Result<Json<Enrolment>, ApiError> {
    Ok(Json(enrol(&state, &user).await?))
}

/// Confirms enrolment with a first code; answers the recovery codes once.
#[utoipa::path(post, path = "/api/v1/me/mfa/confirm", tag = "session", request_body = ConfirmRequest,
    responses((status = 200, description = "`{recovery_codes}`", body = ConfirmResponse),
        (status = 401, description = "Not logged in"),
        (status = 409, description = "`mfa_not_started` or `mfa_already_enrolled`"),
        (status = 422, description = "Wrong code (`fields.code`)")))]
pub async fn confirm_api(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> Result<Json<ConfirmResponse>, ApiError> {
    let recovery_codes = confirm(&state, &user, &body.code).await?;
    Ok(Json(ConfirmResponse { recovery_codes }))
}
