//! What can be wrong with a rule directory.

use std::fmt;
use std::path::PathBuf;

use super::Location;

/// One problem found while loading rule files. Messages are written for the
/// person editing the file: where, what is wrong, and what to write instead.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or directory could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid HCL.
    #[error("{at}: syntax error: {message}")]
    Syntax {
        /// Where the parser stopped.
        at: Location,
        /// The parser's explanation.
        message: String,
    },
    /// A block type clawgate does not know.
    #[error("{at}: unknown block `{name}`; expected one of: {expected}")]
    UnknownBlock {
        /// Where the block starts.
        at: Location,
        /// The block's type as written.
        name: String,
        /// The block types clawgate reads.
        expected: &'static str,
    },
    /// A block is missing or has extra labels.
    #[error("{at}: `{block}` block needs {expected}, e.g. `{example}`")]
    Labels {
        /// Where the block starts.
        at: Location,
        /// The block type.
        block: String,
        /// What labels it takes, in words.
        expected: &'static str,
        /// A correct first line.
        example: &'static str,
    },
    /// An attribute that the block does not take.
    #[error("{at}: `{name}` is not a setting of {block}; expected one of: {expected}")]
    UnknownAttribute {
        /// Where the attribute is.
        at: Location,
        /// Which block, e.g. `gateway` or `endpoint "https" "github"`.
        block: String,
        /// The attribute as written.
        name: String,
        /// The settings the block takes.
        expected: &'static str,
    },
    /// A required attribute is absent.
    #[error("{at}: {block} needs `{name}`, e.g. `{example}`")]
    MissingAttribute {
        /// Where the block starts.
        at: Location,
        /// Which block.
        block: String,
        /// The missing attribute.
        name: &'static str,
        /// A correct line.
        example: &'static str,
    },
    /// An attribute whose value is of the wrong form.
    #[error("{at}: `{name}`: {problem}")]
    InvalidValue {
        /// Where the value is.
        at: Location,
        /// The attribute.
        name: String,
        /// What is wrong, and what to write instead.
        problem: String,
    },
    /// A rule's condition is not valid CEL, or reads what no facet has.
    #[error("{at}: {message}")]
    Condition {
        /// Where in the condition.
        at: Location,
        /// What is wrong, with a hint where there is one.
        message: String,
    },
    /// Two definitions with the same name.
    #[error("{at}: {what} is defined twice; the first definition is at {first}")]
    Duplicate {
        /// The second definition.
        at: Location,
        /// What is duplicated, e.g. `agent "ci-bot"`.
        what: String,
        /// The first definition.
        first: Location,
    },
}

impl ConfigError {
    /// Where in a rule file the problem is, if it is in one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Syntax { at, .. }
            | ConfigError::UnknownBlock { at, .. }
            | ConfigError::Labels { at, .. }
            | ConfigError::UnknownAttribute { at, .. }
            | ConfigError::MissingAttribute { at, .. }
            | ConfigError::InvalidValue { at, .. }
            | ConfigError::Condition { at, .. }
            | ConfigError::Duplicate { at, .. } => Some(at),
        }
    }
}

/// Every problem found in a rule directory, in file and line order.
#[derive(Debug)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    /// The individual problems.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }
}

impl From<Vec<ConfigError>> for ConfigErrors {
    fn from(mut errors: Vec<ConfigError>) -> ConfigErrors {
        errors.sort_by(|a, b| {
            let key = |e: &ConfigError| e.location().map(|l| (l.file.clone(), l.line, l.column));
            key(a).cmp(&key(b))
        });
        ConfigErrors(errors)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} error{} in the rule files", if n == 1 { "" } else { "s" })?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
