//! The writer thread: takes what has queued, writes it out in whole lines,
//! rotates by size, and while the file cannot be written keeps the lines,
//! reopens the file and tries again, saying so once rather than per write.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{FLUSH_EVERY, RETRY_EVERY, Shared, open_append};
use crate::config::AuditSettings;

/// How often dropped records are reported while more are being dropped.
const REPORT_DROPS_EVERY: Duration = Duration::from_secs(10);

/// The one thread that writes the audit log.
pub(super) struct Writer {
    path: PathBuf,
    file: File,
    /// Bytes in the current file, for rotation.
    written: u64,
    rotate_bytes: u64,
    keep: usize,
    /// Lines taken from the queue and not yet written, oldest first.
    backlog: Vec<u8>,
    /// How many lines `backlog` holds.
    backlog_records: usize,
    /// Why the last attempt failed, as last reported.
    failure: Option<String>,
    /// Dropped records reported so far, and when last.
    reported_drops: (u64, Option<Instant>),
}

impl Writer {
    /// The writer of `file`, open at `path`.
    pub(super) fn new(path: &Path, file: File, settings: &AuditSettings) -> std::io::Result<Writer> {
        Ok(Writer {
            path: path.to_path_buf(),
            written: file.metadata()?.len(),
            file,
            rotate_bytes: settings.rotate_bytes,
            keep: settings.keep,
            backlog: Vec::new(),
            backlog_records: 0,
            failure: None,
            reported_drops: (0, None),
        })
    }

    /// Writes out what has queued up, every [`FLUSH_EVERY`] or sooner when
    /// there is much (every [`RETRY_EVERY`] while writing fails), until the
    /// log is closed.
    pub(super) fn run(mut self, shared: &Shared) {
        loop {
            let closed = self.take(shared);
            // The file may have been moved or deleted to make room: writing
            // to a new one frees the old one's space.
            let reopened = match self.failure {
                Some(_) => self.reopen(),
                None => Ok(()),
            };
            let (done, result) = match reopened {
                Ok(()) => self.write_out(),
                Err(e) => (0, Err(e)),
            };
            self.settle(shared, done, result);
            if closed {
                self.stop(shared);
                return;
            }
        }
    }

    /// Waits for lines, then moves them from the queue into the backlog;
    /// whether the log is closed.
    fn take(&mut self, shared: &Shared) -> bool {
        let failing = self.failure.is_some();
        let waiting = |p: &mut super::Pending| !p.closed && (failing || p.bytes.len() < shared.wake_at);
        let mut pending = shared.lock();
        if waiting(&mut pending) {
            let wait = if failing { RETRY_EVERY } else { FLUSH_EVERY };
            pending = shared
                .wake
                .wait_timeout_while(pending, wait, waiting)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        let taken = std::mem::take(&mut pending.bytes);
        let records = std::mem::take(&mut pending.records);
        pending.held = (pending.held.0 + taken.len(), pending.held.1 + records);
        let closed = pending.closed;
        drop(pending);
        if self.backlog.is_empty() {
            self.backlog = taken;
        } else {
            self.backlog.extend_from_slice(&taken);
        }
        self.backlog_records += records;
        closed
    }

    /// Writes the backlog out, rotating as it goes: how many of its bytes
    /// are in the file, and the error that stopped it, if one did.
    fn write_out(&mut self) -> (usize, std::io::Result<()>) {
        let backlog = std::mem::take(&mut self.backlog);
        let mut done = 0;
        let mut result = Ok(());
        while done < backlog.len() {
            let fits = self.fitting(&backlog[done..]);
            if fits == 0 {
                self.rotate_or_write_on();
                continue;
            }
            match self.append(&backlog[done..done + fits]) {
                Ok(()) => done += fits,
                Err((kept, e)) => {
                    done += kept;
                    result = Err(e);
                    break;
                }
            }
        }
        self.backlog = backlog;
        (done, result)
    }

    /// How many bytes of whole lines at the start of `bytes` fit in the
    /// current file before it must rotate (the first line always fits an
    /// empty file).
    fn fitting(&self, bytes: &[u8]) -> usize {
        let mut len = 0;
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            let fits = self.written + (len + line.len()) as u64 <= self.rotate_bytes;
            if !fits && (self.written > 0 || len > 0) {
                break;
            }
            len += line.len();
        }
        len
    }

