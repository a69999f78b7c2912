//! The golden corpus: real requests recorded from the AWS CLI and boto3 (and
//! a few hand-written attacks), each with the facets it must yield.
//! One case per file in `tests/corpus/aws/cases/`; a new case needs no code.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

use std::path::Path;

use base64::Engine;
use clawgate::config::AwsApi;
use clawgate::facet::aws::{AwsRequest, extract};
use serde_json::Value;

/// One case's outcome: `None` when it holds, else what differed.
fn check(case: &Value) -> Option<String> {
    let request = &case["request"];
    let url: http::Uri = request["url"].as_str().unwrap().parse().unwrap();
    let host = url.host().unwrap().to_ascii_lowercase();
    let mut headers = http::HeaderMap::new();
    for pair in request["headers"].as_array().unwrap() {
        let name = http::HeaderName::try_from(pair[0].as_str().unwrap()).unwrap();
        headers.append(name, http::HeaderValue::from_str(pair[1].as_str().unwrap()).unwrap());
    }
    let text = request["body"].as_str().unwrap_or("");
    let body = if request["body_base64"].as_bool().unwrap_or(false) {
        base64::engine::general_purpose::STANDARD.decode(text).unwrap()
    } else {
        text.as_bytes().to_vec()
    };
    let api = AwsApi::default();
    let aws_request = AwsRequest {
        method: request["method"].as_str().unwrap(),
        host: &host,
        path: url.path(),
        query: url.query(),
        headers: &headers,
        body: Some(&body),
    };
    let result = extract(&aws_request, &api);
    if let Some(deny) = case["deny"].as_str() {
        return match result {
            Err(e) if e.to_string().contains(deny) => None,
            Err(e) => Some(format!("denied, but the message lacks `{deny}`: {e}")),
            Ok(facts) => Some(format!(
                "must be refused (`{deny}`), got {:?}",
                facts.texts().collect::<Vec<_>>()
            )),
        };
    }
    let facts = match result {
        Ok(facts) => facts,
        Err(e) => return Some(format!("refused: {e}")),
    };
    let mut problems = Vec::new();
    for (field, expected) in case["expect"].as_object().unwrap() {
        if field == "params" {
            // A subset: each listed member with that value.
            for (member, value) in expected.as_object().unwrap() {
                let got = facts.params.as_ref().and_then(|p| p.get(member));
                if got != Some(value) {
                    problems.push(format!("params.{member}: expected {value}, got {got:?}"));
                }
            }
            continue;
        }
        let got = facts.text(field.as_str());
        if got != expected.as_str() {
            problems.push(format!("{field}: expected {expected}, got {got:?}"));
        }
    }
    for field in case["absent"].as_array().into_iter().flatten() {
        let field = field.as_str().unwrap();
        if let Some(got) = facts.text(field) {
            problems.push(format!("{field} must be absent, got {got:?}"));
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

#[test]
fn every_recorded_request_yields_its_facets() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/aws/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(
        files.len() >= 200,
        "the corpus must hold at least 200 cases, it has {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        if let Some(problem) = check(&case) {
            let name = file.file_name().unwrap().to_string_lossy();
            failures.push(format!("{name} ({}): {problem}", case["name"].as_str().unwrap_or("")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
