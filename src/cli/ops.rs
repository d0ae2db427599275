//! The operations commands: `backup`, `restore`, `erasures verify`. Each writes its audit
//! entry with actor `cli`; progress goes to stderr, results to stdout.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Subcommand;

use super::admin::CLI_ACTOR;
use crate::audit::{Event, Outcome, actions};
use crate::backup::{self, FORMAT, Header};
use crate::config::Settings;
use crate::crypto::{self, Keyring};
use crate::db::Db;

#[derive(Debug, Subcommand)]
pub enum ErasuresCommand {
    /// Check the chain of the erasure ledger file: exit 0 printing its entries, 1 naming
    /// the first entry that does not verify.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Replace the master key (stop the servers first): data keys re-wrapped, blind indexes
    /// recomputed, account secrets re-sealed, master.age replaced; the audit trail and the
    /// erasure ledger keep verifying.
    Rotate,
    /// Show, add or remove the recovery recipients master.age is encrypted to.
    Recipients {
        #[command(subcommand)]
        command: RecipientsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RecipientsCommand {
    /// Print the server's public key and the recovery recipients.
    List,
    /// Encrypt master.age to one more recovery recipient (age1...).
    Add { recipient: String },
    /// Stop encrypting master.age to a recovery recipient.
    Remove { recipient: String },
}

pub async fn keys(command: KeysCommand, settings: Settings) -> Result<ExitCode, String> {
    let files = settings.key_files();
    let command = match command {
        KeysCommand::Rotate => return rotate(settings).await,
        KeysCommand::Recipients { command } => command,
    };
    let current = files
        .recovery_recipients(&settings.keys.recovery_recipients)
        .map_err(|e| e.to_string())?;
    let (next, said) = match &command {
        RecipientsCommand::List => {
            let (server, recovery) =
                crate::keys::recipients::list(&files, &settings.keys.recovery_recipients).map_err(|e| e.to_string())?;
            println!("server   {server}");
            for r in recovery {
                println!("recovery {r}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        RecipientsCommand::Add { recipient } => (
            crate::keys::recipients::with(&current, recipient)
                .map_err(|_| format!("{recipient} is not an age X25519 public key (age1...)"))?,
            "added",
        ),
        RecipientsCommand::Remove { recipient } => (crate::keys::recipients::without(&current, recipient), "removed"),
    };
    let Some(next) = next else {
        println!(
            "nothing to do: the recipient is {}",
            if said == "added" { "already there" } else { "not there" }
        );
        return Ok(ExitCode::SUCCESS);
    };
    crate::keys::recipients::set(&files, &next).map_err(|e| e.to_string())?;
    let state = crate::open(settings).await.map_err(|e| e.to_string())?;
    state
        .audit_log
        .append(
            Event::new(CLI_ACTOR, actions::KEYS_RECIPIENTS, Outcome::Success)
                .reason(&format!("recovery recipient {said}; {} now", next.len())),
            state.clock.now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "recovery recipient {said}; master.age is encrypted to the server and {} recovery recipient(s)",
        next.len()
    );
    if next.is_empty() {
        eprintln!("warning: no recovery recipient left; losing the server identity loses all client data");
    }
    Ok(ExitCode::SUCCESS)
}

/// `hoanhap keys rotate`.
async fn rotate(settings: Settings) -> Result<ExitCode, String> {
    let files = settings.key_files();
    let recovery = files
        .recovery_recipients(&settings.keys.recovery_recipients)
        .map_err(|e| e.to_string())?;
    let state = crate::open(settings.clone()).await.map_err(|e| e.to_string())?;
    eprintln!(
        "rotating key {}: stop every server of this installation first",
        state.keyring.key_id()
    );
    let rotated = crate::keys::service::rotate(&state.db, &files, &state.keyring, &recovery)
        .await
        .map_err(|e| format!("{e}; the installation still opens with its old key"))?;
    drop(state);
    let state = crate::open(settings).await.map_err(|e| e.to_string())?;
    state
        .audit_log
        .append(
            Event::new(CLI_ACTOR, actions::KEYS_ROTATE, Outcome::Success).reason(&format!(
                "key {} replaced by {}: {} clients, {} accounts",
                rotated.old_key_id, rotated.new_key_id, rotated.clients, rotated.accounts
            )),
            state.clock.now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let chain = state.audit_log.verify().await.map_err(|e| e.to_string())?;
    println!(
        "master key {} replaced by {}: {} client data keys re-wrapped and blind indexes recomputed, {} account          secrets re-sealed; audit trail {}",
        rotated.old_key_id,
        rotated.new_key_id,
        rotated.clients,
        rotated.accounts,
        match chain {
            crate::audit::Verification::Intact { .. } => "intact",
            crate::audit::Verification::Broken { .. } => "BROKEN: run hoanhap audit verify",
        }
    );
    println!("take a backup now: older backups restore only with the old master.age");
    Ok(ExitCode::SUCCESS)
}

fn progress(table: &str, rows: u64) {
    eprintln!("  {table}: {rows} row(s)");
}

/// `hoanhap backup --output FILE`: written to `FILE.partial` (mode 0600, encrypted from
/// its first byte) and renamed once complete, so a cut-short run leaves no file named as a
/// backup.
pub async fn backup(settings: Settings, output: &Path) -> Result<ExitCode, String> {
    if output.exists() {
        return Err(format!("{} exists; choose a new file name", output.display()));
    }
    let files = settings.key_files();
    let recovery = files
        .recovery_recipients(&settings.keys.recovery_recipients)
        .map_err(|e| e.to_string())?;
    let parsed = crypto::parse_recipients(&recovery).map_err(|e| e.to_string())?;
    let server = files.server_recipient().map_err(|e| e.to_string())?;
    let master_age =
        std::fs::read(&files.master).map_err(|e| format!("cannot read {}: {e}", files.master.display()))?;
    let state = crate::open(settings).await.map_err(|e| e.to_string())?;

    let mut recipients: Vec<&dyn age::Recipient> = vec![&server];
    recipients.extend(parsed.iter().map(|r| r as &dyn age::Recipient));
    let partial = output.with_extension("partial");
    let file = create_private(&partial)?;
    let encryptor = age::Encryptor::with_recipients(recipients.into_iter()).map_err(|e| e.to_string())?;
    let mut writer = encryptor
        .wrap_output(std::io::BufWriter::new(file))
        .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    let header = Header {
        format: FORMAT.into(),
        schema_version: 0,
        engine: String::new(),
        taken_at: crate::db::timestamp(state.clock.now()),
        key_id: state.keyring.key_id().to_owned(),
        audit_head: String::new(),
        master_age: STANDARD.encode(&master_age),
        recovery_recipients: recovery.clone(),
    };
    eprintln!("backing up to {}", output.display());
    let written = backup::backup(&state.db, header, &mut writer, &mut progress).await;
    let manifest = match written {
        Ok(m) => m,
        Err(e) => {
            drop(writer);
            let _ = std::fs::remove_file(&partial);
            return Err(e.to_string());
        }
    };
    let finished = writer
        .finish()
        .and_then(|mut inner| inner.flush().map(|()| inner))
        .and_then(|inner| inner.into_inner().map_err(|e| e.into_error()))
        .and_then(|file| file.sync_all());
    if let Err(e) = finished {
        let _ = std::fs::remove_file(&partial);
        return Err(format!("cannot write {}: {e}", partial.display()));
    }
    std::fs::rename(&partial, output).map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    crypto::sync_parent(output).map_err(|e| e.to_string())?;
    let rows: u64 = manifest.tables.values().sum();
    state
        .audit_log
        .append(
            Event::new(CLI_ACTOR, actions::BACKUP_TAKE, Outcome::Success)
                .reason(&format!("{} tables, {rows} rows", manifest.tables.len())),
            state.clock.now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "backup written: {} ({} tables, {rows} rows), encrypted to the server and {} recovery recipient(s)",
        output.display(),
        manifest.tables.len(),
        recovery.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn create_private(path: &Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `hoanhap restore --input FILE [--identity FILE]`.
pub async fn restore(settings: Settings, input: &Path, identity: Option<PathBuf>) -> Result<ExitCode, String> {
    let files = settings.key_files();
    let identity_path = identity.unwrap_or_else(|| files.identity.clone());
    let identity = crypto::read_identity(&identity_path).map_err(|e| e.to_string())?;
    let file = std::fs::File::open(input).map_err(|e| format!("cannot read {}: {e}", input.display()))?;
    let decryptor = age::Decryptor::new(BufReader::new(file))
        .map_err(|e| format!("{} is not an age-encrypted backup: {e}", input.display()))?;
    let reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| {
            format!(
                "{} does not open with {}: {e}",
                input.display(),
                identity_path.display()
            )
        })?;
    let mut reader = BufReader::new(reader);
    let header = backup::service::read_header(&mut reader).map_err(|e| e.to_string())?;

    let keyring = if files.master.exists() {
        let keyring = Keyring::load(&files).map_err(|e| e.to_string())?;
        if keyring.key_id() != header.key_id {
            return Err(format!(
                "the keys in {} (key id {}) are not the keys of this backup (key id {}); restore into an \
                 installation without master.age, or with that installation's keys",
                files.master.display(),
                keyring.key_id(),
                header.key_id
            ));
        }
        keyring
    } else {
        let bytes = STANDARD
            .decode(&header.master_age)
            .map_err(|_| "the backup's master key is damaged".to_string())?;
        let master =
            crypto::decrypt_master_bytes(&bytes, "the backup's master.age", &identity).map_err(|e| e.to_string())?;
        crypto::install_master(&files, &master, &header.recovery_recipients).map_err(|e| e.to_string())?;
        eprintln!("wrote {} from the backup", files.master.display());
        Keyring::from_master(&master).map_err(|e| e.to_string())?
    };

    let url = settings.database_url().map_err(|e| e.to_string())?;
    let shown = crate::db::shown_url(&url);
    let db = Db::connect(&url).await.map_err(|e| e.to_string())?;
    let ledger = crate::erasures::LedgerFile::new(settings.ledger_path());
    let entries = ledger.read().map_err(|e| e.to_string())?;
    eprintln!(
        "restoring a backup taken {} on {} into {shown}",
        header.taken_at, header.engine
    );
    let restored = backup::restore(&db, &keyring, &header, &mut reader, entries, &mut progress)
        .await
        .map_err(|e| format!("{shown}: {e}; nothing was restored"))?;
    drop(db);
    ledger
        .append(&restored.reapplied.missing_from_file)
        .map_err(|e| e.to_string())?;
    let state = crate::open(settings).await.map_err(|e| e.to_string())?;
    crate::erasures::service::record(&state, &restored.reapplied)
        .await
        .map_err(|e| e.to_string())?;
    let rows: u64 = restored.manifest.tables.values().sum();
    state
        .audit_log
        .append(
            Event::new(CLI_ACTOR, actions::BACKUP_RESTORE, Outcome::Success).reason(&format!(
                "backup taken {} on {}: {} tables, {rows} rows; {} erased again",
                header.taken_at,
                header.engine,
                restored.manifest.tables.len(),
                restored.reapplied.erased_again.len()
            )),
            state.clock.now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "restored {} tables, {rows} rows into {shown}; {} client(s) erased since the backup erased again",
        restored.manifest.tables.len(),
        restored.reapplied.erased_again.len()
    );
    for code in &restored.reapplied.erased_again {
        println!("erased again: {code}");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn erasures(command: ErasuresCommand, settings: Settings) -> Result<ExitCode, String> {
    match command {
        ErasuresCommand::Verify => {
            let path = settings.ledger_path();
            let state = crate::open(settings).await.map_err(|e| e.to_string())?;
            match crate::erasures::service::verify_file(&state).await {
                Ok(n) => {
                    println!("erasure ledger {}: {n} entries, chain intact", path.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("erasure ledger {}: {e}", path.display());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
