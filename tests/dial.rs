//! The dial rules through the real binary: special-purpose addresses, every
//! IPv6 form that embeds one, other clouds' metadata addresses and
//! clawgate's own listeners are refused, in tunnels, plain HTTP and
//! intercepted requests alike; what the configuration names is still dialled.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

mod support;

use support::agent::{self, exchange, read_head};
use support::gateway::Gateway;
use support::origin::Origin;
use tokio::io::AsyncWriteExt;

/// Upstream dials that hang (100.100.100.200 has no route here) give up
/// quickly, so a refusal that is missing fails the test rather than stalls it.
const QUICK: &str = r#"connect_timeout = "2s""#;

/// (address as written in a URL, what the refusal must say).
fn special_targets(gateway: &Gateway, loopback_port: u16) -> Vec<(String, &'static str)> {
    vec![
        ("[64:ff9b::a9fe:a9fe]:443".into(), "NAT64 form of 169.254.169.254"),
        ("[2002:a9fe:a9fe::1]:443".into(), "6to4 form of 169.254.169.254"),
        ("[::a9fe:a9fe]:443".into(), "IPv4-compatible form of 169.254.169.254"),
        (
            "100.100.100.200:443".into(),
            "instance-metadata address, which clawgate never dials",
        ),
        ("100.64.0.1:443".into(), "carrier-grade NAT"),
        (format!("0.0.0.0:{loopback_port}"), "this-network"),
        (format!("127.0.0.1:{loopback_port}"), "loopback"),
        (
            format!("127.0.0.1:{}", gateway.admin.port()),
            "clawgate's own admin server",
        ),
        (
            format!("127.0.0.1:{}", gateway.proxy.port()),
            "clawgate's own proxy listener",
        ),
    ]
}

async fn start(rules: String) -> Gateway {
    tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnels_and_plain_http_to_special_addresses_are_refused_naming_why() {
    let origin = Origin::start().await;
    let gateway = start(origin.rules(&format!("unknown_host = \"tunnel\"\n  {QUICK}"), "")).await;
    let loopback_port = origin.upstream.addr.port();
    for (target, why) in special_targets(&gateway, loopback_port) {
        let connect = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
        let (_, head) = exchange(gateway.proxy, connect.as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 403"), "tunnel to {target}: {head}");
        assert!(head.contains(why), "tunnel to {target} must say `{why}`: {head}");

        let plain = format!("GET http://{target}/metrics HTTP/1.1\r\nHost: {target}\r\n\r\n");
        let (_, head) = exchange(gateway.proxy, plain.as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 403"), "plain HTTP to {target}: {head}");
        assert!(head.contains(why), "plain HTTP to {target} must say `{why}`: {head}");
    }
    let (_, head) = exchange(
        gateway.proxy,
        b"CONNECT 100.64.0.1:443 HTTP/1.1\r\nHost: 100.64.0.1:443\r\n\r\n",
    )
    .await;
    assert!(
        head.contains(r#"dial_private = ["100.64.0.1"]"#),
        "the refusal says what would allow it: {head}"
    );
    assert_eq!(
        origin.upstream.connections(),
        0,
        "nothing may reach the loopback upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intercepted_requests_to_special_addresses_are_refused_naming_why() {
    let origin = Origin::start().await;
    let claimed = r#"hosts = ["upstream.test", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::a9fe:a9fe",
             "100.100.100.200", "100.64.0.1", "0.0.0.0", "127.0.0.1"]"#;
    let rules = origin.rules(QUICK, "").replace(r#"hosts = ["upstream.test"]"#, claimed);
    let gateway = start(rules).await;
    for (target, why) in special_targets(&gateway, origin.upstream.addr.port()) {
        let connect = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
        let (stream, head) = exchange(gateway.proxy, connect.as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{target} is intercepted: {head}");
        let (host, _) = target.rsplit_once(':').unwrap();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let mut tls = agent::tls(stream, host, &gateway.ca_pem()).await;
        let get = format!("GET /metrics HTTP/1.1\r\nHost: {target}\r\n\r\n");
        tls.write_all(get.as_bytes()).await.unwrap();
        let head = read_head(&mut tls).await;
        assert!(head.starts_with("HTTP/1.1 403"), "{target}: {head}");
        assert!(head.contains(why), "{target} must say `{why}`: {head}");
    }
    assert_eq!(
        origin.upstream.connections(),
        0,
        "nothing may reach the loopback upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_resolve_or_dial_private_names_is_dialled_and_clawgate_itself_never() {
    let origin = Origin::start().await;
    let port = origin.upstream.addr.port();
    // other.test through `resolve`, 127.0.0.1 itself through `dial_private`.
    let rules = origin.rules(
        "unknown_host = \"tunnel\"\n  dial_private = [\"127.0.0.0/8\", \"0.0.0.0/8\"]",
        &format!(r#""other.test" = "{}""#, origin.upstream.addr),
    );
    let gateway = start(rules).await;
    let direct = agent::client(&gateway.proxy_url(), origin.ca.cert_pem().as_bytes(), true);
    let response = direct.get("https://other.test/echo").send().await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "a loopback upstream named in `resolve` is dialled"
    );

    let connect = format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let (_, head) = exchange(gateway.proxy, connect.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 200"), "dial_private opens loopback: {head}");

    // Listed or not, clawgate never dials its own listeners, nor metadata.
    for (target, why) in [
        (
            format!("127.0.0.1:{}", gateway.admin.port()),
            "clawgate's own admin server",
        ),
        (
            format!("0.0.0.0:{}", gateway.proxy.port()),
            "clawgate's own proxy listener",
        ),
        (
            format!("127.0.0.9:{}", gateway.admin.port()),
            "clawgate's own admin server",
        ),
    ] {
        let plain = format!("GET http://{target}/metrics HTTP/1.1\r\nHost: {target}\r\n\r\n");
        let (_, head) = exchange(gateway.proxy, plain.as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 403"), "{target}: {head}");
        assert!(head.contains(why), "{target} must say `{why}`: {head}");
    }
}
