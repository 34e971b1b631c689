//! Errors from parsing policy text, worded so the author can fix the policy.

use std::fmt;

/// Where in a policy a problem was found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line in the policy text (`None` for JSON policies).
    pub line: Option<usize>,
    /// The `path "..."` block the problem is in, if any.
    pub path: Option<String>,
}

impl Location {
    pub(crate) fn new(line: Option<usize>, path: Option<&str>) -> Location {
        Location {
            line,
            path: path.map(str::to_owned),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(path) = &self.path {
            write!(f, "path \"{path}\": ")?;
        }
        Ok(())
    }
}

/// Why policy text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("policy is empty: write at least one `path \"...\" {{ capabilities = [...] }}` block")]
    Empty,

    #[error("invalid HCL on line {line}, column {column}: {message} (in `{source_line}`)")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
        source_line: String,
    },

    #[error("invalid JSON on line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },

    #[error("{at}unknown key \"{key}\" (expected one of: {expected})")]
    UnknownKey {
        at: Location,
        key: String,
        expected: &'static str,
    },

    #[error(
        "{at}unknown capability \"{capability}\" \
         (expected any of: create, read, update, patch, delete, list, sudo, deny)"
    )]
    UnknownCapability { at: Location, capability: String },

    #[error("{at}\"{key}\" is not supported by Cofre; remove it from the policy")]
    Unsupported { at: Location, key: String },

    #[error("{at}{message}")]
    Invalid { at: Location, message: String },
}

impl ParseError {
    pub(crate) fn invalid(at: &Location, message: impl Into<String>) -> ParseError {
        ParseError::Invalid {
            at: at.clone(),
            message: message.into(),
        }
    }
}
