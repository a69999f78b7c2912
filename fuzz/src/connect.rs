//! The CONNECT line and target parsing, and the `Host`/`:authority` check:
//! a request head as the listener reads it, its target taken as the gate
//! takes it (`CONNECT host:port` at 443, `http://host/…` at 80, else the
//! `Host` at 443, as inside a tunnel), then checked against the request.
//!
//! Properties: a target is a lower-case host without a trailing dot,
//! brackets, user info or blanks; it re-renders (both as `host:port` and
//! as a URL authority) to text that parses to the same target; a request
//! passes the check only when every name it carries parses to the target;
//! and a request whose `Host` is the target's authority passes.

use clawgate::net::Target;
use http::Method;
use http::request::Parts;
use http::uri::Scheme;

use crate::request;

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let Some((parts, _)) = request::parse(data) else {
        return;
    };
    let (text, default_port) = if parts.method == Method::CONNECT {
        (parts.uri.authority().map_or("", |a| a.as_str()), 443)
    } else if parts.uri.scheme() == Some(&Scheme::HTTP) {
        (parts.uri.authority().map_or("", |a| a.as_str()), 80)
    } else {
        (request::host(&parts).unwrap_or(""), 443)
    };
    let Ok(target) = Target::parse(text, default_port) else {
        return;
    };
    well_formed(&target, text);
    let rendered = target.to_string();
    assert_eq!(
        Target::parse(&rendered, 1).as_ref(),
        Ok(&target),
        "{text:?} renders as {rendered:?}"
    );
    let authority = target.authority(default_port);
    assert_eq!(
        Target::parse(&authority, default_port).as_ref(),
        Ok(&target),
        "{text:?} has the authority {authority:?}"
    );
    check(&target, &parts, default_port);
    let upstream = http::Request::get("/").header("host", authority.as_str()).body(());
    let upstream = upstream.unwrap_or_else(|e| panic!("{text:?}: authority {authority:?} is not a Host: {e}"));
    assert_eq!(target.check_request(&upstream, default_port), Ok(()), "{text:?}");
}

/// What every parsed target holds.
fn well_formed(target: &Target, text: &str) {
    let host = target.host();
    assert!(!host.is_empty(), "{text:?}: empty host");
    assert_eq!(host, host.to_ascii_lowercase(), "{text:?}: host not lower-case");
    assert!(!host.ends_with('.'), "{text:?}: trailing dot kept in {host:?}");
    assert!(
        !host.contains(['@', '[', ']', '/', ' ', '\t', '\r', '\n']),
        "{text:?}: host {host:?} carries a character no host name has"
    );
}

/// `check_request` passes only when every name the request carries is the target.
fn check(target: &Target, parts: &Parts, default_port: u16) {
    let mut request = http::Request::new(());
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.headers_mut() = parts.headers.clone();
    if target.check_request(&request, default_port).is_err() {
        return;
    }
    let authority = parts.uri.authority().map(|a| a.as_str());
    let hosts = parts
        .headers
        .get_all(http::header::HOST)
        .iter()
        .map(|h| h.to_str().ok());
    let names: Vec<Option<&str>> = authority.map(Some).into_iter().chain(hosts).collect();
    assert!(!names.is_empty(), "a request naming no host passed");
    for name in names {
        let parsed = name.map(|n| Target::parse(n, default_port));
        assert_eq!(parsed, Some(Ok(target.clone())), "{name:?} passed as {target}");
    }
}
