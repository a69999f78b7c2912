//! A small origin server for tests and benches: hyper 1 (HTTP/1.1 and HTTP/2 by
//! `auto`), TCP_NODELAY, TLS from a [`TestCa`] or plain, on an ephemeral port.
//!
//! Routes (method-agnostic unless said):
//! - `/echo…`: streams the request body back, with `x-echo-method`, `x-echo-uri`,
//!   `x-echo-host`, `x-echo-version` and `x-echo-headers` response headers.
//! - `/mirror`: every request header sent back as `x-mirror-<name>`, value and
//!   all, as a hostile upstream would hand an agent what clawgate signed with.
//! - `GET|HEAD /bytes?n=N`: N bytes of [`pattern_byte`], generated in 64 KiB chunks.
//! - `PUT|POST /sink`: reads the body, answers `bytes=N pattern=ok|bad`.
//! - `GET /slow?ms=M`: sleeps M ms, answers `slow done`.
//! - `POST /` with `Action=AssumeRole` in the form body: STS's answer with
//!   fixed temporary credentials, valid for a day (the load bench's AWS path
//!   assumes its role here).
//! - anything else: 404.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use super::test_ca::TestCa;

/// Error type of response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Response body of every route.
type RespBody = BoxBody<Bytes, BoxError>;

/// Size of the chunks `/bytes` sends and `/sink` compares.
pub const CHUNK: usize = 64 * 1024;

/// Period of the byte pattern (a prime, so it never lines up with chunk sizes).
const PERIOD: usize = 251;

/// Byte `i` of the `/bytes` and `/sink` pattern.
pub fn pattern_byte(i: u64) -> u8 {
    (i % PERIOD as u64) as u8
}

/// The pattern from offset 0, long enough to slice any chunk of up to [`CHUNK`]
/// bytes starting at any phase: chunk at offset `o` is `[o % 251 ..][..len]`.
fn pattern() -> &'static Bytes {
    static PATTERN: OnceLock<Bytes> = OnceLock::new();
    PATTERN.get_or_init(|| (0..(CHUNK + PERIOD) as u64).map(pattern_byte).collect())
}

/// The pattern bytes at `offset .. offset + len` (`len` at most [`CHUNK`]),
/// without copying.
pub fn pattern_slice(offset: u64, len: usize) -> Bytes {
    let start = (offset % PERIOD as u64) as usize;
    pattern().slice(start..start + len)
}

/// Whether `data` equals the pattern starting at `offset`.
pub fn matches_pattern(mut offset: u64, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        let n = data.len().min(CHUNK);
        let start = (offset % PERIOD as u64) as usize;
        if data[..n] != pattern()[start..start + n] {
            return false;
        }
        data = &data[n..];
        offset += n as u64;
    }
    true
}

/// A running origin server; dropping it stops accepting and closes its connections.
pub struct Upstream {
    /// Where it listens (always on 127.0.0.1).
    pub addr: SocketAddr,
    /// TCP connections accepted so far.
    connections: Arc<AtomicUsize>,
    /// The accept loop, which owns every connection task.
    task: JoinHandle<()>,
}

impl Upstream {
    /// Starts a TLS server on `127.0.0.1:0` presenting a leaf from `ca` for `names`.
    pub async fn start_tls(ca: &TestCa, names: &[&str]) -> Upstream {
        Self::start_tls_at(localhost(0), ca, names).await
    }

    /// Starts a TLS server on `addr` presenting a leaf from `ca` for `names`.
    pub async fn start_tls_at(addr: SocketAddr, ca: &TestCa, names: &[&str]) -> Upstream {
        let acceptor = TlsAcceptor::from(ca.server_config(names));
        Self::start(addr, Some(acceptor)).await
    }

    /// Starts a plain-HTTP server on `127.0.0.1:0`.
    pub async fn start_plain() -> Upstream {
        Self::start(localhost(0), None).await
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    async fn start(addr: SocketAddr, tls: Option<TlsAcceptor>) -> Upstream {
        let listener = TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("bind upstream on {addr}: {e}"));
        let addr = listener.local_addr().expect("upstream local addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(listener, tls, connections.clone()));
        Upstream {
            addr,
            connections,
            task,
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn localhost(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Accepts connections until aborted; aborting drops the `JoinSet`, which aborts
/// every connection task.
async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, count: Arc<AtomicUsize>) {
    let mut conns = JoinSet::new();
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(_) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        count.fetch_add(1, Ordering::SeqCst);
        let _ = tcp.set_nodelay(true);
        while conns.try_join_next().is_some() {}
        let tls = tls.clone();
        conns.spawn(async move {
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        serve(stream).await;
                    }
                }
                None => serve(tcp).await,
            }
        });
    }
}

async fn serve<S>(io: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(io), service_fn(route))
        .await;
}

