//! The audit log file: JSON Lines. Requests append their line to a shared
//! buffer (a copy under a lock, no wake-up, no system call); one writer
//! thread writes the buffer out every [`FLUSH_EVERY`], sooner once it holds
//! [`FLUSH_BYTES`], and everything on close. Rotated by size (`audit.jsonl`
//! → `audit.jsonl.1` → …).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a record may wait in memory before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// How much may wait before the writer is woken early.
const FLUSH_BYTES: usize = 256 * 1024;

/// Why the audit log could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the audit log `{}`: {source}; set `audit_log` in the gateway block or --audit-log", path.display())]
pub struct AuditLogError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// Lines waiting to be written.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An open audit log.
pub struct AuditLog {
    path: PathBuf,
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl AuditLog {
    /// Opens (appending to) `path`, creating its directory; rotates past
    /// `rotate_bytes`, keeping `keep` old files.
    pub fn open(path: &Path, rotate_bytes: u64, keep: usize) -> Result<AuditLog, AuditLogError> {
        let failed = |source| AuditLogError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        let file = open_append(path).map_err(failed)?;
        let written = file.metadata().map_err(failed)?.len();
        let shared = Arc::new(Shared::default());
        let writer = Writer {
            path: path.to_path_buf(),
            file,
            written,
            rotate_bytes,
            keep,
        };
        let queue = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("audit-log".to_string())
            .spawn(move || writer.run(&queue))
            .map_err(failed)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            shared,
            writer: Mutex::new(Some(thread)),
        })
    }

    /// Queues one line (without its newline).
    pub fn write(&self, line: &[u8]) {
        let mut pending = self.shared.lock();
        if pending.closed {
            drop(pending);
            tracing::error!(path = %self.path.display(), "an audit record came after the audit log was closed");
            return;
        }
        pending.bytes.extend_from_slice(line);
        pending.bytes.push(b'\n');
        let full = pending.bytes.len() >= FLUSH_BYTES;
        drop(pending);
        if full {
            self.shared.wake.notify_one();
        }
    }

    /// Writes out every queued line, flushes, and stops the writer. Records
    /// after this are lost (and logged as such).
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        let thread = self.writer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!(path = %self.path.display(), "the audit log writer failed");
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

struct Writer {
    path: PathBuf,
    file: File,
    written: u64,
    rotate_bytes: u64,
    keep: usize,
}

impl Writer {
    /// Writes out what has queued up, every [`FLUSH_EVERY`] or sooner when
    /// there is much, until the log is closed.
    fn run(mut self, shared: &Shared) {
        loop {
            let (batch, closed) = {
                let mut pending = shared.lock();
                if !pending.closed && pending.bytes.len() < FLUSH_BYTES {
                    pending = shared
                        .wake
                        .wait_timeout(pending, FLUSH_EVERY)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                (std::mem::take(&mut pending.bytes), pending.closed)
            };
            let mut lines = batch.split_inclusive(|b| *b == b'\n').peekable();
            while lines.peek().is_some() {
                // Each file holds whole lines and stays under the rotation size.
                let mut chunk = Vec::new();
                while let Some(line) = lines.peek() {
                    let fits = self.written + (chunk.len() + line.len()) as u64 <= self.rotate_bytes;
                    if !fits && (self.written > 0 || !chunk.is_empty()) {
                        break;
                    }
                    chunk.extend_from_slice(line);
                    lines.next();
                }
                if !chunk.is_empty() {
                    let written = self.file.write_all(&chunk);
                    self.report(written);
                    self.written += chunk.len() as u64;
                }
                if lines.peek().is_some() {
                    let rotated = self.rotate();
                    if rotated.is_err() {
                        // Write on rather than retry at once: reopen the file
                        // (it may have been moved away) and count afresh.
                        if let Ok(file) = open_append(&self.path) {
                            self.file = file;
                        }
                        self.written = 0;
                    }
                    self.report(rotated);
                }
            }
            if closed {
                let synced = self.file.sync_data();
                self.report(synced);
                return;
            }
        }
    }

    /// `audit.jsonl.(n-1)` → `audit.jsonl.n`, …, `audit.jsonl` → `audit.jsonl.1`,
    /// dropping the oldest, then starts a new file.
    fn rotate(&mut self) -> std::io::Result<()> {
        let numbered = |n: usize| {
            let mut name = self.path.as_os_str().to_owned();
            name.push(format!(".{n}"));
            PathBuf::from(name)
        };
        for n in (1..self.keep).rev() {
            let from = numbered(n);
            if from.exists() {
                std::fs::rename(&from, numbered(n + 1))?;
            }
        }
        std::fs::rename(&self.path, numbered(1))?;
        self.file = open_append(&self.path)?;
        self.written = 0;
        Ok(())
    }

    fn report(&self, result: std::io::Result<()>) {
        if let Err(e) = result {
            tracing::error!(path = %self.path.display(), error = %e, "cannot write the audit log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_appended_flushed_on_close_and_rotated_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit").join("audit.jsonl");
        let log = AuditLog::open(&path, 100, 2).unwrap();
        for i in 0..10 {
            log.write(format!(r#"{{"n":{i},"pad":"{}"}}"#, "x".repeat(20)).as_bytes());
        }
        log.close();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let numbered = |n: u8| PathBuf::from(format!("{}.{n}", path.display()));
        let (current, one, two) = (read(&path), read(&numbered(1)), read(&numbered(2)));
        assert!(!numbered(3).exists(), "only `keep` old files are kept");
        for text in [&current, &one, &two] {
            assert!(
                !text.is_empty() && text.len() < 100,
                "each file stays under the limit: {text:?}"
            );
        }
        let all = format!("{two}{one}{current}");
        let last: Vec<u64> = all
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["n"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(last.last(), Some(&9), "the newest record is in the current file");
        assert!(
            last.windows(2).all(|w| w[1] == w[0] + 1),
            "in order, none lost within kept files"
        );
    }

    #[test]
    fn a_failed_rotation_writes_on_instead_of_spinning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, 10, 2).unwrap();
        // Moved away, as an outside logrotate might: renaming it fails.
        std::fs::remove_file(&path).unwrap();
        for n in 0..3 {
            log.write(format!("{{\"n\":{n}}}").as_bytes());
        }
        log.close();
        let text = [path.clone(), PathBuf::from(format!("{}.1", path.display()))]
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect::<String>();
        // The first line went into the removed file; the rest are on disk.
        assert!(text.contains(r#"{"n":1}"#) && text.contains(r#"{"n":2}"#), "{text}");
    }

    #[test]
    fn reopening_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        for n in 0..2 {
            let log = AuditLog::open(&path, 1 << 20, 2).unwrap();
            log.write(format!("{{\"n\":{n}}}").as_bytes());
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"n\":0}\n{\"n\":1}\n");
    }
}
