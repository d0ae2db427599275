//! The managers' statistics API:
//!
//! * `POST /api/v1/stats/releases` — publish a closed period (province-scope managers);
//! * `GET /api/v1/stats/releases` — the list;
//! * `GET /api/v1/stats/releases/{id}` — one release as stored; `{id}.csv` and `{id}.xlsx`
//!   name the same release as a file (the path segment is parsed, since the router cannot
//!   match a suffix after a parameter);
//! * `GET /api/v1/stats/progress` — the day's stored snapshot of province-level progress.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::release::{Progress, Release, Summary};
use super::service;
use crate::AppState;
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// `"2024-H1"`, `"2024-H2"`, `"2024"`, or `{"from": "2024-01-01", "to": "2024-03-31"}`.
    #[schema(value_type = Object)]
    pub period: Value,
    /// Required when the period was published before (the new release is the next version).
    pub reason: Option<String>,
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(publish, list))
        .routes(routes!(get_release))
        .routes(routes!(progress))
}

fn json_bytes(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

/// Publishes a release of a closed period (province-scope manager).
#[utoipa::path(post, path = "/api/v1/stats/releases", tag = "stats", request_body = PublishRequest,
    responses(
        (status = 201, description = "The release as stored", body = Release),
        (status = 403, description = "Not a province-scope manager"),
        (status = 409, description = "Another publication of the same period happened at the same moment"),
        (status = 422, description = "Malformed period, not a half-year, a year or a range of whole months, \
            period not ended, or `reason` missing (a range of months, or a period published before)")))]
async fn publish(
    State(state): State<AppState>,
    user: Authz,
    ApiJson(request): ApiJson<PublishRequest>,
) -> Result<Response, ApiError> {
    let (_, body) = service::publish(&state, &user, &request.period, request.reason.as_deref()).await?;
    Ok(json_bytes(StatusCode::CREATED, body))
}

/// `GET /stats/releases`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReleaseList {
    pub items: Vec<Summary>,
}

/// The published releases, newest period first.
#[utoipa::path(get, path = "/api/v1/stats/releases", tag = "stats",
    responses((status = 200, description = "The releases", body = ReleaseList),
        (status = 403, description = "Not a manager")))]
async fn list(State(state): State<AppState>, user: Authz) -> Result<axum::Json<ReleaseList>, ApiError> {
    let items = service::releases(&state, &user).await?;
    Ok(axum::Json(ReleaseList { items }))
}

/// What `{id}`, `{id}.csv` or `{id}.xlsx` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
}

pub fn split_format(segment: &str) -> Option<(&str, Format)> {
    match segment.rsplit_once('.') {
        None => Some((segment, Format::Json)),
        Some((id, "csv")) => Some((id, Format::Csv)),
        Some((id, "xlsx")) => Some((id, Format::Xlsx)),
        Some(_) => None,
    }
}

/// One release: JSON as stored, or the same release as a CSV or XLSX file for the report
/// to the department (`{id}.csv`, `{id}.xlsx`). Managers whose scope is a district see only
/// their district's row of `by_area` (and the province totals).
#[utoipa::path(get, path = "/api/v1/stats/releases/{id}", tag = "stats",
    params(("id" = String, Path, description = "The release id; append `.csv` or `.xlsx` for a file")),
    responses(
        (status = 200, description = "The release. A suppressed count is the string `\"<5\"` (with the \
            configured threshold); a rate is null unless both its counts are shown.", content(
            (Release = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, description = "Not a manager"),
        (status = 404, description = "No such release")))]
async fn get_release(
    State(state): State<AppState>,
    user: Authz,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    service::open(&user).await?;
    let (id, format) = split_format(&segment).ok_or_else(ApiError::not_found)?;
    let viewed = service::release(&state, &user, id).await?;
    match format {
        Format::Json => Ok(json_bytes(StatusCode::OK, viewed.bytes)),
        Format::Csv | Format::Xlsx => {
            let file = service::export(&state, &user, &viewed.release, format).await?;
            Ok(super::export::response(file, &viewed.release))
        }
    }
}

/// Province-level progress of the current half-year up to yesterday: today's snapshot, taken
/// at the first request of the day and served as stored to everyone until the next day,
/// suppressed like a release, protected against the releases it overlaps, and rounded.
#[utoipa::path(get, path = "/api/v1/stats/progress", tag = "stats",
    responses((status = 200, description = "Province totals and categories, no area rows; shown counts \
        rounded to a multiple of `rounded_to`", body = Progress),
        (status = 403, description = "Not a manager")))]
async fn progress(State(state): State<AppState>, user: Authz) -> Result<Response, ApiError> {
    let (_, body) = service::progress(&state, &user).await?;
    Ok(json_bytes(StatusCode::OK, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_suffixes_are_parsed() {
        assert_eq!(split_format("abc"), Some(("abc", Format::Json)));
        assert_eq!(split_format("abc.csv"), Some(("abc", Format::Csv)));
        assert_eq!(split_format("abc.xlsx"), Some(("abc", Format::Xlsx)));
        assert_eq!(split_format("abc.pdf"), None);
    }
}