    /// Appends `chunk`; on failure, takes back the part of it written, so the
    /// file holds whole lines, and says how much of it stayed (none, unless
    /// taking back failed too).
    fn append(&mut self, chunk: &[u8]) -> Result<(), (usize, std::io::Error)> {
        let mut done = 0;
        while done < chunk.len() {
            match self.file.write(&chunk[done..]) {
                Ok(0) => return Err(self.take_back(done, std::io::ErrorKind::WriteZero.into())),
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.take_back(done, e)),
            }
        }
        self.written += chunk.len() as u64;
        Ok(())
    }

    /// Truncates the `done` bytes just appended; how many stayed.
    fn take_back(&mut self, done: usize, error: std::io::Error) -> (usize, std::io::Error) {
        let truncated = self
            .file
            .metadata()
            .and_then(|m| self.file.set_len(m.len().saturating_sub(done as u64)));
        let kept = if truncated.is_ok() { 0 } else { done };
        self.written += kept as u64;
        (kept, error)
    }

    /// Rotates; if that fails, writes on rather than retry at once: reopens
    /// the file (it may have been moved away) and counts afresh.
    fn rotate_or_write_on(&mut self) {
        if let Err(e) = self.rotate() {
            tracing::error!(path = %self.path.display(), error = %e, "cannot rotate the audit log; writing on");
            if let Ok(file) = open_append(&self.path) {
                self.file = file;
            }
            self.written = 0;
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

    /// Opens the file at the log's path afresh.
    fn reopen(&mut self) -> std::io::Result<()> {
        let file = open_append(&self.path)?;
        self.written = file.metadata()?.len();
        self.file = file;
        Ok(())
    }

    /// Drops the `done` bytes written from the backlog, tells the queue how
    /// things stand, and reports what changed.
    fn settle(&mut self, shared: &Shared, done: usize, result: std::io::Result<()>) {
        let written = self.backlog[..done].iter().filter(|b| **b == b'\n').count();
        self.backlog.drain(..done);
        self.backlog_records = self.backlog_records.saturating_sub(written);
        let failure = result.err().map(|e| e.to_string());
        let dropped = {
            let mut pending = shared.lock();
            pending.held = (self.backlog.len(), self.backlog_records);
            pending.failure.clone_from(&failure);
            pending.dropped
        };
        match (&self.failure, &failure) {
            (was, Some(now)) if was.as_ref() != Some(now) => tracing::error!(
                path = %self.path.display(),
                error = %now,
                waiting = self.backlog_records,
                "cannot write the audit log; its records wait in memory (audit_buffer_kb = {}) \
                 and writing is tried again every {} ms",
                shared.capacity >> 10,
                RETRY_EVERY.as_millis()
            ),
            (Some(_), None) => tracing::info!(
                path = %self.path.display(),
                "the audit log can be written again; the records kept in memory are written"
            ),
            _ => {}
        }
        self.failure = failure;
        self.report_drops(dropped);
    }

    /// Warns of records dropped since the last warning: at once for the
    /// first, then at most every [`REPORT_DROPS_EVERY`].
    fn report_drops(&mut self, dropped: u64) {
        let (reported, when) = self.reported_drops;
        let due = when.is_none_or(|w| w.elapsed() >= REPORT_DROPS_EVERY);
        if dropped > reported && due {
            tracing::warn!(
                path = %self.path.display(),
                dropped = dropped - reported,
                total = dropped,
                "audit records were dropped: the buffer (audit_buffer_kb) was full while the audit log \
                 could not be written; clawgate_audit_records_dropped_total counts them"
            );
            self.reported_drops = (dropped, Some(Instant::now()));
        }
    }

    /// On close: flushes, and counts and logs what could not be written.
    fn stop(self, shared: &Shared) {
        if self.backlog_records > 0 {
            let lost = self.backlog_records;
            {
                let mut pending = shared.lock();
                pending.dropped += lost as u64;
                pending.held = (0, 0);
            }
            tracing::error!(
                path = %self.path.display(),
                lost,
                error = self.failure.as_deref().unwrap_or("unknown"),
                "audit records that could not be written before clawgate stopped are lost"
            );
        }
        if let Err(e) = self.file.sync_data() {
            tracing::error!(path = %self.path.display(), error = %e, "cannot flush the audit log");
        }
    }
}
