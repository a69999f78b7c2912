//! One request, from the agent's bytes to the upstream's answer: check the
//! target, build the facts (reading the body first where they are in it),
//! decide, and for AWS re-sign with the target account's credentials, then
//! forward.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::request::Parts;
use http::uri::Scheme;
use http::{Request, Response};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

use super::activity::Guarded;
use super::body::{self, Body};
use super::listener::Client;
use super::{ProxyError, Target};
use crate::approval::{HoldRequest, Outcome, Settled};
use crate::audit::{Approval, Record, Verdict, millis};
use crate::aws::base::{self, Base};
use crate::aws::chunks::Resigned;
use crate::aws::sigv4::{Placement, Signer};
use crate::aws::sts::{AssumeRole, WebIdentity};
use crate::aws::{AccountId, AwsCredentials};
use crate::config::{AgentName, AwsApi, Config, DEFAULT_APPROVAL_TIMEOUT, EndpointKind, UnknownHost};
use crate::facet::aws::{self as aws_facet, AwsRequest, MAX_PARAMS_BODY, signature};
use crate::facet::{AgentFacts, AwsFacts, Facts, HttpFacts};
use crate::policy::{Decision, Denial, Hold};

/// The largest body clawgate hashes to re-sign a request that does not carry
/// its own payload hash (every AWS API but S3); larger ones are refused.
const MAX_SIGNED_BODY: usize = 16 << 20;

/// Headers that differ between attempts at the same request, left out when
/// deciding whether a retry is the same request as a held one.
const VOLATILE_HEADERS: [&str; 12] = [
    "authorization",
    "x-amz-date",
    "date",
    "x-amz-security-token",
    "amz-sdk-request",
    "amz-sdk-invocation-id",
    "x-amzn-trace-id",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "te",
    "expect",
];

/// The streaming payloads clawgate re-signs (unsigned chunks pass through).
const KNOWN_STREAMING: [&str; 3] = [
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
];

