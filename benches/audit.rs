//! Recording one request: the record serialised, appended to the log's
//! buffer, counted in the metrics and kept for the dashboard.

#![expect(clippy::expect_used, reason = "a benchmark stops at the first set-up failure")]
#![expect(missing_docs, reason = "criterion's macros generate undocumented functions")]

use clawgate::audit::{Audit, AuditLog, Record, Verdict};
use clawgate::config::{AuditFailure, AuditSettings};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn record(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let settings = AuditSettings {
        rotate_bytes: 1 << 30,
        keep: 2,
        ..AuditSettings::default()
    };
    let log = AuditLog::open(&dir.path().join("audit.jsonl"), &settings).expect("the audit log");
    let audit = Audit::new(Some(log), AuditFailure::Deny);
    let mut typical = Record::begin("GET", "reports.s3.us-east-1.amazonaws.com", "/2026/q3.csv");
    typical.agent = Some("ci-bot".into());
    typical.endpoint = Some("aws_api.org".into());
    typical.decision = Some(Verdict::Allow);
    typical.rule = Some("reads ok".into());
    typical.status = 200;
    typical.bytes_out = 4096;
    typical.upstream_ms = Some(12);
    for (name, value) in [
        ("agent.name", "ci-bot"),
        ("http.method", "GET"),
        ("http.host", "reports.s3.us-east-1.amazonaws.com"),
        ("http.path", "/2026/q3.csv"),
        ("aws.service", "s3"),
        ("aws.action", "GetObject"),
        ("aws.iam_action", "s3:GetObject"),
        ("aws.account", "111111111111"),
        ("aws.account_name", "prod"),
        ("aws.region", "us-east-1"),
        ("aws.bucket", "reports"),
        ("aws.key", "2026/q3.csv"),
        ("aws.resource", "arn:aws:s3:::reports/2026/q3.csv"),
    ] {
        typical.facets.insert(name.into(), value.into());
    }
    c.bench_function("audit: record an S3 GetObject", |b| {
        b.iter_batched(|| typical.clone(), |r| audit.record(r), BatchSize::SmallInput)
    });
    audit.close();
}

criterion_group!(benches, record);
criterion_main!(benches);
