//! The area routes of the JSON API.

/// `GET /api/v1/areas`: the area hierarchy, for forms and scripts of any logged-in user.
#[utoipa::path(get, path = "/api/v1/areas", tag = "areas",
    responses((status = 200, description = "`{items: [{code, name, kind, parent}]}`, the province first"),
        (status = 401, description = "Not logged in")))]
async fn list_areas(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    _user: crate::auth::AuthUser,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "items": state.areas.list() }))
}

pub fn api() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(list_areas))
}
