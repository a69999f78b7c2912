//! One audit record: what one request was, what was decided and why, and how
//! it went.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::ids::{HoldId, RuleName};
use time::OffsetDateTime;

/// Who caused a request to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The agent: what it sent, or what it may not do.
    Agent,
    /// The upstream (or STS): unreachable, failing, refusing.
    Upstream,
    /// clawgate itself: missing set-up, or a failure of its own.
    Clawgate,
}

/// What was decided about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A rule allowed it.
    Allow,
    /// A rule held it and the people asked allowed it.
    Approved,
    /// It was refused: by a rule, a person, a timeout, or because it could
    /// not be decided (which fails closed).
    Deny,
    /// It was relayed without interception (`unknown_host = "tunnel"`).
    Tunnel,
}

/// A name that is not a verdict's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a decision; write one of allow, approved, deny, tunnel")]
pub struct UnknownVerdict(String);

/// Every verdict, for parsing.
const VERDICTS: [Verdict; 4] = [Verdict::Allow, Verdict::Approved, Verdict::Deny, Verdict::Tunnel];

impl Verdict {
    /// Its name in records and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Approved => "approved",
            Verdict::Deny => "deny",
            Verdict::Tunnel => "tunnel",
        }
    }

    /// The verdict named `name`, or what the names are.
    pub fn parse(name: &str) -> Result<Verdict, UnknownVerdict> {
        VERDICTS
            .into_iter()
            .find(|v| v.as_str() == name)
            .ok_or_else(|| UnknownVerdict(name.to_string()))
    }
}

/// How a held request was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// The hold it waited on, if it waited (an earlier approval admits
    /// identical requests without one).
    pub hold: Option<HoldId>,
    /// Who was asked, in order.
    pub approvers: Vec<String>,
    /// Who allowed it.
    pub allowed_by: Vec<String>,
    /// Who denied it.
    pub denied_by: Option<String>,
    /// What the people deciding said, as `name: reason`.
    pub reasons: Vec<String>,
    /// `allowed`, `denied`, `timed out` or `too many`.
    pub outcome: &'static str,
    /// How long it waited for people, in milliseconds.
    pub waited_ms: u64,
}

/// One request's audit record. Never holds a body or a secret: the facets
/// leave out headers and body parameters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Record {
    /// When the request arrived (RFC 3339, UTC).
    pub time: String,
    /// The request's id, also sent to the agent as `x-clawgate-request-id`.
    pub id: String,
    /// The agent, once authenticated.
    pub agent: Option<String>,
    /// The endpoint that claimed the host (`aws_api.org`).
    pub endpoint: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The host the agent asked for.
    pub host: String,
    /// The path.
    pub path: String,
    /// The request's facts, flat (`aws.action` → `PutObject`).
    pub facets: BTreeMap<String, String>,
    /// What was decided; `None` until something is.
    pub decision: Option<Verdict>,
    /// The rule that decided.
    pub rule: Option<RuleName>,
    /// Why, as the agent was told (the rule's reason, or the refusal).
    pub reason: Option<String>,
    /// How people decided, for a held request.
    pub approval: Option<Approval>,
    /// The status the agent received.
    pub status: u16,
    /// The AWS error code the agent received, if any.
    pub aws_error: Option<String>,
    /// What failed, when clawgate or the upstream failed the request.
    pub error: Option<String>,
    /// Who caused the failure or refusal, when there was one.
    pub side: Option<Side>,
    /// Body bytes from the agent.
    pub bytes_in: u64,
    /// Body bytes to the agent.
    pub bytes_out: u64,
    /// From arrival to the last byte of the response, in milliseconds.
    pub duration_ms: u64,
    /// From sending upstream to the upstream's response head, in milliseconds.
    pub upstream_ms: Option<u64>,
}

impl Record {
    /// The record of a request that has just arrived, with a fresh id.
    pub fn begin(method: &str, host: &str, path: &str) -> Record {
        Record {
            time: timestamp(SystemTime::now()),
            id: format!("{:016x}", rand::random::<u64>()),
            agent: None,
            endpoint: None,
            method: method.to_string(),
            host: host.to_string(),
            path: path.to_string(),
            facets: BTreeMap::new(),
            decision: None,
            rule: None,
            reason: None,
            approval: None,
            status: 0,
            aws_error: None,
            error: None,
            side: None,
            bytes_in: 0,
            bytes_out: 0,
            duration_ms: 0,
            upstream_ms: None,
        }
    }

    /// The account the request was for, if it was an AWS request.
    pub fn account(&self) -> Option<&str> {
        self.facets.get("aws.account").map(String::as_str)
    }
}

/// A duration in whole milliseconds, as records give them.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `at` as RFC 3339 in UTC, to the millisecond (`2026-11-23T08:01:02.345Z`).
pub fn timestamp(at: SystemTime) -> String {
    let at = OffsetDateTime::from(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_serialize_with_lowercase_verdicts_and_millisecond_times() {
        let mut record = Record::begin("GET", "s3.amazonaws.com", "/b/k");
        record.decision = Some(Verdict::Approved);
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["decision"], "approved");
        assert_eq!(json["id"].as_str().unwrap().len(), 16);
        let time = json["time"].as_str().unwrap();
        assert!(
            time.ends_with('Z') && time.len() == "2026-11-23T08:01:02.345Z".len(),
            "{time}"
        );
    }
}
