//! Held requests: a request whose decision is `approve` waits, its
//! connection open, until each of its approvers in turn allows it, one
//! denies it, or its time runs out. No lock is held while it waits, so a
//! hold never blocks another request. An identical retry joins the pending
//! hold, and an approval admits identical requests for a grant window.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

/// How long an approval admits identical requests.
pub const GRANT_WINDOW: Duration = Duration::from_secs(300);
/// Pending holds one agent may have at once.
pub const PER_AGENT_LIMIT: usize = 20;

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
    TooMany,
}

/// A pending hold as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HoldView {
    /// Its id.
    pub id: u64,
    /// The agent.
    pub agent: String,
    /// The rule.
    pub rule: String,
    /// The one-line summary.
    pub summary: String,
    /// Approvers still to decide, in order.
    pub waiting_for: Vec<String>,
    /// Seconds since the epoch when it was made.
    pub since: u64,
}

/// Why a decision on a hold was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// No such pending hold.
    #[error("no pending hold {0}; it may have been decided or timed out")]
    NotFound(u64),
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
#[derive(Default)]
pub struct Approvals {
    state: Mutex<State>,
    next_id: AtomicU64,
}

impl Approvals {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds `request` until it is decided or times out.
    pub async fn hold(&self, request: HoldRequest) -> Outcome {
        let timeout = request.timeout;
        let (id, mut outcome) = {
            let mut state = self.lock();
            let now = Instant::now();
            state.grants.retain(|_, until| *until > now);
            if state.grants.contains_key(&request.fingerprint) {
                return Outcome::Allowed {
                    by: vec!["(an earlier approval of the same request)".to_string()],
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
                    if mine >= PER_AGENT_LIMIT {
                        return Outcome::TooMany;
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
                    state.pending.insert(
                        id,
                        Pending {
                            request,
                            allowed_by: Vec::new(),
                            since: SystemTime::now(),
                            outcome: sender,
                        },
                    );
                    (id, receiver)
                }
            }
        };
        let decided = tokio::time::timeout(timeout, outcome.wait_for(Option::is_some)).await;
        match decided {
            Ok(Ok(value)) => value.clone().unwrap_or(Outcome::TimedOut),
            _ => {
                self.finish(id, Outcome::TimedOut);
                Outcome::TimedOut
            }
        }
    }

    /// The pending holds, oldest first.
    pub fn pending(&self) -> Vec<HoldView> {
        let state = self.lock();
        let mut views: Vec<HoldView> = state
            .pending
            .iter()
            .map(|(id, p)| HoldView {
                id: *id,
                agent: p.request.agent.clone(),
                rule: p.request.rule.clone(),
                summary: p.request.summary.clone(),
                waiting_for: p.request.approvers[p.allowed_by.len()..].to_vec(),
                since: p
                    .since
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            })
            .collect();
        views.sort_by_key(|v| v.id);
        views
    }

    /// Records `by`'s allow: the hold is released once every approver has allowed it.
    pub fn allow(&self, id: u64, by: &str) -> Result<(), ApprovalError> {
        let released = {
            let mut state = self.lock();
            let pending = state.pending.get_mut(&id).ok_or(ApprovalError::NotFound(id))?;
            pending.allowed_by.push(by.to_string());
            (pending.allowed_by.len() >= pending.request.approvers.len()).then(|| pending.allowed_by.clone())
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
            state
                .grants
                .insert(pending.request.fingerprint.clone(), Instant::now() + GRANT_WINDOW);
        }
        tracing::info!(hold = id, outcome = ?outcome, "hold decided");
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
