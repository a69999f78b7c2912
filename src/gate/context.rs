//! One request's context: what it asked, and what each stage found out
//! about it. The stages fill it in; the record is built from it once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use http::{Method, Request};

use super::admit::Slot;
use super::respond::ErrorFormat;
use crate::approval::Settled;
use crate::facet::Facts;
use crate::facet::aws::host::HostFacts;
use crate::ids::AgentName;
use crate::net::Reservation;
use crate::net::pace::Fault;
use crate::policy::{Hold, Matched};

/// What the rules (and the people they asked) made of a request.
#[derive(Debug, Clone)]
pub enum Ruling {
    /// Nothing is decided yet; a request that ends so was refused or failed
    /// before any rule ran, or its agent left first.
    Pending,
    /// Relayed without interception (`unknown_host = "tunnel"`).
    Tunnel,
    /// A rule allowed it.
    Allowed(Matched),
    /// A rule held it, and this is how the hold ended.
    Held {
        /// The rule's hold.
        hold: Hold,
        /// How it was settled.
        settled: Settled,
        /// How long it waited for people.
        waited: Duration,
    },
}

/// One request, as far as the gate has taken it.
#[derive(Debug)]
pub struct Context {
    /// The request's id, also sent to the agent as `x-clawgate-request-id`.
    pub id: String,
    /// When it arrived.
    pub time: SystemTime,
    /// When it arrived, for durations.
    pub started: Instant,
    /// Its method.
    pub method: Method,
    /// The host the agent asked for: lower-case, no port, no trailing dot.
    pub host: String,
    /// Its path.
    pub path: String,
    /// What the host says as an AWS host, read once for every stage.
    pub aws_host: Option<HostFacts>,
    /// How errors are written for this agent's client.
    pub format: ErrorFormat,
    /// The agent, once known.
    pub agent: Option<AgentName>,
    /// The endpoint that claimed the host (`aws_api.org`).
    pub endpoint: Option<String>,
    /// The facts worth recording and showing, flat; made once, by [`Context::know`].
    pub facets: BTreeMap<String, String>,
    /// What was decided.
    pub ruling: Ruling,
    /// From sending upstream to the upstream's response head.
    pub upstream: Option<Duration>,
    /// Its place among the requests in flight, given back when it is done.
    pub slot: Option<Slot>,
    /// The memory its body holds, given back when it is done.
    pub reserved: Reservation,
    /// Why the agent's body failed, if it did.
    pub body_fault: Fault,
}

impl Context {
    /// The context of `request` for `host` (no port), which says `aws_host`
    /// as an AWS host, from `agent` if it is known yet.
    pub fn new<B>(
        request: &Request<B>,
        host: String,
        aws_host: Option<HostFacts>,
        agent: Option<AgentName>,
    ) -> Context {
        let format = if request.method() == Method::CONNECT {
            ErrorFormat::Text
        } else {
            ErrorFormat::for_host(aws_host.as_ref(), request.headers())
        };
        Context {
            id: format!("{:016x}", rand::random::<u64>()),
            time: SystemTime::now(),
            started: Instant::now(),
            method: request.method().clone(),
            host,
            path: request.uri().path().to_string(),
            aws_host,
            format,
            agent,
            endpoint: None,
            facets: BTreeMap::new(),
            ruling: Ruling::Pending,
            upstream: None,
            slot: None,
            reserved: Reservation::default(),
            body_fault: Fault::default(),
        }
    }

    /// Keeps the flat form of the facts the rules read, for the record and the hold.
    pub fn know(&mut self, facts: &Facts) {
        self.facets = facts.flat();
    }
}
