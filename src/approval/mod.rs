//! Held requests: a request whose decision is `approve` waits, its
//! connection open, until each of its approvers in turn allows it, one
//! denies it, or its time runs out. No lock is held while it waits, so a
//! hold never blocks another request. An identical retry joins the pending
//! hold, and an approval admits identical requests for a grant window. A
//! hold whose requests have all gone away is kept a little while for a
//! retry to join, then dropped.

pub mod cli;
mod hold;
mod request;
mod telegram;

pub use hold::{ApprovalError, Choice, Consent, Decider, HoldEvent, HoldRequest, HoldView, Outcome, Settled};
pub use request::BodyDigest;
pub use telegram::{Telegram, TelegramError};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{broadcast, watch};

use crate::config::ApprovalSettings;
use crate::ids::HoldId;

/// Events kept for subscribers that fall behind (the dashboard, Telegram).
const EVENT_BACKLOG: usize = 4096;
/// How long a hold nobody waits on any more is kept for a retry to join.
const ABANDON_GRACE: Duration = Duration::from_secs(30);

struct Pending {
    request: HoldRequest,
    allowed: Vec<Consent>,
    since: SystemTime,
    deadline: Instant,
    /// Requests waiting on it now.
    waiters: usize,
    /// When the last request waiting on it went away.
    abandoned: Option<Instant>,
    outcome: watch::Sender<Option<Outcome>>,
}

impl Pending {
    fn view(&self, id: HoldId) -> HoldView {
        let epoch = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let approvers = &self.request.approvers;
        HoldView {
            id,
            agent: self.request.agent.to_string(),
            rule: self.request.rule.to_string(),
            summary: self.request.summary.clone(),
            approvers: approvers.clone(),
            allowed_by: self.allowed.iter().map(|c| c.by.clone()).collect(),
            waiting_for: approvers[self.allowed.len().min(approvers.len())..].to_vec(),
            since: epoch(self.since),
            expires: epoch(self.since + self.request.timeout),
            facets: self.request.facets.clone(),
        }
    }
}

#[derive(Default)]
struct State {
    pending: HashMap<HoldId, Pending>,
    by_fingerprint: HashMap<String, HoldId>,
    grants: HashMap<String, Instant>,
}

/// Every pending hold.
pub struct Approvals {
    settings: ApprovalSettings,
    state: Mutex<State>,
    next_id: AtomicU64,
    events: broadcast::Sender<HoldEvent>,
}

