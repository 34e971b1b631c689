//! Config errors: what is wrong and where (file, line, block), and warnings for ignored keys.

use std::path::{Path, PathBuf};

use crate::duration::DurationError;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file was read but is not a valid configuration.
    #[error("{}{problem}", location(file.as_deref(), *line, context))]
    Invalid {
        /// The file, when loaded from one.
        file: Option<PathBuf>,
        /// The 1-based line, when known.
        line: Option<usize>,
        /// The block the problem is in, e.g. `listener "tcp"`; empty at the top level.
        context: String,
        /// What is wrong (boxed to keep `Result`s small).
        problem: Box<Problem>,
    },
}

/// What is wrong with a configuration; shown after the file, line and block.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Problem {
    /// The text is neither valid HCL nor valid JSON.
    #[error("syntax error at column {column}: {message}")]
    Syntax {
        /// The 1-based column.
        column: usize,
        /// The parser's explanation.
        message: String,
    },
    /// An attribute's value is an expression that cannot be computed (e.g. uses a variable).
    #[error("cannot compute the value of {key}: {message}")]
    Expression {
        /// The attribute.
        key: String,
        /// The evaluator's explanation.
        message: String,
    },
    /// No `listener` block.
    #[error(
        "no listener is configured; add one such as \
         listener \"tcp\" {{ address = \"127.0.0.1:8200\" ... }}"
    )]
    MissingListener,
    /// No `storage` block.
    #[error(
        "no storage is configured; add one such as storage \"sled\" {{ path = \"/var/lib/cofre\" }} \
         (supported types: inmem, sled, postgresql)"
    )]
    MissingStorage,
    /// Two `storage` (or `backend`) blocks.
    #[error("storage is configured more than once; keep exactly one storage block")]
    DuplicateStorage,
    /// Two `seal` blocks.
    #[error("seal is configured more than once; keep at most one seal block")]
    DuplicateSeal,
    /// A storage type Cofre does not have.
    #[error(
        "unsupported storage type \"{0}\"; Cofre supports \"inmem\", \"sled\" and \"postgresql\""
    )]
    UnsupportedStorage(String),
    /// A listener type Cofre does not have.
    #[error("unsupported listener type \"{0}\"; Cofre supports \"tcp\"")]
    UnsupportedListener(String),
    /// A seal type Cofre does not have.
    #[error(
        "unsupported seal type \"{0}\"; Cofre supports \"static\" \
         (or no seal block, for Shamir key shares)"
    )]
    UnsupportedSeal(String),
    /// A setting Cofre recognises but cannot honour; ignoring it would be unsafe.
    #[error("{key} is not supported: {reason}")]
    Unsupported {
        /// The attribute.
        key: &'static str,
        /// Why, and what to do instead.
        reason: &'static str,
    },
    /// TLS is on but a certificate or key file is not set.
    #[error(
        "TLS is enabled but {missing} is not set; set both tls_cert_file and tls_key_file, \
         or set tls_disable = true"
    )]
    MissingTlsFile {
        /// `tls_cert_file` or `tls_key_file`.
        missing: &'static str,
    },
    /// A required attribute is missing or empty.
    #[error("{attribute} is required")]
    MissingAttribute {
        /// The attribute.
        attribute: &'static str,
    },
    /// A block has the wrong number of labels.
    #[error("{block} needs {expected}, as in {example}")]
    WrongLabels {
        /// The block type.
        block: String,
        /// How many labels and what they mean.
        expected: &'static str,
        /// A correct header.
        example: &'static str,
    },
    /// A value of the wrong type or out of range.
    #[error("{key} must be {expected}, not {found}")]
    InvalidValue {
        /// The attribute.
        key: String,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: String,
    },
    /// A duration that does not parse.
    #[error("{key}: {source}")]
    InvalidDuration {
        /// The attribute.
        key: String,
        /// Why it does not parse.
        source: DurationError,
    },
    /// The same attribute twice in one block.
    #[error("{key} is set more than once")]
    DuplicateAttribute {
        /// The attribute.
        key: String,
    },
    /// A block type written as an attribute (`storage = "sled"`).
    #[error("{key} must be a block, as in {key} \"type\" {{ ... }}")]
    NotABlock {
        /// The key.
        key: String,
    },
    /// An attribute written as a block.
    #[error("{key} must be set as {key} = value, not as a block")]
    NotAnAttribute {
        /// The key.
        key: String,
    },
    /// `default_lease_ttl` longer than `max_lease_ttl`.
    #[error("default_lease_ttl ({default}) cannot be longer than max_lease_ttl ({max})")]
    LeaseTtlOrder {
        /// The default TTL, Go-formatted.
        default: String,
        /// The maximum TTL, Go-formatted.
        max: String,
    },
    /// Two audit blocks with the same path.
    #[error("another audit device already uses the path \"{0}\"; each needs its own path")]
    DuplicateAuditPath(String),
    /// `previous_key` without `previous_key_id`, or the reverse.
    #[error("previous_key and previous_key_id must be set together")]
    IncompletePreviousKey,
}

impl ConfigError {
    pub(super) fn at(line: Option<usize>, context: &str, problem: Problem) -> ConfigError {
        ConfigError::Invalid {
            file: None,
            line,
            context: context.to_owned(),
            problem: Box::new(problem),
        }
    }

    /// What is wrong, unless the file could not be read at all.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ConfigError::Invalid { problem, .. } => Some(problem),
            ConfigError::Read { .. } => None,
        }
    }

    /// The 1-based line of the problem, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Invalid { line, .. } => *line,
            ConfigError::Read { .. } => None,
        }
    }

    pub(super) fn in_file(self, path: &Path) -> ConfigError {
        match self {
            ConfigError::Invalid {
                line,
                context,
                problem,
                ..
            } => ConfigError::Invalid {
                file: Some(path.to_owned()),
                line,
                context,
                problem,
            },
            read => read,
        }
    }
}

/// A key no parser took, reported like Vault's "unknown or unsupported field".
#[derive(Debug)]
pub(super) struct Warning {
    pub line: Option<usize>,
    pub context: String,
    pub key: String,
}

impl Warning {
    pub fn render(&self, file: Option<&Path>) -> String {
        let prefix = location(file, self.line, &self.context);
        format!(
            "{prefix}\"{}\" is unknown or unsupported and was ignored",
            self.key
        )
    }
}

/// "config file F line N: block: " with the parts that are known.
fn location(file: Option<&Path>, line: Option<usize>, context: &str) -> String {
    let mut text = match file {
        Some(file) => format!("config file {}", file.display()),
        None => "config".to_owned(),
    };
    if let Some(line) = line {
        text.push_str(&format!(" line {line}"));
    }
    text.push_str(": ");
    if !context.is_empty() {
        text.push_str(context);
        text.push_str(": ");
    }
    text
}
