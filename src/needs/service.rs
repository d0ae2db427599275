//! Recording a need: `need_record` on the client, audited.

use super::model::{Need, NeedInput};
use super::store::{insert, list};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::Authz;
use crate::clients::FieldClasses;
use crate::clients::validation::{self as v};
use crate::error::Error;
use crate::policy::Action;

/// Records a need of a client the caller works on (`need_record`); audited. Answers the
/// need as the caller may see it.
pub async fn record(state: &AppState, user: &Authz, client_id: &str, input: &NeedInput) -> Result<Need, Error> {
    let client = user.require_client(client_id, Action::NeedRecord).await?;
    let today = state.clock.today();
    let coded = state.clients.get(&client.id, FieldClasses::NONE).await?;
    let mut errors = v::check(input);
    if let Some(category) = &input.category {
        v::known_category(&state.db, &mut errors, "category", category).await?;
    }
    let detail = input.detail.as_ref().filter(|d| !d.expose().trim().is_empty());
    let assessed_on = v::past_date(&mut errors, "assessed_on", input.assessed_on.as_deref(), today);
    if let Some(opened) = crate::dates::parse_iso(&coded.opened_on) {
        v::not_before_opened(&mut errors, "assessed_on", assessed_on.or(Some(today)), opened);
    }
    v::finish(errors)?;
    let category = input.category.clone().unwrap_or_default();
    let now = state.clock.now();
    let key = state.clients.key(&client.id).await?;
    let mut tx = state.begin().await?;
    let id = insert(
        &mut tx,
        &key,
        &category,
        detail,
        assessed_on.unwrap_or(today),
        Some(user.id()),
        now,
    )
    .await?;
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::NEED_RECORD, Outcome::Success)
                .client(&client.code)
                .object(&id)],
        )
        .await?;
    let classes = crate::clients::service::field_classes(user, &client);
    let needs = list(state, &client.id, classes).await?;
    needs.into_iter().find(|n| n.id == id).ok_or(Error::NotFound)
}
