//! What an agent does: HTTP clients that go through the proxy, and raw
//! exchanges for the cases no well-behaved client produces.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A reqwest client using `proxy_url` for everything and trusting only `ca_pem`.
pub fn client(proxy_url: &str, ca_pem: &[u8], http1_only: bool) -> reqwest::Client {
    let builder = builder(proxy_url, ca_pem);
    let builder = if http1_only { builder.http1_only() } else { builder };
    builder.build().unwrap()
}

/// A reqwest client like [`client`] that speaks HTTP/2 only, so all its
/// requests share one connection as streams.
pub fn h2_client(proxy_url: &str, ca_pem: &[u8]) -> reqwest::Client {
    builder(proxy_url, ca_pem).http2_prior_knowledge().build().unwrap()
}

fn builder(proxy_url: &str, ca_pem: &[u8]) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
        .proxy(reqwest::Proxy::all(proxy_url).unwrap())
}

/// `request` signed as an AWS SDK signs S3 requests, with a placeholder key
/// for account 111111111111 (clawgate re-signs; the signature is not checked).
pub fn placeholder_s3_signature(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIA111111111111CLAW/20261201/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=00",
        )
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .header("x-amz-date", "20261201T000000Z")
}

/// Sends `request` on a fresh connection to `proxy` and returns the response head.
pub async fn exchange(proxy: SocketAddr, request: &[u8]) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    stream.write_all(request).await.unwrap();
    let head = read_head(&mut stream).await;
    (stream, head)
}

/// Opens an intercepted tunnel to `host:443` and completes TLS, trusting `ca_pem`.
pub async fn tunnel(proxy: SocketAddr, host: &str, ca_pem: &[u8]) -> TlsStream<TcpStream> {
    let connect = format!("CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n");
    let (stream, head) = exchange(proxy, connect.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 200"), "CONNECT failed: {head}");
    tls(stream, host, ca_pem).await
}

/// TLS over `stream` to `host`, trusting only `ca_pem`, offering HTTP/1.1.
pub async fn tls<S: AsyncRead + AsyncWrite + Unpin>(stream: S, host: &str, ca_pem: &[u8]) -> TlsStream<S> {
    tls_with_alpn(stream, host, ca_pem, b"http/1.1").await
}

/// TLS over `stream` to `host`, trusting only `ca_pem`, offering `alpn` only.
pub async fn tls_with_alpn<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    host: &str,
    ca_pem: &[u8],
    alpn: &[u8],
) -> TlsStream<S> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let name = ServerName::try_from(host.to_string()).unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .unwrap()
}

/// Reads up to the end of a response head (`\r\n\r\n`), byte by byte so
/// nothing after it is consumed.
pub async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}
