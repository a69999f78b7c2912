//! Why clawgate refused or failed a request, and the ONE place such errors
//! become responses to the agent.

use http::header::{CONTENT_TYPE, HeaderValue, PROXY_AUTHENTICATE};
use http::{HeaderMap, Response, StatusCode};
use hyper::ext::ReasonPhrase;

use super::body::{self, Body};
use super::dial::DialError;
use crate::aws::sts::StsError;
use crate::aws::{MODELS, Protocol};
use crate::facet::aws::host;
use crate::policy::Denial;

/// Everything that stops a request between the agent and the upstream. Each
/// variant says which side is at fault in its status: 4xx the agent, 502/504
/// the upstream, 500/503 clawgate itself.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The agent sent no or wrong credentials.
    #[error("proxy authentication required: {0}")]
    ProxyAuth(&'static str),
    /// No agent is configured and the client is not on this machine.
    #[error("no agents are configured, so only clients on this machine may connect")]
    LoopbackOnly,
    /// The request is malformed for a proxy.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request's `Host` disagrees with the host the tunnel was opened to.
    #[error("the request is for `{host}` but the tunnel was opened to `{target}`; they must be the same")]
    HostMismatch {
        /// What the request named.
        host: String,
        /// What the CONNECT named.
        target: String,
    },
    /// No endpoint claims the host and unclaimed hosts are denied.
    #[error(
        "host `{0}` is not claimed by any endpoint, and gateway.unknown_host = \"deny\"; \
         add it to an endpoint's `hosts` to use it"
    )]
    UnknownHost(String),
    /// The upstream could not be dialled, or dialling was refused.
    #[error("cannot reach the upstream: {0}")]
    Dial(#[from] DialError),
    /// The upstream failed after the connection was made.
    #[error("the upstream `{target}` failed: {reason}")]
    Upstream {
        /// The upstream host and port.
        target: String,
        /// What went wrong.
        reason: String,
    },
    /// The rules deny the request.
    #[error("{0}")]
    Denied(Denial),
    /// The endpoint has no base key to assume roles with.
    #[error("{}", match .0 {
        Some(why) => why.clone(),
        None => "this aws_api endpoint names no `credential`, so clawgate has no key to assume roles with".to_string(),
    })]
    NoBaseKey(Option<String>),
    /// STS did not give credentials for the target account.
    #[error("{0}")]
    Sts(StsError),
    /// A form of request clawgate cannot handle yet; refused rather than passed on.
    #[error("{0}")]
    Unsupported(&'static str),
    /// clawgate itself failed.
    #[error("clawgate failed: {0}")]
    Internal(String),
    /// Too many connections are open.
    #[error("too many connections ({0}); try again shortly")]
    Busy(usize),
}

impl ProxyError {
    /// The HTTP status the agent receives.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::ProxyAuth(_) => StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            ProxyError::LoopbackOnly | ProxyError::UnknownHost(_) | ProxyError::Denied(_) => StatusCode::FORBIDDEN,
            ProxyError::BadRequest(_) | ProxyError::HostMismatch { .. } => StatusCode::BAD_REQUEST,
            ProxyError::Dial(DialError::Forbidden { .. }) => StatusCode::FORBIDDEN,
            ProxyError::Dial(DialError::Timeout { .. }) => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::Dial(_) | ProxyError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::Busy(_) | ProxyError::NoBaseKey(_) => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::Sts(StsError::Refused { .. }) | ProxyError::Unsupported(_) => StatusCode::FORBIDDEN,
            ProxyError::Sts(_) => StatusCode::BAD_GATEWAY,
            ProxyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response the agent receives: the status, a reason phrase that
    /// carries the message (clients print it for a failed CONNECT), and the
    /// message as a plain-text body.
    pub fn into_response(self, format: ErrorFormat) -> Response<Body> {
        let status = self.status();
        let message = format!("clawgate: {self}");
        let (content_type, text) = format.render(status, &message);
        let mut response = Response::new(body::full(text));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        if format == ErrorFormat::AwsJson {
            headers.insert("x-amzn-errortype", HeaderValue::from_static(aws_code(status, true)));
        }
        if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            headers.insert(PROXY_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"clawgate\""));
        }
        let phrase = format!("{} ({message})", status.canonical_reason().unwrap_or("Error"));
        let printable: String = phrase
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
            .collect();
        if let Ok(reason) = ReasonPhrase::try_from(printable.into_bytes()) {
            response.extensions_mut().insert(reason);
        }
        response
    }
}

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
    /// The format the agent's client expects for a request to `host`.
    pub fn for_request(host: &str, headers: &HeaderMap) -> ErrorFormat {
        let Some(facts) = host::parse(host) else {
            return ErrorFormat::Text;
        };
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if headers.contains_key("x-amz-target") || content_type.contains("json") {
            return ErrorFormat::AwsJson;
        }
        let protocol = MODELS
            .with_prefix(&facts.service)
            .find_map(|s| s.protocols.first().copied());
        match protocol {
            Some(Protocol::Ec2) => ErrorFormat::AwsEc2Xml,
            Some(Protocol::RestXml) => ErrorFormat::AwsRestXml,
            Some(Protocol::Json | Protocol::RestJson | Protocol::Cbor) => ErrorFormat::AwsJson,
            Some(Protocol::Query) | None => ErrorFormat::AwsQueryXml,
        }
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

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (http::HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn each_protocol_gets_its_error_shape() {
        let none = headers(&[]);
        assert_eq!(ErrorFormat::for_request("example.com", &none), ErrorFormat::Text);
        assert_eq!(
            ErrorFormat::for_request("bucket.s3.amazonaws.com", &none),
            ErrorFormat::AwsRestXml
        );
        assert_eq!(
            ErrorFormat::for_request("ec2.us-east-1.amazonaws.com", &none),
            ErrorFormat::AwsEc2Xml
        );
        assert_eq!(
            ErrorFormat::for_request("sts.us-east-1.amazonaws.com", &none),
            ErrorFormat::AwsQueryXml
        );
        let target = headers(&[("x-amz-target", "DynamoDB_20120810.PutItem")]);
        assert_eq!(
            ErrorFormat::for_request("dynamodb.us-east-1.amazonaws.com", &target),
            ErrorFormat::AwsJson
        );
        assert_eq!(
            ErrorFormat::for_request("lambda.us-east-1.amazonaws.com", &none),
            ErrorFormat::AwsJson
        );
    }

    #[test]
    fn a_denial_names_the_rule_in_the_aws_shape() {
        let denial = Denial::Rule {
            rule: "prod is read-only".into(),
            reason: Some("agents may only <read>".into()),
        };
        let response = ProxyError::Denied(denial).into_response(ErrorFormat::AwsRestXml);
        assert_eq!(response.status(), 403);
        let (_, text) = ErrorFormat::AwsRestXml.render(StatusCode::FORBIDDEN, "clawgate: denied by rule 'x': a <b>");
        assert_eq!(text, "<Error><Code>AccessDenied</Code><Message>clawgate: denied by rule &apos;x&apos;: a &lt;b&gt;</Message><RequestId>clawgate</RequestId></Error>".replace("&apos;", "'"));
        let (_, json) = ErrorFormat::AwsJson.render(StatusCode::FORBIDDEN, "clawgate: denied");
        assert_eq!(
            json,
            r#"{"__type":"AccessDeniedException","message":"clawgate: denied"}"#
        );
    }
}
