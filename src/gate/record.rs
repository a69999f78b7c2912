//! The record stage: one audit record per request, built once, when it
//! ends, from what the stages found (its context) and how it ended.

use crate::approval::{Outcome, Settled};
use crate::audit::{Approval, Record, Side, Verdict, millis, timestamp};
use crate::ids::RuleName;
use crate::policy::Hold;

use super::GateError;
use super::context::{Context, Ruling};
use super::respond::ErrorFormat;

/// What a record says of a request whose agent left before the end.
const AGENT_LEFT: &str = "the agent went away before the response was complete";
/// The status recorded for it (nginx's "client closed request").
const CLIENT_CLOSED: u16 = 499;

/// Why the gate refused or failed a request, kept for its record (the
/// error itself went into the agent's response).
#[derive(Debug, Clone)]
pub struct Refusal {
    message: String,
    side: Side,
    /// `Some` when the request was denied (with the denying rule, if one
    /// did); `None` when it failed.
    denied: Option<Option<RuleName>>,
    /// The AWS error code the agent was sent, if any.
    aws_error: Option<&'static str>,
}

impl Refusal {
    /// What the record keeps of `error`, written for the agent as `format` says.
    pub fn of(error: &GateError, format: ErrorFormat) -> Refusal {
        Refusal {
            message: error.to_string(),
            side: error.side(),
            denied: error.denied(),
            aws_error: format.code(error.status()),
        }
    }
}

/// How a request's exchange with the agent ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The response went out whole (or, for HEAD, its head did).
    Complete,
    /// The agent went away before the response was made.
    LeftEarly,
    /// The agent went away while the response was being sent.
    LeftDuring,
    /// The response body broke off.
    BrokeOff(String),
}

/// How the request went, besides its context.
#[derive(Debug)]
pub struct Finish {
    /// The status the agent received (0 if none).
    pub status: u16,
    /// Why it was refused or failed, if it was.
    pub refusal: Option<Refusal>,
    /// How it ended.
    pub ending: Ending,
    /// The AWS error code in the upstream's error response, if one was read.
    pub upstream_error: Option<String>,
    /// Body bytes from the agent.
    pub bytes_in: u64,
    /// Body bytes to the agent.
    pub bytes_out: u64,
}

/// The record of a request: its context (taken), and how it went.
pub fn build(context: &mut Context, how: Finish) -> Record {
    let ruling = std::mem::replace(&mut context.ruling, Ruling::Pending);
    let (decision, rule, reason) = verdict(&ruling, how.refusal.as_ref(), &how.ending);
    let error = match &how.ending {
        Ending::LeftEarly | Ending::LeftDuring => Some(AGENT_LEFT.to_string()),
        Ending::BrokeOff(why) => Some(format!("the response broke off: {why}")),
        Ending::Complete => how.refusal.as_ref().map(|r| r.message.clone()),
    };
    let side = match &how.ending {
        Ending::LeftEarly | Ending::LeftDuring => Some(Side::Agent),
        Ending::BrokeOff(_) => Some(Side::Upstream),
        Ending::Complete => how.refusal.as_ref().map(|r| r.side),
    };
    let status = if how.ending == Ending::LeftEarly {
        CLIENT_CLOSED
    } else {
        how.status
    };
    let aws_error = how
        .refusal
        .as_ref()
        .and_then(|r| r.aws_error.map(str::to_string))
        .or(how.upstream_error);
    Record {
        time: timestamp(context.time),
        id: std::mem::take(&mut context.id),
        agent: context.agent.take().map(|a| a.to_string()),
        endpoint: context.endpoint.take(),
        method: context.method.to_string(),
        host: std::mem::take(&mut context.host),
        path: std::mem::take(&mut context.path),
        facets: std::mem::take(&mut context.facets),
        decision,
        rule,
        reason,
        approval: match &ruling {
            Ruling::Held { hold, settled, waited } => Some(approval(hold, settled, *waited)),
            _ => None,
        },
        status,
        aws_error,
        error,
        side,
        bytes_in: how.bytes_in,
        bytes_out: how.bytes_out,
        duration_ms: millis(context.started.elapsed()),
        upstream_ms: context.upstream.map(millis),
    }
}

/// The decision, its rule and the reason, in the record's words. A request
/// denied says why; one that failed before any decision is denied (fail
/// closed); one that failed after a decision keeps it.
fn verdict(
    ruling: &Ruling,
    refusal: Option<&Refusal>,
    ending: &Ending,
) -> (Option<Verdict>, Option<RuleName>, Option<String>) {
    if let Some(Refusal {
        denied: Some(rule),
        message,
        ..
    }) = refusal
    {
        return (Some(Verdict::Deny), rule.clone(), Some(message.clone()));
    }
    match ruling {
        Ruling::Tunnel => (Some(Verdict::Tunnel), None, None),
        Ruling::Allowed(allowed) => (Some(Verdict::Allow), Some(allowed.rule.clone()), allowed.reason.clone()),
        Ruling::Held {
            hold,
            settled: Settled {
                outcome: Outcome::Allowed { .. },
                ..
            },
            ..
        } => (Some(Verdict::Approved), Some(hold.rule.clone()), hold.reason.clone()),
        _ => match (refusal, ending) {
            (Some(refusal), _) => (Some(Verdict::Deny), None, Some(refusal.message.clone())),
            (None, Ending::LeftEarly) => (
                Some(Verdict::Deny),
                None,
                Some("the agent went away before it was decided".to_string()),
            ),
            (None, _) => (None, None, None),
        },
    }
}

/// How a hold went, for the record.
fn approval(hold: &Hold, settled: &Settled, waited: std::time::Duration) -> Approval {
    let (allowed, denied_by, denial_reason) = match &settled.outcome {
        Outcome::Allowed { by } => (by.as_slice(), None, None),
        Outcome::Denied { by, reason } => (&[][..], Some(by.clone()), reason.clone()),
        Outcome::TimedOut | Outcome::Abandoned | Outcome::TooMany { .. } => (&[][..], None, None),
    };
    let reasons = allowed
        .iter()
        .filter_map(|c| Some(format!("{}: {}", c.by, c.reason.as_ref()?)))
        .chain(
            denied_by
                .iter()
                .zip(&denial_reason)
                .map(|(by, why)| format!("{by}: {why}")),
        )
        .collect();
    Approval {
        hold: settled.hold,
        approvers: hold.approvers.clone(),
        allowed_by: allowed.iter().map(|c| c.by.clone()).collect(),
        denied_by,
        reasons,
        outcome: settled.outcome.word(),
        waited_ms: millis(waited),
    }
}
