//! Interception: TLS with a minted leaf, then every request in the tunnel is
//! checked against the tunnel's target and forwarded.

use std::convert::Infallible;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::upgrade::Upgraded;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::server::Acceptor;
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

use super::Proxy;
use super::activity::{self, Guarded};
use super::client::Client;
use crate::gate::{Arrival, Tunnel};
use crate::net::{Body, Target, body};
use crate::tls::TlsError;

/// An intercepted tunnel and the connection it runs in.
struct Session {
    client: Arc<Client>,
    tunnel: Tunnel,
}

/// Accepts TLS from the agent on `upgraded` and serves its requests over
/// HTTP/1.1 or HTTP/2, as ALPN decided.
pub(super) async fn serve(client: Arc<Client>, upgraded: Upgraded, tunnel: Tunnel) {
    let proxy = Arc::clone(&client.proxy);
    let limits = &proxy.limits;
    let peer = client.peer;
    let target = &tunnel.target;
    let tls = match tokio::time::timeout(limits.header_read_timeout, accept_tls(&proxy, upgraded, target)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(reason)) => return tracing::info!(%peer, %target, %reason, "interception failed"),
        Err(_) => {
            return tracing::info!(%peer, %target, "interception failed: TLS handshake timed out");
        }
    };
    let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let activity = Arc::clone(&client.activity);
    // Inside the tunnel, requests are what counts as use: bytes that move
    // with none in flight (PINGs, a request head at a trickle) are not.
    activity.count_requests_only();
    let session = Arc::new(Session { client, tunnel });
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
            .max_concurrent_streams(limits.streams_per_connection())
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

/// Why a tunnel could not be intercepted.
#[derive(Debug, thiserror::Error)]
enum InterceptError {
    /// The agent sent no ClientHello.
    #[error("no TLS ClientHello: {0}")]
    NoClientHello(std::io::Error),
    /// The ClientHello names another server than the CONNECT did.
    #[error("TLS server name `{sni}` differs from the CONNECT target `{target}`")]
    ServerName {
        /// The name in the ClientHello.
        sni: String,
        /// The CONNECT target.
        target: Target,
    },
    /// No leaf could be minted.
    #[error(transparent)]
    Leaf(#[from] TlsError),
    /// The handshake failed.
    #[error("TLS handshake failed: {0}")]
    Handshake(std::io::Error),
}

/// The agent's TLS, with a leaf for `target`; a ClientHello naming
/// another server is refused.
async fn accept_tls(
    proxy: &Proxy,
    upgraded: Upgraded,
    target: &Target,
) -> Result<TlsStream<TokioIo<Upgraded>>, InterceptError> {
    let start = LazyConfigAcceptor::new(Acceptor::default(), TokioIo::new(upgraded))
        .await
        .map_err(InterceptError::NoClientHello)?;
    let config = match start.client_hello().server_name() {
        Some(sni) if sni.trim_end_matches('.').eq_ignore_ascii_case(target.host()) => Arc::clone(&proxy.tls),
        Some(sni) => {
            return Err(InterceptError::ServerName {
                sni: sni.to_string(),
                target: target.clone(),
            });
        }
        None => proxy.leaves.server_config_for(&proxy.tls, target.host())?,
    };
    start.into_stream(config).await.map_err(InterceptError::Handshake)
}

impl Session {
    /// Hands one request in the tunnel to the gate.
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let in_flight = self.client.activity.begin();
        let answer = self
            .client
            .proxy
            .gate
            .handle(Arrival::Tunnelled(&self.tunnel), request)
            .await;
        answer.response.map(|b| body::boxed(Guarded::new(b, in_flight)))
    }
}
