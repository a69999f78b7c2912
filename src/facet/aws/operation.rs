//! Which operation a request invokes, by the protocol of the service's model,
//! never by guessing from headers alone; and a request whose parts name
//! different operations is refused rather than read the harmless way.

use std::collections::BTreeMap;

use http::HeaderMap;

use super::AwsFacetError;
use crate::aws::{Operation, Protocol, Service};

/// The request, as operation resolution reads it.
#[derive(Clone)]
pub struct Request<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path's segments, raw (percent-encoded), bucket first for virtual-host S3.
    pub segments: Vec<&'a str>,
    /// Query parameters, decoded.
    pub query: &'a BTreeMap<String, Vec<String>>,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// The form-encoded body's fields, if the body was read and is a form.
    pub form: Option<&'a BTreeMap<String, Vec<String>>>,
    /// The service the request is signed for, if its signature says.
    pub scope: Option<&'a str>,
    /// The host, lower-case, no port.
    pub host: &'a str,
    /// Whether the host is named after the customer's own resource (no
    /// service endpoint form), where a URL may carry a base path.
    pub custom_host: bool,
}

/// How well a REST template fits: literal query keys, required members,
/// literal characters, and not deprecated; the greatest wins.
type Fit = (usize, usize, usize, bool);

/// The operation a request resolved to.
#[derive(Debug)]
pub struct Resolved<'m> {
    /// The service model.
    pub service: &'m Service,
    /// The protocol the request used.
    pub protocol: Protocol,
    /// The operation.
    pub operation: &'m Operation,
    /// URI labels bound by a REST template (`Bucket`, `Key`), raw.
    pub labels: Vec<(String, String)>,
}

/// A model that recognises the request's protocol, and the operation it
/// names there if the model has it.
struct Recognised<'m> {
    service: &'m Service,
    protocol: Protocol,
    operation: Option<&'m Operation>,
    labels: Vec<(String, String)>,
}

/// Resolves `request` against each candidate model; the candidates that
/// recognise it must agree, and a request no candidate knows the operation
/// of is refused.
pub fn resolve<'m>(candidates: &[&'m Service], request: &Request<'_>) -> Result<Resolved<'m>, AwsFacetError> {
    let target = single(request.headers, "x-amz-target")?;
    let action = action(request)?;
    // Every place that can name the operation must name the same one.
    let cbor = match request.segments.as_slice() {
        ["service", _, "operation", op] => Some(*op),
        _ => None,
    };
    let named = [
        target
            .as_deref()
            .map(|t| ("X-Amz-Target", t.rsplit('.').next().unwrap_or(t))),
        action.as_deref().map(|a| ("Action", a)),
        cbor.map(|op| ("the path", op)),
    ];
    let named: Vec<(&str, &str)> = named.into_iter().flatten().collect();
    if let Some((other, _)) = named.iter().find(|(_, op)| *op != named[0].1) {
        return Err(AwsFacetError::Conflict(format!(
            "{} names `{}` but {other} names another operation",
            named[0].0, named[0].1
        )));
    }
    let mut found: Vec<Recognised<'m>> = Vec::new();
    for service in candidates {
        if let Some(recognised) = resolve_one(service, request, target.as_deref(), action.as_deref())? {
            found.push(recognised);
        }
    }
    // Models that share a host prefix (elb and elbv2, ses and sesv2) are told
    // apart by what each recognises. Where several recognise the request, they
    // must name the same operation (lambda and lambda-microvms both have
    // ListTags); the model named like the prefix is then the one reported.
    found.retain(|r| r.operation.is_some());
    // Models that name different operations on a host they share: one whose
    // every path starts with its own version segment (S3 Control's
    // `/v20180820`) serves the requests under it, and no others, as AWS
    // routes them; any other disagreement is ambiguous.
    if found.iter().any(|r| op_name(r) != op_name(&found[0])) {
        let first = request.segments.first().copied();
        let owns = |r: &Recognised<'_>| r.service.path_root().is_some_and(|root| Some(root) == first);
        if found.iter().any(owns) {
            found.retain(owns);
        } else {
            found.retain(|r| r.service.path_root().is_none());
        }
        if found.is_empty() || found.iter().any(|r| op_name(r) != op_name(&found[0])) {
            return Err(AwsFacetError::Ambiguous(format!(
                "`{} /{}` fits operations of several services",
                request.method.to_ascii_uppercase(),
                request.segments.join("/")
            )));
        }
    }
    // Several models that name one operation (signer and signer-data both
    // have GetRevocationStatus): the one whose prefix the host names, else
    // the one named like its prefix.
    let index = found
        .iter()
        .position(|r| names_prefix(request.host, &r.service.endpoint_prefix))
        .or_else(|| found.iter().position(|r| r.service.name == r.service.endpoint_prefix))
        .unwrap_or(0);
    if index < found.len() {
        let r = found.swap_remove(index);
        if let Some(operation) = r.operation {
            return Ok(Resolved {
                service: r.service,
                protocol: r.protocol,
                operation,
                labels: r.labels,
            });
        }
    }
    Err(AwsFacetError::UnknownOperation {
        service: candidates.first().map_or_else(|| "?".to_string(), |s| s.name.clone()),
        sent: sent(request, target.as_deref(), named.first().copied()),
    })
}

