//! What the rules decided, and why.

use std::fmt;
use std::time::Duration;

use crate::facet::aws::AwsFacetError;
use crate::ids::{AgentName, RuleName};

/// The decision on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward it: a rule allowed it.
    Allow(Matched),
    /// Refuse it.
    Deny(Denial),
    /// Hold it for a human.
    Hold(Hold),
}

/// The rule that allowed a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The rule's name.
    pub rule: RuleName,
    /// The rule's `reason`, if it has one.
    pub reason: Option<String>,
}

/// A request held for approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The rule that holds it.
    pub rule: RuleName,
    /// The rule's `reason`, if it has one.
    pub reason: Option<String>,
    /// Who must allow it, in order.
    pub approvers: Vec<String>,
    /// How long it may wait: the first approver's `timeout`.
    pub timeout: Duration,
}

/// Why a request is denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// A rule with `action = "deny"` matched.
    Rule {
        /// The rule's name.
        rule: RuleName,
        /// The rule's `reason`, if it has one.
        reason: Option<String>,
    },
    /// No rule matched: what is not allowed is denied.
    NoMatch,
    /// The request itself is refused before any rule runs: its parts
    /// disagree, it is ambiguous, or its account is not allowed.
    Refused(AwsFacetError),
    /// A person denied the held request.
    Human {
        /// The rule that held it.
        rule: RuleName,
        /// Who denied it.
        by: String,
        /// Why, if they said.
        reason: Option<String>,
        /// Whom the rule asks, in order.
        approvers: Vec<String>,
    },
    /// Nobody decided on the held request in time.
    TimedOut {
        /// The rule that held it.
        rule: RuleName,
    },
    /// The agent already has as many requests waiting for people as it may.
    TooManyHolds {
        /// The rule that would hold this one.
        rule: RuleName,
        /// The agent.
        agent: AgentName,
        /// How many it may have waiting.
        limit: usize,
    },
    /// A rule's condition could not be evaluated (e.g. it read a field this
    /// request does not have): denied, to fail closed.
    Error {
        /// The rule's name.
        rule: RuleName,
        /// What went wrong.
        error: String,
    },
}

impl Decision {
    /// The rule that decided, if one did.
    pub fn rule(&self) -> Option<&RuleName> {
        match self {
            Decision::Allow(m) => Some(&m.rule),
            Decision::Hold(h) => Some(&h.rule),
            Decision::Deny(denial) => denial.rule(),
        }
    }

    /// `allow`, `deny` or `approve`, as rule tests write it.
    pub fn action(&self) -> &'static str {
        match self {
            Decision::Allow(_) => "allow",
            Decision::Deny(_) => "deny",
            Decision::Hold(_) => "approve",
        }
    }
}

impl Denial {
    /// The rule behind the denial, if one is.
    pub fn rule(&self) -> Option<&RuleName> {
        match self {
            Denial::Rule { rule, .. }
            | Denial::Error { rule, .. }
            | Denial::Human { rule, .. }
            | Denial::TimedOut { rule }
            | Denial::TooManyHolds { rule, .. } => Some(rule),
            Denial::NoMatch | Denial::Refused(_) => None,
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::Rule { rule, reason } => {
                write!(f, "denied by rule '{rule}'")?;
                reason.iter().try_for_each(|why| write!(f, ": {why}"))
            }
            Denial::Refused(why) => write!(f, "denied: {why}"),
            Denial::Human {
                rule,
                by,
                reason,
                approvers,
            } => {
                if approvers.iter().any(|a| a.eq_ignore_ascii_case(by)) {
                    write!(f, "denied by {by}, who was asked by rule '{rule}'")?;
                } else {
                    write!(
                        f,
                        "denied by {by} while rule '{rule}' held it for approval by {}",
                        approvers.join(", then ")
                    )?;
                }
                reason.iter().try_for_each(|why| write!(f, ": {why}"))
            }
            Denial::TimedOut { rule } => write!(
                f,
                "denied: nobody approved it in time (rule '{rule}' holds it for approval)"
            ),
            Denial::TooManyHolds { rule, agent, limit } => write!(
                f,
                "denied: agent {agent} already has {limit} requests waiting for approval (rule '{rule}'); \
                 wait for them to be decided"
            ),
            Denial::NoMatch => f.write_str("denied: no rule matched this request, and what no rule allows is denied"),
            Denial::Error { rule, error } => write!(f, "denied: rule '{rule}' could not be evaluated ({error})"),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allow(m) => write!(f, "allowed by rule '{}'", m.rule),
            Decision::Deny(d) => d.fmt(f),
            Decision::Hold(h) => write!(f, "held by rule '{}' for {}", h.rule, h.approvers.join(", then ")),
        }
    }
}

/// What one rule did with a request, for `policy explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOutcome {
    /// Its condition held: it decided.
    Matched,
    /// Its condition did not hold.
    NotMatched,
    /// Its condition failed to evaluate: the request is denied.
    Error(String),
    /// It does not apply to the request's endpoint.
    OtherEndpoint,
    /// It is disabled.
    Disabled,
    /// An earlier rule decided first.
    NotReached,
}

impl fmt::Display for RuleOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleOutcome::Matched => f.write_str("matched"),
            RuleOutcome::NotMatched => f.write_str("not matched"),
            RuleOutcome::Error(e) => write!(f, "error: {e}"),
            RuleOutcome::OtherEndpoint => f.write_str("skipped: applies to other endpoints"),
            RuleOutcome::Disabled => f.write_str("skipped: disabled"),
            RuleOutcome::NotReached => f.write_str("not reached: an earlier rule decided"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn human(by: &str) -> Denial {
        Denial::Human {
            rule: RuleName::new("deletes need a person"),
            by: by.to_string(),
            reason: Some("not today".to_string()),
            approvers: vec!["alice".to_string(), "bob".to_string()],
        }
    }

    #[test]
    fn a_denial_by_a_person_says_whether_they_were_asked() {
        assert_eq!(
            human("Alice").to_string(),
            "denied by Alice, who was asked by rule 'deletes need a person': not today"
        );
        assert_eq!(
            human("carol").to_string(),
            "denied by carol while rule 'deletes need a person' held it for approval by alice, then bob: not today"
        );
    }
}
