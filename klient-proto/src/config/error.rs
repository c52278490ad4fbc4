//! Why a kubeconfig could not be read. Errors name the file and the field, never a value: any
//! field may hold a secret.

use std::fmt;
use std::path::PathBuf;

/// A kubeconfig file could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The file, when the caller passed one to [`Kubeconfig::from_bytes`](super::Kubeconfig::from_bytes).
    pub origin: Option<PathBuf>,
    /// What was wrong.
    pub kind: ParseErrorKind,
}

/// What was wrong with a kubeconfig file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The file is larger than klient accepts.
    TooLarge {
        /// Length of the file.
        len: usize,
        /// The limit, [`MAX_KUBECONFIG_LEN`](super::MAX_KUBECONFIG_LEN).
        max: usize,
    },
    /// The file is not well-formed YAML or JSON.
    Syntax {
        /// `"YAML"` or `"JSON"`.
        format: &'static str,
        /// 1-based line, 0 when unknown.
        line: usize,
        /// 1-based column, 0 when unknown.
        column: usize,
        /// The parser's description (it never quotes scalar values).
        message: String,
    },
    /// A field holds the wrong kind of value.
    WrongType {
        /// Where, such as `users["admin"].user.as-groups[0]`.
        field: String,
        /// What the field must hold, such as `"a string"`.
        expected: &'static str,
        /// What it held, such as `"a number"`.
        found: &'static str,
    },
    /// A required field is absent or empty.
    MissingField {
        /// Where, such as `clusters[3].name`.
        field: String,
    },
    /// A `*-data` field is not valid base64.
    InvalidBase64 {
        /// Where, such as `users["admin"].user.client-key-data`.
        field: String,
    },
    /// A field holds a value outside its allowed set.
    InvalidValue {
        /// Where, such as `users["gke"].user.exec.interactiveMode`.
        field: String,
        /// The allowed values.
        expected: &'static str,
    },
    /// `apiVersion` is set to something other than `v1`.
    UnsupportedApiVersion {
        /// The value found (not a secret: it is only ever a version).
        api_version: String,
    },
    /// `kind` is set to something other than `Config`.
    WrongKind {
        /// The value found.
        kind: String,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(path) => write!(f, "kubeconfig {}: {}", path.display(), self.kind),
            None => write!(f, "kubeconfig: {}", self.kind),
        }
    }
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, max } => write!(f, "file is {len} bytes, larger than the {max} allowed"),
            Self::Syntax {
                format,
                line,
                column,
                message,
            } if *line == 0 => write!(f, "invalid {format}: {message}"),
            Self::Syntax {
                format,
                line,
                column,
                message,
            } => {
                write!(f, "invalid {format} at line {line}, column {column}: {message}")
            }
            Self::WrongType {
                field,
                expected,
                found,
            } => {
                write!(f, "{field}: expected {expected}, found {found}")
            }
            Self::MissingField { field } => write!(f, "{field} is missing or empty"),
            Self::InvalidBase64 { field } => write!(f, "{field} is not valid base64"),
            Self::InvalidValue { field, expected } => write!(f, "{field}: expected {expected}"),
            Self::UnsupportedApiVersion { api_version } => {
                write!(f, "apiVersion {api_version:?} is not supported (expected \"v1\")")
            }
            Self::WrongKind { kind } => write!(f, "kind {kind:?} is not a kubeconfig (expected \"Config\")"),
        }
    }
}

impl std::error::Error for ParseError {}
