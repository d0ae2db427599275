//! Authorisation as a per-request value. A handler takes an [`Authz`] (the signed-in
//! user, the policies and the cached area hierarchy) and asks it:
//!
//! - [`Authz::require`] for an action, audited when denied;
//! - [`Authz::require_client`] for an action on one client, which is the only way to get
//!   a [`ClientRef`] (apart from [`Authz::find_client`], the unaudited look-up that
//!   filters lists);
//! - [`Authz::can`] and [`Authz::can_on`] to decide what to show, not audited.
//!
//! Facts about a client (area, worker, volunteers, break-glass grants, consent) come from
//! the database; decisions from the Cedar policies over [`crate::AppState::areas`].

mod facts;

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::AppState;
use crate::areas::AreaCatalog;
use crate::audit::Outcome;
use crate::auth::AuthUser;
use crate::error::Error;
use crate::policy::{Action, Areas, ClientFacts, Principal, Resource};
use crate::web::ApiError;

/// A client the caller was allowed to act on. Only [`Authz`] makes one, so holding it
/// means the decision was taken.
#[derive(Debug, Clone)]
#[expect(
    clippy::manual_non_exhaustive,
    reason = "non_exhaustive would not stop the rest of this crate from building one"
)]
pub struct ClientRef {
    pub id: String,
    pub code: String,
    pub facts: ClientFacts,
    /// Keeps the struct from being built anywhere but here.
    _decided: (),
}

/// The signed-in user and the means to decide for them, for one request. It stands for
/// the user wherever an identity is needed (it dereferences to [`AuthUser`]).
#[derive(Debug, Clone)]
pub struct Authz {
    user: AuthUser,
    /// The user as the policies see her, built once for all of the request's decisions.
    principal: Principal,
    /// The area catalogue in force when the request began, kept for all its decisions.
    catalog: Arc<AreaCatalog>,
    state: AppState,
}

impl Deref for Authz {
    type Target = AuthUser;

    fn deref(&self) -> &AuthUser {
        &self.user
    }
}

impl FromRequestParts<AppState> for Authz {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        Ok(Self::new(state, user))
    }
}

impl Authz {
    pub fn new(state: &AppState, user: AuthUser) -> Self {
        Self {
            principal: user.principal(),
            user,
            catalog: state.areas.on(state.clock.today()),
            state: state.clone(),
        }
    }

    /// The user as the policies see her.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The area hierarchy the decisions are taken over.
    pub fn areas(&self) -> &Areas {
        self.catalog.tree()
    }

    /// Every unit with its names and validity, as the request's decisions see them.
    pub fn catalog(&self) -> &AreaCatalog {
        &self.catalog
    }

    /// Whether the policies allow `action` on `resource`; for what to show, not audited.
    pub fn can(&self, action: Action, resource: &Resource) -> bool {
        self.state
            .policy
            .is_allowed(self.areas(), &self.principal, action, resource)
    }

    /// Whether the caller may also do `action` on a client already opened (field-level
    /// visibility). Not audited: it decides what is shown, the read itself is audited.
    pub fn can_on(&self, action: Action, client: &ClientRef) -> bool {
        self.can(action, &Resource::Client(client.facts.clone()))
    }

    /// Authorises `action` on `resource` ([`Resource::system`], or
    /// [`Resource::in_area`] for the actions that take an area); a denial is audited and
    /// answered 403.
    pub async fn require(&self, action: Action, resource: Resource) -> Result<(), Error> {
        if self.can(action, &resource) {
            return Ok(());
        }
        self.state
            .audit(self.user.event(action.name(), Outcome::Denied))
            .await?;
        Err(Error::Forbidden)
    }

    /// Authorises `action` on a client. A missing client and a client the caller may not
    /// even list are both 404, so existence is not revealed; otherwise a denial is 403.
    /// Denials are audited; the operation audits what it then does.
    pub async fn require_client(&self, client_id: &str, action: Action) -> Result<ClientRef, Error> {
        let Some(client) = self.load(client_id).await? else {
            self.state
                .audit(
                    self.user
                        .event(action.name(), Outcome::Denied)
                        .object(client_id)
                        .reason("no such client"),
                )
                .await?;
            return Err(Error::NotFound);
        };
        if self.can_on(action, &client) {
            return Ok(client);
        }
        self.state
            .audit(self.user.event(action.name(), Outcome::Denied).client(&client.code))
            .await?;
        if action != Action::ClientListCodes && self.can_on(Action::ClientListCodes, &client) {
            Err(Error::Forbidden)
        } else {
            Err(Error::NotFound)
        }
    }

    /// The client if it exists and the caller may do `action` on it; not audited. For
    /// filtering what a list shows, and for checking that a change left the client in
    /// the caller's reach.
    pub async fn find_client(&self, client_id: &str, action: Action) -> Result<Option<ClientRef>, Error> {
        Ok(self.load(client_id).await?.filter(|client| self.can_on(action, client)))
    }

    /// The clients of `ids` that exist and that the caller may do `action` on, in the
    /// order of `ids`; not audited. For lists: their facts are read together, in a fixed
    /// number of queries for up to hundreds of clients, not several per client.
    pub async fn find_clients(&self, ids: &[&str], action: Action) -> Result<Vec<ClientRef>, Error> {
        let mut found = facts::of_many(&self.state, ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(*id).map(|(code, facts)| Self::decided(id, code, facts)))
            .filter(|client| self.can_on(action, client))
            .collect())
    }

    /// Whether a client with this id exists (`None` if not), and whether the caller may do
    /// any of `actions` on it; not audited. One look-up, for an operation that audits
    /// which of the three it was.
    pub async fn visibility(&self, client_id: &str, actions: &[Action]) -> Result<Option<bool>, Error> {
        Ok(self
            .load(client_id)
            .await?
            .map(|client| actions.iter().any(|action| self.can_on(*action, &client))))
    }

    /// Whether a client with this id exists, whoever may see it. For the operations that
    /// answer the same for both cases but must audit which one it was.
    pub async fn client_exists(&self, client_id: &str) -> Result<bool, Error> {
        Ok(facts::of(&self.state, client_id).await?.is_some())
    }

    async fn load(&self, client_id: &str) -> Result<Option<ClientRef>, Error> {
        Ok(facts::of(&self.state, client_id)
            .await?
            .map(|(code, facts)| Self::decided(client_id, code, facts)))
    }

    fn decided(client_id: &str, code: String, facts: ClientFacts) -> ClientRef {
        ClientRef {
            id: client_id.to_owned(),
            code,
            facts,
            _decided: (),
        }
    }
}
