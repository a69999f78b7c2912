//! Interception: TLS with a minted leaf, then every request in the tunnel is
//! checked against the tunnel's target and forwarded.

use std::convert::Infallible;
use std::sync::Arc;

use http::uri::Scheme;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::upgrade::Upgraded;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::server::Acceptor;
use tokio_rustls::LazyConfigAcceptor;

use super::activity;
use super::body::Body;
use super::exchange::exchange;
use super::front::{self, Asked};
use super::listener::Client;
use super::{ErrorFormat, Target};
use crate::config::AgentName;

/// An intercepted tunnel: who opened it, and to where.
struct Session {
    client: Arc<Client>,
    target: Target,
    agent: AgentName,
}

/// Accepts TLS from the agent on `upgraded` and serves its requests over
/// HTTP/1.1 or HTTP/2, as ALPN decided.
pub(super) async fn serve(client: Arc<Client>, upgraded: Upgraded, target: Target, agent: AgentName) {
    let proxy = Arc::clone(&client.proxy);
    let limits = &proxy.gateway.limits;
    let peer = client.peer;
    let handshake = async {
        let start = LazyConfigAcceptor::new(Acceptor::default(), TokioIo::new(upgraded))
            .await
            .map_err(|e| format!("no TLS ClientHello: {e}"))?;
        let config = match start.client_hello().server_name() {
            Some(sni) if sni.trim_end_matches('.').eq_ignore_ascii_case(target.host()) => Arc::clone(&proxy.tls),
            Some(sni) => {
                return Err(format!(
                    "TLS server name `{sni}` differs from the CONNECT target `{target}`"
                ));
            }
            None => proxy
                .leaves
                .server_config_for(&proxy.tls, target.host())
                .map_err(|e| e.to_string())?,
        };
        start
            .into_stream(config)
            .await
            .map_err(|e| format!("TLS handshake failed: {e}"))
    };
    let tls = match tokio::time::timeout(limits.header_read_timeout, handshake).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(reason)) => return tracing::info!(%peer, %target, reason, "interception failed"),
        Err(_) => {
            return tracing::info!(%peer, %target, "interception failed: TLS handshake timed out");
        }
    };
    let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let activity = Arc::clone(&client.activity);
    let session = Arc::new(Session { client, target, agent });
    let service = service_fn(move |request| {
        let session = Arc::clone(&session);
        async move { Ok::<_, Infallible>(session.handle(request).await) }
    });
    let io = TokioIo::new(tls);
    let idle = limits.idle_timeout;
    let done = if http2 {
        let conn = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
            .serve_connection(io, service);
        activity::drive(conn, |c| c.graceful_shutdown(), &activity, idle, &proxy.shutdown).await
    } else {
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_header_size(limits.max_header_bytes)
            .serve_connection(io, service);
        activity::drive(conn, |c| c.graceful_shutdown(), &activity, idle, &proxy.shutdown).await
    };
    if let Err(e) = done {
        tracing::debug!(%peer, error = %e, "intercepted connection ended with an error");
    }
}

impl Session {
    /// Checks one request against the tunnel and forwards it upstream.
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let uri = format!("https://{}{path}", self.target.authority(443));
        let format = ErrorFormat::for_request(self.target.host(), request.headers());
        let mut asked = Asked::new(&request, uri, self.target.host(), format, &self.client);
        asked.trail.record.agent = Some(self.agent.to_string());
        let request = asked.trail.counted(request);
        let outcome = exchange(
            &self.client,
            &self.agent,
            Scheme::HTTPS,
            &self.target,
            request,
            &mut asked.trail.record,
        )
        .await;
        front::finish(outcome, asked)
    }
}