/// One request waiting on a hold; when it goes away (the agent hung up),
/// the hold learns it has one waiter fewer.
struct Waiting<'a> {
    approvals: &'a Approvals,
    id: HoldId,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut state = self.approvals.lock();
        if let Some(pending) = state.pending.get_mut(&self.id) {
            pending.waiters = pending.waiters.saturating_sub(1);
            if pending.waiters == 0 {
                pending.abandoned = Some(Instant::now());
            }
        }
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

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds `request` until it is decided or times out.
    pub async fn hold(&self, request: HoldRequest) -> Settled {
        let (id, deadline, mut outcome) = {
            let mut state = self.lock();
            let now = Instant::now();
            state.grants.retain(|_, until| *until > now);
            if state.grants.contains_key(&request.fingerprint) {
                let earlier = Consent {
                    by: "(an earlier approval of the same request)".to_string(),
                    reason: None,
                };
                return Settled {
                    hold: None,
                    outcome: Outcome::Allowed { by: vec![earlier] },
                };
            }
            let joined = state.by_fingerprint.get(&request.fingerprint).copied();
            match joined.and_then(|id| state.pending.get_mut(&id).map(|p| (id, p))) {
                Some((id, pending)) => {
                    pending.waiters += 1;
                    pending.abandoned = None;
                    (id, pending.deadline, pending.outcome.subscribe())
                }
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
                    let id = HoldId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
                    let (sender, receiver) = watch::channel(None);
                    tracing::info!(
                        hold = %id,
                        agent = %request.agent,
                        rule = %request.rule,
                        summary = request.summary,
                        "holding for approval"
                    );
                    state.by_fingerprint.insert(request.fingerprint.clone(), id);
                    let deadline = now + request.timeout;
                    let pending = Pending {
                        request,
                        allowed: Vec::new(),
                        since: SystemTime::now(),
                        deadline,
                        waiters: 1,
                        abandoned: None,
                        outcome: sender,
                    };
                    // Nobody listening is no reason not to hold.
                    let _ = self.events.send(HoldEvent::Pending(pending.view(id)));
                    state.pending.insert(id, pending);
                    (id, deadline, receiver)
                }
            }
        };
        let waiting = Waiting { approvals: self, id };
        let decided = match tokio::time::timeout_at(deadline.into(), outcome.wait_for(Option::is_some)).await {
            Ok(Ok(value)) => value.clone(),
            _ => None,
        };
        let outcome = match decided {
            Some(decided) => Some(decided),
            None => {
                // Time is up, unless a decision landed just now.
                self.finish(&mut self.lock(), id, Outcome::TimedOut);
                outcome.borrow().clone()
            }
        };
        drop(waiting);
        Settled {
            hold: Some(id),
            outcome: outcome.unwrap_or(Outcome::TimedOut),
        }
    }

    /// The pending holds, oldest first.
    pub fn pending(&self) -> Vec<HoldView> {
        let state = self.lock();
        let mut views: Vec<HoldView> = state.pending.iter().map(|(id, p)| p.view(*id)).collect();
        views.sort_by_key(|v| v.id);
        views
    }

    /// Records `decider`'s choice on hold `id`. An allow counts for the next
    /// approver in order, and the hold is released once every approver has
    /// allowed it; one person cannot count twice, and a decider speaking for
    /// (or named as) another approver must wait for that approver's turn.
    /// A deny ends the hold at once, from anyone the hold asks.
    pub fn decide(&self, id: HoldId, choice: Choice, decider: Decider<'_>) -> Result<(), ApprovalError> {
        let mut state = self.lock();
        let pending = state.pending.get_mut(&id).ok_or(ApprovalError::NotFound(id))?;
        let approvers = &pending.request.approvers;
        let named = approvers.iter().find(|a| a.eq_ignore_ascii_case(decider.by));
        let speaking_for = decider.approver.or(named.map(String::as_str));
        let reason = decider.reason.map(str::to_string);
        if choice == Choice::Deny {
            if let Some(approver) = decider.approver
                && !approvers.iter().any(|a| a == approver)
            {
                return Err(ApprovalError::NotAsked {
                    id,
                    approver: approver.to_string(),
                });
            }
            let denied = Outcome::Denied {
                by: decider.by.to_string(),
                reason,
            };
            self.finish(&mut state, id, denied);
            return Ok(());
        }
        if pending.allowed.iter().any(|c| c.by.eq_ignore_ascii_case(decider.by)) {
            return Err(ApprovalError::AlreadyAllowed {
                id,
                by: decider.by.to_string(),
            });
        }
        let next = approvers.get(pending.allowed.len());
        if let (Some(speaking_for), Some(next)) = (speaking_for, next)
            && !speaking_for.eq_ignore_ascii_case(next)
        {
            return Err(ApprovalError::NotYourTurn {
                id,
                waiting_for: next.clone(),
            });
        }
        pending.allowed.push(Consent {
            by: decider.by.to_string(),
            reason,
        });
        if pending.allowed.len() >= pending.request.approvers.len() {
            let by = pending.allowed.clone();
            self.finish(&mut state, id, Outcome::Allowed { by });
        } else {
            let _ = self.events.send(HoldEvent::Pending(pending.view(id)));
        }
        Ok(())
    }

    /// Denies every pending hold: clawgate is stopping.
    pub fn deny_all(&self, reason: &str) {
        let mut state = self.lock();
        let ids: Vec<HoldId> = state.pending.keys().copied().collect();
        for id in ids {
            let denied = Outcome::Denied {
                by: "clawgate".to_string(),
                reason: Some(reason.to_string()),
            };
            self.finish(&mut state, id, denied);
        }
    }

    /// Ends the holds nobody waits on any more (after a grace for a retry to
    /// join) and any past their deadline, every `every`, for as long as the
    /// task runs.
    pub async fn sweep_every(self: Arc<Self>, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            self.sweep(Instant::now());
        }
    }

    fn sweep(&self, now: Instant) {
        let mut state = self.lock();
        let done: Vec<(HoldId, Outcome)> = state
            .pending
            .iter()
            .filter_map(|(id, p)| match p.abandoned {
                Some(at) if now.duration_since(at) >= ABANDON_GRACE => Some((*id, Outcome::Abandoned)),
                _ if p.waiters == 0 && now >= p.deadline => Some((*id, Outcome::TimedOut)),
                _ => None,
            })
            .collect();
        for (id, outcome) in done {
            self.finish(&mut state, id, outcome);
        }
    }

    /// Ends hold `id` with `outcome`, waking everyone waiting on it; whether
    /// it was still pending.
    fn finish(&self, state: &mut State, id: HoldId, outcome: Outcome) -> bool {
        let Some(pending) = state.pending.remove(&id) else {
            return false;
        };
        state.by_fingerprint.remove(&pending.request.fingerprint);
        if matches!(outcome, Outcome::Allowed { .. }) {
            state.grants.insert(
                pending.request.fingerprint.clone(),
                Instant::now() + self.settings.grant_window,
            );
        }
        tracing::info!(hold = %id, %outcome, "hold decided");
        let _ = self.events.send(HoldEvent::Settled {
            id,
            outcome: outcome.clone(),
        });
        pending.outcome.send_replace(Some(outcome));
        true
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
