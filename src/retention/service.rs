//! Finding the cases due for erasure and erasing them, audited as `system`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::audit::actions;
use crate::audit::{Event, Outcome};
use crate::config::Settings;

/// File name inside a policy directory.
pub const FILE: &str = "retention.toml";
const EMBEDDED: &str = include_str!("../../policies/retention.toml");
/// The actor of the job's audit entries.
pub const ACTOR: &str = "system";

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("{path}: {message}")]
    Policy { path: String, message: String },
    #[error("the database failed: {0}")]
    Store(#[from] crate::clients::StoreError),
    #[error("the audit trail cannot be written: {0}")]
    Audit(#[from] crate::audit::AuditError),
}

/// The retention rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Years a closed case is kept after its closing day.
    pub closed_case_years: u32,
}

impl RetentionPolicy {
    fn parse(text: &str, path: &str) -> Result<Self, RetentionError> {
        let policy: Self = toml::from_str(text).map_err(|e| RetentionError::Policy {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if policy.closed_case_years == 0 || policy.closed_case_years > 100 {
            return Err(RetentionError::Policy {
                path: path.to_owned(),
                message: "closed_case_years must be from 1 to 100".into(),
            });
        }
        Ok(policy)
    }

    /// The rules built into the binary.
    pub fn embedded() -> Result<Self, RetentionError> {
        Self::parse(EMBEDDED, "policies/retention.toml")
    }

    /// `retention.toml` of the configured policy directory, if there is one with that
    /// file; the built-in rules otherwise.
    pub fn load(settings: &Settings) -> Result<Self, RetentionError> {
        match &settings.policy_dir {
            Some(dir) if dir.join(FILE).exists() => Self::from_file(&dir.join(FILE)),
            _ => Self::embedded(),
        }
    }

    pub fn from_file(path: &Path) -> Result<Self, RetentionError> {
        let text = std::fs::read_to_string(path).map_err(|e| RetentionError::Policy {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Cases closed before this day are due (closed longer ago than the period).
    pub fn cutoff(&self, today: NaiveDate) -> NaiveDate {
        today
            .checked_sub_months(Months::new(self.closed_case_years.saturating_mul(12)))
            .unwrap_or(NaiveDate::MIN)
    }
}

/// A case due for erasure: codes and dates only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    pub client_id: String,
    pub code: String,
    pub closed_on: String,
}

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cutoff: NaiveDate,
    pub dry_run: bool,
    /// Due cases; erased unless `dry_run` (minus `failed`).
    pub cases: Vec<Due>,
    /// Codes whose erasure failed (logged); tried again on the next run.
    pub failed: Vec<String>,
}

/// The closed cases due on `now`'s day.
pub async fn due(state: &AppState, policy: &RetentionPolicy, now: DateTime<Utc>) -> Result<Vec<Due>, RetentionError> {
    let cutoff = policy.cutoff(now.date_naive());
    Ok(state
        .clients
        .closed_before(cutoff)
        .await?
        .into_iter()
        .map(|(client_id, code, closed_on)| Due {
            client_id,
            code,
            closed_on,
        })
        .collect())
}

/// Erases every due case (or only lists them when `dry_run`). Each erasure is its own
/// transaction, its audit entry with it.
pub async fn run(
    state: &AppState,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<Report, RetentionError> {
    let cases = due(state, policy, now).await?;
    let mut report = Report {
        cutoff: policy.cutoff(now.date_naive()),
        dry_run,
        cases: Vec::new(),
        failed: Vec::new(),
    };
    if dry_run {
        report.cases = cases;
        return Ok(report);
    }
    for case in cases {
        let event = Event::new(ACTOR, actions::RETENTION_ERASE, Outcome::Success)
            .reason(&format!(
                "closed on {}, kept {} years",
                case.closed_on, policy.closed_case_years
            ))
            .flagged();
        match state
            .clients
            .erase(&case.client_id, Some(ACTOR), now, (&state.audit_log, event))
            .await
        {
            Ok(_) => report.cases.push(case),
            Err(crate::clients::StoreError::NotFound) => {
                // Erased meanwhile (by a supervisor or another server).
            }
            Err(e) => {
                tracing::error!(code = %case.code, error = %e, "retention: erasure failed");
                report.failed.push(case.code);
            }
        }
    }
    Ok(report)
}

/// The lease of the daily run: a little under a day, so the next day's tick (on any
/// server) finds it expired.
const LEASE_HOURS: i64 = 23;

/// The daily run, on the one server that takes today's lease; `None` on the others.
pub async fn run_daily(
    state: &AppState,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> Result<Option<Report>, RetentionError> {
    let until = now + chrono::Duration::hours(LEASE_HOURS);
    let held = crate::jobs::store::take(&state.db, "retention", &state.node_id, now, until)
        .await
        .map_err(|e| RetentionError::Store(e.into()))?;
    if !held {
        return Ok(None);
    }
    run(state, policy, now, false).await.map(Some)
}

/// Runs the job now and then every day, on the current runtime. Fails at once if the
/// retention policy does not load, so `serve` does not start with a broken one.
pub fn spawn_daily(state: AppState) -> Result<tokio::task::JoinHandle<()>, RetentionError> {
    let policy = RetentionPolicy::load(&state.settings)?;
    Ok(tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(24 * 60 * 60));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match run_daily(&state, &policy, state.clock.now()).await {
                Ok(None) => tracing::info!("retention: another server holds today's run"),
                Ok(Some(report)) => tracing::info!(
                    erased = report.cases.len(),
                    failed = report.failed.len(),
                    cutoff = %report.cutoff,
                    "retention run"
                ),
                Err(e) => tracing::error!(error = %e, "retention run failed"),
            }
        }
    }))
}

/// `hoanhap retention [--dry-run]`: prints the codes erased (or due) and their closing
/// days, one a line.
pub async fn command(settings: Settings, dry_run: bool) -> Result<ExitCode, String> {
    let policy = RetentionPolicy::load(&settings).map_err(|e| e.to_string())?;
    let state = crate::open(settings).await.map_err(|e| e.to_string())?;
    let report = run(&state, &policy, state.clock.now(), dry_run)
        .await
        .map_err(|e| e.to_string())?;
    let verb = if dry_run { "would erase" } else { "erased" };
    for case in &report.cases {
        println!("{verb} {} (closed on {})", case.code, case.closed_on);
    }
    println!(
        "{} case(s) closed before {} {verb} (closed_case_years = {})",
        report.cases.len(),
        report.cutoff,
        policy.closed_case_years
    );
    for code in &report.failed {
        eprintln!("could not erase {code}; see the log");
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_keeps_closed_cases_five_years() {
        let policy = RetentionPolicy::embedded().unwrap();
        assert_eq!(policy.closed_case_years, 5);
        let today: NaiveDate = "2030-06-15".parse().unwrap();
        assert_eq!(policy.cutoff(today).to_string(), "2025-06-15");
        assert!(RetentionPolicy::parse("closed_case_years = 0", "x").is_err());
        assert!(RetentionPolicy::parse("closed_case_years = 5\nother = 1", "x").is_err());
    }
}
