//! `POST /api/v1/me/password`.

use axum::extract::State;
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::Deserialize;

use super::service::change;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::extract::LoginUser;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(change_api))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(value_type = String)]
    pub current_password: SecretString,
    /// At least 12 characters, different from the current one.
    #[schema(value_type = String)]
    pub new_password: SecretString,
}

/// Changes the logged-in user's own password (current password required). Other sessions
/// of the account end; this one continues under a new id.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "session", request_body = ChangePassword,
    responses((status = 204, description = "Changed"), (status = 401, description = "Not logged in"),
        (status = 422, description = "`fields.current_password` (wrong) or `fields.new_password`"),
        (status = 429, description = "`too_many_attempts`: too many wrong current passwords"),
        (status = 503, description = "`busy`: too many password checks at once")))]
pub async fn change_api(
    State(state): State<AppState>,
    LoginUser(user): LoginUser,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    change(&state, &user, body.current_password, body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
