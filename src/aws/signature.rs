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
    /// Two credentials in the query string or the form.
    #[error("the request is contradictory, a conflict clawgate refuses: {0} carries two credentials")]
    TwoCredentials(&'static str),
    /// Signed in two places of header, query string and form body.
    #[error("the request is contradictory, a conflict clawgate refuses: it is signed both in {0} and in {1}")]
    TwoPlaces(&'static str, &'static str),
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
    /// Signed in the form body: an S3 POST-policy upload or a SigV2 form
    /// request (SimpleDB). Facts read it; re-signing cannot.
    pub in_form: bool,
}

/// A signature in the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presigned {
    /// `X-Amz-Expires`, in seconds, if given and a number.
    pub expires: Option<u64>,
}

/// Reads the signature from the `Authorization` header, the (decoded) query
/// or the form body's fields (`form`, keys as sent), exactly one of them.
pub fn parse(
    headers: &HeaderMap,
    query: &BTreeMap<String, Vec<String>>,
    form: Option<&BTreeMap<String, Vec<String>>>,
) -> Result<Signed, SignatureError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let header = values.next();
    if values.next().is_some() {
        return Err(SignatureError::TwoHeaders);
    }
    let in_query = credential(query, "the query string")?;
    let in_form = form.map(|f| credential(f, "the form")).transpose()?.flatten();
    let places = [
        header.map(|_| "its Authorization header"),
        in_query.as_ref().map(|_| "its query string"),
        in_form.as_ref().map(|_| "its form body"),
    ];
    let mut places = places.into_iter().flatten();
    if let (Some(one), Some(other)) = (places.next(), places.next()) {
        return Err(SignatureError::TwoPlaces(one, other));
    }
    if let Some(value) = header {
        return from_header(value.to_str().unwrap_or(""));
    }
    if let Some((mut signed, map)) = in_query {
        let expires = first(map, "x-amz-expires").and_then(|v| v.parse().ok());
        signed.presigned = Some(Presigned { expires });
        return Ok(signed);
    }
    Ok(in_form.map_or_else(Signed::default, |(signed, _)| Signed {
        in_form: true,
        ..signed
    }))
}

/// Decoded query or form fields.
type Fields = BTreeMap<String, Vec<String>>;

/// The credential among `fields` (SigV4's `X-Amz-Credential` or SigV2's
/// `AWSAccessKeyId`, names in any case as S3's POST forms allow), if any.
fn credential<'m>(fields: &'m Fields, place: &'static str) -> Result<Option<(Signed, &'m Fields)>, SignatureError> {
    let mut found = fields
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("x-amz-credential") || k.eq_ignore_ascii_case("awsaccesskeyid"));
    let Some((name, values)) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() || values.len() > 1 {
        return Err(SignatureError::TwoCredentials(place));
    }
    let value = values.first().map(String::as_str).unwrap_or("");
    let signed = if name.eq_ignore_ascii_case("x-amz-credential") {
        scope(value)?
    } else {
        key_only(value)
    };
    Ok(Some((signed, fields)))
}

/// The first value of the field named `name` in any case.
fn first<'m>(fields: &'m BTreeMap<String, Vec<String>>, name: &str) -> Option<&'m str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
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
            ..Signed::default()
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
        let s = parse(&headers, &none, None).unwrap();
        assert_eq!(
            (s.region.unwrap().as_str(), s.service.unwrap().as_str()),
            ("eu-west-1", "dynamodb")
        );
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA222222222222XXXX%2F20261123%2Fus-west-2%2Fs3%2Faws4_request";
        let q = crate::net::query::parse_query(q);
        let s = parse(&HeaderMap::new(), &q, None).unwrap();
        assert!(s.presigned.is_some());
        assert_eq!(
            (s.access_key_id.as_deref(), s.region.as_ref().map(Region::as_str)),
            (Some("AKIA222222222222XXXX"), Some("us-west-2"))
        );
        assert!(parse(&headers, &q, None).is_err(), "two signatures conflict");
    }

    #[test]
    fn a_credential_in_the_form_body_is_read_and_one_in_two_places_conflicts() {
        let form = |pairs: &[(&str, &str)]| -> BTreeMap<String, Vec<String>> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect()
        };
        let none = BTreeMap::new();
        let post = form(&[
            ("key", "uploads/a.txt"),
            (
                "X-Amz-Credential",
                "AKIA222222222222XXXX/20261201/eu-west-1/s3/aws4_request",
            ),
        ]);
        let s = parse(&HeaderMap::new(), &none, Some(&post)).unwrap();
        assert_eq!(s.access_key_id.as_deref(), Some("AKIA222222222222XXXX"));
        assert_eq!(s.region.as_ref().map(Region::as_str), Some("eu-west-1"));
        assert!(s.in_form && s.presigned.is_none());
        let v2 = form(&[("Action", "ListDomains"), ("AWSAccessKeyId", "AKIA333333333333XXXX")]);
        let s = parse(&HeaderMap::new(), &none, Some(&v2)).unwrap();
        assert_eq!(s.access_key_id.as_deref(), Some("AKIA333333333333XXXX"));
        assert_eq!(s.region, None, "SigV2 names no region");
        let query = form(&[("AWSAccessKeyId", "AKIA444444444444XXXX")]);
        assert_eq!(
            parse(&HeaderMap::new(), &query, Some(&v2)),
            Err(SignatureError::TwoPlaces("its query string", "its form body"))
        );
        let twice = form(&[("x-amz-credential", "A/1/r/s3/aws4_request"), ("AWSAccessKeyId", "B")]);
        assert!(matches!(
            parse(&HeaderMap::new(), &none, Some(&twice)),
            Err(SignatureError::TwoCredentials("the form"))
        ));
    }
}
