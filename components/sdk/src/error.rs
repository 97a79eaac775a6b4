//! Constructors and conversions of [`Error`], the failure that host calls report and that
//! operations return.
//!
//! `Display` for `Error` comes from wit-bindgen, which prints the record as `Debug` does; the
//! conversion into `String` gives the short form, `kind: message`, that policies return.

use crate::types::{Error, ErrorKind};
use serde_json::{Value, json};
use std::fmt;

impl Error {
    /// An error of `kind` with `message` and no XAPI code.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            code: None,
            params: Vec::new(),
        }
    }

    /// A malformed argument: bad parameters or settings.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Anything that is neither the caller's fault nor the host's refusal.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// An object or a connection that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// The error as the task log records a failure, in Xen Orchestra's shape:
    /// `{"message": …, "code": …}`, where `code` is XAPI's code when there is one and the
    /// kind's name otherwise, plus XAPI's `params` when there are any.
    pub fn to_json(&self) -> Value {
        let code = self.code.clone().unwrap_or_else(|| self.kind.to_string());
        let mut value = json!({ "message": self.message, "code": code });
        if !self.params.is_empty() {
            value["params"] = json!(self.params);
        }
        value
    }
}

impl From<Error> for String {
    /// `kind: message`, with XAPI's code for an XAPI error (`xapi VM_BAD_POWER_STATE: …`).
    fn from(error: Error) -> String {
        match &error.code {
            Some(code) => format!("{} {code}: {}", error.kind, error.message),
            None => format!("{}: {}", error.kind, error.message),
        }
    }
}

impl ErrorKind {
    /// The kind's name as the WIT spells it (`not-found`, `invalid-input`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::PermissionDenied => "permission-denied",
            ErrorKind::NotFound => "not-found",
            ErrorKind::InvalidInput => "invalid-input",
            ErrorKind::Xapi => "xapi",
            ErrorKind::Transfer => "transfer",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_carries_the_xapi_code_or_the_kind() {
        let missing = Error::not_found("no VM with uuid 42");
        assert_eq!(
            missing.to_json(),
            json!({ "message": "no VM with uuid 42", "code": "not-found" })
        );
        let xapi = Error {
            kind: ErrorKind::Xapi,
            message: "the VM is running".into(),
            code: Some("VM_BAD_POWER_STATE".into()),
            params: vec!["OpaqueRef:1".into(), "halted".into()],
        };
        assert_eq!(
            xapi.to_json(),
            json!({
                "message": "the VM is running",
                "code": "VM_BAD_POWER_STATE",
                "params": ["OpaqueRef:1", "halted"],
            })
        );
        assert_eq!(
            String::from(xapi),
            "xapi VM_BAD_POWER_STATE: the VM is running"
        );
        assert_eq!(String::from(missing), "not-found: no VM with uuid 42");
    }
}
