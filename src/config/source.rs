//! One rule file's text, and positions within it.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::ConfigError;
use super::unquoted::{Unquoted, quote_unquoted};

/// A place in a rule file, printed as `file:line:col` (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The rule file.
    pub file: Arc<Path>,
    /// Line number, counting from 1.
    pub line: usize,
    /// Column (in characters), counting from 1.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A rule file read into memory, with unquoted CEL quoted so that it parses
/// as HCL. Lines are kept, so positions outside CEL expressions are those of
/// the file as written.
#[derive(Debug)]
pub(super) struct Source {
    path: Arc<Path>,
    text: String,
    unquoted: Vec<Unquoted>,
    original: String,
}

impl Source {
    /// Reads the file at `path`.
    pub(super) fn read(path: &Path) -> Result<Source, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Source::new(path, text))
    }

    /// A source from text already in memory.
    pub(super) fn new(path: &Path, original: String) -> Source {
        let (text, unquoted) = quote_unquoted(&original);
        Source {
            path: Arc::from(path),
            text,
            unquoted,
            original,
        }
    }

    /// The unquoted CEL expression written on the line where `span` starts, if any.
    pub(super) fn unquoted_at(&self, span: Option<Range<usize>>) -> Option<Location> {
        let line = self.locate(span).line;
        self.unquoted.iter().find_map(|u| {
            let before = &self.original[..u.start];
            let at_line = before.matches('\n').count() + 1;
            let column = before[before.rfind('\n').map_or(0, |i| i + 1)..].chars().count() + 1;
            (at_line == line).then(|| self.at(line, column))
        })
    }

    /// The file's text.
    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// The directory holding the file.
    pub(super) fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// The location of the start of `span` (a byte range into the text);
    /// the start of the file when the parser gave no span.
    pub(super) fn locate(&self, span: Option<Range<usize>>) -> Location {
        let offset = span.map_or(0, |s| s.start).min(self.text.len());
        let before = &self.text[..self.text.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            file: Arc::clone(&self.path),
            line,
            column: before[line_start..].chars().count() + 1,
        }
    }

    /// A location given as a line and column by the parser.
    pub(super) fn at(&self, line: usize, column: usize) -> Location {
        Location {
            file: Arc::clone(&self.path),
            line,
            column,
        }
    }
}
