//! The auditor's API: `GET /api/v1/audit`, `GET /api/v1/audit/verify` (the chain and the
//! release heads), `POST /api/v1/audit/verify` (the same and a checkpoint the auditor kept)
//! and `POST /api/v1/audit/checkpoint` (a new signed checkpoint to keep off the server).

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service;
use crate::AppState;
use crate::audit::{Checkpoint, Filter, ReportBody};
use crate::authz::Authz;
use crate::web::{ApiError, ApiJson};

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
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(verify, verify_checkpoint))
        .routes(routes!(checkpoint))
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
    user: Authz,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    // Authorised before the query is looked at, so that a refusal is audited whatever
    // was sent.
    service::open(&user).await?;
    let Query(query) = query.map_err(|_| ApiError::bad_request())?;
    let filter = Filter {
        from: bound(query.from, false),
        to: bound(query.to, true),
        actor: query.actor.filter(|a| !a.is_empty()),
        client_code: query.client_code.filter(|c| !c.is_empty()),
        flagged_only: query.flagged.unwrap_or(false),
        limit: query.limit.unwrap_or(200),
    };
    let items = service::search(&state, &user, &filter).await?;
    Ok(Json(json!({ "items": items })))
}

/// Checks the whole HMAC chain and the audit head stored in every statistics release
/// (auditor).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, description = "`{ok, entries | first_bad_seq, releases}`", body = ReportBody),
        (status = 403, description = "Not an auditor")))]
async fn verify(State(state): State<AppState>, user: Authz) -> Result<Json<ReportBody>, ApiError> {
    let report = service::verify(&state, &user).await?;
    Ok(Json(ReportBody::from(&report)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// A checkpoint from `POST /api/v1/audit/checkpoint` or `hoanhap audit checkpoint`.
    checkpoint: Checkpoint,
}

/// As `GET`, and also that the trail still holds the entry of a checkpoint the auditor
/// kept: `ok` is false when entries were removed since (auditor).
#[utoipa::path(post, path = "/api/v1/audit/verify", tag = "audit", request_body = VerifyRequest,
    responses((status = 200, description = "`{ok, entries | first_bad_seq, releases, checkpoint}`", body = ReportBody),
        (status = 403, description = "Not an auditor"),
        (status = 422, description = "Not a checkpoint, another installation's, or its signature does not match \
            (`fields.checkpoint`)")))]
async fn verify_checkpoint(
    State(state): State<AppState>,
    user: Authz,
    ApiJson(request): ApiJson<VerifyRequest>,
) -> Result<Json<ReportBody>, ApiError> {
    service::open(&user).await?;
    let checked = request
        .checkpoint
        .check(state.audit_log.checkpoint_keys())
        .map(|()| request.checkpoint);
    let (report, _) = service::verify_checkpoint(&state, &user, Some(checked)).await?;
    Ok(Json(ReportBody::from(&report)))
}

/// Signs the current head of a verified chain, for the auditor to keep off the server;
/// refused with 409 `audit_chain_broken` when the chain does not verify (auditor).
#[utoipa::path(post, path = "/api/v1/audit/checkpoint", tag = "audit",
    responses((status = 200, description = "The checkpoint", body = Checkpoint),
        (status = 403, description = "Not an auditor"),
        (status = 409, description = "`audit_chain_broken`: the chain does not verify")))]
async fn checkpoint(State(state): State<AppState>, user: Authz) -> Result<Json<Checkpoint>, ApiError> {
    Ok(Json(service::take_checkpoint(&state, &user).await?))
}
