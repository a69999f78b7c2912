//! Loads the generated AWS request corpus (`tests/corpus/aws/generated/*.jsonl.gz`,
//! written by `scripts/gen-aws-corpus.py`) into owned requests, for
//! `tests/aws_generated.rs` and `benches/facet_corpus.rs` (both include this
//! file with `#[path]`; it is not part of `tests/support/mod.rs`).

#![allow(
    dead_code,
    clippy::expect_used,
    clippy::panic,
    reason = "shared by a test and a bench: a corpus that does not load stops them loudly"
)]

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use clawgate::facet::aws::AwsRequest;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

/// What the generator recorded as invoked (never parsed from the request).
#[derive(Debug, Clone)]
pub struct Expect {
    /// The operation invoked.
    pub action: String,
    /// The access key's 12 digits; `None` for unsigned requests (aws.account must be absent).
    pub account: Option<String>,
    /// The signer's region; `None` when the signature carries none (SigV2, unsigned).
    pub region: Option<String>,
    /// The signer's service name; `None` for unsigned requests.
    pub signing_name: Option<String>,
}

/// One generated request and its expectations.
#[derive(Debug)]
pub struct Case {
    /// botocore's model name.
    pub model: String,
    /// The operation invoked.
    pub operation: String,
    /// The variant label (`plain`, `path`, `fips`, `presign`, ...).
    pub variant: String,
    /// The model's endpointPrefix.
    pub endpoint_prefix: String,
    /// The HTTP method.
    pub method: String,
    /// The full URL as botocore built it.
    pub url: String,
    /// Lower-case host without port.
    pub host: String,
    /// The raw path.
    pub path: String,
    /// The raw query.
    pub query: Option<String>,
    /// Every header, in order.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
    /// What must be derived.
    pub expect: Expect,
    /// The current operation the wire cannot tell this deprecated one from.
    pub deprecated_twin_of: Option<String>,
    /// botocore produced no signature.
    pub unsigned: bool,
    /// botocore's signer type, for signed requests.
    pub signature_version: Option<String>,
}

impl Case {
    /// The request as clawgate's aws facet reads it (built the way
    /// `tests/aws_corpus.rs` builds its cases).
    pub fn request(&self) -> AwsRequest<'_> {
        AwsRequest {
            method: &self.method,
            host: &self.host,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            body: Some(&self.body),
        }
    }

    /// `model.Operation [variant]`, for reports.
    pub fn label(&self) -> String {
        format!("{}.{} [{}]", self.model, self.operation, self.variant)
    }
}

/// The corpus directory.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/aws/generated")
}

/// Every case of every `*.jsonl.gz`, files in name order, lines in file order.
pub fn load() -> Vec<Case> {
    let dir = dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in &files {
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(file).expect("open a corpus file"))
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("gunzip {}: {e}", file.display()));
        for (n, line) in text.lines().enumerate() {
            let value: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), n + 1));
            cases.push(case(&value).unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), n + 1)));
        }
    }
    cases
}

fn text(v: &Value, field: &str) -> Result<String, String> {
    v[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("`{field}` is not a string"))
}

fn optional(v: &Value, field: &str) -> Result<Option<String>, String> {
    match &v[field] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(format!("`{field}` is neither null nor a string: {other}")),
    }
}

fn case(v: &Value) -> Result<Case, String> {
    let request = &v["request"];
    let url = text(request, "url")?;
    let uri: http::Uri = url.parse().map_err(|e| format!("url {url}: {e}"))?;
    let host = uri
        .host()
        .ok_or_else(|| format!("url {url} has no host"))?
        .to_ascii_lowercase();
    let mut headers = HeaderMap::new();
    for pair in request["headers"].as_array().ok_or("`headers` is not a list")? {
        let (Some(name), Some(value)) = (pair[0].as_str(), pair[1].as_str()) else {
            return Err(format!("bad header pair {pair}"));
        };
        let name = HeaderName::try_from(name).map_err(|e| format!("header name {name}: {e}"))?;
        let value = HeaderValue::from_bytes(value.as_bytes()).map_err(|e| format!("header value {value}: {e}"))?;
        headers.append(name, value);
    }
    let body_text = text(request, "body")?;
    let body = if request["body_base64"]
        .as_bool()
        .ok_or("`body_base64` is not a boolean")?
    {
        base64::engine::general_purpose::STANDARD
            .decode(&body_text)
            .map_err(|e| format!("body base64: {e}"))?
    } else {
        body_text.into_bytes()
    };
    let expect = &v["expect"];
    Ok(Case {
        model: text(v, "model")?,
        operation: text(v, "operation")?,
        variant: text(v, "variant")?,
        endpoint_prefix: text(v, "endpoint_prefix")?,
        method: text(request, "method")?,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        host,
        url,
        headers,
        body,
        expect: Expect {
            action: text(expect, "action")?,
            account: optional(expect, "account")?,
            region: optional(expect, "region")?,
            signing_name: optional(expect, "signing_name")?,
        },
        deprecated_twin_of: optional(v, "deprecated_twin_of")?,
        unsigned: v["unsigned"].as_bool().unwrap_or(false),
        signature_version: optional(v, "signature_version")?,
    })
}
