//! Errors of the OpenStack client: one [`CloudError`] that names the call that failed, what
//! kind of failure it was, and the request id the cloud logged it under.
//!
//! Messages come from the cloud's error bodies, scrubbed of the token and the credential's
//! secret (Keystone's validation errors can echo the request), so an error is always safe to
//! print or log.

use std::fmt;
use std::time::Duration;

/// A failed call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{call}: {kind}{}", RequestIdSuffix(.request_id.as_deref()))]
pub struct CloudError {
    /// What was attempted, e.g. `create backup`.
    pub call: String,
    pub kind: ErrorKind,
    /// The cloud's `x-openstack-request-id`, to find the call in its logs.
    pub request_id: Option<String>,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// 400: the request is invalid, or the resource is not in a state that allows it (Cinder
    /// reports "must be available" this way).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401 even after authenticating again, or the credentials were refused.
    #[error("unauthorized")]
    Unauthorized,
    /// 403: the policy forbids the call (admin-only calls such as `export_record`).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// 409: the resource is in a conflicting state (Nova's task states).
    #[error("conflict: {0}")]
    Conflict(String),
    /// 413 (quota exceeded) or 429 (rate limited).
    #[error("over limit: {0}")]
    OverLimit(String),
    /// 406: the server does not accept the requested microversion.
    #[error("not acceptable: {0}")]
    NotAcceptable(String),
    /// 503: the service, or a service behind it (such as cinder-backup), is down.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The cloud lacks what the call needs: a microversion, a service in the catalog.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Any other HTTP status.
    #[error("HTTP {0}: {1}")]
    Server(u16, String),
    /// No answer: the connection failed, broke or timed out.
    #[error("transport: {0}")]
    Transport(String),
    /// An answer without the expected shape.
    #[error("unexpected answer: {0}")]
    Decode(String),
    /// A resource reached a failure status while being waited for.
    #[error("the {resource} is {status}{}", ReasonSuffix(.reason.as_deref()))]
    Failed {
        resource: &'static str,
        status: String,
        /// The resource's `fail_reason`, where it has one (backups do).
        reason: Option<String>,
    },
    /// A resource did not reach the wanted status in time.
    #[error("still {} after {waited:?}", .last_status.as_deref().unwrap_or("unknown"))]
    Timeout {
        waited: Duration,
        /// The status seen last, if any probe succeeded.
        last_status: Option<String>,
    },
    /// The client's configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl CloudError {
    pub fn new(call: impl Into<String>, kind: ErrorKind) -> Self {
        CloudError {
            call: call.into(),
            kind,
            request_id: None,
        }
    }

    /// True for a 404: the resource does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        matches!(self.kind, ErrorKind::NotFound(_))
    }

    /// True when the cloud lacks a microversion or service that the call needs.
    pub fn is_unsupported(&self) -> bool {
        matches!(self.kind, ErrorKind::Unsupported(_))
    }
}

struct RequestIdSuffix<'a>(Option<&'a str>);

impl fmt::Display for RequestIdSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, " (request {id})"),
            None => Ok(()),
        }
    }
}

struct ReasonSuffix<'a>(Option<&'a str>);

impl fmt::Display for ReasonSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(reason) if !reason.is_empty() => write!(f, ": {reason}"),
            _ => Ok(()),
        }
    }
}

pub type Result<T, E = CloudError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_call_kind_and_request_id() {
        let mut error = CloudError::new("create backup", ErrorKind::NotFound("no volume".into()));
        assert_eq!(error.to_string(), "create backup: not found: no volume");
        error.request_id = Some("req-1".into());
        assert_eq!(
            error.to_string(),
            "create backup: not found: no volume (request req-1)"
        );
        let failed = ErrorKind::Failed {
            resource: "backup",
            status: "error".into(),
            reason: Some("disk full".into()),
        };
        assert_eq!(failed.to_string(), "the backup is error: disk full");
        let timeout = ErrorKind::Timeout {
            waited: Duration::from_secs(3),
            last_status: Some("creating".into()),
        };
        assert_eq!(timeout.to_string(), "still creating after 3s");
    }
}