async fn route(req: Request<Incoming>) -> Result<Response<RespBody>, Infallible> {
    let path = req.uri().path();
    let resp = if path.starts_with("/echo") {
        echo(req)
    } else if path == "/mirror" {
        mirror(&req)
    } else {
        match (req.method(), path) {
            (&Method::GET | &Method::HEAD, "/bytes") => bytes(&req),
            (&Method::PUT | &Method::POST, "/sink") => sink(req).await,
            (&Method::GET, "/slow") => slow(&req).await,
            (&Method::POST, "/") => assume_role(req).await,
            _ => text(StatusCode::NOT_FOUND, "not found"),
        }
    };
    Ok(resp)
}

/// `/echo…`: the request body streamed back, the request described in headers.
fn echo(req: Request<Incoming>) -> Response<RespBody> {
    let (parts, body) = req.into_parts();
    let uri = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let host = match parts.headers.get(HOST) {
        Some(host) => host.clone(),
        None => parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
            .unwrap_or_else(|| HeaderValue::from_static("")),
    };
    let names: Vec<&str> = parts.headers.keys().map(|k| k.as_str()).collect();
    let header = |s: &str| HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("?"));
    let mut resp = Response::new(body.map_err(BoxError::from).boxed());
    let h = resp.headers_mut();
    h.insert("x-echo-method", header(parts.method.as_str()));
    h.insert("x-echo-uri", header(uri));
    h.insert("x-echo-host", host);
    h.insert("x-echo-version", header(version_name(parts.version)));
    h.insert("x-echo-headers", header(&names.join(",")));
    resp
}

/// `/mirror`: the request's headers, values and all, as response headers.
fn mirror(req: &Request<Incoming>) -> Response<RespBody> {
    let mut resp = text(StatusCode::OK, "mirrored");
    for (name, value) in req.headers() {
        if let Ok(name) = hyper::header::HeaderName::from_bytes(format!("x-mirror-{name}").as_bytes()) {
            resp.headers_mut().append(name, value.clone());
        }
    }
    resp
}

fn version_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "?",
    }
}

/// `GET|HEAD /bytes?n=N`: N pattern bytes, generated as they are sent.
fn bytes(req: &Request<Incoming>) -> Response<RespBody> {
    let Some(n) = query_u64(req, "n") else {
        return text(StatusCode::BAD_REQUEST, "want /bytes?n=N");
    };
    let body = if req.method() == Method::HEAD {
        Empty::new().map_err(BoxError::from).boxed()
    } else {
        PatternBody { sent: 0, len: n }.boxed()
    };
    let mut resp = Response::new(body);
    resp.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(n));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    resp
}

/// `PUT|POST /sink`: counts the body and checks it is the pattern.
async fn sink(req: Request<Incoming>) -> Response<RespBody> {
    let mut body = req.into_body();
    let mut received: u64 = 0;
    let mut intact = true;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("body error: {e}")),
        };
        if let Ok(data) = frame.into_data() {
            intact = intact && matches_pattern(received, &data);
            received += data.len() as u64;
        }
    }
    let verdict = if intact { "ok" } else { "bad" };
    text(StatusCode::OK, format!("bytes={received} pattern={verdict}"))
}

/// `POST /`: STS's AssumeRole answer, whatever role and signature were sent.
async fn assume_role(req: Request<Incoming>) -> Response<RespBody> {
    let body = match req.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("body error: {e}")),
    };
    if !body.split(|&b| b == b'&').any(|pair| pair == b"Action=AssumeRole") {
        return text(StatusCode::NOT_FOUND, "not found");
    }
    let expires = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let expires = expires
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let answer = format!(
        "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIABENCHTEMPKEY</AccessKeyId>\
         <SecretAccessKey>bench-temporary-secret</SecretAccessKey><SessionToken>bench-session-token</SessionToken>\
         <Expiration>{expires}</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>"
    );
    let mut resp = text(StatusCode::OK, answer);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    resp
}

/// `GET /slow?ms=M`: answers after M milliseconds.
async fn slow(req: &Request<Incoming>) -> Response<RespBody> {
    let ms = query_u64(req, "ms").unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    text(StatusCode::OK, "slow done")
}

fn query_u64(req: &Request<Incoming>, key: &str) -> Option<u64> {
    req.uri()
        .query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<RespBody> {
    let body = Full::new(Bytes::from(body.into())).map_err(BoxError::from).boxed();
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

/// `len` pattern bytes, produced [`CHUNK`] at a time as slices of one shared buffer.
struct PatternBody {
    sent: u64,
    len: u64,
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let left = self.len - self.sent;
        if left == 0 {
            return Poll::Ready(None);
        }
        let n = left.min(CHUNK as u64) as usize;
        let chunk = pattern_slice(self.sent, n);
        self.sent += n as u64;
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.sent == self.len
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len - self.sent)
    }
}
