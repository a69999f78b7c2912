//! SigV4 re-signing: the agent's signature is dropped and the request is
//! signed again, with real credentials, over what the agent signed.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use http::request::Parts;

use super::AwsCredentials;
use crate::net::query::{Plus, percent_decode};

/// Headers the agent's signature put on the request, replaced by clawgate's.
const SIGNATURE_HEADERS: [&str; 3] = ["authorization", "x-amz-date", "x-amz-security-token"];

/// Who signs, where and when.
pub struct Signer<'a> {
    /// The credentials to sign with.
    pub credentials: &'a AwsCredentials,
    /// The credential scope's region.
    pub region: &'a str,
    /// The credential scope's service (signing name).
    pub service: &'a str,
    /// The signing time.
    pub time: SystemTime,
}

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the request: {0}")]
pub struct SignError(String);

/// Where the signature goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// In the `Authorization` header, over a payload with this hash (the
    /// agent's `x-amz-content-sha256`, or the body's hash).
    Headers(String),
    /// In the query string (a presigned URL), valid for this long.
    Query(Duration),
}

/// Query parameters of a presigned URL's signature, replaced by clawgate's.
const SIGNATURE_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

impl Signer<'_> {
    /// Re-signs `parts` for `authority` (the host the request goes to): the
    /// agent's signature (headers or query parameters) is dropped; the
    /// headers it signed, `host` and every `x-amz-*` header are signed. S3
    /// gets single percent-encoding and no path normalisation. Returns the
    /// signature.
    pub fn sign(&self, parts: &mut Parts, authority: &str, placement: Placement) -> Result<String, SignError> {
        let agent_signed = signed_headers(parts);
        for name in SIGNATURE_HEADERS {
            parts.headers.remove(name);
        }
        let query = strip_signature_params(parts.uri.query());
        let s3 = self.service == "s3";
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = if s3 {
            PercentEncodingMode::Single
        } else {
            PercentEncodingMode::Double
        };
        settings.uri_path_normalization_mode = if s3 {
            UriPathNormalizationMode::Disabled
        } else {
            UriPathNormalizationMode::Enabled
        };
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        settings.session_token_mode = SessionTokenMode::Include;
        let body = match &placement {
            Placement::Headers(hash) => SignableBody::Precomputed(hash.clone()),
            Placement::Query(expires) => {
                settings.signature_location = SignatureLocation::QueryParams;
                settings.expires_in = Some(*expires);
                SignableBody::UnsignedPayload
            }
        };
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or(authority)
            .to_string();
        let mut to_sign: Vec<(&str, &str)> = vec![("host", host.as_str())];
        for (name, value) in &parts.headers {
            let name = name.as_str();
            if name != "host" && (agent_signed.contains(name) || name.starts_with("x-amz-")) {
                let value = value
                    .to_str()
                    .map_err(|_| SignError(format!("header `{name}` is not text")))?;
                to_sign.push((name, value));
            }
        }
        let path_and_query = match &query {
            Some(q) => format!("{}?{q}", parts.uri.path()),
            None => parts.uri.path().to_string(),
        };
        let identity = self.credentials.identity();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region)
            .name(self.service)
            .time(self.time)
            .settings(settings)
            .build()
            .map_err(|e| SignError(e.to_string()))?
            .into();
        let uri = format!("https://{host}{path_and_query}");
        let signable = SignableRequest::new(parts.method.as_str(), uri, to_sign.into_iter(), body)
            .map_err(|e| SignError(e.to_string()))?;
        let (instructions, signature) = sign(signable, &params)
            .map_err(|e| SignError(e.to_string()))?
            .into_parts();
        let (headers, query_params) = instructions.into_parts();
        for header in headers {
            let value = http::HeaderValue::from_str(header.value()).map_err(|e| SignError(e.to_string()))?;
            parts
                .headers
                .insert(http::HeaderName::from_static(header.name()), value);
        }
        if matches!(placement, Placement::Query(_)) {
            let added = query_params
                .iter()
                .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)));
            let full: Vec<String> = query.into_iter().chain(added).collect();
            let new = format!("{}?{}", parts.uri.path(), full.join("&"));
            parts.uri = new
                .parse()
                .map_err(|e: http::uri::InvalidUri| SignError(e.to_string()))?;
        }
        Ok(signature)
    }
}

/// The query string without a presigned URL's signature parameters, as
/// written; a name is compared decoded, as the facet and AWS read it
/// (`X%2DAmz%2DCredential` is `X-Amz-Credential`).
fn strip_signature_params(query: Option<&str>) -> Option<String> {
    let kept: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = percent_decode(pair.split('=').next().unwrap_or(""), Plus::Space);
            !SIGNATURE_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(&name))
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("&"))
}

