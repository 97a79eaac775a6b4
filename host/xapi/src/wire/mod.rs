//! XAPI's two RPC encodings, as xapi itself reads and writes them.
//!
//! xapi serves XML-RPC (`POST /`, `/RPC2`, any other path) and JSON-RPC (`POST /jsonrpc`). Both
//! carry the same calls: a method name such as `VM.snapshot` and positional parameters whose
//! first is the session reference. Results and failures are wrapped differently:
//!
//! - XML-RPC: a struct `{Status: "Success", Value: …}` or `{Status: "Failure", ErrorDescription:
//!   [code, params…]}` inside an ordinary successful `<methodResponse>` ([`xml`]);
//! - JSON-RPC 1.0 `{result, error: [code, params…], id}` or 2.0 `{result}` /
//!   `{error: {code: 1, message: code, data: [params…]}}` ([`json`]).
//!
//! Both the client (which encodes calls and decodes outcomes) and the simulator (which does the
//! opposite) use this module, so the two can never drift apart. Values are
//! [`lifeboat_formats::xmlrpc::Value`]s in both encodings.

pub mod fuzzing;
pub mod json;
pub mod xml;

use lifeboat_formats::xmlrpc::Value;

use crate::error::ApiError;

/// The result of one call: a value or an API failure.
pub type Outcome = Result<Value, ApiError>;

/// A request or response that is not a valid message of its encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {encoding} message: {problem}")]
pub struct WireError {
    pub encoding: Encoding,
    pub problem: String,
}

impl WireError {
    pub(crate) fn json(problem: impl Into<String>) -> WireError {
        WireError {
            encoding: Encoding::Json,
            problem: problem.into(),
        }
    }

    pub(crate) fn xml(problem: impl Into<String>) -> WireError {
        WireError {
            encoding: Encoding::Xml,
            problem: problem.into(),
        }
    }
}

/// Which RPC encoding a connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// JSON-RPC at `/jsonrpc`, what current clients (Xen Orchestra, Lifeboat) try first.
    Json,
    /// XML-RPC at `/`, what every xapi understands and what the Python client speaks.
    Xml,
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Encoding::Json => "JSON-RPC",
            Encoding::Xml => "XML-RPC",
        })
    }
}

/// One decoded call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: String,
    pub params: Vec<Value>,
}
