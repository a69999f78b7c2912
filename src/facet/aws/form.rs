//! The fields of a request's form body: `application/x-www-form-urlencoded`
//! (the query protocols' requests, SigV2 form signatures) and
//! `multipart/form-data` (S3's browser POST-policy uploads), read for the
//! operation and the credential they carry.

use std::collections::BTreeMap;

use http::HeaderMap;
use memchr::memmem;

use crate::net::query::parse_query;

/// The form's fields, keys as sent, or `None` when the body is not a form.
pub type Fields = BTreeMap<String, Vec<String>>;

/// Text fields after which a multipart form is no longer read: S3 reads
/// no field after the file, and the file itself is not a field.
const MAX_FIELDS: usize = 64;

/// How a body is a form, as its `Content-Type` says (or its first bytes).
enum Kind<'a> {
    UrlEncoded,
    Multipart { boundary: &'a str },
}

/// The fields of `body`, if it is a form.
pub fn fields(headers: &HeaderMap, body: &[u8]) -> Option<Fields> {
    match kind(headers, body)? {
        Kind::UrlEncoded => Some(parse_query(&String::from_utf8_lossy(body))),
        Kind::Multipart { boundary } => multipart(body, boundary),
    }
}

/// Whether `headers` declare a multipart form (whose fields facts need).
pub fn is_multipart(headers: &HeaderMap) -> bool {
    content_type(headers).is_some_and(|t| media_type(t).eq_ignore_ascii_case("multipart/form-data"))
}

fn kind<'a>(headers: &'a HeaderMap, body: &[u8]) -> Option<Kind<'a>> {
    let declared = content_type(headers);
    match declared.map(media_type) {
        Some(t) if t.eq_ignore_ascii_case("application/x-www-form-urlencoded") => Some(Kind::UrlEncoded),
        Some(t) if t.eq_ignore_ascii_case("multipart/form-data") => Some(Kind::Multipart {
            boundary: boundary(declared?)?,
        }),
        // Whatever the Content-Type: a body that starts `Action=` is read as a form too.
        _ if body.starts_with(b"Action=") || memmem::find(body, b"&Action=").is_some() => Some(Kind::UrlEncoded),
        _ => None,
    }
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(http::header::CONTENT_TYPE)?.to_str().ok()
}

fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// The `boundary` parameter, unquoted.
fn boundary(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"'))
            .filter(|b| !b.is_empty())
    })
}

/// The text fields of a multipart form, up to its first file.
fn multipart(body: &[u8], boundary: &str) -> Option<Fields> {
    let delimiter = format!("--{boundary}");
    let finder = memmem::Finder::new(delimiter.as_bytes());
    let mut fields = Fields::new();
    let mut at = finder.find(body)? + delimiter.len();
    for _ in 0..MAX_FIELDS {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            break;
        }
        let rest = rest.strip_prefix(b"\r\n")?;
        let head_end = memmem::find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        let content = &rest[head_end + 4..];
        let (name, file) = disposition(head)?;
        if file {
            break;
        }
        let end = finder.find(content)?;
        let value = content[..end].strip_suffix(b"\r\n").unwrap_or(&content[..end]);
        fields
            .entry(name.to_string())
            .or_default()
            .push(String::from_utf8_lossy(value).into_owned());
        at += 2 + head_end + 4 + end + delimiter.len();
    }
    Some(fields)
}

/// A part's field name and whether it is a file, from `Content-Disposition: form-data; name="…"`.
fn disposition(head: &str) -> Option<(&str, bool)> {
    let line = head.split("\r\n").find(|l| {
        l.split(':')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("content-disposition"))
    })?;
    let (_, value) = line.split_once(':')?;
    let mut name = None;
    let mut file = false;
    for param in value.split(';').skip(1) {
        let (key, v) = param.split_once('=')?;
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(v.trim().trim_matches('"')),
            "filename" => file = true,
            _ => {}
        }
    }
    Some((name?, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    #[test]
    fn a_post_policy_form_gives_its_fields_up_to_the_file() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/${filename}\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"X-Amz-Credential\"\r\n\r\nAKIA1/20261201/us-east-1/s3/aws4_request\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nignored\r\n--XyZ--\r\n";
        let fields = fields(&headers("multipart/form-data; boundary=\"XyZ\""), body.as_bytes()).unwrap();
        assert_eq!(fields["key"], ["uploads/${filename}"]);
        assert_eq!(fields["X-Amz-Credential"], ["AKIA1/20261201/us-east-1/s3/aws4_request"]);
        assert!(
            !fields.contains_key("file") && !fields.contains_key("after"),
            "{fields:?}"
        );
    }

    #[test]
    fn url_encoded_forms_and_bodies_that_are_none() {
        let fields = fields(
            &headers("application/x-www-form-urlencoded; charset=utf-8"),
            b"Action=ListDomains&A=1",
        );
        assert_eq!(fields.unwrap()["Action"], ["ListDomains"]);
        assert!(super::fields(&headers("application/json"), b"{\"a\":1}").is_none());
        assert!(
            super::fields(&headers("multipart/form-data"), b"--x\r\n").is_none(),
            "no boundary"
        );
        assert!(
            super::fields(&headers("multipart/form-data; boundary=x"), b"garbage").is_none(),
            "no delimiter"
        );
        assert!(
            super::fields(&headers("multipart/form-data; boundary=x"), b"--x\r\nbroken").is_none(),
            "a part without its head's end"
        );
    }
}
