//! Audit records and where they go: the JSON Lines log, the recent-decisions
//! feed the dashboard reads and follows, and the metrics; and whether new
//! requests may be served while records cannot be written.

mod log;
mod metrics;
mod record;

pub use log::{AuditLog, AuditLogError, Priority, Status, Unwritable};
pub use metrics::{Kind, Metrics};
pub use record::{Approval, Record, Side, UnknownVerdict, Verdict, millis, timestamp};

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

use crate::config::AuditFailure;

/// Records kept in memory for the recent-decisions feed.
const RECENT: usize = 1000;

/// Where every finished request's record goes.
pub struct Audit {
    log: Option<Arc<AuditLog>>,
    on_failure: AuditFailure,
    recent: Mutex<VecDeque<Arc<Record>>>,
    feed: broadcast::Sender<Arc<Record>>,
    metrics: Metrics,
}

/// Which recent records to show; an empty field matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this agent's.
    pub agent: Option<String>,
    /// Only records with this decision.
    pub decision: Option<Verdict>,
    /// Only requests for this account (its id or its name).
    pub account: Option<String>,
}

impl Filter {
    /// Whether `record` passes.
    pub fn accepts(&self, record: &Record) -> bool {
        let agent = self.agent.as_deref().is_none_or(|a| record.agent.as_deref() == Some(a));
        let decision = self.decision.is_none_or(|d| record.decision == Some(d));
        let account = self.account.as_deref().is_none_or(|a| {
            record.account() == Some(a) || record.facets.get("aws.account_name").map(String::as_str) == Some(a)
        });
        agent && decision && account
    }
}

impl Audit {
    /// Records written to `log` (or only kept in memory without one);
    /// `on_failure` says whether requests are admitted while they cannot be.
    pub fn new(log: Option<AuditLog>, on_failure: AuditFailure) -> Audit {
        let log = log.map(Arc::new);
        let metrics = Metrics::default();
        if let Some(log) = &log {
            observe(&metrics, log);
        }
        Audit {
            log,
            on_failure,
            recent: Mutex::new(VecDeque::with_capacity(RECENT)),
            feed: broadcast::channel(1024).0,
            metrics,
        }
    }

    /// Whether a new request may be served: `Err` while its record could not
    /// be kept and `audit_failure = "deny"`.
    pub fn admit(&self) -> Result<(), Unwritable> {
        match self.on_failure {
            AuditFailure::Deny => self.health(),
            AuditFailure::Allow => Ok(()),
        }
    }

    /// Whether records are being kept (whatever `audit_failure` says).
    pub fn health(&self) -> Result<(), Unwritable> {
        self.log.as_ref().map_or(Ok(()), |log| log.health())
    }

    /// Records a finished request: to the log, the feed and the metrics.
    pub fn record(&self, record: Record) {
        let priority = match record.decision {
            Some(Verdict::Allow | Verdict::Approved | Verdict::Tunnel) => Priority::Admitted,
            Some(Verdict::Deny) | None => Priority::Refused,
        };
        match (&self.log, serde_json::to_vec(&record)) {
            (Some(log), Ok(line)) => log.write(&line, priority),
            (None, Ok(_)) => {}
            (_, Err(e)) => tracing::error!(error = %e, id = record.id, "cannot serialise an audit record"),
        }
        self.metrics.count(&record);
        let record = Arc::new(record);
        {
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            if recent.len() == RECENT {
                recent.pop_back();
            }
            recent.push_front(Arc::clone(&record));
        }
        // Nobody following the feed is fine.
        let _ = self.feed.send(record);
    }

    /// Up to `limit` recent records that pass `filter`, newest first.
    pub fn recent(&self, filter: &Filter, limit: usize) -> Vec<Arc<Record>> {
        let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        recent
            .iter()
            .filter(|r| filter.accepts(r))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Every record from now on, as it is made.
    pub fn follow(&self) -> broadcast::Receiver<Arc<Record>> {
        self.feed.subscribe()
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Writes out and flushes the log; call once requests have drained.
    pub fn close(&self) {
        if let Some(log) = &self.log {
            log.close();
        }
    }
}

/// A metric read from the log's [`Status`]: its name, help and kind, and how it is read.
type LogMetric = (&'static str, &'static str, Kind, fn(&Status) -> u64);

/// How the log is doing, as exported: whether it can be written, what waits, what was dropped.
const LOG_METRICS: [LogMetric; 3] = [
    (
        "clawgate_audit_writable",
        "1 while audit records are written, 0 while the audit log cannot be written",
        Kind::Gauge,
        |s| u64::from(s.writable),
    ),
    (
        "clawgate_audit_records_buffered",
        "Audit records waiting in memory to be written",
        Kind::Gauge,
        |s| s.buffered_records as u64,
    ),
    (
        "clawgate_audit_records_dropped",
        "Audit records lost: the buffer was full while the audit log could not be written",
        Kind::Counter,
        |s| s.dropped,
    ),
];

/// Exports [`LOG_METRICS`] of `log`.
fn observe(metrics: &Metrics, log: &Arc<AuditLog>) {
    for (name, help, kind, read) in LOG_METRICS {
        let log = Arc::clone(log);
        metrics.observe(name, help, kind, move || read(&log.status()));
    }
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit").field("log", &self.log).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(agent: &str, decision: Verdict, account: &str) -> Record {
        let mut record = Record::begin("GET", "sts.amazonaws.com", "/");
        record.agent = Some(agent.into());
        record.decision = Some(decision);
        record.facets.insert("aws.account".into(), account.into());
        record
            .facets
            .insert("aws.account_name".into(), format!("name-{account}"));
        record
    }

    #[test]
    fn recent_records_are_newest_first_and_filtered() {
        let audit = Audit::new(None, AuditFailure::Deny);
        let mut feed = audit.follow();
        audit.record(record("a", Verdict::Allow, "111111111111"));
        audit.record(record("b", Verdict::Deny, "222222222222"));
        audit.record(record("a", Verdict::Deny, "222222222222"));
        let all = audit.recent(&Filter::default(), 10);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].agent.as_deref(), Some("a"));
        assert_eq!(all[0].decision, Some(Verdict::Deny));
        let denied_a = Filter {
            agent: Some("a".into()),
            decision: Some(Verdict::Deny),
            account: None,
        };
        assert_eq!(audit.recent(&denied_a, 10).len(), 1);
        let by_name = Filter {
            account: Some("name-222222222222".into()),
            ..Filter::default()
        };
        assert_eq!(audit.recent(&by_name, 10).len(), 2);
        assert_eq!(audit.recent(&Filter::default(), 1).len(), 1);
        assert_eq!(feed.try_recv().unwrap().agent.as_deref(), Some("a"));
    }
}
