//! `hoanhap areas list|import|reform|move`: the area hierarchy from the command line, for
//! an installation setting up its units, applying a reorganisation such as 2025's and
//! moving its clients and staff to the new units. Changes are audited with actor `cli`,
//! like every other command's.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Subcommand;

use super::admin::{CLI_ACTOR, open};
use crate::areas::service::{self, Imported};
use crate::config::Settings;
use crate::error::Error;
use crate::web::Lang;

#[derive(Debug, Subcommand)]
pub enum AreasCommand {
    /// Print every unit: code, name, kind, parent and validity.
    List,
    /// Add the units of a CSV file (`code,name,kind,parent`, optionally `valid_from`,
    /// `valid_to`, `predecessors`), in one transaction.
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Apply a reorganisation: the file's units valid from `--on`, each predecessor it
    /// names (`predecessors` or `predecessor_2024`) retired the day before.
    Reform {
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// The day the new units take effect (YYYY-MM-DD), e.g. 2025-07-01.
        #[arg(long, value_name = "DATE")]
        on: String,
    },
    /// After a reform, move clients (a CSV `code,to`, with `--on`) or staff accounts (a
    /// CSV `username,to`) of retired units to the units that succeeded them; all lines or
    /// none.
    Move {
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// The day the clients belong to their new units (YYYY-MM-DD), e.g. 2025-07-01.
        #[arg(long, value_name = "DATE")]
        on: Option<String>,
    },
}

/// Prints each refused line of `file` in English.
fn refused(file: &std::path::Path, e: Error) -> String {
    match e {
        Error::Validation(fields) => {
            for (field, message) in fields {
                eprintln!("{}: {field}: {}", file.display(), Lang::En.t(message));
            }
            "nothing was changed".to_owned()
        }
        e => e.to_string(),
    }
}

/// `hoanhap areas move`: clients when the file's header names `code`, accounts when it
/// names `username`.
async fn move_from(state: &crate::AppState, file: &std::path::Path, on: Option<String>) -> Result<ExitCode, String> {
    use crate::moves::model::read_csv;
    use crate::moves::{AccountMove, AccountMoves, ClientMove, ClientMoves};
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    // Spreadsheet programs often start a CSV with a byte-order mark.
    let text = text.trim_start_matches('\u{feff}');
    let header = text.lines().next().unwrap_or_default().to_ascii_lowercase();
    let moved = if header.split(',').any(|column| column.trim() == "username") {
        if on.is_some() {
            return Err("--on is for a file of clients: an account's new scope holds at once".to_owned());
        }
        let rows = read_csv(text, "username").map_err(|fields| refused(file, Error::Validation(fields)))?;
        let input = AccountMoves {
            moves: rows
                .into_iter()
                .map(|(username, to)| AccountMove { username, to })
                .collect(),
        };
        crate::moves::service::move_accounts_as(state, CLI_ACTOR, &input).await
    } else {
        let rows = read_csv(text, "code").map_err(|fields| refused(file, Error::Validation(fields)))?;
        let input = ClientMoves {
            on,
            moves: rows.into_iter().map(|(code, to)| ClientMove { code, to }).collect(),
        };
        crate::moves::service::move_clients_as(state, CLI_ACTOR, &input).await
    };
    let moved = moved.map_err(|e| refused(file, e))?;
    println!("{} moved", moved.moved);
    Ok(ExitCode::SUCCESS)
}

pub async fn command(command: AreasCommand, settings: Settings) -> Result<ExitCode, String> {
    let state = open(settings).await?;
    let (file, on) = match command {
        AreasCommand::List => {
            for a in state.areas.current().all() {
                let day = |d: Option<NaiveDate>| d.map_or_else(|| "-".to_owned(), |d| d.to_string());
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    a.code,
                    a.name,
                    a.kind,
                    a.parent.as_deref().unwrap_or("-"),
                    day(a.valid_from),
                    day(a.valid_to)
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        AreasCommand::Move { file, on } => return move_from(&state, &file, on).await,
        AreasCommand::Import { file } => (file, None),
        AreasCommand::Reform { file, on } => {
            let day = crate::dates::parse_iso(&on).ok_or_else(|| format!("--on {on}: not a date (YYYY-MM-DD)"))?;
            (file, Some(day))
        }
    };
    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    match service::import(&state, CLI_ACTOR, &text, on).await {
        Ok(Imported {
            added,
            unchanged,
            retired,
        }) => {
            println!("{added} units added, {unchanged} already present, {retired} retired");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(refused(&file, e)),
    }
}
