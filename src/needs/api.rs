//! `POST /api/v1/clients/{id}/needs`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Need, NeedInput};
use crate::AppState;
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(record))
}

/// Records an assessed need. The detail is sealed; a health need's detail is shown only
/// to roles allowed health data.
#[utoipa::path(post, operation_id = "need_record", path = "/api/v1/clients/{id}/needs", tag = "needs",
    params(("id" = String, Path, description = "Client id")),
    request_body = NeedInput,
    responses((status = 201, description = "The need", body = Need),
        (status = 404, description = "No such client, or not yours to see"),
        (status = 403, description = "Not allowed"),
        (status = 422, description = "Bad fields: `category`, `detail`, `assessed_on`")))]
async fn record(
    State(state): State<AppState>,
    user: Authz,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NeedInput>,
) -> Result<(StatusCode, Json<Need>), ApiError> {
    let need = super::record(&state, &user, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(need)))
}
