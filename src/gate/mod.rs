//! The gate: one request as named stages. The proxy hands it every request
//! an agent sends, through [`Gate::handle`]; the gate decides, forwards, and
//! records, and is the one place errors become responses.
//!
//! A request goes through these stages, each a function of its own:
//! 1. **who** ([`auth`]): the agent, by its proxy credentials;
//! 2. **admit** ([`admit`]): one more request in flight, within the
//!    gateway's and the agent's limits;
//! 3. **route** ([`route`]): the endpoint that claims the host; a CONNECT is
//!    intercepted, tunnelled or refused here;
//! 4. **clean**: hop-by-hop headers go before anything reads the request
//!    ([`clean`](crate::facet::derive::clean));
//! 5. **facts and decide** ([`decide`]): `agent`, `http` and `aws`, derived
//!    once ([`Seen`]), and the rules; what the head settles is settled
//!    before the body is read ([`read`]), and the body is read only where
//!    the decision or the signature needs it;
//! 6. **hold** ([`hold`]): people decide what the rules hold;
//! 7. **re-sign** ([`resign`]): credentials for the target account, a new signature;
//! 8. **forward** ([`forward`]): upstream over pooled connections;
//! 9. **record** ([`record`]): one audit record, whatever happened, written
//!    when the response ends (for HEAD, when its head goes out; [`trail`]
//!    keeps that promise).
//!
//! Every stage fills in the request's [`Context`]; every error is a
//! [`GateError`] that [`respond`] turns into the agent's response.

mod admit;
mod auth;
mod context;
mod decide;
mod error;
mod forward;
mod hold;
mod read;
mod record;
mod resign;
mod respond;
mod route;
mod rules;
mod trail;

pub use admit::Crowd;
pub use auth::{Agents, AuthError};
pub use error::GateError;
pub use respond::{ErrorFormat, REASON_HEADER, respond};
pub use rules::Rules;

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use http::uri::Scheme;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use tokio::net::TcpStream;

use crate::approval::Approvals;
use crate::audit::Audit;
use crate::aws::resign::Resigner;
use crate::config::{Config, Limits, UnknownHost};
use crate::facet::aws::host::{self, HostFacts};
use crate::facet::{Seen, derive};
use crate::ids::AgentName;
use crate::net::{Body, Budget, Dialer, Target, Upstream, default_port};
use crate::policy::Policy;
use admit::Admission;
use context::{Context, Ruling};
use decide::{Decided, Verdict};
use record::Refusal;
use trail::Trail;

/// Everything requests share, built once at start-up and handed in.
pub struct Gate {
    /// The rules in force; replaced whole on reload.
    rules: ArcSwap<Rules>,
    /// What does not change on reload.
    shared: Shared,
    /// The requests in flight, within the limits.
    admission: Arc<Admission>,
    /// The memory bodies read before forwarding may hold.
    memory: Budget,
}

/// What the gate is built from, besides the rules (set at start-up).
pub struct Shared {
    /// What to do with hosts no endpoint claims.
    pub unknown_host: UnknownHost,
    /// Dials tunnels to unclaimed hosts.
    pub dialer: Dialer,
    /// The pooled upstream client.
    pub upstream: Upstream,
    /// Assumes roles and re-signs AWS requests.
    pub resigner: Resigner,
    /// Requests held for people.
    pub approvals: Arc<Approvals>,
    /// Where every request's record goes.
    pub audit: Arc<Audit>,
    /// The limits on what requests may hold.
    pub limits: Limits,
}

/// Where a request came in.
#[derive(Debug, Clone, Copy)]
pub enum Arrival<'a> {
    /// On the proxy's own listener, from `peer`: a CONNECT or an
    /// absolute-form `http://` request.
    Direct {
        /// The client's address.
        peer: SocketAddr,
    },
    /// Inside an intercepted tunnel.
    Tunnelled(&'a Tunnel),
}

/// An intercepted tunnel: who opened it, and to where.
#[derive(Debug, Clone)]
pub struct Tunnel {
    /// The CONNECT target; every request in the tunnel must be for it.
    pub target: Target,
    /// The agent that opened it.
    pub agent: AgentName,
    /// What the target says as an AWS host: read once for every request in the tunnel.
    aws_host: Option<HostFacts>,
}