fn op_name<'a>(r: &'a Recognised<'_>) -> &'a str {
    r.operation.map_or("?", |o| o.name.as_str())
}

/// Whether `host` has `prefix` (or its FIPS form) as whole labels.
fn names_prefix(host: &str, prefix: &str) -> bool {
    [prefix.to_string(), format!("{prefix}-fips")].iter().any(|p| {
        host.match_indices(p.as_str()).any(|(at, _)| {
            let before = host[..at].chars().next_back();
            let after = host[at + p.len()..].chars().next();
            before.is_none_or(|c| c == '.') && after.is_none_or(|c| c == '.')
        })
    })
}

/// What the request sent to name its operation, for the refusal.
fn sent(request: &Request<'_>, target: Option<&str>, named: Option<(&str, &str)>) -> String {
    const MOST: usize = 120;
    let text = match (target, named) {
        (Some(target), _) => format!("X-Amz-Target `{target}`"),
        (None, Some((place, op))) => format!("{place} `{op}`"),
        (None, None) => format!(
            "`{} /{}`",
            request.method.to_ascii_uppercase(),
            request.segments.join("/")
        ),
    };
    match text.char_indices().nth(MOST) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn resolve_one<'m>(
    service: &'m Service,
    request: &Request<'_>,
    target: Option<&str>,
    action: Option<&str>,
) -> Result<Option<Recognised<'m>>, AwsFacetError> {
    let has = |p: Protocol| service.protocols.contains(&p);
    let resolved = |protocol, operation: Option<&'m Operation>, labels| Recognised {
        service,
        protocol,
        operation,
        labels,
    };
    // Smithy RPC v2 CBOR: POST /service/<targetPrefix>/operation/<Op>.
    if has(Protocol::Cbor)
        && let ["service", name, "operation", op] = request.segments.as_slice()
        && service.target_prefix.as_deref() == Some(*name)
    {
        return Ok(Some(resolved(Protocol::Cbor, service.operation(op), Vec::new())));
    }
    if let Some(target) = target {
        if !(has(Protocol::Json) || has(Protocol::Cbor)) {
            // Query/EC2 services have no target; one that agrees with the
            // Action was checked above, so fall through to the Action.
            if action.is_none() {
                return Ok(None);
            }
        } else {
            let (prefix, op) = target.rsplit_once('.').unwrap_or(("", target));
            if service.target_prefix.as_deref() != Some(prefix) {
                return Ok(None);
            }
            return Ok(Some(resolved(Protocol::Json, service.operation(op), Vec::new())));
        }
    }
    if let Some(action) = action {
        // Query and EC2; JSON services (SQS, CloudWatch) also accept the
        // older query form, told by the model's API version.
        let version = first(request.query, "Version").or_else(|| request.form.and_then(|f| first(f, "Version")));
        let legacy_query = has(Protocol::Json) && version == Some(service.api_version.as_str());
        let protocol = if has(Protocol::Ec2) {
            Protocol::Ec2
        } else if has(Protocol::Query) || legacy_query {
            Protocol::Query
        } else {
            return Ok(None);
        };
        if version.is_some_and(|v| v != service.api_version) {
            return Ok(None);
        }
        return Ok(Some(resolved(protocol, service.operation(action), Vec::new())));
    }
    let Some(protocol) = [Protocol::RestXml, Protocol::RestJson].into_iter().find(|p| has(*p)) else {
        return Ok(None);
    };
    let (mut op, mut labels) = rest_operation(service, request)?;
    if op.is_none()
        && let Some(reshaped) = reshaped(service, request)
    {
        (op, labels) = rest_operation(service, &reshaped)?;
    }
    Ok(Some(resolved(protocol, op, labels)))
}

/// The request as its model describes it, where botocore sends it otherwise:
/// CloudSearch's Search as a POST form (botocore's `change_get_to_post`) is
/// the GET with those fields in the query; API Gateway's management API
/// answers on the customer's API host under the stage
/// (`/prod/@connections/{connectionId}`), a base path no other service's
/// requests get.
fn reshaped<'a>(service: &Service, request: &Request<'a>) -> Option<Request<'a>> {
    if service.name == "cloudsearchdomain" && request.method.eq_ignore_ascii_case("POST") {
        return request.form.map(|form| Request {
            method: "GET",
            query: form,
            ..request.clone()
        });
    }
    match request.segments.split_first() {
        Some((_, rest)) if service.name == "apigatewaymanagementapi" && request.custom_host && !rest.is_empty() => {
            Some(Request {
                segments: rest.to_vec(),
                custom_host: false,
                ..request.clone()
            })
        }
        _ => None,
    }
}

