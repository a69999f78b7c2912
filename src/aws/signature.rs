//! What the agent's signature says: the access key (hence the account) and
//! the credential scope's region and service, read once for the `aws` facts
//! and for re-signing. It never decides anything: the signature is replaced
//! before the request goes upstream.

use std::collections::BTreeMap;

use http::HeaderMap;

use crate::ids::{AccountId, IdError, Region, ServiceName};

/// Why a request's signature cannot be read: it contradicts itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Two `Authorization` headers.
    #[error("the request is contradictory, a conflict clawgate refuses: the request carries two Authorization headers")]
    TwoHeaders,
    /// Signed in the header and in the query string.
    #[error(
        "the request is contradictory, a conflict clawgate refuses: the request is signed both in its \
         Authorization header and in its query string"
    )]
    HeaderAndQuery,
    /// Two credentials in the query string.
    #[error("the request is contradictory, a conflict clawgate refuses: the query string carries two credentials")]
    TwoCredentials,
    /// A credential scope whose region or service is not a name.
    #[error("the request's credential scope is malformed: {0}")]
    Scope(#[from] IdError),
}

/// The parts of a SigV4 (or SigV2) signature that facets read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signed {
    /// The access key id.
    pub access_key_id: Option<String>,
    /// The credential scope's region.
    pub region: Option<Region>,
    /// The credential scope's service (the signing name).
    pub service: Option<ServiceName>,
    /// Signed in the query string (a presigned URL): for how long the
    /// agent asked it to be valid (`X-Amz-Expires`), if it said.
    pub presigned: Option<Presigned>,
}

/// A signature in the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presigned {
    /// `X-Amz-Expires`, in seconds, if given and a number.
    pub expires: Option<u64>,
}

/// Reads the signature from the `Authorization` header or the (decoded) query.
pub fn parse(headers: &HeaderMap, query: &BTreeMap<String, Vec<String>>) -> Result<Signed, SignatureError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let header = values.next();
    if values.next().is_some() {
        return Err(SignatureError::TwoHeaders);
    }
    let presigned = query.get("X-Amz-Credential").or_else(|| query.get("AWSAccessKeyId"));
    match (header, presigned) {
        (Some(_), Some(_)) => Err(SignatureError::HeaderAndQuery),
        (Some(value), None) => from_header(value.to_str().unwrap_or("")),
        (None, Some(values)) if values.len() > 1 => Err(SignatureError::TwoCredentials),
        (None, Some(values)) => {
            let value = values.first().map(String::as_str).unwrap_or("");
            let mut signed = if query.contains_key("X-Amz-Credential") {
                scope(value)?
            } else {
                key_only(value)
            };
            let expires = query.get("X-Amz-Expires").and_then(|v| v.first()?.parse().ok());
            signed.presigned = Some(Presigned { expires });
            Ok(signed)
        }
        (None, None) => Ok(Signed::default()),
    }
}

/// `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, …`,
/// SigV4a (`AWS4-ECDSA-P256-SHA256`, no region) or SigV2 (`AWS KEY:SIG`).
fn from_header(value: &str) -> Result<Signed, SignatureError> {
    let value = value.trim();
    if let Some(v2) = value.strip_prefix("AWS ") {
        return Ok(key_only(v2.split(':').next().unwrap_or("")));
    }
    let credential = value
        .split([' ', ','])
        .find_map(|part| part.trim().strip_prefix("Credential="))
        .unwrap_or("");
    scope(credential)
}

/// `KEY/DATE/REGION/SERVICE/aws4_request` (or `KEY/DATE/SERVICE/aws4_request` for SigV4a).
fn scope(credential: &str) -> Result<Signed, SignatureError> {
    let parts: Vec<&str> = credential.split('/').collect();
    let nonempty = |s: &&str| (!s.is_empty()).then(|| s.to_string());
    let region = |s: &str| (!s.is_empty()).then(|| Region::parse(s)).transpose();
    let service = |s: &str| (!s.is_empty()).then(|| ServiceName::parse(s)).transpose();
    Ok(match parts.as_slice() {
        [key, _date, r, s, "aws4_request"] => Signed {
            access_key_id: nonempty(key),
            region: region(r)?,
            service: service(s)?,
            presigned: None,
        },
        [key, _date, s, "aws4_request"] => Signed {
            access_key_id: nonempty(key),
            service: service(s)?,
            ..Signed::default()
        },
        [key, ..] => key_only(key),
        [] => Signed::default(),
    })
}

fn key_only(key: &str) -> Signed {
    Signed {
        access_key_id: (!key.is_empty()).then(|| key.to_string()),
        ..Signed::default()
    }
}

/// The account in an access key id: the first run of exactly twelve digits.
pub fn account_of(access_key_id: &str) -> Option<AccountId> {
    let bytes = access_key_id.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 12 {
                return AccountId::parse(&access_key_id[start..i]).ok();
            }
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_the_first_run_of_exactly_twelve_digits() {
        let a = |k: &str| account_of(k).map(|a| a.to_string());
        assert_eq!(a("AKIA035475582903XXXX").as_deref(), Some("035475582903"));
        assert_eq!(a("AKIAIOSFODNN7EXAMPLE"), None);
        assert_eq!(a("ab1234cd5678ef9012"), None);
        assert_eq!(a("x123456789012y").as_deref(), Some("123456789012"));
        assert_eq!(
            a("1234567890123 123456789012").as_deref(),
            Some("123456789012"),
            "a run of 13 is not a run of 12"
        );
    }

    #[test]
    fn header_and_presigned_forms() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/20261123/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=ab"
                .parse()
                .unwrap(),
        );
        let none = BTreeMap::new();
        let s = parse(&headers, &none).unwrap();
        assert_eq!(
            (s.region.unwrap().as_str(), s.service.unwrap().as_str()),
            ("eu-west-1", "dynamodb")
        );
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA222222222222XXXX%2F20261123%2Fus-west-2%2Fs3%2Faws4_request";
        let q = crate::net::query::parse_query(q);
        let s = parse(&HeaderMap::new(), &q).unwrap();
        assert!(s.presigned.is_some());
        assert_eq!(
            (s.access_key_id.as_deref(), s.region.as_ref().map(Region::as_str)),
            (Some("AKIA222222222222XXXX"), Some("us-west-2"))
        );
        assert!(parse(&headers, &q).is_err(), "two signatures conflict");
    }
}
