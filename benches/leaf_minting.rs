#![expect(clippy::expect_used, reason = "a benchmark stops at the first set-up failure")]
#![expect(missing_docs, reason = "criterion's macros generate undocumented functions")]

//! Leaf certificates: the cost of a cache hit and of minting a new leaf.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clawgate::tls::{CertificateAuthority, LeafCerts};
use criterion::{Criterion, criterion_group, criterion_main};

fn leaf_minting(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let ca = Arc::new(CertificateAuthority::create(dir.path()).expect("CA"));
    let capacity = NonZeroUsize::new(1024).expect("non-zero");
    let leaves = LeafCerts::new(Arc::clone(&ca), capacity).expect("leaf key");
    leaves.certified_key("cached.example.com").expect("leaf");
    c.bench_function("leaf cache hit", |b| {
        b.iter(|| leaves.certified_key("cached.example.com").expect("leaf"));
    });
    let n = AtomicU64::new(0);
    c.bench_function("leaf cache miss (mint)", |b| {
        b.iter(|| {
            let host = format!("host-{}.example.com", n.fetch_add(1, Ordering::Relaxed));
            leaves.certified_key(&host).expect("leaf")
        });
    });
}

criterion_group!(benches, leaf_minting);
criterion_main!(benches);
