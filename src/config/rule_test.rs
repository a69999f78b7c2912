//! Rule tests, kept next to the rules in `*.test.hcl` files: a request (or
//! its facets) and the decision the rules must reach.

use std::collections::BTreeMap;
use std::path::Path;

use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::Structure;

use super::reader::{Item, Settings};
use super::source::Source;
use super::values::Reference;
use super::{ConfigError, ConfigErrors, Location};
use crate::ids::AgentName;

/// One `test "NAME" { … }` block.
#[derive(Debug, Clone)]
pub struct RuleTest {
    /// The test's name.
    pub name: String,
    /// Where it is written.
    pub at: Location,
    /// The agent sending the request (default `local`).
    pub agent: AgentName,
    /// The endpoint, when the request's host does not say.
    pub endpoint: Option<Reference>,
    /// The request, as method, URL, headers and body.
    pub request: Option<TestRequest>,
    /// `aws` facets given directly (string fields).
    pub aws: Option<BTreeMap<String, String>>,
    /// `aws` list fields given directly as lists (`iam_actions = [...]`).
    pub aws_lists: BTreeMap<String, Vec<String>>,
    /// `aws.params` given directly.
    pub aws_params: Option<serde_json::Map<String, serde_json::Value>>,
    /// The expected action: `allow`, `deny` or `approve`.
    pub expect: String,
    /// The rule expected to decide, if the test names one.
    pub rule: Option<String>,
}

/// A request described in a rule test or on the command line.
#[derive(Debug, Clone, Default)]
pub struct TestRequest {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The full URL, e.g. `https://s3.amazonaws.com/bucket/key`.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

const SETTINGS: &str = "agent, endpoint, request, facets, expect, rule";
const REQUEST_SETTINGS: &str = "method, url, headers, body";
const FACET_SETTINGS: &str = "aws";

/// Reads every `*.test.hcl` file in `dir`.
pub fn load_rule_tests(dir: &Path) -> Result<Vec<RuleTest>, ConfigErrors> {
    let mut errors = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| {
            ConfigErrors::from(vec![ConfigError::Io {
                path: dir.to_path_buf(),
                source,
            }])
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".test.hcl")))
        .collect();
    paths.sort();
    let mut sources = Vec::new();
    for path in paths {
        match Source::read(&path) {
            Ok(s) => sources.push(s),
            Err(e) => errors.push(e),
        }
    }
    let mut tests = Vec::new();
    for source in &sources {
        let body = match hcl_edit::parser::parse_body(source.text()) {
            Ok(body) => body,
            Err(e) => {
                errors.push(ConfigError::Syntax {
                    at: source.at(e.location().line(), e.location().column()),
                    message: e.message().to_string(),
                });
                continue;
            }
        };
        for structure in body.into_iter() {
            match structure {
                Structure::Block(block) if block.ident.as_str() == "test" => {
                    let item = Item { source, block };
                    if let Some(test) = read_test(&item, &mut errors) {
                        tests.push(test);
                    }
                }
                other => errors.push(ConfigError::UnknownBlock {
                    at: source.locate(hcl_edit::Span::span(&other)),
                    name: match &other {
                        Structure::Block(b) => b.ident.as_str().to_string(),
                        Structure::Attribute(a) => a.key.as_str().to_string(),
                    },
                    expected: "test",
                }),
            }
        }
    }
    if errors.is_empty() {
        Ok(tests)
    } else {
        Err(ConfigErrors::from(errors))
    }
}

fn read_test(item: &Item<'_>, errors: &mut Vec<ConfigError>) -> Option<RuleTest> {
    let at = item.location();
    let labels = item.labels();
    let [name] = labels.as_slice() else {
        errors.push(ConfigError::Labels {
            at,
            block: "test".to_string(),
            expected: "one label, the test's name",
            example: r#"test "reads are allowed" {"#,
        });
        return None;
    };
    let s = Settings::new(item, format!("test \"{name}\""), SETTINGS, errors);
    let agent = s
        .parsed("agent", errors, AgentName::parse)
        .unwrap_or_else(AgentName::local);
    let expect = s.parsed("expect", errors, |t| match t {
        "allow" | "deny" | "approve" => Ok(t.to_string()),
        _ => Err(format!(
            "`{t}` is not a decision; write \"allow\", \"deny\" or \"approve\""
        )),
    });
    if s.get("expect").is_none() {
        errors.push(s.missing(at.clone(), "expect", r#"expect = "allow""#));
    }
    let request = s.nested("request", REQUEST_SETTINGS, errors).map(|r| {
        if r.get("url").is_none() {
            errors.push(r.missing(
                r.block_location(),
                "url",
                r#"url = "https://s3.amazonaws.com/bucket/key""#,
            ));
        }
        TestRequest {
            method: r.text("method", errors).unwrap_or_else(|| "GET".to_string()),
            url: r.text("url", errors).unwrap_or_default(),
            headers: r
                .string_map("headers", errors)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v, _)| (k, v))
                .collect(),
            body: r.text("body", errors).unwrap_or_default(),
        }
    });
    let (mut aws, mut aws_params, mut aws_lists) = (None, None, BTreeMap::new());
    if let Some(f) = s.nested("facets", FACET_SETTINGS, errors)
        && let Some(attr) = f.get("aws")
    {
        match json(&attr.value) {
            Some(serde_json::Value::Object(mut map)) => {
                aws_params = match map.remove("params") {
                    Some(serde_json::Value::Object(p)) => Some(p),
                    _ => None,
                };
                let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
                let mut fields = BTreeMap::new();
                for (k, v) in map {
                    match &v {
                        serde_json::Value::Array(items) => {
                            aws_lists.insert(k, items.iter().map(text).collect());
                        }
                        _ => {
                            fields.insert(k, text(&v));
                        }
                    }
                }
                aws = Some(fields);
            }
            _ => errors.push(f.invalid(
                attr,
                r#"expected an object, e.g. { action = "GetObject", account = "111111111111" }"#,
            )),
        }
    }
    if request.is_none() && s.get("endpoint").is_none() {
        errors.push(s.missing(
            at.clone(),
            "request",
            r#"request { url = "https://…" }  (or endpoint = aws_api.NAME with facets)"#,
        ));
    }
    Some(RuleTest {
        name: name.to_string(),
        at,
        agent,
        endpoint: s.reference("endpoint", errors),
        request,
        aws,
        aws_lists,
        aws_params,
        expect: expect?,
        rule: s.text("rule", errors),
    })
}

/// A literal HCL value as JSON.
fn json(expr: &Expression) -> Option<serde_json::Value> {
    Some(match expr {
        Expression::Null(_) => serde_json::Value::Null,
        Expression::Bool(b) => serde_json::Value::Bool(*b.value()),
        Expression::Number(n) => match n.value().as_i64() {
            Some(i) => serde_json::Value::from(i),
            None => serde_json::Value::from(n.value().as_f64()?),
        },
        Expression::String(s) => serde_json::Value::String(s.value().clone()),
        Expression::Array(items) => serde_json::Value::Array(items.iter().map(json).collect::<Option<_>>()?),
        Expression::Object(object) => serde_json::Value::Object(
            object
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        ObjectKey::Ident(i) => i.as_str().to_string(),
                        ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                        ObjectKey::Expression(_) => return None,
                    };
                    Some((key, json(v.expr())?))
                })
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}
