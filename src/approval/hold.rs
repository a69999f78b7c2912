//! What a hold is, how it ends, and how it is shown: the plain data the
//! holds engine, the admin API, the command line and Telegram share.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::ids::{AgentName, HoldId, RuleName};

/// What a request is held for: enough to join retries and to show a person.
#[derive(Debug, Clone)]
pub struct HoldRequest {
    /// Identifies identical requests (see [`HoldRequest::new`]).
    pub fingerprint: String,
    /// The agent.
    pub agent: AgentName,
    /// The rule that holds it.
    pub rule: RuleName,
    /// One line for the person deciding.
    pub summary: String,
    /// Who must allow it, in order.
    pub approvers: Vec<String>,
    /// How long it may wait.
    pub timeout: Duration,
    /// The request's facts, flat (`aws.action` → `PutObject`), for the people deciding.
    pub facets: BTreeMap<String, String>,
}

/// A person's allow, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Consent {
    /// Who.
    pub by: String,
    /// Why, if they said.
    pub reason: Option<String>,
}

/// How a hold ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every approver allowed it, in order.
    Allowed {
        /// Who allowed it, in order.
        by: Vec<Consent>,
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
    /// Every request waiting on it went away and no retry came back.
    Abandoned,
    /// The agent already has too many pending holds.
    TooMany {
        /// The limit it reached.
        limit: usize,
    },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Allowed { by } => {
                f.write_str("allowed by ")?;
                for (i, consent) in by.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", then ")?;
                    }
                    f.write_str(&consent.by)?;
                    consent.reason.iter().try_for_each(|why| write!(f, " ({why})"))?;
                }
                Ok(())
            }
            Outcome::Denied { by, reason } => {
                write!(f, "denied by {by}")?;
                reason.iter().try_for_each(|why| write!(f, ": {why}"))
            }
            Outcome::TimedOut => f.write_str("nobody decided in time"),
            Outcome::Abandoned => f.write_str("abandoned: every request waiting on it went away"),
            Outcome::TooMany { limit } => write!(f, "refused: the agent already has {limit} requests waiting"),
        }
    }
}

impl Outcome {
    /// A word for it: `allowed`, `denied`, `timed out`, `abandoned` or `too many`.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Allowed { .. } => "allowed",
            Outcome::Denied { .. } => "denied",
            Outcome::TimedOut => "timed out",
            Outcome::Abandoned => "abandoned",
            Outcome::TooMany { .. } => "too many",
        }
    }
}

/// How a request's hold ended, and which hold it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The hold it waited on; `None` when it did not wait (an earlier
    /// approval admitted it, or the agent had too many pending).
    pub hold: Option<HoldId>,
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
        id: HoldId,
        /// How.
        outcome: Outcome,
    },
}

/// A pending hold as the API shows it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HoldView {
    /// Its id.
    pub id: HoldId,
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

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Let it through (once every approver has).
    Allow,
    /// Refuse it.
    Deny,
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Choice::Allow => "allow",
            Choice::Deny => "deny",
        })
    }
}

/// Who decides, why, and for which approver they speak.
#[derive(Debug, Clone, Copy)]
pub struct Decider<'a> {
    /// The person's name, as recorded.
    pub by: &'a str,
    /// Why, if they said.
    pub reason: Option<&'a str>,
    /// The approver a channel speaks for (a Telegram chat is one person's);
    /// `None` for the dashboard and the command line, where `by` counts for
    /// the approver it names, or else for the next one.
    pub approver: Option<&'a str>,
}

/// Why a decision on a hold was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// No such pending hold.
    #[error("no pending hold {0}; it may have been decided or timed out")]
    NotFound(HoldId),
    /// This person has already allowed the hold.
    #[error("{by} has already allowed hold {id}; it needs the next approver")]
    AlreadyAllowed {
        /// The hold.
        id: HoldId,
        /// Who.
        by: String,
    },
    /// The hold waits for someone else first.
    #[error("hold {id} waits for {waiting_for} first")]
    NotYourTurn {
        /// The hold.
        id: HoldId,
        /// Who it waits for.
        waiting_for: String,
    },
    /// The approver a channel speaks for is not asked about this hold.
    #[error("hold {id} does not ask {approver}")]
    NotAsked {
        /// The hold.
        id: HoldId,
        /// The approver.
        approver: String,
    },
}
