//! XML-RPC as xapi speaks it: ordinary method calls, and results wrapped in a `Status` struct.
//!
//! A response is always a successful `<methodResponse>` holding
//! `{Status: "Success", Value: v}` or `{Status: "Failure", ErrorDescription: [code, params…]}`.
//! The one exception is `system.listMethods`, whose array of names is sent unwrapped.

use lifeboat_formats::xmlrpc::{MethodCall, MethodResponse, Value};

use super::{Call, Outcome, WireError};
use crate::error::ApiError;

/// Decodes a call body.
pub fn decode_call(body: &[u8]) -> Result<Call, WireError> {
    let call = MethodCall::parse_xml(body).map_err(|e| WireError::xml(e.to_string()))?;
    Ok(Call {
        method: call.method,
        params: call.params,
    })
}

/// Encodes a call.
pub fn encode_call(call: &Call) -> Vec<u8> {
    MethodCall {
        method: call.method.clone(),
        params: call.params.clone(),
    }
    .to_xml()
}

/// Encodes an outcome in xapi's `Status` envelope.
pub fn encode_response(outcome: &Outcome) -> Vec<u8> {
    let envelope = match outcome {
        Ok(value) => Value::record([
            ("Status", Value::string("Success")),
            ("Value", value.clone()),
        ]),
        Err(error) => Value::record([
            ("Status", Value::string("Failure")),
            (
                "ErrorDescription",
                Value::Array(
                    std::iter::once(&error.code)
                        .chain(&error.params)
                        .map(|part| Value::string(part.as_str()))
                        .collect(),
                ),
            ),
        ]),
    };
    MethodResponse::Success(envelope).to_xml()
}

/// Encodes a value without the `Status` envelope (`system.listMethods`).
pub fn encode_unwrapped(value: &Value) -> Vec<u8> {
    MethodResponse::Success(value.clone()).to_xml()
}

/// Decodes a response. A response without a `Status` member is taken as an unwrapped value.
pub fn decode_response(body: &[u8]) -> Result<Outcome, WireError> {
    let value = match MethodResponse::parse_xml(body).map_err(|e| WireError::xml(e.to_string()))? {
        MethodResponse::Success(value) => value,
        MethodResponse::Fault(fault) => {
            let text = |name| fault.get(name).and_then(fault_text).unwrap_or_default();
            return Ok(Err(ApiError::new(
                "XMLRPC_FAULT",
                [text("faultCode"), text("faultString")],
            )));
        }
    };
    let Some(status) = value.get("Status") else {
        return Ok(Ok(value));
    };
    match status.as_str() {
        Some("Success") => value
            .get("Value")
            .cloned()
            .map(Ok)
            .ok_or_else(|| WireError::xml("a Success response has no `Value`")),
        Some("Failure") => {
            let description = value
                .get("ErrorDescription")
                .and_then(Value::as_array)
                .ok_or_else(|| WireError::xml("a Failure response has no `ErrorDescription`"))?;
            let mut parts = description.iter().map(|part| {
                fault_text(part)
                    .ok_or_else(|| WireError::xml("`ErrorDescription` must hold only strings"))
            });
            let code = parts
                .next()
                .ok_or_else(|| WireError::xml("`ErrorDescription` is empty"))??;
            Ok(Err(ApiError {
                code,
                params: parts.collect::<Result<_, _>>()?,
            }))
        }
        _ => Err(WireError::xml("`Status` must be Success or Failure")),
    }
}

/// A scalar as text: error parameters should be strings, but some peers send numbers.
fn fault_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Int(n) => Some(n.to_string()),
        Value::Int32(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_is_exactly_xapis() {
        let body = encode_response(&Ok(Value::string("OpaqueRef:a")));
        assert_eq!(
            String::from_utf8(body).expect("UTF-8"),
            "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>\
             <member><name>Status</name><value>Success</value></member>\
             <member><name>Value</name><value>OpaqueRef:a</value></member>\
             </struct></value></param></params></methodResponse>"
        );
        let failure = Err(ApiError::new("SESSION_INVALID", ["OpaqueRef:s"]));
        let body = encode_response(&failure);
        assert_eq!(
            String::from_utf8(body.clone()).expect("UTF-8"),
            "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>\
             <member><name>Status</name><value>Failure</value></member>\
             <member><name>ErrorDescription</name><value><array><data>\
             <value>SESSION_INVALID</value><value>OpaqueRef:s</value></data></array></value>\
             </member></struct></value></param></params></methodResponse>"
        );
        assert_eq!(decode_response(&body), Ok(failure));
    }

    #[test]
    fn unwrapped_values_and_faults_decode() {
        let names = Value::Array(vec![Value::string("VM.get_all_records")]);
        assert_eq!(decode_response(&encode_unwrapped(&names)), Ok(Ok(names)));
        let fault = MethodResponse::Fault(Value::record([
            ("faultCode", Value::Int32(1)),
            ("faultString", Value::string("boom")),
        ]))
        .to_xml();
        assert_eq!(
            decode_response(&fault),
            Ok(Err(ApiError::new("XMLRPC_FAULT", ["1", "boom"])))
        );
    }

    #[test]
    fn broken_envelopes_are_wire_errors() {
        for value in [
            Value::record([("Status", Value::string("Success"))]),
            Value::record([("Status", Value::string("Failure"))]),
            Value::record([
                ("Status", Value::string("Failure")),
                ("ErrorDescription", Value::Array(Vec::new())),
            ]),
            Value::record([("Status", Value::string("Maybe"))]),
        ] {
            assert!(
                decode_response(&encode_unwrapped(&value)).is_err(),
                "{value:?}"
            );
        }
    }
}
