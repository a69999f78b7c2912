//! The read stage: a body is read into memory only where the decision or
//! the signature needs it, never more than that needs, and within the
//! gateway's memory budget for bodies; what it holds is given back when
//! the request is done.

use bytes::Bytes;

use super::GateError;
use super::context::Context;
use crate::net::Budget;
use crate::net::body::{self, Body, Prefix};

/// Reads up to `limit` bytes of `body`, drawn from `budget` for as long as
/// the request lasts.
pub(super) async fn read(
    budget: &Budget,
    context: &mut Context,
    body: Body,
    limit: usize,
) -> Result<Prefix, GateError> {
    // Each agent may hold its share of the budget, no more.
    let who = context.agent.as_ref().map_or("", |agent| agent.as_str());
    let mut prefix = body::read_prefix(body, limit, (budget, who)).await?;
    context.reserved.absorb(std::mem::take(&mut prefix.reserved));
    Ok(prefix)
}

/// The whole body, for a hash or the facts, and the body to forward; a body
/// longer than `limit` is `None` (and streams on).
pub(super) async fn read_whole(
    budget: &Budget,
    context: &mut Context,
    body: Body,
    limit: usize,
) -> Result<(Option<Bytes>, Body), GateError> {
    let prefix = read(budget, context, body, limit).await?;
    Ok((prefix.complete.then_some(prefix.bytes), prefix.body))
}
