//! Facet extraction over the whole generated AWS corpus
//! (`tests/corpus/aws/generated/`, one botocore request per operation of every
//! service, see `scripts/gen-aws-corpus.py`).
//!
//! Two measurements, both with `AwsApi::default()`:
//! - a criterion benchmark whose iteration is one `extract`, cycling through
//!   every request of the corpus in order, so its time is the mean per request;
//! - a plain timing pass: every request timed on its own, over many warm rounds
//!   (each request's time is its median over the rounds), printing the mean,
//!   p50, p99 and max over requests in µs and the ten slowest requests.
//!
//! `cargo bench --bench facet_corpus`. Under `cargo test` (no `--bench`
//! argument) the timing pass makes one round only, as a smoke test.

#![expect(missing_docs, reason = "criterion's macros generate undocumented functions")]

#[path = "../tests/support/generated_corpus.rs"]
mod generated_corpus;

use std::hint::black_box;
use std::time::{Duration, Instant};

use clawgate::config::AwsApi;
use clawgate::facet::aws::{AwsRequest, extract};
use criterion::{Criterion, criterion_group, criterion_main};
use generated_corpus::Case;

/// Rounds of the timing pass, of which the first `WARM_UP` are discarded.
const ROUNDS: usize = 25;
const WARM_UP: usize = 3;

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The value at quantile `q` of the sorted `values`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Times every request on its own and prints the distribution.
fn timing_pass(cases: &[Case], requests: &[AwsRequest<'_>], api: &AwsApi, rounds: usize, warm_up: usize) {
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); requests.len()];
    let mut refused = vec![false; requests.len()];
    for round in 0..rounds {
        for (i, request) in requests.iter().enumerate() {
            let start = Instant::now();
            let facts = extract(black_box(request), api);
            let elapsed = start.elapsed();
            refused[i] = black_box(facts).is_err();
            if round >= warm_up {
                samples[i].push(elapsed);
            }
        }
    }
    let mut per_request: Vec<(f64, usize)> = samples
        .iter_mut()
        .enumerate()
        .map(|(i, s)| {
            s.sort();
            (micros(s[s.len() / 2]), i)
        })
        .collect();
    let mut sorted: Vec<f64> = per_request.iter().map(|(t, _)| *t).collect();
    sorted.sort_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    println!(
        "facet_corpus timing pass: {} requests, {} rounds ({} warm-up), median of rounds per request",
        requests.len(),
        rounds,
        warm_up
    );
    println!(
        "  per request (µs): mean {mean:.2}  p50 {:.2}  p99 {:.2}  max {:.2}",
        quantile(&sorted, 0.5),
        quantile(&sorted, 0.99),
        sorted[sorted.len() - 1]
    );
    for (label, want_refused) in [("accepted", false), ("refused", true)] {
        let mut part: Vec<f64> = per_request
            .iter()
            .filter(|(_, i)| refused[*i] == want_refused)
            .map(|(t, _)| *t)
            .collect();
        if part.is_empty() {
            continue;
        }
        part.sort_by(f64::total_cmp);
        println!(
            "  {label} ({}): mean {:.2}  p50 {:.2}  p99 {:.2}",
            part.len(),
            part.iter().sum::<f64>() / part.len() as f64,
            quantile(&part, 0.5),
            quantile(&part, 0.99)
        );
    }
    per_request.sort_by(|a, b| b.0.total_cmp(&a.0));
    let slowest_percent = &per_request[..per_request.len().div_ceil(100)];
    let mut by_model: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for (_, i) in slowest_percent {
        *by_model.entry(cases[*i].model.as_str()).or_default() += 1;
    }
    let mut by_model: Vec<_> = by_model.into_iter().collect();
    by_model.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let top: Vec<String> = by_model.iter().take(12).map(|(m, n)| format!("{m} {n}")).collect();
    println!(
        "  the slowest 1 % ({}) by model: {}",
        slowest_percent.len(),
        top.join(", ")
    );
    println!("  the 10 slowest:");
    for (t, i) in per_request.iter().take(10) {
        let case = &cases[*i];
        println!("    {t:>8.2} µs  {}", case.label());
    }
}

fn corpus(c: &mut Criterion) {
    let cases = generated_corpus::load();
    assert!(!cases.is_empty(), "the generated corpus is empty");
    let requests: Vec<AwsRequest<'_>> = cases.iter().map(Case::request).collect();
    let api = AwsApi::default();

    let benching = std::env::args().any(|a| a == "--bench");
    if benching {
        timing_pass(&cases, &requests, &api, ROUNDS, WARM_UP);
    } else {
        timing_pass(&cases, &requests, &api, 1, 0);
    }

    let mut next = 0usize;
    c.bench_function("facet_corpus: extract, per request (cycling through the corpus)", |b| {
        b.iter(|| {
            let request = &requests[next];
            next = (next + 1) % requests.len();
            extract(black_box(request), &api)
        })
    });
}

criterion_group!(benches, corpus);
criterion_main!(benches);
