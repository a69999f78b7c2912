//! The rule loader: one rule file (HCL, with CEL quoted, in heredocs or
//! unquoted to the end of the line) loaded and compiled, and the rules it
//! yields run on a sample request for every endpoint.
//!
//! Properties: loading never panics; every error names this file and a
//! line and column within it (never an I/O error); compiled rules decide,
//! and explain the same decision, for every endpoint.

use std::collections::HashMap;
use std::path::Path;

use clawgate::config::{Config, ConfigError, EndpointId};
use clawgate::facet::{AgentFacts, AwsFacts, Facts, HttpFacts};
use clawgate::ids::AgentName;
use clawgate::policy::Policy;

/// Where the text is said to come from.
const FILE: &str = "fuzz/rules.hcl";

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = HashMap::from([("CLAWGATE_FUZZ".to_string(), "value".to_string())]);
    let loaded = Config::load_text(Path::new(FILE), text.to_string(), &env).and_then(Policy::compile);
    let policy = match loaded {
        Ok(policy) => policy,
        Err(errors) => {
            assert!(!errors.errors().is_empty(), "a failed load reports no error");
            let lines = text.matches('\n').count() + 1;
            for error in errors.errors() {
                located(error, lines);
            }
            return;
        }
    };
    let facts = sample();
    for id in (0..policy.config().endpoints.len()).map(EndpointId) {
        let decision = policy.decide(id, &facts);
        assert_eq!(
            policy.explain(id, &facts).decision,
            decision,
            "explain disagrees with decide"
        );
    }
}

/// An error names a place in the file.
fn located(error: &ConfigError, lines: usize) {
    let at = error
        .location()
        .unwrap_or_else(|| panic!("an error without a place: {error}"));
    assert_eq!(&*at.file, Path::new(FILE), "{error}");
    assert!((1..=lines).contains(&at.line), "line {} of {lines}: {error}", at.line);
    assert!(at.column >= 1, "{error}");
}

/// An S3 GetObject in a listed account.
fn sample() -> Facts {
    let (parts, ()) = http::Request::get("/reports/q3.csv?versionId=1")
        .header("host", "my-bucket.s3.amazonaws.com")
        .header("x-dry-run", "true")
        .body(())
        .unwrap()
        .into_parts();
    let fields = [
        ("service", "s3"),
        ("action", "GetObject"),
        ("iam_action", "s3:GetObject"),
        ("account", "111111111111"),
        ("account_name", "prod"),
        ("region", "us-east-1"),
        ("bucket", "my-bucket"),
        ("key", "reports/q3.csv"),
        ("resource", "arn:aws:s3:::my-bucket/reports/q3.csv"),
        ("method", "GET"),
    ];
    Facts {
        agent: AgentFacts {
            name: AgentName::local(),
        },
        http: HttpFacts::from_parts(&parts, "my-bucket.s3.amazonaws.com"),
        aws: Some(AwsFacts::from_fields(fields, None).unwrap()),
    }
}
