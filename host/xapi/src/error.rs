//! Errors of the XAPI client: failures that xapi reports, and everything that can go wrong
//! before an answer arrives.

use crate::wire::WireError;

/// A failure reported by xapi: an error code such as `HANDLE_INVALID` and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}{}", format_params(.params))]
pub struct ApiError {
    pub code: String,
    pub params: Vec<String>,
}

fn format_params(params: &[String]) -> String {
    if params.is_empty() {
        String::new()
    } else {
        format!(" [{}]", params.join("; "))
    }
}

impl ApiError {
    pub fn new(
        code: impl Into<String>,
        params: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        ApiError {
            code: code.into(),
            params: params.into_iter().map(Into::into).collect(),
        }
    }

    /// The error with this code, whatever its parameters.
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }
}

/// Everything the client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// xapi answered the call with a failure.
    #[error("{method}: {source}")]
    Api {
        method: String,
        #[source]
        source: ApiError,
    },

    /// The host could not be reached or the connection broke.
    #[error("{what}: {source}")]
    Transport {
        what: String,
        #[source]
        source: reqwest::Error,
    },

    /// The host answered with an HTTP status that the call does not allow.
    #[error("{what}: HTTP {status}{}", if .detail.is_empty() { String::new() } else { format!(": {}", .detail) })]
    Http {
        what: String,
        status: u16,
        detail: String,
    },

    /// The answer is not a valid message of the protocol.
    #[error("{what}: {source}")]
    Wire {
        what: String,
        #[source]
        source: WireError,
    },

    /// A valid answer whose content does not have the expected shape.
    #[error("{what}: unexpected result: {problem}")]
    Decode { what: String, problem: String },

    /// A transfer's body failed or ended early.
    #[error("{what}: transfer failed after {bytes} bytes: {problem}")]
    Transfer {
        what: String,
        bytes: u64,
        problem: String,
    },

    /// A task ended without success.
    #[error("task {task} ({label}) {status}: {source}")]
    Task {
        task: String,
        label: String,
        status: String,
        #[source]
        source: ApiError,
    },

    /// The connection settings are unusable.
    #[error("{0}")]
    Config(String),

    /// The TLS settings are unusable.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

impl Error {
    /// The API failure behind this error, if xapi reported one (directly or through a task).
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api { source, .. } | Error::Task { source, .. } => Some(source),
            _ => None,
        }
    }

    /// True if xapi reported the failure `code`.
    pub fn is_api(&self, code: &str) -> bool {
        self.api().is_some_and(|error| error.is(code))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
