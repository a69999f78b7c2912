//! The audit log on a full filesystem, through the real binary: a small
//! tmpfs under the audit log, filled, then freed. By default clawgate refuses
//! requests it cannot record, says so on `/healthz` and in `/metrics`, keeps
//! the records it has, and serves again on its own once space returns; with
//! `audit_failure = "allow"` it serves on and counts every record it drops.
//!
//! Mounting a tmpfs needs root (CI runs as root). Without it, the test runs
//! itself again inside `unshare --user --map-root-user --mount`; if that
//! cannot mount either, it fails and says why: it never passes untested.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::agent;
use support::gateway::Gateway;
use support::operator::Operator;
use support::origin::Origin;

/// Set in the environment of the test run again inside a user namespace.
const IN_NAMESPACE: &str = "CLAWGATE_AUDIT_DISK_IN_NAMESPACE";

/// A tmpfs of a few hundred KiB, mounted for the test and unmounted after.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `kib` KiB, or says why it cannot.
    fn mount(kib: usize) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "mount -t tmpfs failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the filesystem is full.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = [0u8; 4096];
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
        }
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// A mounted tmpfs, or `None` when this test was run again in a user
/// namespace, where it passed (it panics if that run failed).
fn tmpfs_or_rerun(test: &str) -> Option<Tmpfs> {
    let refused = match Tmpfs::mount(512) {
        Ok(tmpfs) => return Some(tmpfs),
        Err(refused) => refused,
    };
    assert!(
        std::env::var_os(IN_NAMESPACE).is_none(),
        "THIS TEST CANNOT RUN: it needs a small filesystem under the audit log, and even inside \
         `unshare --user --map-root-user --mount` {refused}; run it as root"
    );
    eprintln!("cannot mount a tmpfs here ({refused}); running {test} again inside a user namespace");
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "--"])
        .arg(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(IN_NAMESPACE, "1")
        .output()
        .unwrap_or_else(|e| panic!("THIS TEST CANNOT RUN: {refused}, and unshare could not be run: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && text.contains("1 passed"),
        "the run inside `unshare` failed:\n{text}"
    );
    None
}

/// clawgate with its audit log on `tmpfs`, and `gateway_extra` in its gateway block.
async fn start_on(tmpfs: &Tmpfs, origin: &Origin, gateway_extra: &str) -> Gateway {
    let rules = origin.rules(gateway_extra, "")
        + r#"
endpoint "aws_api" "org" {
  hosts = ["*.amazonaws.com"]
  role  = "clawgate-agent"
}
"#;
    let target = tmpfs.path().to_path_buf();
    let gateway = tokio::task::spawn_blocking(move || {
        Gateway::start_with(&rules, |rules_dir| {
            // The harness writes the audit log under `audit/` beside the rules.
            std::os::unix::fs::symlink(&target, rules_dir.parent().unwrap().join("audit")).unwrap();
        })
    })
    .await
    .unwrap();
    let real = std::fs::canonicalize(gateway.audit_log.parent().unwrap()).unwrap();
    assert_eq!(
        real,
        std::fs::canonicalize(tmpfs.path()).unwrap(),
        "the audit log must be on the tmpfs"
    );
    gateway
}

/// What each test runs against: clawgate with its audit log on a tmpfs,
/// the test upstream, an operator and an agent. Fields drop in order: the
/// gateway stops before the tmpfs is unmounted.
struct Setup {
    gateway: Gateway,
    operator: Operator,
    client: reqwest::Client,
    _origin: Origin,
    tmpfs: Tmpfs,
}

impl Setup {
    /// The set-up for `test`, with `gateway_extra` in the gateway block; `None`
    /// when the test was run again, and passed, in a user namespace.
    async fn start(test: &str, gateway_extra: &str) -> Option<Setup> {
        let tmpfs = tmpfs_or_rerun(test)?;
        let origin = Origin::start().await;
        let gateway = start_on(&tmpfs, &origin, gateway_extra).await;
        Some(Setup {
            operator: Operator::of(&gateway),
            client: agent::client(&gateway.proxy_url(), &gateway.ca_pem(), true),
            gateway,
            _origin: origin,
            tmpfs,
        })
    }

    fn parts(&self) -> (&Gateway, &Operator, &reqwest::Client, &Tmpfs) {
        (&self.gateway, &self.operator, &self.client, &self.tmpfs)
    }
}

/// The request ids in the audit log, in order, from its whole lines.
fn logged_ids(gateway: &Gateway) -> Vec<String> {
    std::fs::read_to_string(&gateway.audit_log)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|record| record["id"].as_str().map(str::to_string))
        .collect()
}

/// One GET to the test upstream: its status, request id and reason header.
async fn get(client: &reqwest::Client, n: usize) -> (u16, String, String) {
    let response = client
        .get(format!("https://upstream.test/echo/{n}"))
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (id, reason) = (header("x-clawgate-request-id"), header("x-clawgate-reason"));
    (response.status().as_u16(), id, reason)
}

/// The value of the metric line that starts with `name ` (0 when absent).
async fn metric(operator: &Operator, name: &str) -> u64 {
    let text = operator.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map_or(0, |value| value.trim().parse().unwrap())
}

