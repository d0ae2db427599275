//! The auditor's API: `GET /api/v1/audit` and `GET /api/v1/audit/verify`.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Filter, Outcome, Verification};
use crate::AppState;
use crate::auth::AuthUser;
use crate::policy::Action;
use crate::web::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    client_code: Option<String>,
    flagged: Option<bool>,
    limit: Option<i64>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/audit", get(list))
        .route("/api/v1/audit/verify", get(verify))
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

async fn verify(State(state): State<AppState>, user: AuthUser) -> Result<Json<Verification>, ApiError> {
    state.authorize(&user, Action::AuditRead).await?;
    let result = state.audit_log.verify().await.map_err(|e| ApiError::internal(&e))?;
    state.audit(user.event("audit_verify", Outcome::Success)).await?;
    Ok(Json(result))
}
