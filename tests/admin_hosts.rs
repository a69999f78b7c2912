//! The admin server answers only for its own names (DNS rebinding cannot
//! read it) and marks every answer `nosniff`, through the real binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

mod support;

use support::agent::exchange;
use support::gateway::Gateway;

fn get(path: &str, host: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

async fn start(rules: &'static str) -> Gateway {
    tokio::task::spawn_blocking(move || Gateway::start(rules))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_server_answers_only_for_its_own_names_and_never_sniffs() {
    let gateway = start("").await;
    let port = gateway.admin.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        for path in ["/metrics", "/healthz", "/", "/api/holds"] {
            let (_, head) = exchange(gateway.admin, get(path, &host).as_bytes()).await;
            assert!(!head.starts_with("HTTP/1.1 421"), "{host}{path}: {head}");
            assert!(head.contains("x-content-type-options: nosniff"), "{host}{path}: {head}");
        }
    }
    for host in [
        "evil.example".to_string(),
        format!("evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        "clawgate.internal".to_string(),
    ] {
        for path in ["/metrics", "/healthz", "/", "/api/holds"] {
            let (mut stream, head) = exchange(gateway.admin, get(path, &host).as_bytes()).await;
            assert!(head.starts_with("HTTP/1.1 421"), "{host}{path}: {head}");
            assert!(head.contains("x-content-type-options: nosniff"), "{host}{path}: {head}");
            let mut body = String::new();
            tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut body)
                .await
                .unwrap();
            assert!(!body.contains("clawgate_"), "no metrics for {host}: {body}");
            assert!(body.contains("admin_hosts"), "the refusal says what to do: {body}");
        }
    }
    // An absolute URI naming another host is refused even with a good Host.
    let request = format!("GET http://evil.example/metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let (_, head) = exchange(gateway.admin, request.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 421"), "{head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_in_admin_hosts_are_answered() {
    let gateway = start(r#"gateway { admin_hosts = ["clawgate.internal"] }"#).await;
    let (_, head) = exchange(gateway.admin, get("/metrics", "clawgate.internal:8081").as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (_, head) = exchange(gateway.admin, get("/metrics", "evil.example").as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 421"), "{head}");
}