/// Decides on `request` for `target` and, if allowed, forwards it; notes
/// what it decided, and why, in `record`.
pub(super) async fn exchange(
    client: &Client,
    agent: &AgentName,
    scheme: Scheme,
    target: &Target,
    request: Request<Body>,
    record: &mut Record,
) -> Result<Response<Body>, ProxyError> {
    let default_port = if scheme == Scheme::HTTP { 80 } else { 443 };
    target.check_request(&request, default_port)?;
    let guard = client.activity.begin();
    let proxy = &client.proxy;
    // The rules in force when the request arrived decide it, even if a
    // reload lands while its body is read.
    let current = proxy.current.load_full();
    let policy = &current.policy;
    let config = policy.config();
    let (mut parts, incoming) = request.into_parts();
    let Some(endpoint) = config.route(target.host()) else {
        // Plain HTTP to an unclaimed host, with unclaimed hosts tunnelled:
        // forwarded unchanged, as a tunnel would.
        if scheme == Scheme::HTTP && proxy.gateway.unknown_host == UnknownHost::Tunnel {
            record.decision = Some(Verdict::Tunnel);
            let response = proxy
                .upstream
                .send(scheme, target, Request::from_parts(parts, incoming))
                .await?;
            return Ok(response.map(|b| body::boxed(Guarded::new(b, guard))));
        }
        return Err(ProxyError::UnknownHost(target.host().to_string()));
    };
    let claimed = config.endpoint(endpoint);
    record.endpoint = claimed.map(ToString::to_string);
    let api = match claimed.map(|e| &e.kind) {
        Some(EndpointKind::AwsApi(api)) => Some(api),
        _ => None,
    };
    let (read, mut body) = read_body(api.is_some(), policy.reads_params(), &parts, target, incoming).await?;
    let aws = match api {
        Some(api) => {
            let params_body = read.as_ref().filter(|b| b.len() <= MAX_PARAMS_BODY);
            let aws_request = AwsRequest {
                method: parts.method.as_str(),
                host: target.host(),
                path: parts.uri.path(),
                query: parts.uri.query(),
                headers: &parts.headers,
                body: params_body.map(|b| b.as_ref()),
            };
            match aws_facet::extract(&aws_request, api) {
                Ok(facts) => Some(facts),
                Err(refused) => return Err(ProxyError::Denied(Denial::Invalid(refused.to_string()))),
            }
        }
        None => None,
    };
    let facts = Facts {
        agent: AgentFacts { name: agent.clone() },
        http: HttpFacts::from_parts(&parts, target.host()),
        aws,
    };
    record.facets = facts.flat();
    match policy.decide(endpoint, &facts) {
        Decision::Allow(allowed) => {
            tracing::debug!(%agent, rule = allowed.rule, "allowed");
            record.decision = Some(Verdict::Allow);
            record.rule = Some(allowed.rule);
            record.reason = allowed.reason;
        }
        Decision::Deny(denial) => return Err(ProxyError::Denied(denial)),
        Decision::Hold(hold) => {
            // An identical retry joins the hold, and an approval admits identical
            // requests for a while: "identical" includes the body's hash, so
            // read it (up to 1 MiB; a larger body never counts as identical).
            let digest = match &read {
                Some(bytes) => Some(Sha256::digest(bytes).to_vec()),
                None => {
                    let prefix = body::read_prefix(body, MAX_PARAMS_BODY)
                        .await
                        .map_err(|e| ProxyError::BadRequest(format!("the request body could not be read: {e}")))?;
                    body = prefix.body;
                    prefix.complete.then(|| Sha256::digest(&prefix.bytes).to_vec())
                }
            };
            let request = hold_request(config, &hold, &facts, &parts, digest, record.facets.clone());
            let waiting = Instant::now();
            let settled = proxy.approvals().hold(request).await;
            record.approval = Some(approval_record(&hold.approvers, &settled, waiting));
            record.rule = Some(hold.rule.clone());
            match settled.outcome {
                Outcome::Allowed { by } => {
                    tracing::info!(%agent, rule = hold.rule, ?by, "approved");
                    record.decision = Some(Verdict::Approved);
                    record.reason = hold.reason;
                }
                Outcome::Denied { by, reason } => {
                    return Err(ProxyError::Denied(Denial::Human {
                        rule: hold.rule,
                        by,
                        reason,
                    }));
                }
                // Abandoned only once no request waits, so never seen here.
                Outcome::TimedOut | Outcome::Abandoned => {
                    return Err(ProxyError::Denied(Denial::TimedOut { rule: hold.rule }));
                }
                Outcome::TooMany { limit } => {
                    return Err(ProxyError::Denied(Denial::Invalid(format!(
                        "agent {agent} already has {limit} requests waiting for approval (rule '{}'); \
                         wait for them to be decided",
                        hold.rule
                    ))));
                }
            }
        }
    }
    let mut upstream = (scheme, target.clone());
    if let (Some(api), Some(aws)) = (api, &facts.aws) {
        // A body read whole was hashed as these bytes: forward them, not a stream.
        if let Some(bytes) = &read {
            body = body::full(bytes.clone());
        }
        body = resign(client, config, api, agent, aws, &mut parts, target, read.as_ref(), body).await?;
        // Requests signed with real credentials go to AWS over TLS only.
        if upstream.0 == Scheme::HTTP {
            upstream = (Scheme::HTTPS, target.with_port(443));
        }
    }
    drop(current);
    let (scheme, target) = upstream;
    let sent = Instant::now();
    let response = proxy
        .upstream
        .send(scheme, &target, Request::from_parts(parts, body))
        .await?;
    record.upstream_ms = Some(millis(sent.elapsed()));
    Ok(response.map(|b| body::boxed(Guarded::new(b, guard))))
}

/// How a hold went, for the audit record.
fn approval_record(approvers: &[String], settled: &Settled, waiting: Instant) -> Approval {
    let (allowed, denied_by, denial_reason) = match &settled.outcome {
        Outcome::Allowed { by } => (by.as_slice(), None, None),
        Outcome::Denied { by, reason } => (&[][..], Some(by.clone()), reason.clone()),
        Outcome::TimedOut | Outcome::Abandoned | Outcome::TooMany { .. } => (&[][..], None, None),
    };
    let reasons = allowed
        .iter()
        .filter_map(|c| Some(format!("{}: {}", c.by, c.reason.as_ref()?)))
        .chain(
            denied_by
                .iter()
                .zip(&denial_reason)
                .map(|(by, why)| format!("{by}: {why}")),
        )
        .collect();
    Approval {
        hold: settled.hold,
        approvers: approvers.to_vec(),
        allowed_by: allowed.iter().map(|c| c.by.clone()).collect(),
        denied_by,
        reasons,
        outcome: settled.outcome.word(),
        waited_ms: millis(waiting.elapsed()),
    }
}

