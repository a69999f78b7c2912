//! The ONE place errors become responses to the agent: plain text for
//! proxy clients, the AWS error shape of the service's protocol for SDKs.

use http::header::{CONTENT_TYPE, HeaderValue, PROXY_AUTHENTICATE};
use http::{HeaderMap, Response, StatusCode};
use hyper::ext::ReasonPhrase;

use super::GateError;
use crate::aws::Protocol;
use crate::facet::aws::host::HostFacts;
use crate::net::body::{self, Body};

/// The response the agent receives for `error`: the status, a reason
/// phrase that carries the message (clients print it for a failed CONNECT),
/// an `x-clawgate-reason` header with it (a HEAD response has no body), and
/// the message as the body, in the shape the agent's client expects. The
/// one place errors become responses; messages never hold a secret.
pub fn respond(error: &GateError, format: ErrorFormat) -> Response<Body> {
    let status = error.status();
    let message = format!("clawgate: {error}");
    let (content_type, text) = format.render(status, &message);
    let mut response = Response::new(body::full(text));
    *response.status_mut() = status;
    // The message may quote what the agent sent (a host, a header): in a
    // header it is printable ASCII only, and short.
    let printable: String = message
        .chars()
        .take(MAX_REASON)
        .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
        .collect();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if format == ErrorFormat::AwsJson {
        headers.insert("x-amzn-errortype", HeaderValue::from_static(aws_code(status, true)));
    }
    if error.passes_soon() {
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        headers.insert(PROXY_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"clawgate\""));
    }
    if let Ok(reason) = HeaderValue::from_str(&printable) {
        headers.insert(REASON_HEADER, reason);
    }
    let phrase = format!("{} ({printable})", status.canonical_reason().unwrap_or("Error"));
    if let Ok(reason) = ReasonPhrase::try_from(phrase.into_bytes()) {
        response.extensions_mut().insert(reason);
    }
    response
}

/// The most characters of a message the reason header and phrase carry.
const MAX_REASON: usize = 512;

/// The header that carries clawgate's reason for refusing or failing a request.
pub const REASON_HEADER: &str = "x-clawgate-reason";

/// How an error is written for the agent: plain text for proxy clients and
/// plain HTTPS APIs, the AWS error shape of the service's protocol for AWS
/// SDKs, so the CLI prints `AccessDenied` with clawgate's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    /// `clawgate: …` as text.
    Text,
    /// `<ErrorResponse><Error><Code>…` (query protocol).
    AwsQueryXml,
    /// `<Response><Errors><Error><Code>…` (EC2).
    AwsEc2Xml,
    /// `<Error><Code>…` (REST-XML: S3, CloudFront, Route 53).
    AwsRestXml,
    /// `{"__type": …, "message": …}` (JSON and REST-JSON).
    AwsJson,
}

impl ErrorFormat {
    /// The format for a request to a host `facet::aws::host::parse` has read.
    pub fn for_host(host: Option<&HostFacts>, headers: &HeaderMap) -> ErrorFormat {
        let Some(facts) = host else {
            return ErrorFormat::Text;
        };
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if headers.contains_key("x-amz-target") || content_type.contains("json") {
            return ErrorFormat::AwsJson;
        }
        let protocol = facts.services().find_map(|s| s.protocols.first().copied());
        match protocol {
            Some(Protocol::Ec2) => ErrorFormat::AwsEc2Xml,
            Some(Protocol::RestXml) => ErrorFormat::AwsRestXml,
            Some(Protocol::Json | Protocol::RestJson | Protocol::Cbor) => ErrorFormat::AwsJson,
            Some(Protocol::Query) | None => ErrorFormat::AwsQueryXml,
        }
    }

