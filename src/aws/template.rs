//! Request URI templates from the service models: `/{Bucket}/{Key+}?uploads`.

/// One path segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Exactly this text.
    Literal(String),
    /// One non-empty segment bound to the named member, possibly with a
    /// literal prefix and suffix (`{Name}.json`).
    Label {
        /// The member bound.
        name: String,
        /// Text before the label within the segment.
        prefix: String,
        /// Text after it.
        suffix: String,
    },
    /// One or more segments (the rest of the path) bound to the member.
    Greedy(String),
}

/// A parsed `requestUri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    /// The path segments.
    pub segments: Vec<Segment>,
    /// Literal query keys, with a required value or none.
    pub query: Vec<(String, Option<String>)>,
}

impl UriTemplate {
    /// Parses a model's `requestUri`.
    pub fn parse(text: &str) -> UriTemplate {
        let (path, query) = text.split_once('?').unwrap_or((text, ""));
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match (s.find('{'), s.find('}')) {
                (Some(open), Some(close)) if open < close => {
                    let name = &s[open + 1..close];
                    match name.strip_suffix('+') {
                        Some(greedy) => Segment::Greedy(greedy.to_string()),
                        None => Segment::Label {
                            name: name.to_string(),
                            prefix: s[..open].to_string(),
                            suffix: s[close + 1..].to_string(),
                        },
                    }
                }
                _ => Segment::Literal(s.to_string()),
            })
            .collect();
        let query = query
            .split('&')
            .filter(|q| !q.is_empty())
            .map(|q| match q.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (q.to_string(), None),
            })
            .collect();
        UriTemplate { segments, query }
    }

    /// Matches `path` (segments, raw) and returns the bound labels and the
    /// number of literal characters matched, or `None`.
    pub fn matches(&self, path: &[&str]) -> Option<(Vec<(&str, String)>, usize)> {
        let mut bound = Vec::new();
        let literal = self.walk(path, |name, value| bound.push((name, value.text())))?;
        Some((bound, literal))
    }

    /// The number of literal characters `path` matches, or `None`: what
    /// [`UriTemplate::matches`] says, without binding (no allocation).
    pub fn fits(&self, path: &[&str]) -> Option<usize> {
        self.walk(path, |_, _| {})
    }

    /// Walks `path` along the template, handing each label's value to `bind`.
    fn walk<'t, 'p>(&'t self, path: &[&'p str], mut bind: impl FnMut(&'t str, Value<'_, 'p>)) -> Option<usize> {
        let mut literal = 0;
        let mut i = 0;
        for (n, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(text) => {
                    if path.get(i) != Some(&text.as_str()) {
                        return None;
                    }
                    literal += text.len() + 1;
                    i += 1;
                }
                Segment::Label { name, prefix, suffix } => {
                    // Most labels are a whole segment: no text to strip.
                    let mut value = *path.get(i)?;
                    if !prefix.is_empty() {
                        value = value.strip_prefix(prefix.as_str())?;
                    }
                    if !suffix.is_empty() {
                        value = value.strip_suffix(suffix.as_str())?;
                    }
                    if value.is_empty() {
                        return None;
                    }
                    literal += prefix.len() + suffix.len();
                    bind(name, Value::One(value));
                    i += 1;
                }
                Segment::Greedy(name) => {
                    // One or more segments, leaving one for each template
                    // segment after it (`/{Name+}/policy`); a trailing slash
                    // stays with the greedy label when it is the last.
                    let after = self.segments.len() - n - 1;
                    let len = match path.last() {
                        Some(&"") if after > 0 => path.len() - 1,
                        _ => path.len(),
                    };
                    let end = len.checked_sub(after).filter(|&end| end > i)?;
                    let rest = &path[i..end];
                    // At least one character: `/b/` names no key, `/b//` the key `/`.
                    if rest == [""] {
                        return None;
                    }
                    bind(name, Value::Rest(rest));
                    i = end;
                }
            }
        }
        // A single trailing slash is not a segment of its own.
        let rest = &path[i..];
        (rest.is_empty() || rest == [""]).then_some(literal)
    }
}

/// A label's value in the path: one segment's text, or a greedy label's segments.
enum Value<'a, 'p> {
    One(&'p str),
    Rest(&'a [&'p str]),
}

impl Value<'_, '_> {
    fn text(&self) -> String {
        match self {
            Value::One(text) => text.to_string(),
            Value::Rest(segments) => segments.join("/"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(path: &str) -> Vec<&str> {
        path.strip_prefix('/')
            .unwrap_or(path)
            .split('/')
            .filter(|_| path != "/")
            .collect()
    }

    #[test]
    fn labels_greedy_labels_and_literal_query_keys() {
        let t = UriTemplate::parse("/{Bucket}/{Key+}?uploads");
        assert_eq!(t.query, [("uploads".to_string(), None)]);
        let (bound, _) = t.matches(&split("/b/dir/file name.txt")).unwrap();
        assert_eq!(
            bound,
            [("Bucket", "b".to_string()), ("Key", "dir/file name.txt".to_string())]
        );
        assert!(t.matches(&split("/b")).is_none(), "a key is required");
        let t = UriTemplate::parse("/2015-03-31/functions/{FunctionName}/invocations");
        assert!(t.matches(&split("/2015-03-31/functions/f/invocations")).is_some());
        assert!(t.matches(&split("/2015-03-31/functions/f/other")).is_none());
        assert!(UriTemplate::parse("/").matches(&split("/")).is_some());
        assert!(
            UriTemplate::parse("/{Bucket}").matches(&split("/b/")).is_some(),
            "trailing slash"
        );
        assert_eq!(
            UriTemplate::parse("/{Bucket}?list-type=2").query,
            [("list-type".to_string(), Some("2".to_string()))]
        );
    }

    #[test]
    fn a_greedy_label_may_be_followed_by_more_path() {
        let t = UriTemplate::parse("/v20180820/mrap/instances/{Name+}/policy");
        let (bound, _) = t.matches(&split("/v20180820/mrap/instances/a/b/policy")).unwrap();
        assert_eq!(bound, [("Name", "a/b".to_string())]);
        assert!(
            t.matches(&split("/v20180820/mrap/instances/policy")).is_none(),
            "a name is required"
        );
        assert!(t.matches(&split("/v20180820/mrap/instances/a/other")).is_none());
        assert!(
            t.matches(&split("/v20180820/mrap/instances/a/policy/")).is_some(),
            "trailing slash"
        );
        let whole = UriTemplate::parse("/v20180820/mrap/instances/{Name+}");
        let (bound, _) = whole.matches(&split("/v20180820/mrap/instances/a/policy")).unwrap();
        assert_eq!(
            bound,
            [("Name", "a/policy".to_string())],
            "the shorter template still matches"
        );
    }
}
