//! The command line: `serve` (default), `init`, `user`, `areas`, `policy check`,
//! `audit verify`, `audit checkpoint`, `backup`, `restore`, `erasures verify`.

mod admin;
mod areas;
mod ops;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "hoanhap",
    version,
    about = "Confidential case management for community reintegration"
)]
pub struct Cli {
    /// Settings file (default: ./hoanhap.toml if present; also HOANHAP_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Create the server identity and the master key of a new installation.
    Init {
        /// An offline recovery recipient (age1...); repeat for several.
        #[arg(long = "recovery-recipient", value_name = "AGE_RECIPIENT")]
        recovery_recipients: Vec<String>,
    },
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: admin::UserCommand,
    },
    /// List the areas, import units from a CSV file, apply a reorganisation, or move
    /// clients and staff to the units that succeeded theirs.
    Areas {
        #[command(subcommand)]
        command: areas::AreasCommand,
    },
    /// Check the authorisation policies.
    Policy {
        #[command(subcommand)]
        command: admin::PolicyCommand,
    },
    /// Check the audit trail, or take a checkpoint of it.
    Audit {
        #[command(subcommand)]
        command: admin::AuditCommand,
    },
    /// Fill a new, empty installation with synthetic clients and one account per role
    /// (passwords printed once), then serve.
    Demo {
        /// Only fill the installation; do not start the server.
        #[arg(long)]
        no_serve: bool,
    },
    /// Write an age-encrypted backup of the whole installation while it runs.
    Backup {
        /// The backup file to write (never overwritten).
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Restore a backup into the configured, empty database, then erase again every client
    /// of the erasure ledger.
    Restore {
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// The age identity that opens the backup (default: the server identity); a
        /// recovery identity restores onto a new machine.
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
    },
    /// Manage the keys: the recovery recipients of master.age.
    Keys {
        #[command(subcommand)]
        command: ops::KeysCommand,
    },
    /// Check the erasure ledger file.
    Erasures {
        #[command(subcommand)]
        command: ops::ErasuresCommand,
    },
    /// Erase cases closed longer ago than policies/retention.toml allows.
    Retention {
        /// Only list the codes that would be erased.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs the command line; every failure is a message on stderr and a non-zero exit.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hoanhap: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hoanhap: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command.unwrap_or(Command::Serve), settings));
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("hoanhap: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(settings: &Settings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn run(command: Command, settings: Settings) -> Result<ExitCode, String> {
    match command {
        Command::Serve => serve(settings).await,
        Command::User { command } => admin::user(command, settings).await,
        Command::Areas { command } => areas::command(command, settings).await,
        Command::Policy { command } => admin::policy(command, &settings),
        Command::Audit { command } => admin::audit_command(command, settings).await,
        Command::Demo { no_serve } => crate::demo::command(settings, no_serve).await,
        Command::Backup { output } => ops::backup(settings, &output).await,
        Command::Restore { input, identity } => ops::restore(settings, &input, identity).await,
        Command::Keys { command } => ops::keys(command, settings).await,
        Command::Erasures { command } => ops::erasures(command, settings).await,
        Command::Retention { dry_run } => crate::retention::command(settings, dry_run).await,
        Command::Init { recovery_recipients } => {
            let mut settings = settings;
            settings.keys.recovery_recipients.extend(recovery_recipients);
            let files = settings.key_files();
            let outcome =
                crate::crypto::init_keys(&files, &settings.keys.recovery_recipients).map_err(|e| e.to_string())?;
            println!(
                "server identity: {} (keep it secret, back it up offline)",
                files.identity.display()
            );
            println!("master key:      {}", files.master.display());
            println!("server public key: {}", outcome.server_recipient);
            if outcome.recovery_recipients == 0 {
                eprintln!(
                    "warning: no recovery recipient given; losing {} loses all client data",
                    files.identity.display()
                );
            } else {
                println!("recovery recipients: {}", outcome.recovery_recipients);
            }
            crate::open(settings).await.map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(settings: Settings) -> Result<ExitCode, String> {
    crate::ensure_keys(&settings).map_err(|e| e.to_string())?;
    let listen = settings.listen;
    let state = crate::open(settings).await.map_err(|e| e.to_string())?;
    crate::erasures::reconcile(&state).await.map_err(|e| e.to_string())?;
    crate::retention::spawn_daily(state.clone()).map_err(|e| e.to_string())?;
    crate::auth::session_store::spawn_purge(state.db.clone());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    if let Some(address) = state.settings.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address} for metrics: {e}"))?;
        let app = crate::metrics_app(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, app).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
        tracing::info!(%address, "metrics on /metrics");
    }
    admin::announce_setup(&state, listener.local_addr().unwrap_or(listen)).await?;
    tracing::info!(%listen, "hoanhap is serving");
    crate::serve(listener, state, crate::shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
