//! The one error type of the crate: every variant says where (file, service, key) and what.

use std::fmt;
use std::path::PathBuf;

/// Where in the compose input a problem is: file, optionally service, and the key path
/// (`ports[2].published`, `networks.front.ipam`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The compose file as the user named it (or `<inline>` for `TaskInfo.data`).
    pub file: String,
    /// The service, when the problem is inside one.
    pub service: Option<String>,
    /// Dotted key path inside the service (or from the document root when no service).
    pub key: String,
    /// 1-based line of the key in the file, when it could be found (block-style YAML).
    pub line: Option<usize>,
}

impl Location {
    /// A location without a line number.
    pub fn new(file: impl Into<String>, service: Option<&str>, key: impl Into<String>) -> Self {
        Location {
            file: file.into(),
            service: service.map(str::to_string),
            key: key.into(),
            line: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(service) = &self.service {
            write!(f, ": service \"{service}\"")?;
        }
        if !self.key.is_empty() {
            write!(f, ": key \"{}\"", self.key)?;
        }
        Ok(())
    }
}

/// Everything that can go wrong turning compose sources into a [`crate::Project`].
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// No sources were given and no default compose file exists.
    #[error("no compose file found in {sandbox} (looked for {looked_for})")]
    NoComposeFile {
        /// The sandbox searched.
        sandbox: PathBuf,
        /// The file names tried, comma-separated.
        looked_for: String,
    },
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The path as named by the user (or resolved).
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A path leaves the sandbox (`..`, an absolute path elsewhere, or a symlink).
    #[error("{path}: resolves to {resolved}, outside the sandbox {sandbox}")]
    OutsideSandbox {
        /// The path as written.
        path: String,
        /// Where it actually points.
        resolved: PathBuf,
        /// The sandbox root.
        sandbox: PathBuf,
    },
    /// A file is bigger than the configured limit; checked before parsing.
    #[error("{file}: {size} bytes exceeds the compose file size limit of {limit} bytes")]
    FileTooLarge {
        /// The file.
        file: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The YAML parser rejected the document.
    #[error("{file}: invalid YAML{}: {message}", line_suffix(*line, *column))]
    Yaml {
        /// The file.
        file: String,
        /// 1-based line, when the parser gives one.
        line: Option<usize>,
        /// 1-based column, when the parser gives one.
        column: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// `${VAR:?err}` on an unset variable, or malformed `${…}` syntax.
    #[error("{at}: interpolation failed: {message}")]
    Interpolation {
        /// Where the string was.
        at: Location,
        /// What went wrong.
        message: String,
    },
    /// A key compose does not define (a typo, most likely).
    #[error("{at}: unknown key{}", suggestion.as_ref().map(|s| format!(" (did you mean \"{s}\"?)")).unwrap_or_default())]
    UnknownKey {
        /// The key (`at.key` is its full path).
        at: Location,
        /// A known key close to it.
        suggestion: Option<String>,
    },
    /// A valid compose key that dce does not implement.
    #[error("{at}: not supported by dce: {reason}")]
    UnsupportedKey {
        /// The key (`at.key` is its full path).
        at: Location,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A key whose value has the wrong type or form, or a broken reference.
    #[error("{at}: {message}")]
    Invalid {
        /// Where the value is.
        at: Location,
        /// What is wrong with it.
        message: String,
    },
    /// `extends` chains that loop.
    #[error("extends cycle: {chain}")]
    ExtendsCycle {
        /// The services in the loop, `file:service -> …`.
        chain: String,
    },
}

fn line_suffix(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l} column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}
