//! The audit log file: JSON Lines. Requests append their line to a shared
//! buffer (a copy under a lock, no wake-up, no system call); one writer
//! thread writes the buffer out every [`FLUSH_EVERY`], sooner once it holds
//! enough, and everything on close. Rotated by size (`audit.jsonl` →
//! `audit.jsonl.1` → …).
//!
//! While the file cannot be written (a full disk, say) records wait in the
//! buffer, which is bounded (`audit_buffer_kb`): the writer reopens the file
//! and tries again every [`RETRY_EVERY`], and writes them out in order once
//! it can. A record that does not fit is dropped and counted. The file only
//! ever holds whole lines: a write that fails midway is taken back.

mod writer;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::AuditSettings;
use writer::Writer;

/// How long a record may wait in memory before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// How much may wait before the writer is woken early (at most; less with a small buffer).
const FLUSH_BYTES: usize = 256 * 1024;
/// How often a log that cannot be written is tried again.
const RETRY_EVERY: Duration = Duration::from_millis(500);

/// Why the audit log could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the audit log `{}`: {source}; set `audit_log` in the gateway block or --audit-log", path.display())]
pub struct AuditLogError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// Why audit records cannot be kept now. Says nothing of the file's path,
/// as agents may be told it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unwritable {
    /// The last attempt to write failed, with this error.
    #[error("the audit log cannot be written: {0}")]
    Failing(String),
    /// Records come faster than they are written: most of the buffer is taken.
    #[error("the audit log cannot keep up: {0} KiB of records wait to be written")]
    Behind(usize),
}

/// Whose record a line is. Records of requests that were let through may
/// fill the whole buffer; those of refused ones only three quarters of it,
/// so a flood of refusals cannot crowd out the records of what was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// A request that was allowed, approved or tunnelled.
    Admitted,
    /// A request that was refused or failed before it was let through.
    Refused,
}

/// How the log is doing, for health checks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    /// Records waiting in memory to be written.
    pub buffered_records: usize,
    /// Their size in bytes.
    pub buffered_bytes: usize,
    /// Records dropped since start: the buffer was full, or they came after close.
    pub dropped: u64,
    /// Whether the last attempt to write succeeded.
    pub writable: bool,
}

/// Lines waiting to be written, and how writing them went.
#[derive(Default)]
struct Pending {
    /// Lines queued since the writer last took them.
    bytes: Vec<u8>,
    /// How many lines `bytes` holds.
    records: usize,
    /// Bytes and lines the writer has taken but not written yet.
    held: (usize, usize),
    /// Why the last attempt to write failed; `None` once one succeeds.
    failure: Option<String>,
    /// Records dropped since start.
    dropped: u64,
    closed: bool,
}

impl Pending {
    fn buffered_bytes(&self) -> usize {
        self.bytes.len() + self.held.0
    }
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// The most bytes of records kept in memory.
    capacity: usize,
    /// How much may queue before the writer is woken early.
    wake_at: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How much of the buffer records with `priority` may fill.
    fn limit(&self, priority: Priority) -> usize {
        match priority {
            Priority::Admitted => self.capacity,
            Priority::Refused => self.capacity / 4 * 3,
        }
    }
}

/// An open audit log.
pub struct AuditLog {
    path: PathBuf,
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl AuditLog {
    /// Opens (appending to) `path`, creating its directory; rotates and
    /// buffers as `settings` say (whose own `path` is not read: the caller
    /// has chosen `path`).
    pub fn open(path: &Path, settings: &AuditSettings) -> Result<AuditLog, AuditLogError> {
        let failed = |source| AuditLogError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        let file = open_append(path).map_err(failed)?;
        let writer = Writer::new(path, file, settings).map_err(failed)?;
        let shared = Arc::new(Shared {
            pending: Mutex::default(),
            wake: Condvar::new(),
            capacity: settings.buffer_bytes,
            wake_at: FLUSH_BYTES.min(settings.buffer_bytes / 4),
        });
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

    /// Queues one line (without its newline), or drops and counts it if the
    /// buffer has no room for a record of its `priority`.
    pub fn write(&self, line: &[u8], priority: Priority) {
        let mut pending = self.shared.lock();
        if pending.closed {
            pending.dropped += 1;
            drop(pending);
            tracing::error!(path = %self.path.display(), "an audit record came after the audit log was closed");
            return;
        }
        if pending.buffered_bytes() + line.len() + 1 > self.shared.limit(priority) {
            // Counted here, reported by the writer: not a log line per record.
            pending.dropped += 1;
            return;
        }
        pending.bytes.extend_from_slice(line);
        pending.bytes.push(b'\n');
        pending.records += 1;
        let wake = pending.failure.is_none() && pending.bytes.len() >= self.shared.wake_at;
        drop(pending);
        if wake {
            self.shared.wake.notify_one();
        }
    }

    /// Whether records are being kept: `Err` while the last write failed or
    /// while refusals' records would no longer fit in the buffer.
    pub fn health(&self) -> Result<(), Unwritable> {
        let pending = self.shared.lock();
        if let Some(failure) = &pending.failure {
            return Err(Unwritable::Failing(failure.clone()));
        }
        let buffered = pending.buffered_bytes();
        if buffered >= self.shared.limit(Priority::Refused) {
            return Err(Unwritable::Behind(buffered >> 10));
        }
        Ok(())
    }

    /// How the log is doing.
    pub fn status(&self) -> Status {
        let pending = self.shared.lock();
        Status {
            buffered_records: pending.records + pending.held.1,
            buffered_bytes: pending.buffered_bytes(),
            dropped: pending.dropped,
            writable: pending.failure.is_none(),
        }
    }

    /// Writes out every queued line, flushes, and stops the writer. Records
    /// after this, and any that still cannot be written, are lost (and
    /// logged and counted as such).
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

#[cfg(test)]
mod tests;
