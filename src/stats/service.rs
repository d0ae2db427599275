//! What managers do with the statistics: read the releases and the day's progress
//! (`stats_view`), publish a period (`stats_publish`) and export a release as a file
//! (audited). The API and the pages both call these.

use serde_json::Value;

use super::api::Format;
use super::compute::{self, Scope, Window};
use super::export::{self, ExportFile};
use super::period::Period;
use super::release::{self, Meta, Progress, Release, Summary};
use super::view::{self, Viewed};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::Authz;
use crate::error::Error;
use crate::policy::{Action, Resource};

/// Longest accepted reason for publishing a period again.
const MAX_REASON: usize = 500;

/// Authorises reading the statistics, before a request is looked at further.
pub async fn open(user: &Authz) -> Result<(), Error> {
    user.require(Action::StatsView, Resource::system()).await
}

/// Whether the caller may publish (to offer the form).
pub fn may_publish(user: &Authz) -> bool {
    user.can(Action::StatsPublish, &Resource::system())
}

/// The published releases, newest period first.
pub async fn releases(state: &AppState, user: &Authz) -> Result<Vec<Summary>, Error> {
    open(user).await?;
    Ok(release::list(&state.db).await?)
}

/// The newest release, if any, as the caller may see it.
pub async fn latest(state: &AppState, user: &Authz) -> Result<Option<Viewed>, Error> {
    open(user).await?;
    match release::latest_id(&state.db).await? {
        Some(id) => Ok(Some(view::for_user(state, user, &id).await?)),
        None => Ok(None),
    }
}

/// Release `id` as the caller may see it (narrowed to her area); 404 when there is none.
pub async fn release(state: &AppState, user: &Authz, id: &str) -> Result<Viewed, Error> {
    open(user).await?;
    view::for_user(state, user, id).await
}

/// The day's stored snapshot of province-level progress, and its JSON.
pub async fn progress(state: &AppState, user: &Authz) -> Result<(Progress, String), Error> {
    open(user).await?;
    let rules = release::rules(&state.settings)?;
    Ok(release::progress(&state.db, &state.clock, &rules).await?)
}

/// A release as a file, audited `stats_export` before it is returned (fail closed).
pub async fn export(state: &AppState, user: &Authz, release: &Release, format: Format) -> Result<ExportFile, Error> {
    open(user).await?;
    // The recipient and owner in force at the period's end (a release whose end does not
    // parse has none: the names of today).
    let end = crate::dates::parse_iso(&release.period_to).unwrap_or_else(|| state.clock.today());
    let addressees = crate::addressees::service::in_force_on(state, end).await?;
    let file = export::file(release, &addressees, format)?;
    state
        .audit(
            user.event(actions::STATS_EXPORT, Outcome::Success)
                .object(&release.id)
                .reason(file.ext),
        )
        .await?;
    Ok(file)
}

/// Publishes a release (`stats_publish`): validates the period and reason, computes,
/// protects, stores and audits; a release whose audit entry cannot be written is
/// withdrawn. Returns the release and its stored JSON.
pub async fn publish(
    state: &AppState,
    user: &Authz,
    period: &Value,
    reason: Option<&str>,
) -> Result<(Release, String), Error> {
    user.require(Action::StatsPublish, Resource::system()).await?;
    let period = Period::parse(period).map_err(|e| Error::field("period", e.message_id()))?;
    let today = state.clock.today();
    if !period.has_ended(today) {
        return Err(Error::field("period", "field-stats_period_not_ended"));
    }
    let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON) {
        return Err(Error::field("reason", "field-too_long"));
    }
    // Half-years and years are the calendar; a range of months is an exception to justify.
    if period.is_ad_hoc() && reason.is_none() {
        return Err(Error::field("reason", "field-stats_reason_required_ad_hoc"));
    }
    let rules = release::rules(&state.settings)?;
    let version = release::next_version(&state.db, &period).await?;
    if version > 1 && reason.is_none() {
        return Err(Error::field("reason", "field-stats_reason_required"));
    }
    let audit_head = state.audit_log.head().await?;
    let window = Window {
        from: period.from,
        to: period.to,
        as_of: period.to,
        today,
    };
    let figures = compute::figures(&state.db, window, rules.require_reporting_consent, Scope::Release).await?;
    // Every unit, retired ones too: the release lists those in force during its period
    // (and a retired one still holding clients), and adds units up to those they took over.
    let areas = user.catalog().all().to_vec();
    let categories = release::categories(&state.db).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let meta = Meta {
        id: id.clone(),
        period,
        version,
        published_at: crate::db::timestamp(state.clock.now()),
        reason: reason.clone(),
        audit_head,
    };
    let mut tx = state.begin().await?;
    let published = release::publish_linked(
        &mut tx,
        meta,
        &figures,
        &areas,
        &state.settings.programme.province_area,
        &categories,
        &rules,
        user.id(),
    )
    .await;
    let (release, body) = match published {
        Ok(published) => published,
        Err(release::StatsError::Db(e)) if crate::db::is_unique_violation(&e) => {
            return Err(Error::conflict("conflict"));
        }
        Err(e) => return Err(e.into()),
    };
    let mut event = user.event(actions::STATS_PUBLISH, Outcome::Success).object(&id);
    if let Some(reason) = &reason {
        event = event.reason(reason);
    }
    // A publication stands only with its audit entry: they commit together.
    state.commit_audited(tx, &[event]).await?;
    Ok((release, body))
}
