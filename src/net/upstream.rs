//! Forwarding a request upstream over pooled connections, and its response back.

use std::error::Error as StdError;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

use http::header::{self, HeaderMap, HeaderName};
use http::uri::Scheme;
use http::{Request, Response, Uri, Version};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::ClientConfig;

use super::body::{self, Body};
use super::dial::{DialError, Dialer};
use super::target::{Target, default_port};
use super::transport::{Answer, Transport, TransportError};

/// How long an unused upstream connection stays in the pool.
const POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(90);

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
    client: Client<HttpsConnector<Dialer>, Body>,
}

impl Upstream {
    /// A client dialling through `dialer` and verifying upstreams with `tls`.
    pub fn new(dialer: Dialer, tls: ClientConfig) -> Upstream {
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
            .build(connector);
        Upstream { client }
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
        strip_hop_by_hop(&mut parts.headers);
        let request = Request::from_parts(parts, body);
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| upstream_error(&target.to_string(), &e))?;
        let mut response = response;
        strip_hop_by_hop(response.headers_mut());
        Ok(response)
    }
}

/// Removes the headers that belong to one connection, not to the message:
/// the standard hop-by-hop set, those the `Connection` header names, and the
/// proxy's own. `Expect` goes too: clawgate answers `100 Continue` itself
/// when the body is first read.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::try_from(name.trim()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::EXPECT,
    ] {
        headers.remove(name);
    }
    for name in ["keep-alive", "proxy-connection"] {
        headers.remove(name);
    }
    if headers.get(header::TE).is_some_and(|v| v != "trailers") {
        headers.remove(header::TE);
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

/// The largest answer read from STS.
const MAX_ANSWER: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_proxy_headers_are_removed_and_the_rest_kept() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-private"),
            ("x-private", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic abc"),
            ("proxy-connection", "keep-alive"),
            ("transfer-encoding", "chunked"),
            ("expect", "100-continue"),
            ("te", "gzip"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("host", "example.com"),
        ] {
            headers.append(name, value.parse().unwrap());
        }
        strip_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-encoding", "host", "x-amz-content-sha256"]);
    }
}
