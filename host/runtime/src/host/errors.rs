//! WIT `error` values made by the host: from XAPI failures, guards, and bad arguments.

use crate::bindings::types::{Error, ErrorKind};

fn error(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error {
        kind,
        message: message.into(),
        code: None,
        params: Vec::new(),
    }
}

pub fn permission_denied(message: impl Into<String>) -> Error {
    error(ErrorKind::PermissionDenied, message)
}

pub fn not_found(message: impl Into<String>) -> Error {
    error(ErrorKind::NotFound, message)
}

pub fn invalid_input(message: impl Into<String>) -> Error {
    error(ErrorKind::InvalidInput, message)
}

pub fn transfer(message: impl Into<String>) -> Error {
    error(ErrorKind::Transfer, message)
}

pub fn internal(message: impl Into<String>) -> Error {
    error(ErrorKind::Internal, message)
}

/// A failure of the XAPI client, keeping xapi's code and parameters when xapi reported one.
pub fn from_xapi(failure: &lifeboat_xapi::Error) -> Error {
    use lifeboat_xapi::Error as X;
    if let Some(api) = failure.api() {
        return Error {
            kind: if api.is("HANDLE_INVALID") || api.is("UUID_INVALID") {
                ErrorKind::NotFound
            } else {
                ErrorKind::Xapi
            },
            message: failure.to_string(),
            code: Some(api.code.clone()),
            params: api.params.clone(),
        };
    }
    let kind = match failure {
        X::Transfer { .. } => ErrorKind::Transfer,
        X::Config(_) | X::Tls(_) => ErrorKind::InvalidInput,
        _ => ErrorKind::Internal,
    };
    error(kind, failure.to_string())
}

pub fn cancelled(message: impl Into<String>) -> Error {
    error(ErrorKind::Cancelled, message)
}

/// A failure of the OpenStack client on connection `connection`: the cloud's refusals and
/// missing objects keep their kind, a wait that ran out is `cancelled`; the rest (a conflict,
/// a quota, a service down, credentials refused) is `internal`, with the cloud's reason in the
/// message, as the 0.1 contract's error kinds are closed.
pub fn from_cloud(connection: &str, failure: &lifeboat_cloud::CloudError) -> Error {
    use lifeboat_cloud::ErrorKind as C;
    let message = format!("{connection}: {failure}");
    match &failure.kind {
        C::NotFound(_) => not_found(message),
        // The cloud's policy refused the call; `permission-denied` as for a guard's refusal.
        C::Forbidden(_) => permission_denied(message),
        C::BadRequest(_) | C::Unsupported(_) | C::NotAcceptable(_) => invalid_input(message),
        C::Timeout { .. } => cancelled(message),
        _ => internal(message),
    }
}
