//! Forwarding a request upstream over pooled connections, and its response back.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

use http::header::HeaderMap;
use http::uri::Scheme;
use http::{Request, Response, Uri, Version};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::ClientConfig;

use super::body::{self, Body, BodyError};
use super::dial::{DialError, Dialer};
use super::hop;
use super::pace::Signalled;
use super::target::{Target, default_port};
use super::transport::{Answer, Transport, TransportError};

/// How long an unused upstream connection stays in the pool.
const POOL_IDLE: Duration = Duration::from_secs(90);

/// Why a request sent upstream got no response.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream could not be dialled, or dialling was refused.
    #[error("cannot reach the upstream: {0}")]
    Dial(#[from] DialError),
    /// The request's path does not make a URL for the upstream.
    #[error("cannot forward to `{target}{path}`: {source}")]
    Uri {
        /// The upstream host and port.
        target: String,
        /// The path asked for.
        path: String,
        /// Why.
        source: http::uri::InvalidUri,
    },
    /// The agent's body failed while it was sent upstream (too slow, or cut off).
    #[error("{0}")]
    AgentBody(String),
    /// The upstream sent no response head in time.
    #[error("the upstream `{target}` sent no response within {}s of the request (gateway.response_timeout)", after.as_secs())]
    NoResponse {
        /// The upstream host and port.
        target: String,
        /// The limit.
        after: Duration,
    },
    /// The upstream failed after the connection was made.
    #[error("the upstream `{target}` failed: {reason}")]
    Failed {
        /// The upstream host and port.
        target: String,
        /// What went wrong, cause by cause.
        reason: String,
    },
}

/// The pooled HTTP/1.1 and HTTP/2 client for upstream requests.
#[derive(Clone, Debug)]
pub struct Upstream {
    client: Client<Bounded<HttpsConnector<Dialer>>, Body>,
    response_timeout: Duration,
}

/// How long the steps of an upstream request may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Dialling and the TLS handshake, together.
    pub connect: Duration,
    /// From the request's last byte to the response head.
    pub response: Duration,
}

impl Upstream {
    /// A client dialling through `dialer`, verifying upstreams with `tls`,
    /// and giving up after `timeouts`.
    pub fn new(dialer: Dialer, tls: ClientConfig, timeouts: Timeouts) -> Upstream {
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(dialer);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(Bounded {
                inner: connector,
                timeout: timeouts.connect,
            });
        Upstream {
            client,
            response_timeout: timeouts.response,
        }
    }

    /// Sends `request` to `scheme://target` and returns the upstream's
    /// response, hop-by-hop headers removed; bodies stream both ways.
    pub async fn send(
        &self,
        scheme: Scheme,
        target: &Target,
        request: Request<Body>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = Uri::try_from(format!("{scheme}://{}{path}", target.authority(default_port(&scheme)))).map_err(
            |source| UpstreamError::Uri {
                target: target.to_string(),
                path: path.to_string(),
                source,
            },
        )?;
        // The client upgrades to HTTP/2 when the upstream offers it.
        parts.version = Version::HTTP_11;
        hop::strip(&mut parts.headers);
        // The wait for the response starts once the body is sent: an upload
        // takes as long as it takes (at the agent's pace, which is bounded).
        let (body, sent) = Signalled::new(body);
        let request = Request::from_parts(parts, body::boxed(body));
        let after = self.response_timeout;
        let waited = async {
            let _ = sent.await;
            tokio::time::sleep(after).await;
        };
        let mut response = tokio::select! {
            response = self.client.request(request) => {
                response.map_err(|e| upstream_error(&target.to_string(), &e))?
            }
            () = waited => {
                return Err(UpstreamError::NoResponse { target: target.to_string(), after });
            }
        };
        hop::strip(response.headers_mut());
        Ok(response)
    }
}

/// Turns a client error into the agent's error: the dial error if that is
/// what failed, otherwise the chain of causes as one line.
fn upstream_error(target: &str, error: &hyper_util::client::legacy::Error) -> UpstreamError {
    let mut reasons: Vec<String> = Vec::new();
    let mut cause: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(dial) = e.downcast_ref::<DialError>() {
            return UpstreamError::Dial(dial.clone());
        }
        let text = e.to_string();
        if !reasons.iter().any(|r| r.contains(&text)) {
            reasons.push(text);
        }
        cause = e.source();
    }
    UpstreamError::Failed {
        target: target.to_string(),
        reason: reasons.join(": "),
    }
}

/// STS calls go out through the same client, so `resolve` and `upstream_ca` apply.
impl Transport for Upstream {
    fn post<'a>(&'a self, url: String, headers: HeaderMap, body: Bytes) -> Answer<'a> {
        Box::pin(async move {
            let mut request = Request::post(url.as_str())
                .body(body::full(body))
                .map_err(TransportError::Request)?;
            *request.headers_mut() = headers;
            let target = request
                .uri()
                .authority()
                .map_or_else(|| "the upstream".to_string(), ToString::to_string);
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| upstream_error(&target, &e))?;
            let status = response.status();
            let answer = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| TransportError::Answer(e.to_string()))?;
            Ok((status, answer.to_bytes()))
        })
    }
}

/// A connector that gives up when dialling and the TLS handshake together
/// take longer than `timeout` (an upstream that accepts and never answers
/// would otherwise hold a socket forever).
#[derive(Clone, Debug)]
struct Bounded<C> {
    inner: C,
    timeout: Duration,
}

impl<C> tower_service::Service<Uri> for Bounded<C>
where
    C: tower_service::Service<Uri> + Clone + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BodyError>,
{
    type Response = C::Response;
    type Error = BodyError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BodyError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BodyError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let after = self.timeout;
        let host = uri.host().unwrap_or_default().to_string();
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            match tokio::time::timeout(after, connecting).await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_) => Err(Box::new(DialError::Timeout { host, after }) as BodyError),
            }
        })
    }
}

/// The largest answer read from STS.
const MAX_ANSWER: usize = 1 << 20;