/// Percent-encodes all but RFC 3986's unreserved characters, as SigV4 does.
pub fn uri_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The header names the agent's signature covered (`SignedHeaders=a;b;c` in
/// its `Authorization`, or `X-Amz-SignedHeaders` in a presigned URL).
fn signed_headers(parts: &Parts) -> HashSet<String> {
    let presigned = crate::net::query::parse_query(parts.uri.query().unwrap_or(""));
    if let Some(list) = presigned.get("X-Amz-SignedHeaders").and_then(|v| v.first()) {
        return list.split(';').map(str::to_ascii_lowercase).collect();
    }
    let authorization = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    authorization
        .split([' ', ','])
        .find_map(|part| part.trim().strip_prefix("SignedHeaders="))
        .map(|list| list.split(';').map(str::to_ascii_lowercase).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::secret::Secret;

    /// The temporary credentials both botocore comparisons were made with.
    fn real_credentials() -> AwsCredentials {
        AwsCredentials {
            access_key_id: Secret::new("ASIAREALKEY".into()),
            secret_access_key: Secret::new("realsecret".into()),
            session_token: Some(Secret::new("REALTOKEN".into())),
            expires: None,
        }
    }

    /// An S3 signer at 2024-01-15T12:34:56Z, the time of the botocore values.
    fn s3_signer(credentials: &AwsCredentials) -> Signer<'_> {
        Signer {
            credentials,
            region: "us-east-1",
            service: "s3",
            time: UNIX_EPOCH + Duration::from_secs(1_705_322_096),
        }
    }

    #[test]
    fn matches_botocore_for_an_s3_key_with_awkward_characters() {
        // Expected value computed by botocore 1.44.5's S3SigV4Auth for the same
        // inputs (empty body, 2024-01-15T12:34:56Z).
        const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let credentials = real_credentials();
        let signer = s3_signer(&credentials);
        let (mut parts, ()) = http::Request::get("/my%20folder/a%2Bb%3Dc~d%20%C3%A9.txt")
            .header("host", "bucket.s3.amazonaws.com")
            .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/20240115/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0")
            .header("x-amz-content-sha256", EMPTY)
            .header("x-amz-date", "20240115T123456Z")
            .header("user-agent", "aws-cli")
            .body(())
            .unwrap()
            .into_parts();
        signer
            .sign(&mut parts, "bucket.s3.amazonaws.com", Placement::Headers(EMPTY.into()))
            .unwrap();
        let authorization = parts.headers["authorization"].to_str().unwrap();
        assert_eq!(
            authorization,
            "AWS4-HMAC-SHA256 Credential=ASIAREALKEY/20240115/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, \
             Signature=05f1ccc333643e86495a03ed3ed0c649b128a56ca2fce2817c31556b86b2fe81"
        );
        assert_eq!(parts.headers["x-amz-security-token"], "REALTOKEN");
        assert_eq!(parts.headers["user-agent"], "aws-cli", "unsigned headers stay");
        assert!(!authorization.contains("AKIA111111111111XXXX"));
    }

    #[test]
    fn a_presigned_url_is_presigned_again_as_botocore_would() {
        let credentials = real_credentials();
        let signer = s3_signer(&credentials);
        let agent_url = "/my%20key.txt?versionId=v1&X-Amz-Algorithm=AWS4-HMAC-SHA256\
            &X-Amz-Credential=AKIA111111111111CLAW%2F20240115%2Fus-east-1%2Fs3%2Faws4_request\
            &X-Amz-Date=20240115T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        let (mut parts, ()) = http::Request::get(agent_url)
            .header("host", "bucket.s3.amazonaws.com")
            .body(())
            .unwrap()
            .into_parts();
        signer
            .sign(
                &mut parts,
                "bucket.s3.amazonaws.com",
                Placement::Query(Duration::from_secs(600)),
            )
            .unwrap();
        let query = parts.uri.query().unwrap();
        assert!(!query.contains("AKIA111111111111CLAW"), "{query}");
        // botocore 1.44.5's S3SigV4QueryAuth, same inputs and time.
        assert!(query.starts_with("versionId=v1&"), "{query}");
        assert!(query.contains("X-Amz-Expires=600"), "{query}");
        assert!(
            query.contains("X-Amz-Signature=a82c4a42fe1cc349678af5169986979b68f0c046a96fa0a6dd2876d23aead5fd"),
            "{query}"
        );
    }

    /// Found by fuzzing: a presigned URL whose parameter names were
    /// percent-encoded kept the agent's credential next to clawgate's.
    #[test]
    fn encoded_signature_parameters_are_dropped_too() {
        let credentials = real_credentials();
        let signer = s3_signer(&credentials);
        let agent_url = "/k?X%2DAmz%2DCredential=AKIA111111111111CLAW%2F20240115%2Fus-east-1%2Fs3%2Faws4_request\
            &x-amz-security-token=AGENT&X%2dAmz%2dSignature=00&versionId=v1";
        let (mut parts, ()) = http::Request::get(agent_url)
            .header("host", "bucket.s3.amazonaws.com")
            .body(())
            .unwrap()
            .into_parts();
        signer
            .sign(
                &mut parts,
                "bucket.s3.amazonaws.com",
                Placement::Query(Duration::from_secs(60)),
            )
            .unwrap();
        let query = parts.uri.query().unwrap();
        assert!(
            !query.contains("CLAW") && !query.contains("AGENT") && !query.contains("%2d"),
            "{query}"
        );
        assert!(query.starts_with("versionId=v1&"), "{query}");
    }
}
