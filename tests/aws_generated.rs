//! The generated corpus: one botocore-built request per operation of every AWS
//! service botocore ships, plus S3 addressing styles, presigned URLs, FIPS,
//! dual-stack, China and GovCloud endpoints, botocore's documented example
//! inputs (`tests/corpus/aws/generated/`,
//! written by `scripts/gen-aws-corpus.py`). Every request must be accepted and
//! name the operation invoked, the key's account, the signer's region and
//! signing name. Failures are reported grouped by class, with counts and
//! examples; the full list goes to `<target>/tmp/aws_generated-failures.txt`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

#[path = "support/generated_corpus.rs"]
mod generated_corpus;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;

use clawgate::config::AwsApi;
use clawgate::facet::aws::extract;
use clawgate::net::HostPattern;
use generated_corpus::Case;

/// Requests that truly cannot be told apart, or documented limitations:
/// `(model, operation, variant or "*" for all, why)`. Each must match a
/// request that fails.
const EXCEPTIONS: &[(&str, &str, &str, &str)] = &[
    // botocore 1.44.8 ships GetRevocationStatus twice: in `signer` (hostPrefix `data-`)
    // and in `signer-data` (endpointPrefix `data-signer`); same host, method, path and
    // signing name, so aws.endpoint_prefix can be only one model's: the one the
    // host names, `data-signer`.
    (
        "signer",
        "GetRevocationStatus",
        "*",
        "the same operation on the same wire in two models (signer, signer-data)",
    ),
];

/// The endpoint settings for `case`: a `custom-endpoint` request goes to a
/// host named after the customer's own resource (a Neptune cluster, a
/// CloudSearch domain, an API Gateway id), which clawgate signs for only when
/// the endpoint lists it in `signed_hosts`, so the test lists it.
fn api_for(case: &Case) -> AwsApi {
    if case.variant != "custom-endpoint" {
        return AwsApi::default();
    }
    AwsApi {
        signed_hosts: vec![HostPattern::parse(&case.host).unwrap()],
        ..AwsApi::default()
    }
}

/// Examples shown per failure class.
const EXAMPLES: usize = 3;

/// `(model, operation)` pairs of `src/aws/models.txt`, the operation table the
/// facet matches against (it may predate the botocore the corpus came from).
fn table() -> HashSet<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/aws/models.txt")).unwrap();
    let mut out = HashSet::new();
    let mut model = String::new();
    for line in text.lines() {
        let mut fields = line.split('\t');
        match fields.next() {
            Some("S") => model = fields.next().unwrap().to_owned(),
            Some("O") => {
                out.insert((model.clone(), fields.next().unwrap().to_owned()));
            }
            _ => {}
        }
    }
    out
}

/// A refusal's message with its specific values masked, so that like refusals group.
fn refusal_class(message: &str) -> String {
    let mut out = String::new();
    let mut in_tick = false;
    for c in message.chars() {
        match c {
            '`' if in_tick => {
                in_tick = false;
                out.push_str("…`");
            }
            '`' => {
                in_tick = true;
                out.push('`');
            }
            _ if in_tick => {}
            _ => out.push(c),
        }
    }
    // account ids and other long numbers
    let mut masked = String::new();
    let mut digits = String::new();
    for c in out.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.len() >= 4 {
            masked.push('N');
        } else {
            masked.push_str(&digits);
        }
        digits.clear();
        if c != '\0' {
            masked.push(c);
        }
    }
    format!("refused: {masked}")
}

/// Every way `case` fails, as `(class, detail)`.
fn problems(case: &Case, api: &AwsApi) -> Vec<(String, String)> {
    let facts = match extract(&case.request(), api) {
        Ok(facts) => facts,
        Err(e) => {
            let message = e.to_string();
            return vec![(refusal_class(&message), message)];
        }
    };
    let mut out = Vec::new();
    let mut check = |field: &str, expected: Option<&str>, got: Option<&str>| {
        let class = match (expected, got) {
            (Some(_), None) => format!("no {field}"),
            (None, Some(_)) => format!("{field} present, must be absent"),
            (Some(e), Some(g)) if e != g => format!("wrong {field}"),
            _ => return,
        };
        out.push((class, format!("{field}: expected {expected:?}, got {got:?}")));
    };
    let e = &case.expect;
    let action = facts.text("action");
    let twin_ok = case.deprecated_twin_of.is_some() && action == case.deprecated_twin_of.as_deref();
    if !twin_ok {
        check("action", Some(&e.action), action);
    }
    if action.is_some() {
        check(
            "service (endpoint_prefix)",
            Some(&case.endpoint_prefix),
            facts.text("endpoint_prefix"),
        );
    }
    if case.unsigned {
        check("account", None, facts.text("account"));
    } else {
        check("account", e.account.as_deref(), facts.text("account"));
        if e.region.is_some() {
            check("region", e.region.as_deref(), facts.text("region"));
        }
        check("signing_name", e.signing_name.as_deref(), facts.text("signing_name"));
    }
    out
}

