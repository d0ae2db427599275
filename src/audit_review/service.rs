//! Every operation needs `audit_read` and is itself audited.

use crate::AppState;
use crate::audit::actions;
use crate::audit::{Checkpoint, CheckpointError, Entry, Filter, Outcome, Report};
use crate::authz::Authz;
use crate::error::Error;
use crate::policy::{Action, Resource};

/// Authorises the review without doing anything yet: for a page that shows the form
/// before any search.
pub async fn open(authz: &Authz) -> Result<(), Error> {
    authz.require(Action::AuditRead, Resource::system()).await
}

/// The entries matching `filter`, newest first. Audited `audit_read`.
pub async fn search(state: &AppState, authz: &Authz, filter: &Filter) -> Result<Vec<Entry>, Error> {
    open(authz).await?;
    let entries = state.audit_log.list(filter).await?;
    state.audit(authz.event(actions::AUDIT_READ, Outcome::Success)).await?;
    Ok(entries)
}

fn outcome(report: &Report) -> Outcome {
    if report.ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

/// Checks the whole chain and the audit head kept in every statistics release. Audited
/// `audit_verify`, a failure when the chain does not verify.
pub async fn verify(state: &AppState, authz: &Authz) -> Result<Report, Error> {
    open(authz).await?;
    let report = state.audit_log.report(None).await?;
    state
        .audit(authz.event(actions::AUDIT_VERIFY, outcome(&report)))
        .await?;
    Ok(report)
}

/// As [`verify`], and that the trail still holds the entry of a checkpoint the auditor
/// kept: pasted as text (`None` when the field was left empty) or sent as JSON and
/// checked already. A checkpoint that does not check, or a trail that lost entries
/// since, is audited as a flagged failure.
pub async fn verify_checkpoint(
    state: &AppState,
    authz: &Authz,
    checkpoint: Option<Result<Checkpoint, CheckpointError>>,
) -> Result<(Report, Checkpoint), Error> {
    open(authz).await?;
    let checkpoint = match checkpoint {
        None => return Err(Error::field("checkpoint", "field-required")),
        Some(Err(e)) => {
            state
                .audit(
                    authz
                        .event(actions::AUDIT_VERIFY, Outcome::Failure)
                        .reason(&e.to_string())
                        .flagged(),
                )
                .await?;
            return Err(Error::field("checkpoint", e.message_id()));
        }
        Some(Ok(checkpoint)) => checkpoint,
    };
    let report = state.audit_log.report(Some(&checkpoint)).await?;
    let mut event = authz
        .event(actions::AUDIT_VERIFY, outcome(&report))
        .object(&format!("checkpoint:{}", checkpoint.seq));
    if !report.ok() {
        event = event.flagged();
    }
    state.audit(event).await?;
    Ok((report, checkpoint))
}

/// Signs the current head of a verified chain, for the auditor to keep off the server;
/// a conflict (`audit_chain_broken`) when the chain does not verify. Audited
/// `audit_checkpoint` with the entry it signs.
pub async fn take_checkpoint(state: &AppState, authz: &Authz) -> Result<Checkpoint, Error> {
    open(authz).await?;
    state
        .audit_log
        .checkpoint(
            &state.keyring,
            authz.event(actions::AUDIT_CHECKPOINT, Outcome::Success),
            state.clock.now(),
        )
        .await?
        .map_err(|_| Error::conflict("audit_chain_broken"))
}
