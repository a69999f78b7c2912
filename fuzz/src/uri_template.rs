//! URI templates: an agent's path matched against every REST operation of
//! one service model, as operation resolution matches it.
//!
//! Input: a service's host prefix (`s3`, `lambda`), a newline, the path.
//!
//! Properties: a template that matches binds non-empty values, counts no
//! more literal characters than the path has, and filled with what it
//! bound gives back the path (a single trailing slash aside).

use clawgate::aws::MODELS;
use clawgate::aws::template::{Segment, UriTemplate};

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((prefix, path)) = text.split_once('\n') else {
        return;
    };
    // Split as the facet splits a request's path.
    let mut segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    if segments == [""] {
        segments.clear();
    }
    let joined = segments.join("/");
    let models = MODELS.services().iter().filter(|s| s.endpoint_prefix == prefix);
    for operation in models.flat_map(|s| &s.operations) {
        let fits = operation.uri.fits(&segments);
        let Some((bound, literal)) = operation.uri.matches(&segments) else {
            assert_eq!(fits, None, "{}: fits but does not match", operation.name);
            continue;
        };
        assert_eq!(fits, Some(literal), "{}: fits and matches disagree", operation.name);
        let name = &operation.name;
        assert!(
            literal <= joined.len() + 1,
            "{name}: {literal} literal characters in {path:?}"
        );
        assert!(
            bound.iter().all(|(_, v)| !v.is_empty()),
            "{name}: an empty label in {path:?}"
        );
        let filled = fill(&operation.uri, &bound);
        assert!(
            joined == filled || joined == format!("{filled}/"),
            "{name}: {path:?} filled back is {filled:?}"
        );
    }
}

/// The path `template` names with the labels `bound`.
fn fill(template: &UriTemplate, bound: &[(&str, String)]) -> String {
    let mut values = bound.iter().map(|(_, v)| v.as_str());
    let segments = template.segments.iter().map(|segment| match segment {
        Segment::Literal(text) => text.clone(),
        Segment::Label { prefix, suffix, .. } => format!("{prefix}{}{suffix}", values.next().unwrap_or("")),
        Segment::Greedy(_) => values.next().unwrap_or("").to_string(),
    });
    segments.collect::<Vec<_>>().join("/")
}
