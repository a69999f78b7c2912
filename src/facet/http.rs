//! The `http` facet: the request as the upstream will see it.

use std::collections::BTreeMap;

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

/// `a=1&b=2&a=3` → {a: [1, 3], b: [2]}, percent- and `+`-decoded.
pub fn parse_query(query: &str) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        map.entry(percent_decode(key, Plus::Space))
            .or_default()
            .push(percent_decode(value, Plus::Space));
    }
    map
}

/// What a `+` means in the text being decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plus {
    /// A space, as in query strings and forms.
    Space,
    /// A plus, as in paths and credentials.
    Literal,
}

/// Decodes `%XX` escapes (and `+` as `plus` says); invalid escapes stay as written.
pub fn percent_decode(text: &str, plus: Plus) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
                continue;
            }
            (b'+', _) if plus == Plus::Space => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_grouped_and_decoded() {
        let q = parse_query("list-type=2&prefix=a%2Fb+c&acl&x=1&x=2");
        assert_eq!(q["list-type"], ["2"]);
        assert_eq!(q["prefix"], ["a/b c"]);
        assert_eq!(q["acl"], [""]);
        assert_eq!(q["x"], ["1", "2"]);
    }

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