/// REST: method and path template, literal query keys required, required
/// query/header members present; the most specific match wins.
#[expect(clippy::type_complexity, reason = "a private helper's pair of results")]
fn rest_operation<'m>(
    service: &'m Service,
    request: &Request<'_>,
) -> Result<(Option<&'m Operation>, Vec<(String, String)>), AwsFacetError> {
    let mut best: Vec<(&'m Operation, Fit)> = Vec::new();
    let apart = SIGNED_APART.iter().any(|(model, ..)| *model == service.name);
    for op in service
        .with_method(request.method)
        .filter(|o| !apart || served_as_signed(o, request.scope))
    {
        // Cheap checks first: the path (most templates differ in their first
        // literal segment), then literal query keys, then required members.
        let Some(literal) = op.uri.fits(&request.segments) else {
            continue;
        };
        let literal_query = op.uri.query.iter().all(|(k, v)| match (request.query.get(k), v) {
            (Some(_), None) => true,
            (Some(values), Some(v)) => values.iter().any(|x| x == v),
            (None, _) => false,
        });
        let required = op.required_query.iter().all(|k| request.query.contains_key(k))
            && op
                .required_headers
                .iter()
                .all(|h| request.headers.contains_key(h.as_str()));
        if !literal_query || !required {
            continue;
        }
        let score = (
            op.uri.query.len(),
            op.required_query.len() + op.required_headers.len(),
            literal,
            !op.deprecated,
        );
        match best.first().map(|(_, s)| score.cmp(s)) {
            Some(std::cmp::Ordering::Less) => {}
            Some(std::cmp::Ordering::Equal) => best.push((op, score)),
            _ => {
                best.clear();
                best.push((op, score));
            }
        }
    }
    match best.as_slice() {
        [] => Ok((None, Vec::new())),
        [(op, _)] => {
            check_subresources(service, op, request)?;
            let (bound, _) = op.uri.matches(&request.segments).unwrap_or_default();
            let labels = bound.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            Ok((Some(*op), labels))
        }
        _ => {
            let names: Vec<&str> = best.iter().map(|(o, _)| o.name.as_str()).collect();
            Err(AwsFacetError::Ambiguous(format!(
                "the request fits {} equally",
                names.join(" and ")
            )))
        }
    }
}

/// Operations that share a request with another and are served only to
/// requests signed for another service: S3 Express's ListDirectoryBuckets
/// (`GET /` on `s3express-control.<region>`, signed for `s3express`) and
/// ListBuckets: `(model, operation, signed for, its twin)`.
const SIGNED_APART: [(&str, &str, &str, &str); 1] = [("s3", "ListDirectoryBuckets", "s3express", "ListBuckets")];

/// Whether `op` (of a model in [`SIGNED_APART`]) may be what a request
/// signed for `scope` is.
fn served_as_signed(op: &Operation, scope: Option<&str>) -> bool {
    SIGNED_APART.iter().all(|&(_, apart, signed, twin)| {
        let express = scope == Some(signed);
        (op.name != apart || express) && (op.name != twin || !express)
    })
}

/// A query key that selects another operation of the service (an S3
/// subresource like `?uploads`) but means nothing to the chosen one makes the
/// request ambiguous.
fn check_subresources(service: &Service, chosen: &Operation, request: &Request<'_>) -> Result<(), AwsFacetError> {
    for key in request.query.keys() {
        let selects_other = service
            .operations
            .iter()
            .any(|o| o.uri.query.iter().any(|(k, _)| k == key));
        let known_here = chosen.uri.query.iter().any(|(k, _)| k == key) || chosen.query_keys.iter().any(|k| k == key);
        if selects_other && !known_here {
            return Err(AwsFacetError::Ambiguous(format!(
                "`?{key}` selects another operation than {}",
                chosen.name
            )));
        }
    }
    Ok(())
}

/// The one value of header `name`; two different values conflict.
fn single(headers: &HeaderMap, name: &str) -> Result<Option<String>, AwsFacetError> {
    let mut values = headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string());
    let first = values.next();
    if values.any(|v| Some(&v) != first.as_ref()) {
        return Err(AwsFacetError::Conflict(format!(
            "the request carries two different `{name}` headers"
        )));
    }
    Ok(first)
}

/// The query-protocol `Action`, from the query string and the form body,
/// which must agree.
fn action(request: &Request<'_>) -> Result<Option<String>, AwsFacetError> {
    let mut actions: Vec<&String> = request.query.get("Action").into_iter().flatten().collect();
    if let Some(form) = request.form {
        actions.extend(form.get("Action").into_iter().flatten());
    }
    let first = actions.first().map(|a| a.to_string());
    if actions.iter().any(|a| Some(a.as_str()) != first.as_deref()) {
        return Err(AwsFacetError::Conflict(format!(
            "the request names two Actions: {}",
            actions
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        )));
    }
    Ok(first)
}

fn first<'a>(map: &'a BTreeMap<String, Vec<String>>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(|v| v.first()).map(String::as_str)
}