/// Waits up to 10 s for `/healthz` to answer `status`; returns its body.
async fn healthz_becomes(operator: &Operator, status: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = operator.get("/healthz").await;
        let (got, body) = (response.status().as_u16(), response.text().await.unwrap());
        if got == status {
            return body;
        }
        assert!(Instant::now() < deadline, "/healthz stayed {got}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_audit_disk_refuses_requests_until_space_returns_and_loses_no_record() {
    let Some(setup) = Setup::start(
        "a_full_audit_disk_refuses_requests_until_space_returns_and_loses_no_record",
        "",
    )
    .await
    else {
        return;
    };
    let (gateway, operator, client, tmpfs) = setup.parts();
    let mut answered = Vec::new();
    let (status, id, _) = get(client, 0).await;
    assert_eq!(status, 200);
    answered.push(id);

    let filler = tmpfs.fill();
    // The first records after the disk fills may still fit in the file's last
    // page; once a write fails, requests are refused.
    let mut refused = None;
    for n in 1..200 {
        let (status, id, reason) = get(client, n).await;
        answered.push(id);
        if status == 503 {
            refused = Some(reason);
            break;
        }
        assert_eq!(status, 200, "{reason}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let reason = refused.expect("requests were still served with the audit log on a full disk");
    eprintln!(
        "{} requests were served after the disk filled, then: {reason}",
        answered.len() - 2
    );
    assert!(
        reason.contains("audit log cannot be written") && reason.contains("No space left on device"),
        "{reason}"
    );
    for n in 200..210 {
        let (status, id, reason) = get(client, n).await;
        assert_eq!(status, 503, "{reason}");
        answered.push(id);
    }
    // An AWS SDK is told in its protocol's shape, with a code it retries.
    let aws = agent::placeholder_s3_signature(client.get("https://reports.s3.amazonaws.com/k"))
        .send()
        .await
        .unwrap();
    assert_eq!(aws.status(), 503);
    answered.push(aws.headers()["x-clawgate-request-id"].to_str().unwrap().to_string());
    let body = aws.text().await.unwrap();
    assert!(body.contains("<Code>ServiceUnavailable</Code>"), "{body}");
    assert!(body.contains("No space left on device"), "{body}");

    let health = healthz_becomes(operator, 503).await;
    assert!(health.contains("No space left on device"), "{health}");
    assert_eq!(metric(operator, "clawgate_audit_writable").await, 0);
    assert!(metric(operator, "clawgate_audit_records_buffered").await > 0);

    std::fs::remove_file(filler).unwrap();
    healthz_becomes(operator, 200).await;
    let (status, id, reason) = get(client, 300).await;
    assert_eq!(status, 200, "served again once space returned: {reason}");
    answered.push(id);
    assert_eq!(metric(operator, "clawgate_audit_writable").await, 1);
    assert_eq!(metric(operator, "clawgate_audit_records_dropped_total").await, 0);

    // Every request answered has its record, in the order they were made.
    let deadline = Instant::now() + Duration::from_secs(10);
    while logged_ids(gateway).len() < answered.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(logged_ids(gateway), answered);
    // Whole lines only: every line is a record.
    assert_eq!(gateway.audit_records().len(), answered.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_audit_failure_allow_requests_are_served_and_every_lost_record_is_counted() {
    let Some(setup) = Setup::start(
        "with_audit_failure_allow_requests_are_served_and_every_lost_record_is_counted",
        "audit_failure = \"allow\"\n  audit_buffer_kb = 64",
    )
    .await
    else {
        return;
    };
    let (gateway, operator, client, tmpfs) = setup.parts();
    let filler = tmpfs.fill();
    // Far more records than 64 KiB holds.
    let mut answered = Vec::new();
    for n in 0..400 {
        let (status, id, reason) = get(client, n).await;
        assert_eq!(status, 200, "request {n}: {reason}");
        answered.push(id);
    }
    let health = healthz_becomes(operator, 503).await;
    assert!(health.contains("No space left on device"), "{health}");
    let dropped = metric(operator, "clawgate_audit_records_dropped_total").await;
    assert!(dropped > 0, "64 KiB cannot hold 400 records");

    std::fs::remove_file(filler).unwrap();
    healthz_becomes(operator, 200).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(operator, "clawgate_audit_records_buffered").await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logged = logged_ids(gateway);
    let lost = answered.iter().filter(|id| !logged.contains(id)).count();
    eprintln!(
        "{} requests served, {} records logged, {dropped} dropped",
        answered.len(),
        logged.len()
    );
    assert_eq!(lost as u64, dropped, "the dropped count is the records lost");
    assert_eq!(metric(operator, "clawgate_audit_records_dropped_total").await, dropped);
    // Kept records are in order.
    let kept: Vec<&String> = answered.iter().filter(|id| logged.contains(id)).collect();
    assert_eq!(kept, logged.iter().collect::<Vec<_>>());
    // Warned about, but not once per request.
    let log = gateway.log();
    let warnings = log.lines().filter(|l| l.contains("dropped")).count();
    assert!(
        (1..=5).contains(&warnings),
        "{warnings} lines about dropped records:\n{log}"
    );
}