fn example(case: &Case, detail: &str) -> String {
    let mut url = case.url.clone();
    if url.len() > 140 {
        let cut = (0..=140).rev().find(|&i| url.is_char_boundary(i)).unwrap_or(0);
        url.truncate(cut);
        url.push('…');
    }
    format!("{} {} {}: {detail}", case.label(), case.method, url)
}

#[test]
fn every_generated_request_yields_its_facets() {
    let cases = generated_corpus::load();
    let models: BTreeSet<&str> = cases.iter().map(|c| c.model.as_str()).collect();
    assert!(
        cases.len() >= 25_000 && models.len() >= 400,
        "the generated corpus must hold at least 25000 requests of 400 models, it has {} of {} \
         (regenerate with scripts/gen-aws-corpus.py)",
        cases.len(),
        models.len()
    );
    let table = table();
    let exceptions: BTreeMap<(&str, &str, &str), &str> =
        EXCEPTIONS.iter().map(|&(m, o, v, why)| ((m, o, v), why)).collect();
    let mut used_exceptions = BTreeSet::new();

    // class -> (count, examples)
    let mut classes: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    let mut failing_by_variant: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failing_by_model: BTreeMap<&str, usize> = BTreeMap::new();
    let mut all = String::new();
    let mut failing = 0usize;
    for case in &cases {
        let mut found = problems(case, &api_for(case));
        if found.is_empty() {
            continue;
        }
        let key = (case.model.as_str(), case.operation.as_str(), case.variant.as_str());
        let any_variant = (key.0, key.1, "*");
        if let Some(k) = [key, any_variant].into_iter().find(|k| exceptions.contains_key(k)) {
            used_exceptions.insert(k);
            continue;
        }
        if !table.contains(&(case.model.clone(), case.operation.clone())) {
            // the cause, whatever the symptoms
            let details: Vec<String> = found.iter().map(|(_, d)| d.clone()).collect();
            found = vec![(
                "operation not in src/aws/models.txt (the table predates the corpus's botocore)".to_owned(),
                details.join("; "),
            )];
        }
        failing += 1;
        *failing_by_variant.entry(case.variant.as_str()).or_default() += 1;
        *failing_by_model.entry(case.model.as_str()).or_default() += 1;
        for (class, detail) in &found {
            let line = example(case, detail);
            let _ = writeln!(all, "{class}\t{line}");
            let entry = classes.entry(class.clone()).or_default();
            entry.0 += 1;
            if entry.1.len() < EXAMPLES {
                entry.1.push(line);
            }
        }
    }
    let stale: Vec<_> = exceptions.keys().filter(|k| !used_exceptions.contains(*k)).collect();
    if failing == 0 && stale.is_empty() {
        return;
    }

    let mut report = format!(
        "{failing} of {} generated requests fail ({:.1} %), {} exceptions used\n\nby class (a request may be in several):\n",
        cases.len(),
        100.0 * failing as f64 / cases.len() as f64,
        used_exceptions.len()
    );
    let mut sorted: Vec<_> = classes.iter().collect();
    sorted.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    for (class, (count, examples)) in sorted {
        let _ = writeln!(report, "{count:>7}  {class}");
        for e in examples {
            let _ = writeln!(report, "           e.g. {e}");
        }
    }
    let _ = writeln!(report, "\nfailing requests by variant:");
    for (variant, n) in &failing_by_variant {
        let _ = writeln!(report, "{n:>7}  {variant}");
    }
    let mut models: Vec<_> = failing_by_model.into_iter().collect();
    models.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let _ = writeln!(
        report,
        "\nmodels with the most failing requests ({} models fail):",
        models.len()
    );
    let top: Vec<String> = models.iter().take(40).map(|(m, n)| format!("{m} {n}")).collect();
    let _ = writeln!(report, "  {}", top.join(", "));
    for key in &used_exceptions {
        let _ = writeln!(report, "excepted {key:?}: {}", exceptions[key]);
    }
    for key in &stale {
        let _ = writeln!(report, "stale exception (matches no failing request): {key:?}");
    }
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("aws_generated-failures.txt");
    if std::fs::write(&path, &all).is_ok() {
        let _ = writeln!(report, "\nevery failure: {}", path.display());
    }
    panic!("{report}");
}
