//! Percent-decoding and query strings, as URLs, forms and credentials
//! write them: one decoder for every part of clawgate that reads them.

use std::collections::BTreeMap;

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
}
