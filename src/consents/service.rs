//! Recording and withdrawing consents (`consent_record` on the client), audited; the API
//! and the pages both call these.

use chrono::NaiveDate;

use super::model::{Consent, ConsentInput, DATA_PROCESSING, NewConsent, REFERRAL_SHARING, SCOPES, WithdrawInput};
use super::store::{self, get, insert};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::Authz;
use crate::clients::alerts;
use crate::clients::validation::{self as v, FieldErrors};
use crate::db::Db;
use crate::error::Error;
use crate::policy::Action;

/// Checks a consent body against the categories and dates; everything bad is named.
pub async fn validate_input(db: &Db, input: &ConsentInput, today: NaiveDate) -> Result<NewConsent, Error> {
    let mut errors = v::check(input);
    if let Some(scope) = &input.scope {
        v::one_of(&mut errors, "scope", scope, &SCOPES);
    }
    match (input.scope.as_deref(), input.category.as_deref()) {
        (Some(REFERRAL_SHARING), None) => {
            errors.insert("category".into(), "field-cases-category_required");
        }
        (Some(REFERRAL_SHARING), Some(c)) => v::known_category(db, &mut errors, "category", c).await?,
        (_, Some(_)) => {
            errors.insert("category".into(), "field-cases-category_not_allowed");
        }
        _ => {}
    }
    let given_on = v::past_date(&mut errors, "given_on", input.given_on.as_deref(), today);
    let expires_on = v::any_date(&mut errors, "expires_on", input.expires_on.as_deref());
    if let Some(expires) = expires_on
        && expires <= given_on.unwrap_or(today)
    {
        errors.insert("expires_on".into(), "field-cases-expires_before_given");
    }
    v::finish(errors)?;
    Ok(NewConsent {
        scope: input.scope.clone().unwrap_or_default(),
        category: input.category.clone(),
        given_on: given_on.unwrap_or(today),
        expires_on,
    })
}

/// Records a consent of a client the caller works on (`consent_record`); audited.
pub async fn record(state: &AppState, user: &Authz, client_id: &str, input: &ConsentInput) -> Result<Consent, Error> {
    let client = user.require_client(client_id, Action::ConsentRecord).await?;
    let today = state.clock.today();
    let new = validate_input(&state.db, input, today).await?;
    let mut tx = state.begin().await?;
    let consent = insert(&mut tx, &client.id, &new, Some(user.id()), state.clock.now()).await?;
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::CONSENT_RECORD, Outcome::Success)
                .client(&client.code)
                .object(&consent.id)
                .reason(&new.scope)],
        )
        .await?;
    Ok(consent)
}

/// Withdraws a consent (`consent_record`); audited. Withdrawing consent to processing
/// alerts the district's supervisors, who decide on erasure.
pub async fn withdraw(
    state: &AppState,
    user: &Authz,
    client_id: &str,
    consent_id: &str,
    input: &WithdrawInput,
) -> Result<Consent, Error> {
    let client = user.require_client(client_id, Action::ConsentRecord).await?;
    let today = state.clock.today();
    let Some(consent) = get(&state.db, &client.id, consent_id, today).await? else {
        return Err(Error::NotFound);
    };
    if consent.withdrawn_on.is_some() {
        return Err(Error::conflict("already_withdrawn"));
    }
    let mut errors = FieldErrors::new();
    let on = v::past_date(&mut errors, "on", input.on.as_deref(), today).unwrap_or(today);
    if on.to_string() < consent.given_on {
        errors.insert("on".into(), "field-cases-before_given");
    }
    v::finish(errors)?;
    let now = state.clock.now();
    let mut tx = state.begin().await?;
    if !store::mark_withdrawn(&mut tx, &client.id, consent_id, on, user.id()).await? {
        return Err(Error::conflict("already_withdrawn"));
    }
    if consent.scope == DATA_PROCESSING {
        alerts::raise(
            &mut tx,
            &client.id,
            alerts::DATA_PROCESSING_WITHDRAWN,
            Some(user.id()),
            now,
        )
        .await?;
    }
    state
        .commit_audited(
            tx,
            &[user
                .event(actions::CONSENT_WITHDRAW, Outcome::Success)
                .client(&client.code)
                .object(consent_id)
                .reason(&consent.scope)],
        )
        .await?;
    get(&state.db, &client.id, consent_id, today)
        .await?
        .ok_or(Error::NotFound)
}
