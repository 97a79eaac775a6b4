//! Errors of remotes: each names the remote, the path and what was being done.

use std::time::Duration;

use crate::path::RemotePath;

pub type Result<T, E = RemoteError> = std::result::Result<T, E>;

/// Why a remote could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{path:?}: {reason}")]
    BadPath { path: String, reason: &'static str },
    #[error("{path} on {remote}: not found")]
    NotFound { remote: String, path: RemotePath },
    #[error("{path} on {remote}: {reason}")]
    Denied {
        remote: String,
        path: RemotePath,
        reason: String,
    },
    #[error("{path} on {remote} is {size} bytes; at most {limit} are read whole")]
    TooLarge {
        remote: String,
        path: RemotePath,
        size: u64,
        limit: u64,
    },
    #[error(
        "{path} on {remote} is locked by another job (its lease was renewed {}s ago); wait for it to end, or remove {path}.lock if no job is running",
        age.as_secs()
    )]
    Locked {
        remote: String,
        path: RemotePath,
        age: Duration,
    },
    #[error("{operation} {path} on {remote}: {error}")]
    Io {
        remote: String,
        operation: &'static str,
        path: RemotePath,
        error: std::io::Error,
    },
    #[error("{operation} {path} on {remote}: {error}")]
    Store {
        remote: String,
        operation: &'static str,
        path: RemotePath,
        error: Box<object_store::Error>,
    },
    #[error("remote URL {url:?}: {problem}")]
    BadUrl { url: String, problem: String },
    #[error("remote {remote}: {problem}")]
    Config { remote: String, problem: String },
}

/// What kind of failure a [`RemoteError`] is, for callers that answer each differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteErrorKind {
    /// The path or URL is malformed.
    InvalidInput,
    NotFound,
    /// The path leads outside the remote's root, or the storage refused access.
    Denied,
    /// Another job holds the folder's lock.
    Locked,
    /// The storage failed (I/O, network, the server).
    Storage,
}

impl RemoteError {
    pub fn kind(&self) -> RemoteErrorKind {
        match self {
            RemoteError::BadPath { .. }
            | RemoteError::BadUrl { .. }
            | RemoteError::Config { .. }
            | RemoteError::TooLarge { .. } => RemoteErrorKind::InvalidInput,
            RemoteError::NotFound { .. } => RemoteErrorKind::NotFound,
            RemoteError::Denied { .. } => RemoteErrorKind::Denied,
            RemoteError::Locked { .. } => RemoteErrorKind::Locked,
            RemoteError::Io { .. } | RemoteError::Store { .. } => RemoteErrorKind::Storage,
        }
    }
}
