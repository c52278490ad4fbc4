//! What can go wrong while discovering a server's API.

use crate::api::ResponseError;
use std::fmt;

/// Discovery failed, or one group-version of it did (see
/// [`ApiCatalog::failures`](super::ApiCatalog::failures)).
#[derive(Debug)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The server refused the request, or its body was not the expected document.
    Response {
        /// The path asked for (`/apis`, `/apis/apps/v1`).
        path: String,
        /// What was wrong with the answer.
        error: ResponseError,
    },
    /// A success response in a format discovery cannot read (protobuf, HTML from a proxy...).
    UnexpectedContentType {
        /// The path asked for.
        path: String,
        /// The `Content-Type` the server sent.
        content_type: String,
    },
    /// The server lists more group-versions than a client should ask about one by one.
    TooManyGroupVersions {
        /// How many it listed, at least.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The server says its knowledge of this group-version is out of date (an aggregated API
    /// server that does not answer), so its resources are left out.
    Stale {
        /// The group.
        group: String,
        /// The version.
        version: String,
    },
    /// A group or version name from the server cannot be placed in a URL path.
    InvalidName {
        /// The name.
        name: String,
    },
    /// A response arrived for a request discovery did not make (or already had answered).
    NotRequested {
        /// Its path.
        path: String,
    },
    /// The run was finished before every request it made had an answer.
    Unfinished {
        /// How many requests are still unanswered or unsent.
        outstanding: usize,
    },
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::Response { path, error } => write!(f, "discovery of {path}: {error}"),
            DiscoveryError::UnexpectedContentType { path, content_type } => {
                write!(f, "discovery of {path}: unexpected content type {content_type:?}")
            }
            DiscoveryError::TooManyGroupVersions { count, max } => {
                write!(
                    f,
                    "the server lists {count} group-versions, more than the limit of {max}"
                )
            }
            DiscoveryError::Stale { group, version } => {
                write!(
                    f,
                    "discovery of {}: the server marks it stale",
                    join(group, version)
                )
            }
            DiscoveryError::InvalidName { name } => {
                write!(
                    f,
                    "the server lists a group or version {name:?} that is not a valid URL segment"
                )
            }
            DiscoveryError::NotRequested { path } => {
                write!(f, "a discovery response for {path}, which was not requested")
            }
            DiscoveryError::Unfinished { outstanding } => {
                write!(f, "discovery finished with {outstanding} requests unanswered")
            }
        }
    }
}

impl std::error::Error for DiscoveryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DiscoveryError::Response { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// `group/version`, or `version` for the core group.
pub(super) fn join(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}
