//! The read stage: the body is read before deciding only where the
//! decision or the signature needs it (the query protocols carry the
//! operation in it, JSON ones the parameters a rule may read; re-signing
//! needs the hash of a body whose request carries none), and never more
//! than that needs.

use bytes::Bytes;
use http::request::Parts;

use super::GateError;
use super::context::Context;
use super::rules::Route;
use crate::aws::resign::{MAX_SIGNED_BODY, needs_body_hash};
use crate::facet::aws::{MAX_PARAMS_BODY, needs_body};
use crate::net::{Body, body};
use crate::policy::Policy;

/// The whole body when it was read, and the body to forward (which replays
/// what was read and streams the rest).
pub(super) async fn read(
    route: &Route,
    policy: &Policy,
    context: &Context,
    parts: &Parts,
    incoming: Body,
) -> Result<(Option<Bytes>, Body), GateError> {
    if route.aws.is_none() {
        return Ok((None, incoming));
    }
    let method = parts.method.as_str();
    let for_facts = needs_body(context.aws_host.as_ref(), &parts.headers, method, policy.reads_params());
    let for_hash = needs_body_hash(&parts.headers) && may_have_body(parts);
    let limit = match (for_hash, for_facts) {
        (true, _) => MAX_SIGNED_BODY,
        (false, true) => MAX_PARAMS_BODY,
        (false, false) => return Ok((None, incoming)),
    };
    let prefix = body::read_prefix(incoming, limit).await.map_err(GateError::Body)?;
    if for_hash && !prefix.complete {
        return Err(GateError::TooLargeToSign);
    }
    Ok((prefix.complete.then_some(prefix.bytes), prefix.body))
}

/// Whether the request may have a body (a length over zero, or chunked).
fn may_have_body(parts: &Parts) -> bool {
    let length = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok());
    parts.headers.contains_key(http::header::TRANSFER_ENCODING) || length.is_some_and(|l| l.trim() != "0")
}
