//! An HTTP/1 request head, read from fuzz input as hyper reads it off the
//! wire (httparse, then the `http` types), so targets see what the proxy sees.

use http::request::Parts;

/// The most headers a request may carry (hyper's default).
const MAX_HEADERS: usize = 100;

/// `data` as a request: its head and the bytes after it (the body); `None`
/// where hyper would refuse it before clawgate saw it.
pub fn parse(data: &[u8]) -> Option<(Parts, &[u8])> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(length) = head.parse(data).ok()? else {
        return None;
    };
    let mut builder = http::Request::builder().method(head.method?).uri(head.path?);
    for header in head.headers.iter() {
        builder = builder.header(header.name, header.value);
    }
    let (parts, ()) = builder.body(()).ok()?.into_parts();
    Some((parts, &data[length..]))
}

/// The request's `Host` header, if it has one that is text.
pub fn host(parts: &Parts) -> Option<&str> {
    parts.headers.get(http::header::HOST)?.to_str().ok()
}
