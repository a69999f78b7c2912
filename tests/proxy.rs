//! The proxy core end to end: the real clawgate binary, real TLS on both
//! legs, a local upstream signed by a test CA, and real clients.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use support::agent::{self, exchange, read_head, tunnel};
use support::gateway::{Gateway, cli};
use support::origin::Origin;
use support::test_ca::TestCa;
use support::upstream::{CHUNK, Upstream, matches_pattern, pattern_slice};
use tokio::io::AsyncWriteExt;

fn client(gateway: &Gateway, http1_only: bool) -> reqwest::Client {
    agent::client(&gateway.proxy_url(), &gateway.ca_pem(), http1_only)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_post_and_put_reach_the_upstream_over_http1_and_http2() {
    let origin = Origin::start().await;
    let gateway = origin.gateway().await;
    for (http1_only, version) in [(true, "HTTP/1.1"), (false, "HTTP/2.0")] {
        let client = client(&gateway, http1_only);
        let response = client.get("https://upstream.test/echo?a=1").send().await.unwrap();
        assert_eq!(response.status(), 200);
        let expected_version = if http1_only {
            reqwest::Version::HTTP_11
        } else {
            reqwest::Version::HTTP_2
        };
        assert_eq!(response.version(), expected_version, "agent leg");
        assert_eq!(response.headers()["x-echo-uri"], "/echo?a=1");
        assert_eq!(response.headers()["x-echo-host"], "upstream.test");
        assert_eq!(
            response.headers()["x-echo-version"],
            "HTTP/2.0",
            "clawgate speaks h2 upstream when offered"
        );
        let seen = response.headers()["x-echo-headers"].to_str().unwrap().to_string();
        assert!(
            !seen.contains("proxy-"),
            "proxy headers must not reach the upstream: {seen}"
        );
        for method in [reqwest::Method::POST, reqwest::Method::PUT] {
            let response = client
                .request(method.clone(), "https://upstream.test/echo")
                .body("hello upstream")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["x-echo-method"], method.as_str());
            assert_eq!(response.text().await.unwrap(), "hello upstream", "{version} {method}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gibibyte_streams_up_and_down_in_bounded_memory() {
    const SIZE: u64 = 1 << 30;
    let origin = Origin::start().await;
    let gateway = origin.gateway().await;
    let client = client(&gateway, true);

    let chunks = futures_util::stream::iter((0..SIZE.div_ceil(CHUNK as u64)).map(|i| {
        let offset = i * CHUNK as u64;
        let len = (SIZE - offset).min(CHUNK as u64) as usize;
        Ok::<Bytes, std::io::Error>(pattern_slice(offset, len))
    }));
    let response = client
        .put("https://upstream.test/sink")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), format!("bytes={SIZE} pattern=ok"));

    let response = client
        .get(format!("https://upstream.test/bytes?n={SIZE}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.content_length(), Some(SIZE));
    let mut body = response.bytes_stream();
    let mut received = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        assert!(matches_pattern(received, &chunk), "corrupted at byte {received}");
        received += chunk.len() as u64;
    }
    assert_eq!(received, SIZE);

    let peak = gateway.peak_memory();
    assert!(peak < 100 << 20, "clawgate's peak memory was {} MiB", peak >> 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connect_carries_many_requests_over_one_pooled_upstream_connection() {
    let origin = Origin::start().await;
    let gateway = origin.gateway().await;
    let tls = tunnel(gateway.proxy, "upstream.test", &gateway.ca_pem()).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    for i in 0..20 {
        let request = http::Request::get(format!("/echo?i={i}"))
            .header("host", "upstream.test")
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200, "request {i}");
        assert_eq!(response.headers()["x-echo-uri"], format!("/echo?i={i}").as_str());
        http_body_util::BodyExt::collect(response.into_body()).await.unwrap();
    }
    assert_eq!(
        origin.upstream.connections(),
        1,
        "clawgate should reuse its upstream connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_must_present_their_token() {
    let origin = Origin::start().await;
    let rules = origin.rules("", "");
    let gateway = tokio::task::spawn_blocking(move || {
        Gateway::start_with(&rules, |dir| {
            let (ok, out, err) = cli(&["agent", "add", "ci-bot", "--rules", dir.to_str().unwrap()]);
            assert!(ok, "agent add failed: {err}");
            let url = out
                .lines()
                .find_map(|l| l.strip_prefix("HTTPS_PROXY="))
                .unwrap()
                .to_string();
            std::fs::write(dir.join("url.txt"), url).unwrap();
        })
    })
    .await
    .unwrap();
    let stored = std::fs::read_to_string(gateway.rules.join("agents.hcl")).unwrap();
    let url = std::fs::read_to_string(gateway.rules.join("url.txt")).unwrap();
    let token = url.split(':').nth(2).unwrap().split('@').next().unwrap();
    let random = token.strip_prefix("cg_").expect("tokens start with cg_");
    assert_eq!(random.len(), 43, "256 bits, base64url");
    assert!(!stored.contains(token), "only the token's hash may be stored");

    let connect = "CONNECT upstream.test:443 HTTP/1.0\r\n\r\n";
    let (_, head) = exchange(gateway.proxy, connect.as_bytes()).await;
    assert!(
        head.starts_with("HTTP/1.0 407") || head.starts_with("HTTP/1.1 407"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains("proxy-authenticate: basic"),
        "{head}"
    );

    use base64::Engine;
    let wrong = base64::engine::general_purpose::STANDARD.encode("ci-bot:not-the-token");
    let connect = format!("CONNECT upstream.test:443 HTTP/1.1\r\nProxy-Authorization: Basic {wrong}\r\n\r\n");
    let (_, head) = exchange(gateway.proxy, connect.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 407"), "{head}");

    let local_url = url.replace("127.0.0.1:8080", &gateway.proxy.to_string());
    let client = agent::client(&local_url, &gateway.ca_pem(), true);
    let response = client.get("https://upstream.test/echo").send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_no_endpoint_claims_are_denied_or_tunnelled_as_configured() {
    let origin = Origin::start().await;
    let gateway = origin.gateway().await;
    let (_, head) = exchange(
        gateway.proxy,
        b"CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert!(
        head.contains("not claimed by any endpoint"),
        "the reason is in the status line: {head}"
    );

    let rules = origin.rules(
        r#"unknown_host = "tunnel""#,
        &format!(r#""other.test" = "{}""#, origin.upstream.addr),
    );
    let gateway = tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap();
    // Tunnelled, not intercepted: the agent sees the upstream's own certificate.
    let direct = agent::client(&gateway.proxy_url(), origin.ca.cert_pem().as_bytes(), true);
    let response = direct.get("https://other.test/echo").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-echo-host"], "other.test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_another_host_inside_a_tunnel_is_rejected() {
    let origin = Origin::start().await;
    let gateway = origin.gateway().await;
    let mut tls = tunnel(gateway.proxy, "upstream.test", &gateway.ca_pem()).await;
    tls.write_all(b"GET /echo HTTP/1.1\r\nHost: other.test\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut tls).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert_eq!(origin.upstream.connections(), 0, "nothing may reach the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_inside_a_tunnel_and_a_huge_host_are_refused_briefly() {
    let origin = Origin::start().await;
    let gateway = origin.gateway().await;
    let mut tls = tunnel(gateway.proxy, "upstream.test", &gateway.ca_pem()).await;
    tls.write_all(b"CONNECT other.test:443 HTTP/1.1\r\nHost: upstream.test\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut tls).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert!(head.contains("a CONNECT inside a tunnel is not served"), "{head}");

    // The refusal quotes the agent's Host; the reason header stays short.
    let mut tls = tunnel(gateway.proxy, "upstream.test", &gateway.ca_pem()).await;
    let host = format!("{}.test", "x".repeat(3000));
    tls.write_all(format!("GET /echo HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let head = read_head(&mut tls).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{}", &head[..200]);
    let reason = head
        .lines()
        .find_map(|l| l.strip_prefix("x-clawgate-reason: "))
        .unwrap();
    assert!(reason.len() <= 512, "{} characters", reason.len());
    assert_eq!(origin.upstream.connections(), 0, "nothing may reach the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_local_and_metadata_addresses_are_never_dialled() {
    let origin = Origin::start().await;
    let rules = origin.rules_claiming(r#"unknown_host = "tunnel""#, "metadata.test", "169.254.169.254:80");
    let gateway = tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap();
    let response = client(&gateway, true)
        .get("https://metadata.test/latest/meta-data/")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("169.254.169.254") && text.contains("never dials"),
        "{text}"
    );
    for target in ["169.254.169.254:80", "[fd00:ec2::254]:80"] {
        let connect = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
        let (_, head) = exchange(gateway.proxy, connect.as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 403"), "tunnel to {target}: {head}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_is_down_is_a_clear_502() {
    let origin = Origin::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let rules = origin.rules_claiming("", "down.test", closed);
    let gateway = tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap();
    let response = client(&gateway, true).get("https://down.test/").send().await.unwrap();
    assert_eq!(response.status(), 502);
    let text = response.text().await.unwrap();
    assert!(
        text.starts_with("clawgate: cannot reach the upstream") && text.contains("down.test"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_and_oversized_headers_are_refused_and_others_still_served() {
    let origin = Origin::start().await;
    let gateway = origin.gateway().await;
    let huge = format!(
        "CONNECT upstream.test:443 HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let cases: [(&[u8], &str); 5] = [
        (b"CONNECT not a target HTTP/1.1\r\n\r\n", "400"),
        (b"CONNECT :443 HTTP/1.1\r\n\r\n", "400"),
        (b"GARBAGE\r\n\r\n", "400"),
        (b"GET /relative HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
        (huge.as_bytes(), "431"),
    ];
    for (request, status) in cases {
        let (_, head) = exchange(gateway.proxy, request).await;
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status}")),
            "{:?} gave {head:?}",
            String::from_utf8_lossy(&request[..request.len().min(40)])
        );
    }
    let response = client(&gateway, true)
        .get("https://upstream.test/echo")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the proxy keeps serving others");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let origin = Origin::start().await;
    let gateway = origin.gateway().await;
    let mut tls = tunnel(gateway.proxy, "upstream.test", &gateway.ca_pem()).await;
    let body = pattern_slice(0, 1000);
    let head = "PUT /sink HTTP/1.1\r\nHost: upstream.test\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n";
    tls.write_all(head.as_bytes()).await.unwrap();
    let interim = tokio::time::timeout(Duration::from_secs(10), read_head(&mut tls))
        .await
        .expect("no 100 Continue within 10 s: the agent would stall");
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    tls.write_all(&body).await.unwrap();
    let final_head = read_head(&mut tls).await;
    assert!(final_head.starts_with("HTTP/1.1 200"), "{final_head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_keeps_the_upstream_content_length() {
    let origin = Origin::start().await;
    let gateway = origin.gateway().await;
    for http1_only in [true, false] {
        let response = client(&gateway, http1_only)
            .head("https://upstream.test/bytes?n=12345")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-length"], "12345", "http1_only={http1_only}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_form_plain_http_is_forwarded() {
    let origin = Origin::start().await;
    let plain = Upstream::start_plain().await;
    let rules = origin.rules_claiming("", "plain.test", plain.addr);
    let gateway = tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap();
    let response = client(&gateway, true)
        .post("http://plain.test/echo")
        .body("plain")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-echo-host"], "plain.test");
    assert_eq!(response.text().await.unwrap(), "plain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_read_the_host_as_it_is_routed_whatever_its_spelling() {
    let origin = Origin::start().await;
    let plain = Upstream::start_plain().await;
    let rules = origin.rules_claiming("", "plain.test", plain.addr).replace(
        "rule \"the test upstream is open\"",
        "rule \"no plain\" {\n  priority = 5\n  match = http.host == \"plain.test\"\n  action = \"deny\"\n}\nrule \"the test upstream is open\"",
    );
    let gateway = tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap();
    // A trailing dot and upper case route to the same endpoint, so the same rule decides.
    for host in ["plain.test", "plain.test.", "PLAIN.Test."] {
        let request = format!("GET http://{host}/echo HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let (_, head) = agent::exchange(gateway.proxy, request.as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 403"), "{host}: {head}");
        assert!(head.contains("denied by rule 'no plain'"), "{host}: {head}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_works_through_the_proxy_over_http1_and_http2() {
    if std::process::Command::new("curl").arg("--version").output().is_err() {
        eprintln!("curl is not installed; skipping");
        return;
    }
    let origin = Origin::start().await;
    let gateway = origin.gateway().await;
    for version in ["--http1.1", "--http2"] {
        let output = tokio::process::Command::new("curl")
            .args(["-sS", "--fail-with-body", version, "-w", "\n%{http_version}", "-x"])
            .arg(gateway.proxy_url())
            .arg("--cacert")
            .arg(&gateway.ca_pem)
            .args(["--data-binary", "from curl", "https://upstream.test/echo"])
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "curl {version}: {stdout} {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let expected = if version == "--http2" { "2" } else { "1.1" };
        assert_eq!(stdout, format!("from curl\n{expected}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_requests_in_flight_then_exits() {
    let origin = Origin::start().await;
    let mut gateway = origin.gateway().await;
    let client = client(&gateway, true);
    let slow = tokio::spawn(async move { client.get("https://upstream.test/slow?ms=1500").send().await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    gateway.terminate();
    let response = slow.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "slow done");
    let status = tokio::task::spawn_blocking(move || gateway.wait_exit(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn ca_init_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("certs");
    let ca_dir = ca_dir.to_str().unwrap();
    let (ok, out, err) = cli(&["ca", "init", "--ca-dir", ca_dir]);
    assert!(ok, "{err}");
    let (ok, shown, err) = cli(&["ca", "show", "--ca-dir", ca_dir]);
    assert!(ok, "{err}");
    let fingerprint = shown.lines().nth(1).unwrap().strip_prefix("SHA-256 ").unwrap();
    assert!(out.contains(fingerprint), "init and show agree: {out} / {shown}");
    assert!(shown.starts_with(&format!("{ca_dir}/ca.pem")));
    let (ok, _, err) = cli(&["ca", "init", "--ca-dir", ca_dir]);
    assert!(!ok && err.contains("already exists"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_limit_refuses_extra_connections_with_503() {
    let origin = Origin::start().await;
    let rules = origin.rules("max_connections = 2", "");
    let gateway = tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap();
    let first = tunnel(gateway.proxy, "upstream.test", &gateway.ca_pem()).await;
    let second = tunnel(gateway.proxy, "upstream.test", &gateway.ca_pem()).await;
    let (_, head) = exchange(gateway.proxy, b"CONNECT upstream.test:443 HTTP/1.1\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    drop((first, second));
    // Once the first two close, a new agent gets in.
    let mut admitted = false;
    for _ in 0..50 {
        let (_, head) = exchange(gateway.proxy, b"CONNECT upstream.test:443 HTTP/1.1\r\n\r\n").await;
        if head.starts_with("HTTP/1.1 200") {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(admitted, "closed connections must give their places back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_but_slow_requests_are_not() {
    use tokio::io::AsyncReadExt;
    let origin = Origin::start().await;
    let rules = origin.rules(r#"idle_timeout = "1s""#, "");
    let gateway = tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap();
    // A request that takes longer than the idle timeout still completes.
    let slow = client(&gateway, true)
        .get("https://upstream.test/slow?ms=2500")
        .send()
        .await
        .unwrap();
    assert_eq!(slow.text().await.unwrap(), "slow done");
    // A tunnel with nothing in flight is closed.
    let mut idle = tunnel(gateway.proxy, "upstream.test", &gateway.ca_pem()).await;
    let mut buf = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "expected the idle tunnel to be closed, got {closed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_deny_with_the_rule_name_and_reload_keeps_old_rules_when_the_new_ones_are_broken() {
    let origin = Origin::start().await;
    let gateway = origin.gateway().await;
    let client = client(&gateway, true);
    let get = || client.get("https://upstream.test/echo").send();
    assert_eq!(get().await.unwrap().status(), 200);

    let main = gateway.rules.join("main.hcl");
    let allowed = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        format!("{allowed}\nrule \"broken\" {{\n  match = http.methd == \"GET\"\n  action = \"deny\"\n}}\n"),
    )
    .unwrap();
    wait_for_log(&gateway, "did not load").await;
    assert!(
        gateway
            .log()
            .contains("`http.methd` is not a facet field; did you mean `http.method`?"),
        "{}",
        gateway.log()
    );
    assert_eq!(
        get().await.unwrap().status(),
        200,
        "a broken file must not replace the rules in force"
    );

    let denying = allowed.replace(
        "rule \"the test upstream is open\"",
        "rule \"no echo\" {\n  priority = 5\n  match = http.path.startsWith(\"/echo\")\n  action = \"deny\"\n  reason = \"echo is off today\"\n}\nrule \"the test upstream is open\"",
    );
    std::fs::write(&main, denying).unwrap();
    gateway.hangup();
    wait_for_log(&gateway, "rules reloaded").await;
    let response = get().await.unwrap();
    assert_eq!(response.status(), 403);
    let text = response.text().await.unwrap();
    assert_eq!(text, "clawgate: denied by rule 'no echo': echo is off today\n");
    let response = client.get("https://upstream.test/bytes?n=3").send().await.unwrap();
    assert_eq!(response.status(), 200, "other paths are still allowed");
}

/// Waits up to 10 s for `needle` in the gateway's log.
async fn wait_for_log(gateway: &Gateway, needle: &str) {
    for _ in 0..100 {
        if gateway.log().contains(needle) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("`{needle}` never appeared in the log:\n{}", gateway.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_requests_are_decided_on_their_facets_and_contradictions_are_refused() {
    let ca = TestCa::new();
    let hosts = ["sts.us-east-1.amazonaws.com", "ec2.us-east-1.amazonaws.com"];
    let upstream = Upstream::start_tls(&ca, &hosts).await;
    let ca_file = tempfile::NamedTempFile::new().unwrap();
    ca.write_pem(ca_file.path());
    let rules = format!(
        r#"
gateway {{
  upstream_ca = "{ca}"
  resolve = {{ "*.amazonaws.com" = "{addr}" }}
}}
endpoint "aws_api" "org" {{
  hosts    = ["*.amazonaws.com"]
  role     = "clawgate-agent"
  region   = "us-east-1"
  accounts = ["111111111111=prod"]
}}
rule "who am i" {{
  match  = aws.action == "GetCallerIdentity" && aws.account_name == "prod"
  action = "allow"
}}
"#,
        ca = ca_file.path().display(),
        addr = upstream.addr,
    );
    let gateway = tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap();
    let client = client(&gateway, true);
    let sign = |service: &str, account: &str| {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIA{account}XXXX/20261123/us-east-1/{service}/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=00"
        )
    };
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let post = |host: &str, auth: String, body: &'static str| {
        client
            .post(format!("https://{host}/echo"))
            .header("authorization", auth)
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(body)
            .send()
    };
    // Allowed, but the endpoint has no base key to assume a role with: refused,
    // in the shape the AWS CLI reads (end-to-end re-signing: tests/e2e.rs).
    let response = post(hosts[0], sign("sts", "111111111111"), body).await.unwrap();
    assert_eq!(response.status(), 503);
    let text = response.text().await.unwrap();
    assert!(
        text.starts_with("<ErrorResponse><Error><Type>Sender</Type><Code>ServiceUnavailable</Code>"),
        "{text}"
    );
    assert!(text.contains("names no `credential`"), "{text}");
    // An account the endpoint does not list.
    let response = post(hosts[0], sign("sts", "333333333333"), body).await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("account 333333333333 is not one of this endpoint's accounts")
    );
    // EC2 with a target header that pretends to be a read.
    let attack = client
        .post(format!("https://{}/", hosts[1]))
        .header("authorization", sign("ec2", "111111111111"))
        .header("x-amz-target", "x.DescribeInstances")
        .body("Action=TerminateInstances&Version=2016-11-15")
        .send()
        .await
        .unwrap();
    assert_eq!(attack.status(), 403);
    assert!(attack.text().await.unwrap().contains("conflict"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_requests_wait_for_a_person_through_the_admin_api() {
    let origin = Origin::start().await;
    let rules = origin.rules_holding_posts("", r#"human "alice" { timeout = "3s" }"#, "human.alice");
    let gateway = tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap();
    let client = client(&gateway, true);
    let admin = reqwest::Client::builder().no_proxy().build().unwrap();
    let api = |path: &str| format!("http://{}/api/{path}", gateway.admin);
    let token = format!("Bearer {}", gateway.admin_token);
    let post = |body: &'static str| {
        let client = client.clone();
        tokio::spawn(async move { client.post("https://upstream.test/echo").body(body).send().await })
    };
    let pending = || async {
        for _ in 0..100 {
            let list: serde_json::Value = admin
                .get(api("holds"))
                .header("authorization", &token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if !list.as_array().unwrap().is_empty() {
                return list;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nothing was held");
    };

    // Held, and an identical retry joins the same hold; allowed, both complete.
    let first = post("please");
    let retry = post("please");
    let list = pending().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again: serde_json::Value = admin
        .get(api("holds"))
        .header("authorization", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        again.as_array().unwrap().len(),
        1,
        "one hold for identical requests: {again}"
    );
    let hold = &list[0];
    assert_eq!(hold["rule"], "posts need a person");
    assert!(
        hold["summary"]
            .as_str()
            .unwrap()
            .contains("POST https://upstream.test/echo, by agent local"),
        "{hold}"
    );
    assert_eq!(
        admin.get(api("holds")).send().await.unwrap().status(),
        401,
        "the API needs the token"
    );
    let id = hold["id"].as_u64().unwrap();
    let allowed = admin
        .post(api(&format!("holds/{id}/allow")))
        .header("authorization", &token)
        .body(r#"{"by": "alice"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 204);
    for request in [first, retry] {
        let response = request.await.unwrap().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "please");
    }

    // Denied: the agent learns who denied it and why.
    let denied = post("no way");
    let id = pending().await[0]["id"].as_u64().unwrap();
    admin
        .post(api(&format!("holds/{id}/deny")))
        .header("authorization", &token)
        .body(r#"{"by": "alice", "reason": "not on a Friday"}"#)
        .send()
        .await
        .unwrap();
    let response = denied.await.unwrap().unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.text().await.unwrap(),
        "clawgate: denied by alice, who was asked by rule 'posts need a person': not on a Friday\n"
    );

    // Nobody answers: denied when alice's timeout runs out.
    let response = post("anyone?").await.unwrap().unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("nobody approved it in time"));
}
