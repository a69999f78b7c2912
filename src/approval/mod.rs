//! Held requests: a request whose decision is `approve` waits, its
//! connection open, until each of its approvers in turn allows it, one
//! denies it, or its time runs out. No lock is held while it waits, so a
//! hold never blocks another request. An identical retry joins the pending
//! hold, and an approval admits identical requests for a grant window.

pub mod cli;
mod telegram;

pub use telegram::{Telegram, TelegramError};

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{broadcast, watch};

use crate::config::ApprovalSettings;

/// Events kept for subscribers that fall behind (the dashboard, Telegram).
const EVENT_BACKLOG: usize = 4096;

/// What a request is held for: enough to join retries and to show a human.
#[derive(Debug, Clone)]
pub struct HoldRequest {
    /// Identifies identical requests (agent, method, host, path, query, body).
    pub fingerprint: String,
    /// The agent.
    pub agent: String,
    /// The rule that holds it.
    pub rule: String,
    /// One line for the person deciding.
    pub summary: String,
    /// Who must allow it, in order.
    pub approvers: Vec<String>,
    /// How long it may wait.
    pub timeout: Duration,
    /// The request's facts, flat (`aws.action` → `PutObject`), for the people deciding.
    pub facets: BTreeMap<String, String>,
}

/// How a hold ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every approver allowed it.
    Allowed {
        /// Who allowed it, in order.
        by: Vec<String>,
    },
    /// Someone denied it.
    Denied {
        /// Who.
        by: String,
        /// Why, if they said.
        reason: Option<String>,
    },
    /// No answer in time.
    TimedOut,
    /// The agent already has too many pending holds.
    TooMany {
        /// The limit it reached.
        limit: usize,
    },
}

impl Outcome {
    /// A word for it: `allowed`, `denied`, `timed out` or `too many`.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Allowed { .. } => "allowed",
            Outcome::Denied { .. } => "denied",
            Outcome::TimedOut => "timed out",
            Outcome::TooMany { .. } => "too many",
        }
    }
}

/// How a request's hold ended, and which hold it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The hold it waited on; `None` when it did not wait (an earlier
    /// approval admitted it, or the agent had too many pending).
    pub hold: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
}

/// What happens to holds, for whoever shows them to people.
#[derive(Debug, Clone)]
pub enum HoldEvent {
    /// A hold is new, or one of its approvers allowed it and it waits for the next.
    Pending(HoldView),
    /// A hold ended.
    Settled {
        /// The hold.
        id: u64,
        /// How.
        outcome: Outcome,
    },
}

/// A pending hold as the API shows it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HoldView {
    /// Its id.
    pub id: u64,
    /// The agent.
    pub agent: String,
    /// The rule.
    pub rule: String,
    /// The one-line summary.
    pub summary: String,
    /// Every approver, in order.
    pub approvers: Vec<String>,
    /// Who has allowed it so far.
    pub allowed_by: Vec<String>,
    /// Approvers still to decide, in order.
    pub waiting_for: Vec<String>,
    /// Seconds since the epoch when it was made.
    pub since: u64,
    /// Seconds since the epoch when it times out.
    pub expires: u64,
    /// The request's facts, flat.
    pub facets: BTreeMap<String, String>,
}

/// Why a decision on a hold was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// No such pending hold.
    #[error("no pending hold {0}; it may have been decided or timed out")]
    NotFound(u64),
    /// This person has already allowed the hold.
    #[error("{by} has already allowed hold {id}; it needs the next approver")]
    AlreadyAllowed {
        /// The hold.
        id: u64,
        /// Who.
        by: String,
    },
    /// The hold waits for someone else first.
    #[error("hold {id} waits for {waiting_for} first")]
    NotYourTurn {
        /// The hold.
        id: u64,
        /// Who it waits for.
        waiting_for: String,
    },
}

struct Pending {
    request: HoldRequest,
    allowed_by: Vec<String>,
    since: SystemTime,
    outcome: watch::Sender<Option<Outcome>>,
}

#[derive(Default)]
struct State {
    pending: HashMap<u64, Pending>,
    by_fingerprint: HashMap<String, u64>,
    grants: HashMap<String, Instant>,
}

/// Every pending hold.
pub struct Approvals {
    settings: ApprovalSettings,
    state: Mutex<State>,
    next_id: AtomicU64,
    events: broadcast::Sender<HoldEvent>,
}

impl Pending {
    fn view(&self, id: u64) -> HoldView {
        let epoch = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        HoldView {
            id,
            agent: self.request.agent.clone(),
            rule: self.request.rule.clone(),
            summary: self.request.summary.clone(),
            approvers: self.request.approvers.clone(),
            allowed_by: self.allowed_by.clone(),
            waiting_for: self.request.approvers[self.allowed_by.len().min(self.request.approvers.len())..].to_vec(),
            since: epoch(self.since),
            expires: epoch(self.since + self.request.timeout),
            facets: self.request.facets.clone(),
        }
    }
}

impl Default for Approvals {
    fn default() -> Approvals {
        Approvals::new(ApprovalSettings::default())
    }
}

impl Approvals {
    /// No holds yet; `settings` sets the grant window and the per-agent limit.
    pub fn new(settings: ApprovalSettings) -> Approvals {
        Approvals {
            settings,
            state: Mutex::default(),
            next_id: AtomicU64::new(0),
            events: broadcast::channel(EVENT_BACKLOG).0,
        }
    }