/// What a held request shows the people deciding (its `facets`, flat), and
/// the fingerprint that makes an identical retry join the same hold.
fn hold_request(
    config: &Config,
    hold: &Hold,
    facts: &Facts,
    parts: &Parts,
    body: Option<Vec<u8>>,
    facets: BTreeMap<String, String>,
) -> HoldRequest {
    let agent = facts.agent.name.to_string();
    let what = match &facts.aws {
        Some(aws) => {
            let field = |name: &str| aws.strings.get(name).map_or("?", String::as_str);
            let target = match (aws.strings.get("bucket"), aws.strings.get("key")) {
                (Some(b), Some(k)) => format!(" {b}/{k}"),
                (Some(b), None) => format!(" {b}"),
                _ => String::new(),
            };
            format!(
                "{} {}{target} in account {} ({}), {}",
                field("action"),
                field("service"),
                field("account_name"),
                field("account"),
                field("region")
            )
        }
        None => format!("{} https://{}{}", facts.http.method, facts.http.host, facts.http.path),
    };
    let summary = format!("{what}, by agent {agent} — rule '{}'", hold.rule);
    // Everything that says what the request does: its rule, line, headers
    // (an ACL or a copy source may be all that differs) and body; not what
    // changes from one attempt to the next (signature, clock, attempt count).
    let mut hash = Sha256::new();
    let headers = facts
        .http
        .headers
        .iter()
        .filter(|(name, _)| !VOLATILE_HEADERS.contains(&name.as_str()))
        .flat_map(|(name, values)| values.iter().flat_map(move |v| [name.as_str(), v.as_str()]));
    let line = [
        hold.rule.as_str(),
        agent.as_str(),
        parts.method.as_str(),
        facts.http.host.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
    ];
    for part in line.into_iter().chain(headers) {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    match body {
        Some(digest) => hash.update(digest),
        // Too large to hash here: never identical to another request.
        None => hash.update(rand::random::<[u8; 16]>()),
    }
    let timeout = hold
        .approvers
        .first()
        .and_then(|name| config.humans.iter().find(|h| &h.name == name))
        .map_or(DEFAULT_APPROVAL_TIMEOUT, |h| h.timeout);
    HoldRequest {
        fingerprint: hex::encode(hash.finalize()),
        agent,
        rule: hold.rule.clone(),
        summary,
        approvers: hold.approvers.clone(),
        timeout,
        facets,
    }
}

/// Reads the body first where the decision or the signature needs it: the
/// query protocols carry the operation in it, JSON ones the parameters (when
/// a rule reads them), and re-signing needs the hash of a body whose request
/// carries no `x-amz-content-sha256`. Returns the whole body when read, and
/// the body to forward.
async fn read_body(
    aws: bool,
    reads_params: bool,
    parts: &Parts,
    target: &Target,
    incoming: Body,
) -> Result<(Option<Bytes>, Body), ProxyError> {
    let method = parts.method.as_str();
    let for_facts = aws && aws_facet::needs_body(target.host(), &parts.headers, method, reads_params);
    let for_hash = aws && !parts.headers.contains_key("x-amz-content-sha256") && may_have_body(parts);
    let limit = match (for_hash, for_facts) {
        (true, _) => MAX_SIGNED_BODY,
        (false, true) => MAX_PARAMS_BODY,
        (false, false) => return Ok((None, incoming)),
    };
    let prefix = body::read_prefix(incoming, limit)
        .await
        .map_err(|e| ProxyError::BadRequest(format!("the request body could not be read: {e}")))?;
    if for_hash && !prefix.complete {
        return Err(ProxyError::BadRequest(format!(
            "the body is larger than {} MiB and carries no x-amz-content-sha256, so clawgate cannot re-sign it",
            MAX_SIGNED_BODY >> 20
        )));
    }
    Ok((prefix.complete.then_some(prefix.bytes), prefix.body))
}

/// Whether the request may have a body (a length over zero, or chunked).
fn may_have_body(parts: &Parts) -> bool {
    let length = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok());
    parts.headers.contains_key(http::header::TRANSFER_ENCODING) || length.is_some_and(|l| l.trim() != "0")
}

