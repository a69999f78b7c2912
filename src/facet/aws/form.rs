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

/// The text fields of a multipart form, up to its file (a part with a file
/// name, or the part named `file`, as S3 reads it: it reads nothing after).
/// Delimiters count only at the start of a line.
fn multipart(body: &[u8], boundary: &str) -> Option<Fields> {
    let delimiter = format!("\r\n--{boundary}");
    let finder = memmem::Finder::new(delimiter.as_bytes());
    // The first delimiter may open the body, without a line break before it.
    let mut at = if body.starts_with(&delimiter.as_bytes()[2..]) {
        delimiter.len() - 2
    } else {
        finder.find(body)? + delimiter.len()
    };
    let mut fields = Fields::new();
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
        if file || name.eq_ignore_ascii_case("file") {
            break;
        }
        let end = finder.find(content)?;
        fields
            .entry(name)
            .or_default()
            .push(String::from_utf8_lossy(&content[..end]).into_owned());
        at += 2 + head_end + 4 + end + delimiter.len();
    }
    Some(fields)
}

/// A part's field name and whether it is a file, from
/// `Content-Disposition: form-data; name="…"; filename="…"` (quoted values
/// may hold `;`).
fn disposition(head: &str) -> Option<(String, bool)> {
    let line = head.split("\r\n").find(|l| {
        l.split(':')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("content-disposition"))
    })?;
    let (_, value) = line.split_once(':')?;
    let mut name = None;
    let mut file = false;
    for (key, v) in params(value).into_iter().skip(1) {
        match key.to_ascii_lowercase().as_str() {
            "name" => name = Some(v),
            "filename" | "filename*" => file = true,
            _ => {}
        }
    }
    Some((name?, file))
}

/// `a; k="v; w"; k2=v2` as `(key, value)` pairs, quotes honoured; the first
/// pair is the disposition itself (`form-data`, empty value).
fn params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut key = String::new();
    let mut text = String::new();
    let mut in_value = false;
    let mut quoted = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => text.extend(chars.next()),
            ';' if !quoted => {
                out.push((std::mem::take(&mut key).trim().to_string(), std::mem::take(&mut text)));
                in_value = false;
            }
            '=' if !quoted && !in_value => {
                key = std::mem::take(&mut text);
                in_value = true;
            }
            c => text.push(c),
        }
    }
    if in_value {
        out.push((key.trim().to_string(), text));
    } else {
        out.push((text.trim().to_string(), String::new()));
    }
    out
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
    fn a_form_is_read_as_s3_reads_it() {
        let h = headers("multipart/form-data; boundary=b");
        let part = |name: &str, value: &str| {
            format!("--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
        };
        // A quoted `;` is part of the name; the part named `file` ends the fields.
        let body = format!(
            "{}{}{}--b--\r\n",
            part("x;filename=y", "1"),
            part("key", "real"),
            part("file", "contents")
        ) + &part("key", "after");
        let fields = fields(&h, body.as_bytes()).unwrap();
        assert_eq!(fields["x;filename=y"], ["1"]);
        assert_eq!(fields["key"], ["real"], "nothing after the file: {fields:?}");
        // A delimiter in the middle of a line is text.
        let body = format!("{}--b--\r\n", part("key", "a --b b"));
        assert_eq!(super::fields(&h, body.as_bytes()).unwrap()["key"], ["a --b b"]);
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
