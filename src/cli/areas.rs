//! `hoanhap areas list|import|reform`: the area hierarchy from the command line, for an
//! installation setting up its units or applying a reorganisation such as 2025's. Changes
//! are audited with actor `cli`, like every other command's.

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
        Err(Error::Validation(fields)) => {
            for (field, message) in fields {
                eprintln!("{}: {field}: {}", file.display(), Lang::En.t(message));
            }
            Err("nothing was changed".to_owned())
        }
        Err(e) => Err(e.to_string()),
    }
}