/// Replaces the agent's signature with one made with credentials for a role
/// in the target account.
#[expect(clippy::too_many_arguments, reason = "the pieces of one request, each needed once")]
async fn resign(
    client: &Client,
    config: &Config,
    api: &AwsApi,
    agent: &AgentName,
    aws: &AwsFacts,
    parts: &mut Parts,
    target: &Target,
    read: Option<&Bytes>,
    body: Body,
) -> Result<Body, ProxyError> {
    let signed = signature::parse(&parts.headers, parts.uri.query())
        .map_err(|e| ProxyError::Denied(Denial::Invalid(e.to_string())))?;
    if signed.access_key_id.is_none() {
        // An operation AWS takes unsigned (the facet checked that): nothing to sign.
        return Ok(body);
    }
    if signed.presigned && signed.service.is_none() {
        return Err(ProxyError::Unsupported(
            "SigV2 presigned URLs (AWSAccessKeyId=) cannot be re-signed; presign with signature_version='s3v4'",
        ));
    }
    let payload = match parts.headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()) {
        Some(p) if p.starts_with("STREAMING-") && !KNOWN_STREAMING.contains(&p) => {
            return Err(ProxyError::Unsupported(
                "this streaming payload signature (SigV4a?) cannot be re-signed",
            ));
        }
        Some(p) => p.to_string(),
        None => hex::encode(Sha256::digest(read.map(|b| b.as_ref()).unwrap_or_default())),
    };
    let account = aws
        .strings
        .get("account")
        .and_then(|a| AccountId::parse(a).ok())
        .ok_or_else(|| {
            ProxyError::Denied(Denial::Invalid(
                "the request's account is unknown, so no role can be assumed".into(),
            ))
        })?;
    let base = base_credentials(client, config, api).await?;
    let per_agent = api.per_agent().then(|| agent.to_string());
    let ask = AssumeRole {
        account,
        role: api.role.clone(),
        region: api.region.clone(),
        session_name: match &per_agent {
            Some(name) => format!("clawgate-{name}"),
            None => "clawgate".to_string(),
        },
        duration: api.session_duration,
        external_id: api.external_id.clone(),
        policy: api.policy.clone(),
        source_identity: api.source_identity.then(|| agent.to_string()),
        tags: if api.session_tags {
            vec![("agent".to_string(), agent.to_string())]
        } else {
            Vec::new()
        },
    };
    let credentials = client
        .proxy
        .sessions
        .credentials(&base, ask, per_agent)
        .await
        .map_err(ProxyError::Sts)?;
    let region = signed
        .region
        .as_deref()
        .or(aws.strings.get("region").map(String::as_str))
        .unwrap_or(&api.region);
    let service = signed
        .service
        .as_deref()
        .or(aws.strings.get("service").map(String::as_str))
        .unwrap_or_default();
    let placement = if signed.presigned {
        // A presigned URL stays one, valid no longer than the agent asked
        // and than the credentials live.
        let asked = crate::facet::parse_query(parts.uri.query().unwrap_or(""))
            .get("X-Amz-Expires")
            .and_then(|v| v.first()?.parse::<u64>().ok())
            .unwrap_or(3600);
        let left = credentials
            .expires
            .and_then(|at| at.duration_since(SystemTime::now()).ok())
            .map_or(u64::MAX, |d| d.as_secs());
        Placement::Query(Duration::from_secs(asked.min(left).max(1)))
    } else {
        Placement::Headers(payload)
    };
    // Signed chunks chain from the request's signature: re-sign them too.
    let chunked = match &placement {
        Placement::Headers(p) if p == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" => Some(false),
        Placement::Headers(p) if p == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" => Some(true),
        _ => None,
    };
    let time = SystemTime::now();
    let signer = Signer {
        credentials: &credentials,
        region,
        service,
        time,
    };
    let seed = signer
        .sign(parts, &target.authority(443), placement)
        .map_err(|e| ProxyError::Internal(e.to_string()))?;
    Ok(match chunked {
        Some(trailer) => Resigned::new(body, &credentials, region, service, time, seed, trailer).boxed_unsync(),
        None => body,
    })
}

/// The endpoint's base key, or why there is none; a web identity is
/// exchanged for it through the credential cache.
async fn base_credentials(client: &Client, config: &Config, api: &AwsApi) -> Result<AwsCredentials, ProxyError> {
    let name = api.credential.as_deref().ok_or(ProxyError::NoBaseKey(None))?;
    let credential = config
        .credentials
        .iter()
        .find(|c| c.name == name)
        .ok_or(ProxyError::NoBaseKey(None))?;
    match base::load(credential, &client.proxy.runtime_keys).map_err(|e| ProxyError::NoBaseKey(Some(e.to_string())))? {
        Base::Key(key) => Ok(key),
        Base::WebIdentity { role_arn, token_file } => {
            let identity = WebIdentity {
                role_arn,
                token_file,
                region: api.region.clone(),
            };
            client
                .proxy
                .sessions
                .web_identity(name, identity)
                .await
                .map_err(ProxyError::Sts)
        }
    }
}
