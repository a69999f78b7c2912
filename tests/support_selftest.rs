//! Checks the test support itself: every upstream route, called directly.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failure should fail the test loudly"
)]

mod support;

use std::net::SocketAddr;

use futures_util::stream;
use reqwest::{Client, Method, Version};
use support::test_ca::TestCa;
use support::upstream::{Upstream, matches_pattern, pattern_byte};

const NAME: &str = "upstream.test";

fn client(ca: &TestCa, addr: SocketAddr) -> Client {
    let root = reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).expect("CA PEM");
    Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .resolve(NAME, addr)
        .build()
        .expect("client")
}

async fn tls_upstream() -> (TestCa, Upstream, Client) {
    let ca = TestCa::new();
    let upstream = Upstream::start_tls(&ca, &[NAME]).await;
    let client = client(&ca, upstream.addr);
    (ca, upstream, client)
}

fn url(upstream: &Upstream, path: &str) -> String {
    format!("https://{NAME}:{}{path}", upstream.addr.port())
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("missing {name}"))
        .to_str()
        .expect("ascii header")
}

#[tokio::test]
async fn echo_streams_body_and_describes_request() {
    let (_ca, upstream, client) = tls_upstream().await;
    let resp = client
        .post(url(&upstream, "/echo/a?b=c"))
        .header("x-custom", "1")
        .body("hello echo")
        .send()
        .await
        .expect("echo");
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-echo-method"), "POST");
    assert_eq!(header(&resp, "x-echo-uri"), "/echo/a?b=c");
    assert_eq!(header(&resp, "x-echo-host"), format!("{NAME}:{}", upstream.addr.port()));
    assert_eq!(header(&resp, "x-echo-version"), "HTTP/2.0");
    let names: Vec<&str> = header(&resp, "x-echo-headers").split(',').collect();
    assert!(names.contains(&"x-custom"), "{names:?}");
    assert_eq!(resp.text().await.expect("body"), "hello echo");
}

#[tokio::test]
async fn http2_is_negotiated_and_http1_still_served() {
    let (ca, upstream, client) = tls_upstream().await;
    let resp = client.get(url(&upstream, "/echo")).send().await.expect("h2");
    assert_eq!(resp.version(), Version::HTTP_2);

    let root = reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).expect("CA PEM");
    let h1 = Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .resolve(NAME, upstream.addr)
        .http1_only()
        .build()
        .expect("client");
    let resp = h1.get(url(&upstream, "/echo")).send().await.expect("h1");
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(header(&resp, "x-echo-version"), "HTTP/1.1");
    assert_eq!(header(&resp, "x-echo-host"), format!("{NAME}:{}", upstream.addr.port()));
    assert!(upstream.connections() >= 2);
}

#[tokio::test]
async fn bytes_sends_the_pattern() {
    let (_ca, upstream, client) = tls_upstream().await;
    let n = 1_000_000u64;
    let resp = client
        .get(url(&upstream, &format!("/bytes?n={n}")))
        .send()
        .await
        .expect("bytes");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), Some(n));
    let body = resp.bytes().await.expect("body");
    assert_eq!(body.len() as u64, n);
    assert!(matches_pattern(0, &body));
    assert_eq!(body[251], 0);
    assert_eq!(body[999_999], pattern_byte(999_999));
}

#[tokio::test]
async fn head_bytes_has_length_and_no_body() {
    let (_ca, upstream, client) = tls_upstream().await;
    let resp = client
        .request(Method::HEAD, url(&upstream, "/bytes?n=12345"))
        .send()
        .await
        .expect("head");
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-length"), "12345");
    assert!(resp.bytes().await.expect("body").is_empty());
}

#[tokio::test]
async fn sink_checks_a_streamed_upload() {
    let (_ca, upstream, client) = tls_upstream().await;
    // 5 MiB in odd-sized chunks, so chunk edges never line up with the pattern.
    let total: u64 = 5 * 1024 * 1024;
    let step: u64 = 10_007;
    let chunks = (0..total).step_by(step as usize).map(move |start| {
        let end = (start + step).min(total);
        Ok::<_, std::io::Error>((start..end).map(pattern_byte).collect::<Vec<u8>>())
    });
    let resp = client
        .put(url(&upstream, "/sink"))
        .body(reqwest::Body::wrap_stream(stream::iter(chunks)))
        .send()
        .await
        .expect("sink");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("body"), format!("bytes={total} pattern=ok"));

    let mut bad: Vec<u8> = (0..100_000).map(pattern_byte).collect();
    bad[77_777] ^= 1;
    let resp = client
        .post(url(&upstream, "/sink"))
        .body(bad)
        .send()
        .await
        .expect("sink bad");
    assert_eq!(resp.text().await.expect("body"), "bytes=100000 pattern=bad");
}

#[tokio::test]
async fn slow_answers_after_the_delay() {
    let (_ca, upstream, client) = tls_upstream().await;
    let start = std::time::Instant::now();
    let resp = client.get(url(&upstream, "/slow?ms=200")).send().await.expect("slow");
    assert_eq!(resp.text().await.expect("body"), "slow done");
    assert!(start.elapsed() >= std::time::Duration::from_millis(200));
}

#[tokio::test]
async fn unknown_routes_are_404_and_plain_http_works() {
    let upstream = Upstream::start_plain().await;
    let client = Client::new();
    let base = format!("http://{}", upstream.addr);
    let resp = client.get(format!("{base}/nope")).send().await.expect("404");
    assert_eq!(resp.status(), 404);
    let resp = client.delete(format!("{base}/bytes?n=1")).send().await.expect("404");
    assert_eq!(resp.status(), 404);
    let resp = client.get(format!("{base}/echo")).send().await.expect("echo");
    assert_eq!(header(&resp, "x-echo-host"), upstream.addr.to_string());
    assert_eq!(upstream.connections(), 1);
}
