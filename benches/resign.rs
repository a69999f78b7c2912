//! Re-signing a typical request with assumed-role credentials.

#![expect(clippy::expect_used, reason = "a benchmark stops at the first set-up failure")]
#![expect(missing_docs, reason = "criterion's macros generate undocumented functions")]

use std::time::SystemTime;

use clawgate::aws::AwsCredentials;
use clawgate::aws::sigv4::{Placement, Signer};
use clawgate::secret::Secret;
use criterion::{Criterion, criterion_group, criterion_main};

fn resign(c: &mut Criterion) {
    let credentials = AwsCredentials {
        access_key_id: Secret::new("ASIAEXAMPLEEXAMPLE12".into()),
        secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
        session_token: Some(Secret::new("FwoGZXIvYXdzEexampletoken".repeat(20))),
        expires: None,
    };
    let request = http::Request::get("/reports/2026/q3%20summary.csv?versionId=3")
        .header("host", "reports.s3.us-east-1.amazonaws.com")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIA111111111111CLAW/20261123/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=00",
        )
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .header("x-amz-date", "20261123T000000Z")
        .header("user-agent", "aws-cli/1.46.3 Python/3.11.7 botocore/1.44.5")
        .body(())
        .expect("request");
    let (parts, ()) = request.into_parts();
    let signer = Signer {
        credentials: &credentials,
        region: "us-east-1",
        service: "s3",
        time: SystemTime::now(),
    };
    c.bench_function("resign: s3 GetObject", |b| {
        b.iter_batched(
            || parts.clone(),
            |mut parts| {
                signer
                    .sign(
                        &mut parts,
                        "reports.s3.us-east-1.amazonaws.com",
                        Placement::Headers("UNSIGNED-PAYLOAD".into()),
                    )
                    .expect("signed")
            },
            criterion::BatchSize::SmallInput,
        );
    });
}

criterion_group!(benches, resign);
criterion_main!(benches);