    /// Events for every hold from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<HoldEvent> {
        self.events.subscribe()
    }

    /// How many holds are pending.
    pub fn count(&self) -> usize {
        self.lock().pending.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds `request` until it is decided or times out.
    pub async fn hold(&self, request: HoldRequest) -> Settled {
        let timeout = request.timeout;
        let (id, mut outcome) = {
            let mut state = self.lock();
            let now = Instant::now();
            state.grants.retain(|_, until| *until > now);
            if state.grants.contains_key(&request.fingerprint) {
                return Settled {
                    hold: None,
                    outcome: Outcome::Allowed {
                        by: vec!["(an earlier approval of the same request)".to_string()],
                    },
                };
            }
            match state
                .by_fingerprint
                .get(&request.fingerprint)
                .and_then(|id| state.pending.get(id).map(|p| (*id, p)))
            {
                Some((id, pending)) => (id, pending.outcome.subscribe()),
                None => {
                    let mine = state
                        .pending
                        .values()
                        .filter(|p| p.request.agent == request.agent)
                        .count();
                    let limit = self.settings.max_pending_per_agent;
                    if mine >= limit {
                        return Settled {
                            hold: None,
                            outcome: Outcome::TooMany { limit },
                        };
                    }
                    let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
                    let (sender, receiver) = watch::channel(None);
                    tracing::info!(
                        hold = id,
                        agent = request.agent,
                        rule = request.rule,
                        summary = request.summary,
                        "holding for approval"
                    );
                    state.by_fingerprint.insert(request.fingerprint.clone(), id);
                    let pending = Pending {
                        request,
                        allowed_by: Vec::new(),
                        since: SystemTime::now(),
                        outcome: sender,
                    };
                    // Nobody listening is no reason not to hold.
                    let _ = self.events.send(HoldEvent::Pending(pending.view(id)));
                    state.pending.insert(id, pending);
                    (id, receiver)
                }
            }
        };
        let decided = tokio::time::timeout(timeout, outcome.wait_for(Option::is_some)).await;
        let outcome = match decided {
            Ok(Ok(value)) => value.clone().unwrap_or(Outcome::TimedOut),
            _ => {
                self.finish(id, Outcome::TimedOut);
                Outcome::TimedOut
            }
        };
        Settled {
            hold: Some(id),
            outcome,
        }
    }

    /// The pending holds, oldest first.
    pub fn pending(&self) -> Vec<HoldView> {
        let state = self.lock();
        let mut views: Vec<HoldView> = state.pending.iter().map(|(id, p)| p.view(*id)).collect();
        views.sort_by_key(|v| v.id);
        views
    }

    /// The pending hold `id`, if it is pending.
    pub fn get(&self, id: u64) -> Option<HoldView> {
        self.lock().pending.get(&id).map(|p| p.view(id))
    }

    /// Records `by`'s allow: the hold is released once every approver has
    /// allowed it, in order. Each allow counts for the next approver; one
    /// person cannot count twice, and a `by` that names another approver
    /// (or the `approver` a channel such as a Telegram chat speaks for)
    /// must wait for that approver's turn.
    pub fn allow(&self, id: u64, by: &str, approver: Option<&str>) -> Result<(), ApprovalError> {
        let released = {
            let mut state = self.lock();
            let pending = state.pending.get_mut(&id).ok_or(ApprovalError::NotFound(id))?;
            if pending.allowed_by.iter().any(|b| b.eq_ignore_ascii_case(by)) {
                return Err(ApprovalError::AlreadyAllowed { id, by: by.to_string() });
            }
            let approvers = &pending.request.approvers;
            let next = approvers.get(pending.allowed_by.len());
            let speaking_for = approver.or_else(|| {
                approvers
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(by))
                    .map(String::as_str)
            });
            if let (Some(speaking_for), Some(next)) = (speaking_for, next)
                && !speaking_for.eq_ignore_ascii_case(next)
            {
                return Err(ApprovalError::NotYourTurn {
                    id,
                    waiting_for: next.clone(),
                });
            }
            pending.allowed_by.push(by.to_string());
            if pending.allowed_by.len() >= pending.request.approvers.len() {
                Some(pending.allowed_by.clone())
            } else {
                let _ = self.events.send(HoldEvent::Pending(pending.view(id)));
                None
            }
        };
        if let Some(by) = released {
            self.finish(id, Outcome::Allowed { by });
        }
        Ok(())
    }

    /// Denies the hold.
    pub fn deny(&self, id: u64, by: &str, reason: Option<String>) -> Result<(), ApprovalError> {
        if !self.lock().pending.contains_key(&id) {
            return Err(ApprovalError::NotFound(id));
        }
        self.finish(
            id,
            Outcome::Denied {
                by: by.to_string(),
                reason,
            },
        );
        Ok(())
    }

    /// Ends hold `id` with `outcome`, waking everyone waiting on it.
    fn finish(&self, id: u64, outcome: Outcome) {
        let mut state = self.lock();
        let Some(pending) = state.pending.remove(&id) else {
            return;
        };
        state.by_fingerprint.remove(&pending.request.fingerprint);
        if matches!(outcome, Outcome::Allowed { .. }) {
            state.grants.insert(
                pending.request.fingerprint.clone(),
                Instant::now() + self.settings.grant_window,
            );
        }
        tracing::info!(hold = id, outcome = ?outcome, "hold decided");
        let _ = self.events.send(HoldEvent::Settled {
            id,
            outcome: outcome.clone(),
        });
        pending.outcome.send_replace(Some(outcome));
    }
}

impl std::fmt::Debug for Approvals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approvals")
            .field("pending", &self.lock().pending.len())
            .finish()
    }
}

#[cfg(test)]
mod tests;
