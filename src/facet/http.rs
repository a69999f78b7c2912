//! The `http` facet: the request as the upstream will see it.

use std::collections::BTreeMap;

use crate::net::query::parse_query;

/// `http.*`: method, host, path, query and headers (names lower-case).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpFacts {
    /// `http.method`, e.g. `GET`.
    pub method: String,
    /// `http.host`, lower-case, without the port.
    pub host: String,
    /// `http.path`, as sent (percent-encoded).
    pub path: String,
    /// `http.query`: each parameter's values, decoded.
    pub query: BTreeMap<String, Vec<String>>,
    /// `http.headers`: each header's values, names lower-case.
    pub headers: BTreeMap<String, Vec<String>>,
}

impl HttpFacts {
    /// The facts of a request (its head) for `host`.
    pub fn from_parts(request: &http::request::Parts, host: &str) -> HttpFacts {
        let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in &request.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            headers.entry(name.as_str().to_string()).or_default().push(value);
        }
        HttpFacts {
            method: request.method.as_str().to_string(),
            host: host.to_string(),
            path: request.uri.path().to_string(),
            query: parse_query(request.uri.query().unwrap_or("")),
            headers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_lower_case_with_every_value() {
        let request = http::Request::get("https://h/p?q=1")
            .header("X-Amz-Target", "a")
            .header("x-amz-target", "b")
            .body(())
            .unwrap();
        let facts = HttpFacts::from_parts(&request.into_parts().0, "h");
        assert_eq!(facts.headers["x-amz-target"], ["a", "b"]);
        assert_eq!((facts.method.as_str(), facts.path.as_str()), ("GET", "/p"));
    }
}
