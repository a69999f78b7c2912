//! What the rules decided, and why.

use std::fmt;

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
    pub rule: String,
    /// The rule's `reason`, if it has one.
    pub reason: Option<String>,
}

/// A request held for approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The rule that holds it.
    pub rule: String,
    /// The rule's `reason`, if it has one.
    pub reason: Option<String>,
    /// Who must allow it, in order.
    pub approvers: Vec<String>,
}

/// Why a request is denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// A rule with `action = "deny"` matched.
    Rule {
        /// The rule's name.
        rule: String,
        /// The rule's `reason`, if it has one.
        reason: Option<String>,
    },
    /// No rule matched: what is not allowed is denied.
    NoMatch,
    /// The request itself is refused before any rule runs: its parts
    /// disagree, it is ambiguous, or its account is not allowed.
    Invalid(String),
    /// A person denied the held request.
    Human {
        /// The rule that held it.
        rule: String,
        /// Who denied it.
        by: String,
        /// Why, if they said.
        reason: Option<String>,
    },
    /// Nobody decided on the held request in time.
    TimedOut {
        /// The rule that held it.
        rule: String,
    },
    /// A rule's condition could not be evaluated (e.g. it read a field this
    /// request does not have): denied, to fail closed.
    Error {
        /// The rule's name.
        rule: String,
        /// What went wrong.
        error: String,
    },
}

impl Decision {
    /// The name of the rule that decided, if one did.
    pub fn rule(&self) -> Option<&str> {
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
    /// The name of the rule behind the denial, if one is.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Denial::Rule { rule, .. }
            | Denial::Error { rule, .. }
            | Denial::Human { rule, .. }
            | Denial::TimedOut { rule } => Some(rule),
            Denial::NoMatch | Denial::Invalid(_) => None,
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::Rule {
                rule,
                reason: Some(reason),
            } => write!(f, "denied by rule '{rule}': {reason}"),
            Denial::Rule { rule, reason: None } => write!(f, "denied by rule '{rule}'"),
            Denial::Invalid(why) => write!(f, "denied: {why}"),
            Denial::Human {
                rule,
                by,
                reason: Some(reason),
            } => {
                write!(f, "denied by {by}, who was asked by rule '{rule}': {reason}")
            }
            Denial::Human { rule, by, reason: None } => write!(f, "denied by {by}, who was asked by rule '{rule}'"),
            Denial::TimedOut { rule } => write!(
                f,
                "denied: nobody approved it in time (rule '{rule}' holds it for approval)"
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
pub enum Outcome {
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

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Matched => f.write_str("matched"),
            Outcome::NotMatched => f.write_str("not matched"),
            Outcome::Error(e) => write!(f, "error: {e}"),
            Outcome::OtherEndpoint => f.write_str("skipped: applies to other endpoints"),
            Outcome::Disabled => f.write_str("skipped: disabled"),
            Outcome::NotReached => f.write_str("not reached: an earlier rule decided"),
        }
    }
}
