//! What a held request is, for the holds engine and the people deciding:
//! the one-line summary they read, and the fingerprint that makes an
//! identical retry join the same hold.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::HoldRequest;
use crate::facet::Facts;
use crate::policy::Hold;

/// Headers that differ between attempts at the same request, left out when
/// deciding whether a retry is the same request as a held one.
const VOLATILE_HEADERS: [&str; 12] = [
    "authorization",
    "x-amz-date",
    "date",
    "x-amz-security-token",
    "amz-sdk-request",
    "amz-sdk-invocation-id",
    "x-amzn-trace-id",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "te",
    "expect",
];

/// The body of a held request, as far as "identical" is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyDigest {
    /// The SHA-256 of the whole body.
    Whole([u8; 32]),
    /// Too large to hash here: never identical to another request.
    TooLarge,
}

impl BodyDigest {
    /// The digest of `body`, read whole.
    pub fn of(body: &[u8]) -> BodyDigest {
        BodyDigest::Whole(Sha256::digest(body).into())
    }
}

impl HoldRequest {
    /// The request `facts` describe (its raw query `query`, its body
    /// `body`), held by `hold`; `facets` (flat) are shown to the people deciding.
    pub fn new(
        hold: &Hold,
        facts: &Facts,
        query: Option<&str>,
        body: BodyDigest,
        facets: BTreeMap<String, String>,
    ) -> HoldRequest {
        HoldRequest {
            fingerprint: fingerprint(hold, facts, query, body),
            agent: facts.agent.name.clone(),
            rule: hold.rule.clone(),
            summary: summary(hold, facts),
            approvers: hold.approvers.clone(),
            timeout: hold.timeout,
            facets,
        }
    }
}

/// One line saying what the request does, by whom, and which rule holds it.
fn summary(hold: &Hold, facts: &Facts) -> String {
    let what = match &facts.aws {
        Some(aws) => {
            let field = |name: &str| aws.text(name).unwrap_or("?");
            let target = match (&aws.bucket, &aws.key) {
                (Some(b), Some(k)) => format!(" {b}/{k}"),
                (Some(b), None) => format!(" {b}"),
                _ => String::new(),
            };
            format!(
                "{} {}{target} in account {} ({}), {}",
                field("action"),
                field("service"),
                field("account_name"),
                field("account"),
                field("region")
            )
        }
        None => format!("{} https://{}{}", facts.http.method, facts.http.host, facts.http.path),
    };
    format!("{what}, by agent {} — rule '{}'", facts.agent.name, hold.rule)
}

/// Everything that says what the request does: its rule, line, headers
/// (an ACL or a copy source may be all that differs) and body; not what
/// changes from one attempt to the next (signature, clock, attempt count).
fn fingerprint(hold: &Hold, facts: &Facts, query: Option<&str>, body: BodyDigest) -> String {
    let mut hash = Sha256::new();
    let headers = facts
        .http
        .headers
        .iter()
        .filter(|(name, _)| !VOLATILE_HEADERS.contains(&name.as_str()))
        .flat_map(|(name, values)| values.iter().flat_map(move |v| [name.as_str(), v.as_str()]));
    let line = [
        hold.rule.as_str(),
        facts.agent.name.as_str(),
        facts.http.method.as_str(),
        facts.http.host.as_str(),
        facts.http.path.as_str(),
        query.unwrap_or(""),
    ];
    for part in line.into_iter().chain(headers) {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    match body {
        BodyDigest::Whole(digest) => hash.update(digest),
        BodyDigest::TooLarge => hash.update(rand::random::<[u8; 16]>()),
    }
    hex::encode(hash.finalize())
}
