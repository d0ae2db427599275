//! The auditor's API: `GET /api/v1/audit` and `GET /api/v1/audit/verify`.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Filter, Outcome, Verification};
use crate::AppState;
use crate::auth::AuthUser;
use crate::policy::Action;
use crate::web::ApiError;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    client_code: Option<String>,
    flagged: Option<bool>,
    limit: Option<i64>,
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(verify))
}

/// Lets a date (`YYYY-MM-DD`) bound the RFC 3339 timestamps inclusively.
fn bound(value: Option<String>, end: bool) -> Option<String> {
    value.filter(|v| !v.is_empty()).map(|v| {
        if v.len() == 10 && end {
            format!("{v}T23:59:59Z")
        } else {
            v
        }
    })
}

/// Audit entries, newest first (auditor).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "`{items: [{seq, at, actor, action, client_code?, reason?, outcome}]}`"),
        (status = 403, description = "Not an auditor")))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    state.authorize(&user, Action::AuditRead).await?;
    let Query(query) = query.map_err(|_| ApiError::bad_request())?;
    let filter = Filter {
        from: bound(query.from, false),
        to: bound(query.to, true),
        actor: query.actor.filter(|a| !a.is_empty()),
        client_code: query.client_code.filter(|c| !c.is_empty()),
        flagged_only: query.flagged.unwrap_or(false),
        limit: query.limit.unwrap_or(200),
    };
    let items = state
        .audit_log
        .list(&filter)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    state.audit(user.event("audit_read", Outcome::Success)).await?;
    Ok(Json(json!({ "items": items })))
}

/// Checks the whole HMAC chain (auditor).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, description = "`{ok: true, entries}` or `{ok: false, first_bad_seq}`"),
        (status = 403, description = "Not an auditor")))]
async fn verify(State(state): State<AppState>, user: AuthUser) -> Result<Json<Verification>, ApiError> {
    state.authorize(&user, Action::AuditRead).await?;
    let result = state.audit_log.verify().await.map_err(|e| ApiError::internal(&e))?;
    state.audit(user.event("audit_verify", Outcome::Success)).await?;
    Ok(Json(result))
}
