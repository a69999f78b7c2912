//! The admit stage: how many requests may be in flight at once, in all and
//! per agent. Every HTTP/2 stream is a request, so an agent cannot fan one
//! connection out into thousands of upstream sockets. Past a limit the
//! request is refused at once with a retryable error; nothing queues.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::GateError;
use crate::ids::AgentName;

/// The requests in flight, counted against the gateway's limits.
#[derive(Debug)]
pub(super) struct Admission {
    /// At most this many in all (`max_upstream_requests`).
    total_limit: usize,
    /// At most this many per agent (`max_requests_per_agent`).
    agent_limit: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_agent: HashMap<AgentName, usize>,
}

/// Who is over a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Crowd {
    /// The agent has as many requests in flight as it may.
    Agent(AgentName),
    /// The gateway has as many in flight as it serves.
    Gateway,
}

/// One admitted request: its place is given back when dropped, which is
/// when its response has been sent (or the agent left).
#[derive(Debug)]
pub(super) struct Slot {
    admission: Arc<Admission>,
    agent: AgentName,
}

impl Admission {
    /// Limits of `total` requests in flight, `per_agent` of them one agent's.
    pub(super) fn new(total: usize, per_agent: usize) -> Arc<Admission> {
        Arc::new(Admission {
            total_limit: total,
            agent_limit: per_agent,
            counts: Mutex::default(),
        })
    }

    /// A slot for one more request from `agent`, or the limit it would break.
    pub(super) fn admit(self: &Arc<Self>, agent: &AgentName) -> Result<Slot, GateError> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = counts.by_agent.get(agent).copied().unwrap_or(0);
        if mine >= self.agent_limit {
            return Err(GateError::Crowded {
                crowd: Crowd::Agent(agent.clone()),
                limit: self.agent_limit,
            });
        }
        if counts.total >= self.total_limit {
            return Err(GateError::Crowded {
                crowd: Crowd::Gateway,
                limit: self.total_limit,
            });
        }
        counts.total += 1;
        counts.by_agent.insert(agent.clone(), mine + 1);
        Ok(Slot {
            admission: Arc::clone(self),
            agent: agent.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.admission.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(mine) = counts.by_agent.get_mut(&self.agent) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                counts.by_agent.remove(&self.agent);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str) -> AgentName {
        AgentName::parse(name).unwrap()
    }

    #[test]
    fn each_agent_and_the_gateway_have_a_limit_and_slots_come_back() {
        let admission = Admission::new(3, 2);
        let (a, b) = (agent("a"), agent("b"));
        let first = admission.admit(&a).unwrap();
        let _second = admission.admit(&a).unwrap();
        let over = admission.admit(&a).unwrap_err();
        assert!(
            matches!(&over, GateError::Crowded { crowd: Crowd::Agent(who), limit: 2 } if *who == a),
            "{over}"
        );
        let _third = admission.admit(&b).unwrap();
        let full = admission.admit(&b).unwrap_err();
        assert!(
            matches!(
                full,
                GateError::Crowded {
                    crowd: Crowd::Gateway,
                    limit: 3
                }
            ),
            "{full}"
        );
        drop(first);
        admission.admit(&a).unwrap();
    }
}
