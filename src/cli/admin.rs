//! The administration commands: `user …`, `policy check`, `audit verify|checkpoint`, and the
//! first-admin setup link printed by `serve`. Changes are audited with actor `cli`.
//! Bad input is a message on stderr and a non-zero exit, never a panic.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::AppState;
use crate::audit::actions;
use crate::audit::{Checkpoint, CheckpointError, Event, Outcome, Verification, checkpoint};
use crate::auth::accounts::{self, Account, AccountError, NewAccount};
use crate::auth::{mfa, password, setup};
use crate::config::Settings;
use crate::policy::Role;
use crate::web::Lang;

/// The actor of audit entries written by the command line.
pub const CLI_ACTOR: &str = "cli";

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input (one line).
    Add {
        #[arg(long)]
        username: String,
        /// admin, supervisor, social_worker, volunteer, manager or auditor.
        #[arg(long)]
        role: String,
        /// Area code of the account's scope (the province for province-wide roles).
        #[arg(long)]
        area: String,
        /// The name shown to other staff (default: the username).
        #[arg(long = "display-name")]
        display_name: Option<String>,
        /// Read the password from standard input (required: never on the command line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account and end its sessions.
    Disable { username: String },
    /// Re-enable a disabled account.
    Enable { username: String },
    /// Set a new password (read from standard input) and end the account's sessions.
    ResetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove the account's second factor; the user enrols again at the next login.
    ResetMfa { username: String },
    /// List the accounts.
    List,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate the policies against their schema.
    Check {
        /// A folder with `schema.cedarschema` and `*.cedar` (default: the `policy_dir`
        /// setting, or the policies built in).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the HMAC chain of the audit trail and the head stored in every statistics
    /// release (and, with --checkpoint, that the trail still holds a kept checkpoint):
    /// exit 0 when all hold, 1 naming what does not.
    Verify {
        /// A checkpoint file written by `audit checkpoint`, kept off the server.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Write a signed checkpoint of the verified chain's head, for the auditor to keep off
    /// the server: a later `audit verify --checkpoint FILE` finds entries removed since.
    Checkpoint {
        /// Write it to FILE (never overwritten) instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

fn read_password(enabled: bool) -> Result<SecretString, String> {
    if !enabled {
        return Err("give the password on standard input with --password-stdin (never on the command line)".into());
    }
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = SecretString::from(line.trim_end_matches(['\n', '\r']).to_owned());
    password::check_strength(&password).map_err(|id| Lang::En.t(id))?;
    Ok(password)
}

fn parse_role(role: &str) -> Result<Role, String> {
    role.parse::<Role>().map_err(|_| {
        let names: Vec<&str> = Role::ALL.iter().map(Role::as_str).collect();
        format!("unknown role `{role}`: use one of {}", names.join(", "))
    })
}

fn account_message(e: AccountError) -> String {
    match e {
        AccountError::Invalid(field, id) => format!("{field}: {}", Lang::En.t(id)),
        AccountError::UsernameTaken => "the username is taken".into(),
        AccountError::NotFound => "no such account".into(),
        other => other.to_string(),
    }
}

pub(super) async fn open(settings: Settings) -> Result<AppState, String> {
    crate::ensure_keys(&settings).map_err(|e| e.to_string())?;
    crate::open(settings).await.map_err(|e| e.to_string())
}

async fn audit(state: &AppState, event: Event) -> Result<(), String> {
    state
        .audit_log
        .append(event, state.clock.now())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn find(state: &AppState, username: &str) -> Result<Account, String> {
    accounts::by_username(&state.db, username)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account named `{}`", username.trim()))
}

pub async fn user(command: UserCommand, settings: Settings) -> Result<ExitCode, String> {
    match command {
        UserCommand::Add {
            username,
            role,
            area,
            display_name,
            password_stdin,
        } => {
            let role = parse_role(&role)?;
            let username = accounts::normalise_username(&username).map_err(account_message)?;
            let password = read_password(password_stdin)?;
            let state = open(settings).await?;
            let area = area.trim().to_owned();
            let mut event = Event::new(CLI_ACTOR, actions::USER_CREATE, Outcome::Success);
            if crate::auth::users::reads_client_content(&state, role, &area) {
                event = event.flagged();
            }
            let account = accounts::create_issued(
                &state.db,
                NewAccount {
                    display_name: display_name.unwrap_or_else(|| username.clone()),
                    username,
                    role,
                    area,
                    password,
                },
                state.clock.now(),
                (&state.audit_log, event),
            )
            .await
            .map_err(account_message)?;
            println!(
                "created {} ({}, area {}), id {}; they choose their own password at the first login",
                account.username, account.role, account.area, account.id
            );
        }
        UserCommand::Disable { username } => set_active(settings, &username, false).await?,
        UserCommand::Enable { username } => set_active(settings, &username, true).await?,
        UserCommand::ResetPassword {
            username,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            let state = open(settings).await?;
            let account = find(&state, &username).await?;
            let event = Event::new(CLI_ACTOR, actions::USER_RESET_PASSWORD, Outcome::Success)
                .object(&account.id)
                .flagged();
            accounts::set_password(
                &state.db,
                &account.id,
                password,
                state.clock.now(),
                (&state.audit_log, event),
            )
            .await
            .map_err(account_message)?;
            println!(
                "new password set for {}; their sessions have ended and they must change it at the next login",
                account.username
            );
        }
        UserCommand::ResetMfa { username } => {
            let state = open(settings).await?;
            let account = find(&state, &username).await?;
            let mut tx = state.begin().await.map_err(|e| e.to_string())?;
            mfa::reset(&mut tx, &account.id, state.clock.now())
                .await
                .map_err(|e| e.to_string())?;
            state
                .commit_audited(
                    tx,
                    &[Event::new(CLI_ACTOR, actions::USER_RESET_MFA, Outcome::Success)
                        .object(&account.id)
                        .flagged()],
                )
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "second factor removed for {}; they enrol again at their next login",
                account.username
            );
        }
        UserCommand::List => {
            let state = open(settings).await?;
            let list = accounts::list(&state.db).await.map_err(|e| e.to_string())?;
            audit(&state, Event::new(CLI_ACTOR, actions::USERS_LIST, Outcome::Success)).await?;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{:<24} {:<14} {:<8} {:<9} {:<4} display name",
                "username", "role", "area", "status", "totp"
            );
            for a in list {
                let _ = writeln!(
                    out,
                    "{:<24} {:<14} {:<8} {:<9} {:<4} {}",
                    a.username,
                    a.role.as_str(),
                    a.area,
                    a.status,
                    if a.totp_enabled { "yes" } else { "no" },
                    a.display_name
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_active(settings: Settings, username: &str, active: bool) -> Result<(), String> {
    let state = open(settings).await?;
    let account = find(&state, username).await?;
    let mut tx = state.begin().await.map_err(|e| e.to_string())?;
    accounts::set_active(&mut tx, &account.id, active, state.clock.now())
        .await
        .map_err(account_message)?;
    let action = if active {
        actions::USER_ENABLE
    } else {
        actions::USER_DISABLE
    };
    state
        .commit_audited(
            tx,
            &[Event::new(CLI_ACTOR, action, Outcome::Success).object(&account.id)],
        )
        .await
        .map_err(|e| e.to_string())?;
    if active {
        println!("{} is enabled", account.username);
    } else {
        println!("{} is disabled; their sessions have ended", account.username);
    }
    Ok(())
}

/// `policy check`: exit 0 when the policies validate, 1 with the message otherwise.
pub fn policy(command: PolicyCommand, settings: &Settings) -> Result<ExitCode, String> {
    let PolicyCommand::Check { dir } = command;
    let dir = dir.or_else(|| settings.policy_dir.clone());
    let result = match &dir {
        Some(dir) => crate::policy::PolicyEngine::load(dir),
        None => crate::policy::PolicyEngine::embedded(),
    };
    result.map_err(|e| e.to_string())?;
    match dir {
        Some(dir) => println!("the policies in {} are valid", dir.display()),
        None => println!("the built-in policies are valid"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `audit verify [--checkpoint FILE]` and `audit checkpoint [--output FILE]`.
pub async fn audit_command(command: AuditCommand, settings: Settings) -> Result<ExitCode, String> {
    match command {
        AuditCommand::Verify { checkpoint } => audit_verify(settings, checkpoint).await,
        AuditCommand::Checkpoint { output } => audit_checkpoint(settings, output).await,
    }
}

fn read_checkpoint(path: &std::path::Path, state: &AppState) -> Result<Checkpoint, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut text = String::new();
    file.take(checkpoint::MAX_LEN as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|_| format!("{}: {}", path.display(), CheckpointError::Malformed))?;
    Checkpoint::parse(&text, state.audit_log.checkpoint_keys()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Exit 0 printing the number of entries, or 1 naming the first bad entry, each release
/// whose head is not in the chain, and a checkpoint the trail no longer holds.
async fn audit_verify(settings: Settings, checkpoint: Option<PathBuf>) -> Result<ExitCode, String> {
    let state = open(settings).await?;
    let checkpoint = checkpoint.map(|p| read_checkpoint(&p, &state)).transpose()?;
    let report = state
        .audit_log
        .report(checkpoint.as_ref())
        .await
        .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let mut problems = Vec::new();
    match report.chain {
        Verification::Intact { entries, .. } => {
            let _ = writeln!(out, "the audit trail holds: {entries} entries verified");
        }
        Verification::Broken { first_bad_seq, .. } => {
            let _ = writeln!(
                out,
                "the audit trail is broken: the first bad entry is seq {first_bad_seq}"
            );
            problems.push(format!("the audit trail is broken at entry seq {first_bad_seq}"));
        }
    }
    if report.releases.not_in_chain.is_empty() {
        let _ = writeln!(
            out,
            "{} statistics releases: each stored audit head is an entry of the chain",
            report.releases.checked
        );
    } else {
        for id in &report.releases.not_in_chain {
            let _ = writeln!(out, "statistics release {id}: its audit head is not in the chain");
        }
        problems.push(format!(
            "{} statistics release(s) name an audit head the chain no longer holds (entries were removed)",
            report.releases.not_in_chain.len()
        ));
    }
    if let (Some(kept), Some(check)) = (&checkpoint, &report.checkpoint) {
        if check.contained {
            let _ = writeln!(out, "the checkpoint {} is in the chain", kept.name());
        } else {
            let _ = writeln!(out, "the checkpoint {} is NOT in the chain", kept.name());
            problems.push(format!(
                "the audit trail no longer holds the checkpoint {}: entries were removed or replaced",
                kept.name()
            ));
        }
    }
    drop(out);
    let mut event = Event::new(CLI_ACTOR, actions::AUDIT_VERIFY, Outcome::Success);
    if let Some(kept) = &checkpoint {
        event = event.object(&format!("checkpoint:{}", kept.seq));
    }
    if problems.is_empty() {
        audit(&state, event).await?;
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems {
        eprintln!("hoanhap: {problem}");
    }
    event.outcome = Outcome::Failure;
    if let Verification::Broken { first_bad_seq, .. } = report.chain {
        event = event.object(&first_bad_seq.to_string());
    }
    audit(&state, event.flagged()).await?;
    Ok(ExitCode::FAILURE)
}

async fn take_checkpoint(settings: Settings) -> Result<Checkpoint, String> {
    let state = open(settings).await?;
    let taken = state
        .audit_log
        .checkpoint(
            &state.keyring,
            Event::new(CLI_ACTOR, actions::AUDIT_CHECKPOINT, Outcome::Success),
            state.clock.now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    taken.map_err(|first_bad_seq| {
        format!("the audit trail is broken at entry seq {first_bad_seq}: no checkpoint is issued for it")
    })
}

/// Writes the checkpoint (JSON) to `output` or standard output.
async fn audit_checkpoint(settings: Settings, output: Option<PathBuf>) -> Result<ExitCode, String> {
    use std::os::unix::fs::OpenOptionsExt;
    // Refuse an existing file before anything is recorded.
    let file = output
        .as_ref()
        .map(|path| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))
        })
        .transpose()?;
    let taken = take_checkpoint(settings).await;
    let taken = match taken {
        Ok(c) => c,
        Err(e) => {
            // No empty file is left where the auditor expects a checkpoint.
            if let Some(path) = &output {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
    };
    let json = serde_json::to_string_pretty(&taken).map_err(|e| e.to_string())? + "\n";
    match (file, &output) {
        (Some(mut file), Some(path)) => {
            file.write_all(json.as_bytes())
                .and_then(|_| file.sync_all())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!(
                "checkpoint {} written to {}; keep a copy off the server",
                taken.name(),
                path.display()
            );
        }
        _ => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(json.as_bytes());
            let _ = out.flush();
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the one-time setup link to stdout (never to the log) when no active admin
/// exists; `addr` is the address the server listens on.
pub async fn announce_setup(state: &AppState, addr: std::net::SocketAddr) -> Result<(), String> {
    if !setup::needs_first_admin(state).await.map_err(|e| e.to_string())? {
        return Ok(());
    }
    let token = setup::issue_setup_token(state).await.map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "No administrator account exists yet. Create the first one within {} minutes at:\n\n    {}\n\n\
         The link works once. Restart the server for a new one.",
        setup::TOKEN_LIFETIME_MINUTES,
        setup::setup_link(addr, &token)
    );
    let _ = out.flush();
    Ok(())
}
