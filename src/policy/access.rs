//! The one place requests are authorised: facts come from the database (the user's role
//! and area; the client's area, worker, volunteers, break-glass grants and consent), the
//! decision from the Cedar policies. Every denial is written to the audit trail.

use axum::http::StatusCode;
use sqlx::Row;

use super::{Action, AreaNode, Areas, ClientFacts, Resource};
use crate::AppState;
use crate::audit::Outcome;
use crate::auth::AuthUser;
use crate::db::timestamp;
use crate::web::ApiError;

/// A client the caller was allowed to act on.
#[derive(Debug, Clone)]
pub struct ClientRef {
    pub id: String,
    pub code: String,
    pub facts: ClientFacts,
}

impl AppState {
    /// The current area hierarchy (areas are editable data).
    pub async fn areas(&self) -> Result<Areas, ApiError> {
        let nodes = crate::areas::list(&self.db).await?.into_iter().map(|a| AreaNode {
            code: a.code,
            kind: a.kind,
            parent: a.parent,
        });
        Areas::new(nodes).map_err(|e| ApiError::internal(&e))
    }

    /// Authorises an action that is not about one client (statistics, accounts, audit…).
    pub async fn authorize(&self, user: &AuthUser, action: Action) -> Result<(), ApiError> {
        self.authorize_system(user, action, Resource::system()).await
    }

    /// Authorises opening a case in `area`.
    pub async fn authorize_create(&self, user: &AuthUser, area: &str) -> Result<(), ApiError> {
        self.authorize_in(user, Action::ClientCreate, area).await
    }

    /// Authorises a system action about one area ([`Action::takes_area`]).
    pub async fn authorize_in(&self, user: &AuthUser, action: Action, area: &str) -> Result<(), ApiError> {
        self.authorize_system(user, action, Resource::in_area(area)).await
    }

    async fn authorize_system(&self, user: &AuthUser, action: Action, resource: Resource) -> Result<(), ApiError> {
        let areas = self.areas().await?;
        if self.policy.is_allowed(&areas, &user.principal(), action, &resource) {
            return Ok(());
        }
        self.audit(user.event(action.name(), Outcome::Denied)).await?;
        Err(ApiError::forbidden())
    }

    /// The facts the policies need about one client, or `None` if it does not exist.
    pub async fn client_facts(&self, client_id: &str) -> Result<Option<(String, ClientFacts)>, ApiError> {
        let Some(row) = sqlx::query("SELECT code, area, assigned_worker FROM clients WHERE id = $1")
            .bind(client_id)
            .fetch_optional(&self.db.pool)
            .await?
        else {
            return Ok(None);
        };
        let volunteers: Vec<String> = sqlx::query_scalar("SELECT user_id FROM client_volunteers WHERE client_id = $1")
            .bind(client_id)
            .fetch_all(&self.db.pool)
            .await?;
        let now = self.clock.now();
        let break_glass: Vec<String> =
            sqlx::query_scalar("SELECT user_id FROM break_glass_grants WHERE client_id = $1 AND expires_at > $2")
                .bind(client_id)
                .bind(timestamp(now))
                .fetch_all(&self.db.pool)
                .await?;
        let today = self.clock.today().to_string();
        let consents: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM consents WHERE client_id = $1 AND scope = 'volunteer_contact' \
             AND withdrawn_on IS NULL AND given_on <= $2 AND (expires_on IS NULL OR expires_on >= $2)",
        )
        .bind(client_id)
        .bind(&today)
        .fetch_one(&self.db.pool)
        .await?;
        let facts = ClientFacts {
            client_id: client_id.to_owned(),
            area: row.try_get("area")?,
            assigned_worker: row.try_get("assigned_worker")?,
            volunteers,
            break_glass,
            contact_consent: consents > 0,
        };
        Ok(Some((row.try_get("code")?, facts)))
    }

    /// Authorises `action` on a client. A missing client and a client the caller may not
    /// even list are both 404, so existence is not revealed; otherwise a denial is 403.
    /// Denials are audited; the handler audits what it then does.
    pub async fn client_access(&self, user: &AuthUser, client_id: &str, action: Action) -> Result<ClientRef, ApiError> {
        let Some((code, facts)) = self.client_facts(client_id).await? else {
            self.audit(
                user.event(action.name(), Outcome::Denied)
                    .object(client_id)
                    .reason("no such client"),
            )
            .await?;
            return Err(ApiError::not_found());
        };
        let client = ClientRef {
            id: client_id.to_owned(),
            code,
            facts,
        };
        let areas = self.areas().await?;
        let principal = user.principal();
        let resource = Resource::Client(client.facts.clone());
        if self.policy.is_allowed(&areas, &principal, action, &resource) {
            return Ok(client);
        }
        self.audit(user.event(action.name(), Outcome::Denied).client(&client.code))
            .await?;
        if action != Action::ClientListCodes
            && self
                .policy
                .is_allowed(&areas, &principal, Action::ClientListCodes, &resource)
        {
            Err(ApiError::forbidden())
        } else {
            Err(ApiError::not_found())
        }
    }

    /// Whether the caller may also do `action` on a client already opened (field-level
    /// visibility). Not audited: it decides what is shown, the read itself is audited.
    pub async fn may(&self, user: &AuthUser, action: Action, client: &ClientRef) -> Result<bool, ApiError> {
        let areas = self.areas().await?;
        Ok(self.policy.is_allowed(
            &areas,
            &user.principal(),
            action,
            &Resource::Client(client.facts.clone()),
        ))
    }

    /// Appends to the audit trail; if that fails the request fails (fail closed).
    pub async fn audit(&self, event: crate::audit::Event) -> Result<(), ApiError> {
        self.audit_log
            .append(event, self.clock.now())
            .await
            .map(|_| ())
            .map_err(|e| {
                tracing::error!(error = %e, "audit append failed; refusing the request");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            })
    }
}
