//! The two XML-RPC documents exchanged over HTTP: a method call and its response.

use super::value::Value;

/// `<methodCall>`: a method name and positional parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    pub method: String,
    pub params: Vec<Value>,
}

/// `<methodResponse>`: one result value, or a fault.
///
/// xapi never sends faults; it wraps every result, failures included, in a `Status` struct
/// inside a successful response. Faults come from generic XML-RPC servers and proxies.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodResponse {
    /// `<params><param>` holding the result.
    Success(Value),
    /// `<fault>` holding (by convention) a struct of `faultCode` and `faultString`.
    Fault(Value),
}
