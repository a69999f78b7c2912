//! A hostile agent against clawgate's limits, through the real binary: many
//! HTTP/2 streams to an upstream that never answers, bodies that stall
//! after megabytes, bodies that trickle, PINGs that keep a tunnel busy, a
//! `Connection` header that strips what a rule read, and a request for an
//! unlisted account whose body never comes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use support::agent::{self, read_head, tunnel};
use support::gateway::Gateway;
use support::origin::Origin;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// An `agent` block for `name` whose token is `token`.
fn agent_block(name: &str, token: &str) -> String {
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    format!("agent \"{name}\" {{\n  token_sha256 = \"{hash}\"\n}}\n")
}

/// The proxy URL for `name:token`.
fn proxy_as(gateway: &Gateway, name: &str, token: &str) -> String {
    format!("http://{name}:{token}@{}", gateway.proxy)
}

/// A TCP server that accepts every connection and never sends a byte.
async fn silent_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

/// Open file descriptors of process `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn start(rules: String) -> Gateway {
    Gateway::start(&rules)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_of_streams_to_a_silent_upstream_stays_within_the_fd_budget() {
    let origin = Origin::start().await;
    let silent = silent_upstream().await;
    let mut rules = origin.rules_claiming(r#"connect_timeout = "15s""#, "silent.test", silent);
    rules.push_str(&agent_block("attacker", "cg_attack"));
    rules.push_str(&agent_block("fresh", "cg_fresh"));
    let gateway = tokio::task::spawn_blocking(move || start(rules)).await.unwrap();
    // A budget well below what 100 × 200 upstream sockets would need.
    let budget = 2048;
    let limited = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &gateway.pid().to_string(),
            &format!("--nofile={budget}:{budget}"),
        ])
        .status()
        .unwrap();
    assert!(limited.success(), "prlimit failed");

    let attacker_url = proxy_as(&gateway, "attacker", "cg_attack");
    let mut attacks = Vec::new();
    for _ in 0..100 {
        // One HTTP/2 connection each, carrying its 200 streams.
        let client = agent::h2_client(&attacker_url, &gateway.ca_pem());
        for _ in 0..200 {
            let client = client.clone();
            attacks.push(tokio::spawn(async move {
                client
                    .get("https://silent.test/")
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            }));
        }
    }
    // Once the streams past the agent's limit have been refused, the
    // admitted ones still hold their sockets to the silent upstream.
    let burst = Instant::now();
    while attacks.iter().filter(|a| a.is_finished()).count() < 100 * 200 - 256 {
        assert!(burst.elapsed() < Duration::from_secs(25), "the refusals took over 25 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let during = open_fds(gateway.pid());
    let fresh = agent::client(&proxy_as(&gateway, "fresh", "cg_fresh"), &gateway.ca_pem(), false);
    let asked = Instant::now();
    let response = fresh.get("https://upstream.test/echo").send().await.unwrap();
    let took = asked.elapsed();
    assert_eq!(response.status(), 200, "a fresh agent is served");
    assert!(took < Duration::from_secs(1), "a fresh agent waited {took:?}");
    assert!(
        during < budget / 2,
        "clawgate had {during} files open of a budget of {budget}"
    );

    let mut refused = 0;
    for attack in attacks {
        if let Ok(Ok(status)) = attack.await {
            assert!(
                [503, 504].contains(&status),
                "every attacking stream is refused or times out: {status}"
            );
            refused += usize::from(status == 503);
        }
    }
    assert!(
        refused > 10_000,
        "past the agent's limit streams are refused at once: {refused}"
    );
    assert!(!gateway.log().contains("Too many open files"), "{}", gateway.log());
}

/// Rules with one `aws_api` endpoint for account 111111111111 (no base
/// credential: nothing here is forwarded) and an allow-everything rule.
fn aws_rules() -> String {
    r#"
endpoint "aws_api" "org" {
  hosts    = ["*.amazonaws.com"]
  role     = "clawgate-agent"
  accounts = ["111111111111=prod"]
}
rule "everything" {
  match  = true
  action = "allow"
}
"#
    .to_string()
}

/// The head of a DynamoDB PutItem for `account` with a `length`-byte body
/// and no `x-amz-content-sha256` (so re-signing must hash the body).
fn put_item_head(account: &str, length: usize) -> String {
    format!(
        "POST / HTTP/1.1\r\nHost: dynamodb.us-east-1.amazonaws.com\r\n\
         X-Amz-Target: DynamoDB_20120810.PutItem\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Date: 20261202T000000Z\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIA{account}CLAW/20261202/us-east-1/dynamodb/aws4_request, \
         SignedHeaders=host;x-amz-date;x-amz-target, Signature={}\r\nContent-Length: {length}\r\n\r\n",
        "0".repeat(64)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_stall_after_megabytes_stay_within_the_memory_budget() {
    const SIZE: usize = 16 << 20;
    let gateway = tokio::task::spawn_blocking(|| start(aws_rules())).await.unwrap();
    let ca = Arc::new(gateway.ca_pem());
    let host = "dynamodb.us-east-1.amazonaws.com";
    let mut stalled = Vec::new();
    for _ in 0..40 {
        let (proxy, ca) = (gateway.proxy, Arc::clone(&ca));
        stalled.push(tokio::spawn(async move {
            let mut tls = tunnel(proxy, host, &ca).await;
            tls.write_all(put_item_head("111111111111", SIZE).as_bytes())
                .await
                .unwrap();
            let chunk = vec![b' '; 64 << 10];
            for _ in 0..(SIZE / chunk.len()) - 1 {
                if tls.write_all(&chunk).await.is_err() {
                    return tls;
                }
            }
            // All but the last 64 KiB: then nothing more, ever.
            tls
        }));
    }
    // 64 HTTP/2 streams on one connection, each stalling the same way.
    let client = agent::client(&gateway.proxy_url(), &gateway.ca_pem(), false);
    let mut streams = Vec::new();
    for _ in 0..64 {
        let client = client.clone();
        streams.push(tokio::spawn(async move {
            let chunks = futures_util::stream::iter(
                (0..(SIZE >> 16) - 1).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 64 << 10]))),
            )
            .chain(futures_util::stream::pending());
            client
                .post(format!("https://{host}/"))
                .header("x-amz-target", "DynamoDB_20120810.PutItem")
                .header("content-type", "application/x-amz-json-1.0")
                .header("content-length", SIZE.to_string())
                .header(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIA111111111111CLAW/20261202/us-east-1/dynamodb/aws4_request, \
                     SignedHeaders=host, Signature=00",
                )
                .body(reqwest::Body::wrap_stream(chunks))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    tokio::time::sleep(Duration::from_secs(8)).await;
    let peak = gateway.peak_memory();
    assert!(peak < 200 << 20, "clawgate grew to {} MiB", peak >> 20);
    // Past the budget, requests are refused at once, retryably.
    let refused = futures_util::future::join_all(
        streams
            .into_iter()
            .map(|s| async { tokio::time::timeout(Duration::from_millis(100), s).await }),
    )
    .await
    .into_iter()
    .filter(|r| matches!(r, Ok(Ok(Ok(503)))))
    .count();
    assert!(refused > 0, "some streams are refused over the budget");
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_an_unlisted_account_is_refused_before_its_body() {
    let gateway = tokio::task::spawn_blocking(|| start(aws_rules())).await.unwrap();
    let host = "dynamodb.us-east-1.amazonaws.com";
    let mut tls = tunnel(gateway.proxy, host, &gateway.ca_pem()).await;
    // The head promises a megabyte that never comes.
    tls.write_all(put_item_head("999999999999", 1 << 20).as_bytes())
        .await
        .unwrap();
    let head = tokio::time::timeout(Duration::from_secs(3), read_head(&mut tls))
        .await
        .expect("refused without waiting for the body");
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert!(head.contains("999999999999"), "{head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_is_cut_off() {
    let origin = Origin::start().await;
    let gateway = origin.gateway().await;
    // Calling itself an event stream (exempt only for AWS over HTTP/2) changes nothing.
    let trickles = ["", "Content-Type: application/vnd.amazon.eventstream\r\n"].map(|extra| {
        let (proxy, ca) = (gateway.proxy, gateway.ca_pem());
        tokio::spawn(async move {
            let mut tls = tunnel(proxy, "upstream.test", &ca).await;
            let head = format!("POST /sink HTTP/1.1\r\nHost: upstream.test\r\n{extra}Content-Length: 100\r\n\r\n");
            tls.write_all(head.as_bytes()).await.unwrap();
            let started = Instant::now();
            let (mut read, mut write) = tokio::io::split(tls);
            let trickle = tokio::spawn(async move {
                for _ in 0..100 {
                    if write.write_all(b"x").await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
            });
            let head = tokio::time::timeout(Duration::from_secs(20), read_head(&mut read))
                .await
                .expect("a trickle is cut off within the grace and its bytes' worth");
            trickle.abort();
            (head, started.elapsed())
        })
    });
    for trickle in trickles {
        let (head, took) = trickle.await.unwrap();
        assert!(head.starts_with("HTTP/1.1 400"), "{head}");
        assert!(head.contains("min_body_rate"), "{head}");
        assert!(took >= Duration::from_secs(9), "cut off only after the grace");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_sends_no_response_head_is_given_up_on() {
    let origin = Origin::start().await;
    // A TLS server that completes the handshake, then says nothing.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mute = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(origin.ca.server_config(&["mute.test"]));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let mut sink = vec![0u8; 1 << 16];
                    while matches!(tls.read(&mut sink).await, Ok(n) if n > 0) {}
                }
            });
        }
    });
    let rules = origin.rules_claiming(r#"response_timeout = "2s""#, "mute.test", mute);
    let gateway = tokio::task::spawn_blocking(move || start(rules)).await.unwrap();
    let client = agent::client(&gateway.proxy_url(), &gateway.ca_pem(), true);
    let asked = Instant::now();
    let response = client.get("https://mute.test/").send().await.unwrap();
    assert_eq!(response.status(), 504);
    assert!(asked.elapsed() < Duration::from_secs(5), "{:?}", asked.elapsed());
    let reason = response.headers()["x-clawgate-reason"].to_str().unwrap().to_string();
    assert!(reason.contains("response_timeout"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_header_cannot_strip_what_a_rule_read() {
    let origin = Origin::start().await;
    let rules = origin.rules("", "").replace(
        "rule \"the test upstream is open\" {\n  match  = true",
        "rule \"the test upstream is open\" {\n  match  = \"true\" in http.headers[\"x-dry-run\"]",
    );
    assert!(rules.contains("x-dry-run"), "the rule was rewritten");
    let gateway = tokio::task::spawn_blocking(move || start(rules)).await.unwrap();
    let client = agent::client(&gateway.proxy_url(), &gateway.ca_pem(), true);
    let send = |headers: &'static [(&'static str, &'static str)]| {
        let mut request = client.post("https://upstream.test/echo").body("x");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    // The rule's header reaches the upstream: allowed.
    let allowed = send(&[("x-dry-run", "true")]).await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert!(
        allowed.headers()["x-echo-headers"]
            .to_str()
            .unwrap()
            .contains("x-dry-run")
    );
    // Named in Connection, it would be dropped on the way: the rule no longer sees it.
    let stripped = send(&[("x-dry-run", "true"), ("connection", "x-dry-run")])
        .await
        .unwrap();
    assert_eq!(stripped.status(), 403, "decided on what the upstream would get");
    // A header the request depends on cannot be named at all.
    const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=AKIA111111111111CLAW/20261202/us-east-1/execute-api/aws4_request, \
                  SignedHeaders=host;if-none-match, Signature=00";
    for headers in [
        &[("x-dry-run", "true"), ("connection", "content-type")][..],
        &[
            ("x-dry-run", "true"),
            ("if-none-match", "*"),
            ("authorization", SIGNED),
            ("connection", "if-none-match"),
        ][..],
    ] {
        let refused = send(headers).await.unwrap();
        assert_eq!(refused.status(), 400, "{headers:?}");
        let reason = refused.headers()["x-clawgate-reason"].to_str().unwrap().to_string();
        assert!(reason.contains("Connection header names"), "{reason}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_do_not_keep_an_idle_tunnel_open() {
    let origin = Origin::start().await;
    let rules = origin.rules(r#"idle_timeout = "2s""#, "");
    let gateway = tokio::task::spawn_blocking(move || start(rules)).await.unwrap();
    let stream = agent::exchange(
        gateway.proxy,
        b"CONNECT upstream.test:443 HTTP/1.1\r\nHost: upstream.test:443\r\n\r\n",
    )
    .await;
    assert!(stream.1.starts_with("HTTP/1.1 200"), "{}", stream.1);
    let tls = agent::tls_with_alpn(stream.0, "upstream.test", &gateway.ca_pem(), b"h2").await;
    let (mut sender, conn) = hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Duration::from_millis(500))
        .keep_alive_while_idle(true)
        .handshake::<_, http_body_util::Empty<Bytes>>(hyper_util::rt::TokioIo::new(tls))
        .await
        .unwrap();
    let connection = tokio::spawn(conn);
    let request = http::Request::get("https://upstream.test/echo")
        .body(http_body_util::Empty::new())
        .unwrap();
    assert_eq!(sender.send_request(request).await.unwrap().status(), 200);
    let opened = Instant::now();
    // PINGs every half second; clawgate closes the connection all the same.
    let closed = tokio::time::timeout(Duration::from_secs(8), connection).await;
    assert!(closed.is_ok(), "the connection stayed open for 8 s of PINGs");
    assert!(opened.elapsed() >= Duration::from_secs(2), "closed only once idle");
}