    /// The AWS error code an error with `status` carries in this format.
    pub fn code(self, status: StatusCode) -> Option<&'static str> {
        (self != ErrorFormat::Text).then(|| aws_code(status, self == ErrorFormat::AwsJson))
    }

    /// The content type and body for an error with `status` and `message`.
    fn render(self, status: StatusCode, message: &str) -> (&'static str, String) {
        let code = aws_code(status, false);
        let xml = xml_escape(message);
        match self {
            ErrorFormat::Text => ("text/plain; charset=utf-8", format!("{message}\n")),
            ErrorFormat::AwsQueryXml => (
                "text/xml",
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{xml}</Message></Error>\
                     <RequestId>clawgate</RequestId></ErrorResponse>"
                ),
            ),
            ErrorFormat::AwsEc2Xml => (
                "text/xml",
                format!(
                    "<Response><Errors><Error><Code>{code}</Code><Message>{xml}</Message></Error></Errors>\
                     <RequestID>clawgate</RequestID></Response>"
                ),
            ),
            ErrorFormat::AwsRestXml => (
                "application/xml",
                format!("<Error><Code>{code}</Code><Message>{xml}</Message><RequestId>clawgate</RequestId></Error>"),
            ),
            ErrorFormat::AwsJson => {
                let body = serde_json::json!({ "__type": aws_code(status, true), "message": message });
                ("application/x-amz-json-1.1", body.to_string())
            }
        }
    }
}

/// The AWS error code for a status; JSON protocols add `Exception`.
fn aws_code(status: StatusCode, json: bool) -> &'static str {
    match (status.as_u16(), json) {
        (403, false) => "AccessDenied",
        (403, true) => "AccessDeniedException",
        (400, false) => "InvalidRequest",
        (400, true) => "ValidationException",
        (503, _) => "ServiceUnavailable",
        (504, _) => "RequestTimeout",
        (502, _) => "BadGateway",
        _ => "InternalFailure",
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facet::aws::host;

    fn format_for(host: &str, headers: &HeaderMap) -> ErrorFormat {
        ErrorFormat::for_host(host::parse(host).as_ref(), headers)
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (http::HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn each_protocol_gets_its_error_shape() {
        let none = headers(&[]);
        assert_eq!(format_for("example.com", &none), ErrorFormat::Text);
        assert_eq!(format_for("bucket.s3.amazonaws.com", &none), ErrorFormat::AwsRestXml);
        assert_eq!(format_for("ec2.us-east-1.amazonaws.com", &none), ErrorFormat::AwsEc2Xml);
        assert_eq!(
            format_for("sts.us-east-1.amazonaws.com", &none),
            ErrorFormat::AwsQueryXml
        );
        let target = headers(&[("x-amz-target", "DynamoDB_20120810.PutItem")]);
        assert_eq!(
            format_for("dynamodb.us-east-1.amazonaws.com", &target),
            ErrorFormat::AwsJson
        );
        assert_eq!(
            format_for("lambda.us-east-1.amazonaws.com", &none),
            ErrorFormat::AwsJson
        );
    }

    #[test]
    fn a_denial_names_the_rule_in_the_aws_shape() {
        let denial = crate::policy::Denial::Rule {
            rule: crate::ids::RuleName::new("prod is read-only"),
            reason: Some("agents may only <read>".into()),
        };
        let response = respond(&GateError::Denied(denial), ErrorFormat::AwsRestXml);
        assert_eq!(response.status(), 403);
        assert_eq!(
            response.headers()[REASON_HEADER],
            "clawgate: denied by rule 'prod is read-only': agents may only <read>"
        );
        let (_, text) = ErrorFormat::AwsRestXml.render(StatusCode::FORBIDDEN, "clawgate: denied by rule 'x': a <b>");
        assert_eq!(text, "<Error><Code>AccessDenied</Code><Message>clawgate: denied by rule &apos;x&apos;: a &lt;b&gt;</Message><RequestId>clawgate</RequestId></Error>".replace("&apos;", "'"));
        let (_, json) = ErrorFormat::AwsJson.render(StatusCode::FORBIDDEN, "clawgate: denied");
        assert_eq!(
            json,
            r#"{"__type":"AccessDeniedException","message":"clawgate: denied"}"#
        );
    }
}