impl Tunnel {
    /// The tunnel `agent` opened to `target`.
    fn new(target: Target, agent: AgentName) -> Tunnel {
        Tunnel {
            aws_host: host::parse(target.host()),
            target,
            agent,
        }
    }
}

/// What the gate answers: the response, and for a CONNECT, what the proxy
/// opens once it is sent.
pub struct Answer {
    /// The response to send the agent.
    pub response: Response<Body>,
    /// What a successful CONNECT opened.
    pub opened: Option<Opened>,
}

/// What a CONNECT opens.
#[derive(Debug)]
pub enum Opened {
    /// A tunnel to intercept: TLS with a minted leaf, then requests.
    Intercept(Tunnel),
    /// A tunnel relayed untouched to the upstream (`unknown_host = "tunnel"`).
    Relay(TcpStream),
}

impl Gate {
    /// A gate enforcing `policy` with `shared`.
    pub fn new(policy: Policy, shared: Shared) -> Gate {
        let limits = &shared.limits;
        Gate {
            rules: ArcSwap::from_pointee(Rules::new(policy)),
            admission: Admission::new(limits.max_upstream_requests, limits.max_requests_per_agent),
            memory: Budget::new(limits.body_memory),
            shared,
        }
    }

    /// Puts `policy` in force for every request from now on.
    pub fn reload(&self, policy: Policy) {
        self.rules.store(Arc::new(Rules::new(policy)));
    }

    /// The configuration of the rules in force.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(self.rules.load().config())
    }

    /// The one entry point: decides on `request`, which came in as
    /// `arrival`, forwards it if allowed, and records it.
    pub async fn handle(&self, arrival: Arrival<'_>, request: Request<Incoming>) -> Answer {
        // The rules in force when the request arrived decide it, even if a
        // reload lands while its body is read or it waits for people.
        let rules = self.rules.load_full();
        let (context, uri) = match arrival {
            Arrival::Direct { .. } => {
                let host = direct_host(&request);
                let aws_host = (request.method() != Method::CONNECT)
                    .then(|| host::parse(&host))
                    .flatten();
                (Context::new(&request, host, aws_host, None), request.uri().to_string())
            }
            Arrival::Tunnelled(tunnel) => {
                let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
                let host = tunnel.target.host().to_string();
                let agent = Some(tunnel.agent.clone());
                let context = Context::new(&request, host, tunnel.aws_host.clone(), agent);
                (context, format!("https://{}{path}", tunnel.target.authority(443)))
            }
        };
        let mut trail = Trail::begin(context, Arc::clone(&self.shared.audit));
        let request = trail.counted(request, self.shared.limits.min_body_rate);
        let context = &mut trail.context;
        let outcome = match arrival {
            Arrival::Direct { peer } => self.direct(&rules, context, peer, request).await,
            Arrival::Tunnelled(_) if request.method() == Method::CONNECT => {
                Err(GateError::NotProxied("a CONNECT inside a tunnel is not served"))
            }
            Arrival::Tunnelled(tunnel) => self
                .exchange(&rules, context, &tunnel.agent, (Scheme::HTTPS, &tunnel.target), request)
                .await
                .map(|response| (response, None)),
        };
        finish(trail, &uri, outcome)
    }

    /// A request on the proxy's own listener: who sends it, then a CONNECT
    /// or a plain-HTTP exchange.
    async fn direct(
        &self,
        rules: &Rules,
        context: &mut Context,
        peer: SocketAddr,
        request: Request<Body>,
    ) -> Result<(Response<Body>, Option<Opened>), GateError> {
        let agent = rules.agents.authenticate(request.headers(), peer.ip())?;
        context.agent = Some(agent.clone());
        if request.method() == Method::CONNECT {
            let authority = request.uri().authority().map_or("", |a| a.as_str()).to_string();
            return route::connect(self, rules, context, agent, &authority).await;
        }
        let target = route::plain_target(&request)?;
        let response = self
            .exchange(rules, context, &agent, (Scheme::HTTP, &target), request)
            .await?;
        Ok((response, None))
    }

    /// Whether `request` from `agent` to `scheme://target` may be served at
    /// all: no request is served that its record could not be kept for, a
    /// tunnel opened to one host carries requests for that host only, and
    /// the requests in flight stay within the limits (the request's place
    /// among them goes into `context`).
    fn admit(
        &self,
        context: &mut Context,
        agent: &AgentName,
        request: &Request<Body>,
        (scheme, target): (&Scheme, &Target),
    ) -> Result<(), GateError> {
        self.shared.audit.admit()?;
        target.check_request(request, default_port(scheme))?;
        context.slot = Some(self.admission.admit(agent)?);
        Ok(())
    }

    /// One request from `agent` to `scheme://target`, stage by stage.
    async fn exchange(
        &self,
        rules: &Rules,
        context: &mut Context,
        agent: &AgentName,
        (scheme, target): (Scheme, &Target),
        request: Request<Body>,
    ) -> Result<Response<Body>, GateError> {
        // Admit: its record can be kept, it is for the tunnel's host, and
        // it is one more in flight within the limits.
        self.admit(context, agent, &request, (&scheme, target))?;
        // Route: the endpoint that claims the host.
        let Some(route) = rules.route(target.host()) else {
            return route::unclaimed(self, context, scheme, target, request).await;
        };
        context.endpoint = Some(route.name.clone());
        let (mut parts, body) = request.into_parts();
        // Clean: rules never see a header that will not reach the upstream.
        derive::clean(&mut parts.headers, parts.uri.query())?;
        // Facts and decision, the body read only where they need it.
        let aws_host = context.aws_host.clone();
        let seen = Seen {
            agent,
            parts: &parts,
            host: target.host(),
            aws_host: aws_host.as_ref(),
            api: route.aws.as_ref().map(|aws| &aws.api),
            reads_params: rules.policy.reads_params(),
        };
        let decided = decide::decide((rules, route), &self.memory, context, &seen, body).await?;
        let Decided {
            facts,
            verdict,
            read,
            body,
        } = decided;
        // Hold for people what the rules hold.
        let body = match verdict {
            Verdict::Hold(held) => {
                let shared = (&*self.shared.approvals, &self.memory);
                hold::hold(shared, context, held, &facts, &parts, read.as_ref(), body).await?
            }
            Verdict::Allow(allowed) => {
                context.ruling = Ruling::Allowed(allowed);
                body
            }
        };
        // Re-sign for the target account (AWS endpoints), forward, screen the response.
        let resigner = &self.shared.resigner;
        let (upstream, body, screen) =
            resign::resign(resigner, route, &facts, &mut parts, (scheme, target), read, body).await?;
        let request = Request::from_parts(parts, body);
        let response = forward::forward(&self.shared.upstream, context, upstream, request).await?;
        Ok(resign::screened(response, screen))
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("unknown_host", &self.shared.unknown_host)
            .finish_non_exhaustive()
    }
}

