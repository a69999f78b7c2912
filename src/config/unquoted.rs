//! Unquoted CEL after `match =` / `condition =`, as rule authors write it.
//!
//! HCL cannot parse `aws.action.startsWith("Get")`, so before parsing, each
//! such expression is read (to the end of its line, continuing while brackets
//! are open or the line ends in `||` or `&&`) and replaced by an equivalent
//! quoted string on the same line, followed by the newlines it spanned, so
//! every other position in the file stays where it was.

/// An expression that was written unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unquoted {
    /// Byte offset of the expression in the original text.
    pub start: usize,
    /// The expression as written (comments and trailing blanks removed).
    pub text: String,
}

/// The attribute names whose values may be unquoted CEL.
const CEL_ATTRIBUTES: [&str; 2] = ["match", "condition"];

/// Rewrites `text` so that it parses as HCL; returns the new text and the
/// expressions that were rewritten, in order.
pub(super) fn quote_unquoted(text: &str) -> (String, Vec<Unquoted>) {
    let mut out = String::with_capacity(text.len() + 64);
    let mut found = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let line = &text[pos..line_end];
        match unquoted_value_start(line) {
            Some(offset) => {
                let start = pos + offset;
                let (end, expr) = read_expression(text, start);
                out.push_str(&text[pos..start]);
                out.push_str(&quote(&expr));
                // Keep every line of the original: the newlines the expression spanned.
                out.extend(std::iter::repeat_n('\n', text[start..end].matches('\n').count()));
                found.push(Unquoted { start, text: expr });
                pos = end;
            }
            None => {
                out.push_str(line);
                if line_end < text.len() {
                    out.push('\n');
                }
                pos = line_end + 1;
            }
        }
    }
    (out, found)
}

/// If `line` is `match = <something unquoted>`, the offset of `<something>`.
fn unquoted_value_start(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    let key = CEL_ATTRIBUTES.iter().find(|k| trimmed.starts_with(**k))?;
    let after_key = &trimmed[key.len()..];
    let rest = after_key.trim_start().strip_prefix('=')?;
    if rest.starts_with('=') {
        return None;
    }
    let value = rest.trim_start();
    let is_comment = |t: &str| t.is_empty() || t.starts_with('#') || t.starts_with("//");
    if is_comment(value) || value.starts_with("<<") || is_one_string(value, is_comment) {
        return None;
    }
    Some(line.len() - value.len())
}

/// Whether `value` is a single quoted string (then a comment or nothing),
/// rather than CEL that starts with a string, like `"x" in http.headers`.
fn is_one_string(value: &str, is_comment: impl Fn(&str) -> bool) -> bool {
    let Some(body) = value.strip_prefix('"') else {
        return false;
    };
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return is_comment(body[i + 1..].trim_start()),
            _ => {}
        }
    }
    false
}

/// Reads a CEL expression starting at `start`: to the end of the line,
/// continuing while brackets are open or the line ends with `||` or `&&`.
/// Comments (`#`, `//`) outside string literals are dropped. Returns the
/// offset just past the expression (before the final newline) and its text.
fn read_expression(text: &str, start: usize) -> (usize, String) {
    let bytes = text.as_bytes();
    let mut expr = String::new();
    let mut depth: i32 = 0;
    let mut quote: Option<u8> = None;
    let mut i = start;
    let mut line_start = expr.len();
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' && i + 1 < bytes.len() {
                // The backslash and the whole character it escapes.
                let escaped = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                expr.push_str(&text[i..i + 1 + escaped]);
                i += 1 + escaped;
                continue;
            }
            if b == q {
                quote = None;
            }
        } else {
            match b {
                b'"' | b'\'' => quote = Some(b),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b'#' => i = skip_to_line_end(text, i),
                b'/' if bytes.get(i + 1) == Some(&b'/') => i = skip_to_line_end(text, i),
                _ => {}
            }
            if i == bytes.len() {
                break; // a comment ran to the end of a file with no final newline
            }
            if bytes[i] == b'\n' {
                let line = expr[line_start..].trim_end();
                let continues = depth > 0 || line.ends_with("||") || line.ends_with("&&");
                if !continues {
                    break;
                }
                expr.truncate(line_start + expr[line_start..].trim_end().len());
                expr.push('\n');
                line_start = expr.len();
                i += 1;
                continue;
            }
        }
        let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
        expr.push_str(&text[i..i + ch_len]);
        i += ch_len;
    }
    let end = i;
    let trimmed = expr.trim_end().to_string();
    (end, trimmed)
}

fn skip_to_line_end(text: &str, from: usize) -> usize {
    text[from..].find('\n').map_or(text.len(), |n| from + n)
}

/// `text` as an HCL quoted string: backslashes, quotes, newlines and
/// template openers (`${`, `%{`) escaped.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_expressions_become_quoted_strings() {
        let text = "rule \"r\" {\n  match = aws.action.startsWith(\"Get\") # reads\n  action = \"allow\"\n}\n";
        let (out, found) = quote_unquoted(text);
        assert_eq!(
            out,
            "rule \"r\" {\n  match = \"aws.action.startsWith(\\\"Get\\\")\"\n  action = \"allow\"\n}\n"
        );
        assert_eq!(found[0].text, "aws.action.startsWith(\"Get\")");
        assert_eq!(&text[found[0].start..found[0].start + 3], "aws");
    }

    #[test]
    fn open_brackets_and_trailing_operators_continue_the_expression() {
        let text = "  condition = !(a ||\n     b) &&\n  c == 'x#y'\n  action = \"deny\"\n";
        let (out, found) = quote_unquoted(text);
        // Continuation lines keep their indentation, so positions map back to the file.
        assert_eq!(found[0].text, "!(a ||\n     b) &&\n  c == 'x#y'");
        assert_eq!(out.lines().count(), text.lines().count(), "line numbers are kept");
        assert!(out.ends_with("\n\n\n  action = \"deny\"\n"), "{out:?}");
    }

    #[test]
    fn quoted_heredoc_and_other_attributes_are_left_alone() {
        let text = "match = \"a\"\ncondition = <<EOT\nb\nEOT\nmatches = x\nmatch == y\n";
        let (out, found) = quote_unquoted(text);
        assert_eq!(out, text);
        assert!(found.is_empty());
    }

    #[test]
    fn an_expression_that_starts_with_a_string_is_cel_not_a_quoted_value() {
        let (out, found) = quote_unquoted("match = \"x-forbidden\" in http.headers\n");
        assert_eq!(found[0].text, "\"x-forbidden\" in http.headers");
        assert_eq!(out, "match = \"\\\"x-forbidden\\\" in http.headers\"\n");
        let (_, found) = quote_unquoted("match = \"a \\\" b\" # quoted\n");
        assert!(found.is_empty());
    }

    #[test]
    fn template_openers_are_escaped() {
        let (out, _) = quote_unquoted("match = x == \"${y}\"\n");
        assert_eq!(out, "match = \"x == \\\"$${y}\\\"\"\n");
    }

    /// Found by fuzzing: both panicked slicing the text.
    #[test]
    fn a_comment_at_the_end_of_the_file_or_an_escaped_non_ascii_character_is_read() {
        let (out, found) = quote_unquoted("match = a == 1 # no newline after this");
        assert_eq!((out.as_str(), found[0].text.as_str()), ("match = \"a == 1\"", "a == 1"));
        let (_, found) = quote_unquoted("match = a == \"\\é\"\n");
        assert_eq!(found[0].text, "a == \"\\é\"");
    }
}
