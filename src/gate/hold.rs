//! The hold stage: a request the rules hold waits, its connection open,
//! until people decide. An identical retry joins the pending hold, so the
//! body's hash is part of what "identical" means: it is read here (up to
//! 1 MiB) if the read stage did not read it.

use std::time::Instant;

use bytes::Bytes;
use http::request::Parts;

use super::GateError;
use super::context::{Context, Ruling};
use super::read;
use crate::approval::{Approvals, BodyDigest, HoldRequest, Outcome};
use crate::facet::Facts;
use crate::facet::aws::MAX_PARAMS_BODY;
use crate::ids::AgentName;
use crate::net::{Body, Budget};
use crate::policy::{Denial, Hold};

/// Holds the request until people decide; the body to forward if they allow it.
pub(super) async fn hold(
    (approvals, budget): (&Approvals, &Budget),
    context: &mut Context,
    hold: Hold,
    facts: &Facts,
    parts: &Parts,
    read: Option<&Bytes>,
    body: Body,
) -> Result<Body, GateError> {
    let (digest, body) = match read {
        Some(bytes) => (BodyDigest::of(bytes), body),
        None => {
            let prefix = read::read(budget, context, body, MAX_PARAMS_BODY).await?;
            let digest = if prefix.complete {
                BodyDigest::of(&prefix.bytes)
            } else {
                BodyDigest::TooLarge
            };
            (digest, prefix.body)
        }
    };
    let request = HoldRequest::new(&hold, facts, parts.uri.query(), digest, context.facets.clone());
    let waiting = Instant::now();
    let settled = approvals.hold(request).await;
    let denial = denial(&hold, &settled.outcome, &facts.agent.name);
    if denial.is_none() {
        tracing::info!(agent = %facts.agent.name, rule = %hold.rule, outcome = %settled.outcome, "approved");
    }
    context.ruling = Ruling::Held {
        hold,
        settled,
        waited: waiting.elapsed(),
    };
    match denial {
        Some(denial) => Err(GateError::Denied(denial)),
        None => Ok(body),
    }
}

/// Why people's `outcome` of `hold` denies the request, unless it allows it.
fn denial(hold: &Hold, outcome: &Outcome, agent: &AgentName) -> Option<Denial> {
    match outcome {
        Outcome::Allowed { .. } => None,
        Outcome::Denied { by, reason } => Some(Denial::Human {
            rule: hold.rule.clone(),
            by: by.clone(),
            reason: reason.clone(),
            approvers: hold.approvers.clone(),
        }),
        // Abandoned only once no request waits, so never seen here.
        Outcome::TimedOut | Outcome::Abandoned => Some(Denial::TimedOut {
            rule: hold.rule.clone(),
        }),
        Outcome::TooMany { limit } => Some(Denial::TooManyHolds {
            rule: hold.rule.clone(),
            agent: agent.clone(),
            limit: *limit,
        }),
    }
}
