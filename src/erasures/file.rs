//! The ledger file: one JSON object a line, appended and synced, never rewritten.

use std::io::{BufRead, Seek, Write};
use std::path::{Path, PathBuf};

use super::model::LedgerEntry;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot use the erasure ledger {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the erasure ledger {path} is damaged at line {line}")]
    Damaged { path: String, line: usize },
}

/// The append-only file `erasure_ledger_file`.
#[derive(Debug, Clone)]
pub struct LedgerFile {
    path: PathBuf,
}

impl LedgerFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> FileError {
        FileError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Every entry, in file order; none if the file does not exist yet. A last line cut
    /// short (a crash while appending) is left out: the database still holds that entry
    /// and it is written again by the next check.
    pub fn read(&self) -> Result<Vec<LedgerEntry>, FileError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        let mut entries = Vec::new();
        let mut reader = std::io::BufReader::new(file);
        let mut line = String::new();
        let mut number = 0;
        loop {
            line.clear();
            let read = reader.read_line(&mut line).map_err(|e| self.io(e))?;
            if read == 0 {
                break;
            }
            number += 1;
            if !line.ends_with('\n') {
                break;
            }
            if line.trim().is_empty() {
                continue;
            }
            let entry = serde_json::from_str(line.trim()).map_err(|_| FileError::Damaged {
                path: self.path.display().to_string(),
                line: number,
            })?;
            entries.push(entry);
        }
        Ok(entries)
    }

    /// The highest `seq` in the file, 0 if it holds none.
    pub fn last_seq(&self) -> Result<i64, FileError> {
        Ok(self.read()?.iter().map(|e| e.seq).max().unwrap_or(0))
    }

    /// Appends entries and syncs them to disk. A last line cut short by a crash is cut
    /// off first, so the file stays one entry a line. Creates the file (mode 0600).
    pub fn append(&self, entries: &[LedgerEntry]) -> Result<(), FileError> {
        use std::os::unix::fs::OpenOptionsExt;
        if entries.is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::crypto::create_private_dir(dir).map_err(|e| self.io(e))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        let len = file.metadata().map_err(|e| self.io(e))?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(std::io::SeekFrom::Start(len - 1)).map_err(|e| self.io(e))?;
            std::io::Read::read_exact(&mut file, &mut last).map_err(|e| self.io(e))?;
            if last[0] != b'\n' {
                let keep = complete_length(&self.path).map_err(|e| self.io(e))?;
                file.set_len(keep).map_err(|e| self.io(e))?;
            }
        }
        let mut text = String::new();
        for entry in entries {
            let line = serde_json::to_string(entry).map_err(|e| self.io(std::io::Error::other(e)))?;
            text.push_str(&line);
            text.push('\n');
        }
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io(e))
    }
}

/// The length of the file up to and including its last newline.
fn complete_length(path: &Path) -> std::io::Result<u64> {
    let bytes = std::fs::read(path)?;
    Ok(bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i as u64 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64) -> LedgerEntry {
        LedgerEntry {
            seq,
            client_id: format!("id-{seq}"),
            code: format!("NA-2026-{seq:05}"),
            erased_at: "2026-12-01T00:00:00Z".into(),
            erased_by: None,
            mac: vec![seq as u8; 4],
        }
    }

    #[test]
    fn a_line_cut_short_is_dropped_and_cut_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let file = LedgerFile::new(dir.path().join("sub/erasures.ledger"));
        assert!(file.read().unwrap().is_empty());
        file.append(&[entry(1), entry(2)]).unwrap();
        let mut raw = std::fs::OpenOptions::new().append(true).open(file.path()).unwrap();
        raw.write_all(b"{\"seq\":3,\"client_").unwrap();
        drop(raw);
        assert_eq!(file.read().unwrap(), vec![entry(1), entry(2)]);
        file.append(&[entry(3)]).unwrap();
        assert_eq!(file.read().unwrap(), vec![entry(1), entry(2), entry(3)]);
        std::fs::write(file.path(), "not json\n").unwrap();
        assert!(matches!(file.read(), Err(FileError::Damaged { line: 1, .. })));
    }
}
