//! The front door: authenticate the agent, then open a tunnel (CONNECT) or
//! forward an absolute-form `http://` request.

use std::sync::Arc;

use http::uri::Scheme;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::audited::Trail;
use super::body::{self, Body};
use super::exchange::exchange;
use super::listener::Client;
use super::{ErrorFormat, ProxyError, Target, intercept, tunnel};
use crate::audit::{Record, Verdict};
use crate::config::{AgentName, UnknownHost};

/// Handles one request on an agent's connection.
pub(super) async fn handle(client: Arc<Client>, request: Request<Incoming>) -> Response<Body> {
    let format = match request.uri().host() {
        Some(host) if request.method() != Method::CONNECT => ErrorFormat::for_request(host, request.headers()),
        _ => ErrorFormat::Text,
    };
    let host = match request.uri().host() {
        Some(host) => host.to_string(),
        None => request.uri().authority().map(|a| a.to_string()).unwrap_or_default(),
    };
    let mut asked = Asked::new(&request, request.uri().to_string(), &host, format, &client);
    let method = asked.method.clone();
    let agent = client
        .proxy
        .current
        .load()
        .agents
        .authenticate(request.headers(), client.peer.ip());
    if let Ok(agent) = &agent {
        asked.trail.record.agent = Some(agent.to_string());
    }
    let outcome = match agent {
        Ok(agent) if method == Method::CONNECT => connect(&client, agent, request, &mut asked.trail.record).await,
        Ok(agent) => {
            let request = asked.trail.counted(request);
            plain(&client, agent, request, &mut asked.trail.record).await
        }
        Err(e) => Err(e),
    };
    finish(outcome, asked)
}

/// What was asked: for the log line, the error's shape, and the audit record.
pub(super) struct Asked {
    method: Method,
    uri: String,
    format: ErrorFormat,
    /// The request's audit record, filled in as it is decided and forwarded.
    pub(super) trail: Trail,
}

impl Asked {
    /// Notes `request` for `host`, shown as `uri`, whose errors take `format`.
    pub(super) fn new<B>(request: &Request<B>, uri: String, host: &str, format: ErrorFormat, client: &Client) -> Asked {
        let record = Record::begin(request.method().as_str(), host, request.uri().path());
        Asked {
            method: request.method().clone(),
            uri,
            format,
            trail: Trail::begin(record, format != ErrorFormat::Text, Arc::clone(client.proxy.audit())),
        }
    }
}

/// The response for `outcome`, logged with what was asked and how long it
/// took; its body carries the audit record to the log when done. A CONNECT
/// that opens an intercepted tunnel has no record of its own: each request
/// in the tunnel has one.
pub(super) fn finish(outcome: Result<Response<Body>, ProxyError>, asked: Asked) -> Response<Body> {
    let Asked {
        method,
        uri,
        format,
        mut trail,
    } = asked;
    let millis = trail.started().elapsed().as_millis();
    let record = &mut trail.record;
    let response = match outcome {
        Ok(response) => {
            tracing::info!(%method, uri, status = response.status().as_u16(), millis, "request");
            response
        }
        Err(error) => {
            let status = error.status().as_u16();
            tracing::info!(%method, uri, status, millis, error = %error, "request");
            let message = error.to_string();
            match &error {
                ProxyError::Denied(denial) => {
                    record.decision = Some(Verdict::Deny);
                    record.rule = denial.rule().map(str::to_string);
                    record.reason = Some(message.clone());
                }
                // Failing before a decision denies.
                _ if record.decision.is_none() => {
                    record.decision = Some(Verdict::Deny);
                    record.reason = Some(message.clone());
                }
                _ => {}
            }
            record.error = Some(message);
            error.into_response(format)
        }
    };
    let intercepted = method == Method::CONNECT && response.status().is_success() && record.decision.is_none();
    if intercepted {
        trail.discard();
        return response;
    }
    trail.respond(response)
}

/// CONNECT: intercept the hosts an endpoint claims; tunnel or deny the rest.
async fn connect(
    client: &Arc<Client>,
    agent: AgentName,
    request: Request<Incoming>,
    record: &mut Record,
) -> Result<Response<Body>, ProxyError> {
    let authority = request.uri().authority().map_or("", |a| a.as_str());
    let target = Target::parse(authority, 443)?;
    let proxy = &client.proxy;
    let client = Arc::clone(client);
    let claimed = proxy.current.load().policy.config().route(target.host()).is_some();
    match (claimed, proxy.gateway.unknown_host) {
        (true, _) => {
            tracing::debug!(%agent, %target, "intercepting");
            proxy.tasks.spawn(async move {
                match hyper::upgrade::on(request).await {
                    Ok(upgraded) => intercept::serve(client, upgraded, target, agent).await,
                    Err(e) => tracing::debug!(error = %e, "CONNECT was not upgraded"),
                }
            });
        }
        (false, UnknownHost::Tunnel) => {
            record.decision = Some(Verdict::Tunnel);
            let upstream = proxy.dialer.dial(target.host(), target.port()).await?;
            tracing::debug!(%agent, %target, "tunnelling without interception");
            proxy.tasks.spawn(async move {
                match hyper::upgrade::on(request).await {
                    Ok(upgraded) => tunnel::relay(client, upgraded, upstream).await,
                    Err(e) => tracing::debug!(error = %e, "CONNECT was not upgraded"),
                }
            });
        }
        (false, UnknownHost::Deny) => {
            return Err(ProxyError::UnknownHost(target.host().to_string()));
        }
    }
    let mut response = Response::new(body::empty());
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

/// An absolute-form `http://host/path` request, forwarded as plain HTTP.
async fn plain(
    client: &Arc<Client>,
    agent: AgentName,
    request: Request<Body>,
    record: &mut Record,
) -> Result<Response<Body>, ProxyError> {
    let uri = request.uri();
    match (uri.scheme(), uri.authority()) {
        (Some(scheme), Some(_)) if *scheme == Scheme::HTTP => {}
        (Some(_), Some(_)) => {
            return Err(ProxyError::BadRequest(
                "send https:// requests through a CONNECT tunnel".to_string(),
            ));
        }
        _ => {
            return Err(ProxyError::BadRequest(
                "clawgate is a forward proxy: send `CONNECT host:port` or an absolute `http://` URL".to_string(),
            ));
        }
    }
    let target = Target::parse(uri.authority().map_or("", |a| a.as_str()), 80)?;
    exchange(client, &agent, Scheme::HTTP, &target, request, record).await
}
