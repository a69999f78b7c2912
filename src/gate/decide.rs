//! The facts and decide stages, reading the body only where they or
//! re-signing need it. What a request's head settles is settled first: a
//! contradictory request, an account the endpoint does not list, or a
//! rule that denies on the head alone is refused before one body byte is
//! read. Only then is the body read (within the memory budget), for the
//! facts it settles or for the hash re-signing needs.

use bytes::Bytes;
use http_body::Body as _;

use super::GateError;
use super::context::Context;
use super::read::read_whole;
use super::rules::{Route, Rules};
use crate::aws::resign::{MAX_SIGNED_BODY, needs_body_hash};
use crate::facet::aws::{AwsFacetError, MAX_PARAMS_BODY};
use crate::facet::{Facts, Seen};
use crate::net::{Body, Budget};
use crate::policy::{Decision, Denial, Hold, Matched};

/// What the rules let through: allowed, or held for people.
pub(super) enum Verdict {
    /// A rule allowed it.
    Allow(Matched),
    /// A rule holds it for people.
    Hold(Hold),
}

/// A decided request: its facts, the verdict, its body if read whole, and
/// the body to forward.
pub(super) struct Decided {
    pub facts: Facts,
    pub verdict: Verdict,
    pub read: Option<Bytes>,
    pub body: Body,
}

/// Derives the facts of `seen`, decides on them, and reads what must be
/// read; a denial is an error.
pub(super) async fn decide(
    (rules, route): (&Rules, &Route),
    budget: &Budget,
    context: &mut Context,
    seen: &Seen<'_>,
    body: Body,
) -> Result<Decided, GateError> {
    let for_hash = route.aws.is_some() && needs_body_hash(&seen.parts.headers) && !body.is_end_stream();
    if !seen.needs_body() {
        let facts = seen.facts(None).map_err(refused)?;
        context.know(&facts);
        let verdict = verdict(rules.policy.decide(route.id, &facts))?;
        let (read, body) = if for_hash {
            hashable(budget, context, body).await?
        } else {
            (None, body)
        };
        return Ok(Decided {
            facts,
            verdict,
            read,
            body,
        });
    }
    // The body may settle facts: first what the head settles.
    match seen.facts(None) {
        Err(refusal) if !refusal.may_depend_on_body() => return Err(refused(refusal)),
        Err(_) => {}
        Ok(head) => {
            if let Some(Decision::Deny(denial)) = rules.policy.decide_before_body(route.id, &head) {
                context.know(&head);
                return Err(GateError::Denied(denial));
            }
        }
    }
    let (read, body) = if for_hash {
        hashable(budget, context, body).await?
    } else {
        read_whole(budget, context, body, MAX_PARAMS_BODY).await?
    };
    let facts = seen.facts(read.as_deref()).map_err(refused)?;
    context.know(&facts);
    let verdict = verdict(rules.policy.decide(route.id, &facts))?;
    Ok(Decided {
        facts,
        verdict,
        read,
        body,
    })
}

/// The whole body, which re-signing must hash: one too large to hold is refused.
async fn hashable(budget: &Budget, context: &mut Context, body: Body) -> Result<(Option<Bytes>, Body), GateError> {
    match read_whole(budget, context, body, MAX_SIGNED_BODY).await? {
        (None, _) => Err(GateError::TooLargeToSign),
        read => Ok(read),
    }
}

fn refused(refusal: AwsFacetError) -> GateError {
    GateError::Denied(Denial::Refused(refusal))
}

fn verdict(decision: Decision) -> Result<Verdict, GateError> {
    match decision {
        Decision::Allow(matched) => Ok(Verdict::Allow(matched)),
        Decision::Hold(hold) => Ok(Verdict::Hold(hold)),
        Decision::Deny(denial) => Err(GateError::Denied(denial)),
    }
}