/// The host a request on the listener names (a CONNECT's authority, an
/// absolute URL's host), as [`Target`] writes hosts: lower-case, without
/// brackets or a trailing dot; what the URI holds when it names none.
fn direct_host<B>(request: &Request<B>) -> String {
    match request.uri().host() {
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase(),
        None => request.uri().authority().map(|a| a.to_string()).unwrap_or_default(),
    }
}

/// The response for `outcome`, logged at debug with what was asked and how
/// long it took (the audit log is the access log); its body carries the
/// audit record to the log when done. A CONNECT that opens an intercepted
/// tunnel has no record of its own: each request in the tunnel has one.
fn finish(trail: Trail, uri: &str, outcome: Result<(Response<Body>, Option<Opened>), GateError>) -> Answer {
    let method = trail.context.method.clone();
    let millis = trail.context.started.elapsed().as_millis();
    match outcome {
        Ok((response, opened)) => {
            tracing::debug!(%method, uri, status = response.status().as_u16(), millis, "request");
            if matches!(opened, Some(Opened::Intercept(_))) {
                trail.discard();
                return Answer { response, opened };
            }
            Answer {
                response: trail.respond(response, None),
                opened,
            }
        }
        Err(error) => {
            let status = error.status();
            tracing::debug!(%method, uri, status = status.as_u16(), millis, error = %error, "request");
            let format = trail.context.format;
            let refusal = Refusal::of(&error, format);
            Answer {
                response: trail.respond(respond(&error, format), Some(refusal)),
                opened: None,
            }
        }
    }
}
