//! JSON-RPC as xapi speaks it at `/jsonrpc` (versions 1.0 and 2.0).
//!
//! Requests are objects with a string `method`, an `id` that is an integer or a string (never
//! null or absent: xapi answers notifications with HTTP 500), and `params`: an array (required in
//! 1.0), or in 2.0 also an object (one parameter) or nothing. `"jsonrpc": "2.0"` selects 2.0.
//!
//! A 2.0 success has no `error` key at all: Xen Orchestra's parser treats any `error` key, even
//! `null`, as a failure. A 2.0 failure is `{"code": 1, "message": CODE, "data": [params…]}`.

use lifeboat_formats::xmlrpc::Value;
use serde_json::{Map, Number, Value as Json, json};

use super::{Call, Outcome, WireError};
use crate::error::ApiError;

/// The JSON-RPC version of a request, which its response must use too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// A decoded JSON-RPC request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub version: Version,
    /// Echoed in the response: an integer or a string.
    pub id: Json,
    pub call: Call,
}

impl Request {
    /// Decodes a request body the way xapi does.
    pub fn parse(body: &[u8]) -> Result<Request, WireError> {
        let json: Json =
            serde_json::from_slice(body).map_err(|e| WireError::json(format!("not JSON: {e}")))?;
        let Json::Object(mut object) = json else {
            return Err(WireError::json("a request must be an object"));
        };
        let method = match object.remove("method") {
            Some(Json::String(method)) => method,
            _ => return Err(WireError::json("`method` must be a string")),
        };
        let version = match object.get("jsonrpc") {
            None => Version::V1,
            Some(Json::String(v)) if v == "2.0" => Version::V2,
            Some(other) => {
                return Err(WireError::json(format!("unsupported `jsonrpc` {other}")));
            }
        };
        let id = match object.remove("id") {
            Some(id @ (Json::Number(_) | Json::String(_))) => id,
            Some(Json::Null) | None => {
                return Err(WireError::json("notifications (no `id`) are not supported"));
            }
            Some(other) => {
                return Err(WireError::json(format!(
                    "`id` must be a number or a string, not {other}"
                )));
            }
        };
        let params = match (object.remove("params"), version) {
            (Some(Json::Array(items)), _) => items.into_iter().map(from_json).collect(),
            (Some(object @ Json::Object(_)), Version::V2) => vec![from_json(object)],
            (None, Version::V2) => Vec::new(),
            (None, Version::V1) => return Err(WireError::json("`params` is required")),
            (Some(_), _) => return Err(WireError::json("`params` must be an array")),
        };
        Ok(Request {
            version,
            id,
            call: Call { method, params },
        })
    }

    /// Encodes the request.
    pub fn to_json(&self) -> Vec<u8> {
        let mut object = Map::new();
        if self.version == Version::V2 {
            object.insert("jsonrpc".into(), json!("2.0"));
        }
        object.insert("method".into(), Json::String(self.call.method.clone()));
        object.insert(
            "params".into(),
            Json::Array(self.call.params.iter().map(to_json).collect()),
        );
        object.insert("id".into(), self.id.clone());
        serde_json::to_vec(&Json::Object(object)).expect("a JSON tree always serialises")
    }
}

/// Encodes the response to a request of `version` with `id`.
pub fn encode_response(version: Version, id: &Json, outcome: &Outcome) -> Vec<u8> {
    let response = match (version, outcome) {
        (Version::V1, Ok(value)) => json!({"result": to_json(value), "error": null, "id": id}),
        (Version::V1, Err(error)) => {
            let mut description = vec![Json::String(error.code.clone())];
            description.extend(error.params.iter().cloned().map(Json::String));
            json!({"result": null, "error": description, "id": id})
        }
        (Version::V2, Ok(value)) => json!({"jsonrpc": "2.0", "result": to_json(value), "id": id}),
        (Version::V2, Err(error)) => json!({
            "jsonrpc": "2.0",
            "error": {"code": 1, "message": error.code, "data": error.params},
            "id": id,
        }),
    };
    serde_json::to_vec(&response).expect("a JSON tree always serialises")
}

/// Decodes a response of either version into the call's outcome.
pub fn decode_response(body: &[u8]) -> Result<Outcome, WireError> {
    let json: Json =
        serde_json::from_slice(body).map_err(|e| WireError::json(format!("not JSON: {e}")))?;
    let Json::Object(mut object) = json else {
        return Err(WireError::json("a response must be an object"));
    };
    match object.remove("error") {
        None | Some(Json::Null) => match object.remove("result") {
            Some(result) => Ok(Ok(from_json(result))),
            None => Err(WireError::json("a response needs `result` or `error`")),
        },
        Some(Json::Array(description)) => Ok(Err(api_error_of(description)?)),
        Some(Json::Object(mut error)) => {
            let code = match error.remove("message") {
                Some(Json::String(code)) => code,
                _ => return Err(WireError::json("`error.message` must be a string")),
            };
            let params = match error.remove("data") {
                None | Some(Json::Null) => Vec::new(),
                Some(Json::Array(params)) => strings(params)?,
                Some(Json::String(param)) => vec![param],
                Some(other) => {
                    return Err(WireError::json(format!(
                        "`error.data` must be an array, not {other}"
                    )));
                }
            };
            Ok(Err(ApiError { code, params }))
        }
        Some(other) => Err(WireError::json(format!("unexpected `error` {other}"))),
    }
}

fn api_error_of(description: Vec<Json>) -> Result<ApiError, WireError> {
    let mut parts = strings(description)?.into_iter();
    let code = parts
        .next()
        .ok_or_else(|| WireError::json("an error description must not be empty"))?;
    Ok(ApiError {
        code,
        params: parts.collect(),
    })
}

fn strings(items: Vec<Json>) -> Result<Vec<String>, WireError> {
    items
        .into_iter()
        .map(|item| match item {
            Json::String(text) => Ok(text),
            other => Err(WireError::json(format!(
                "error parameters must be strings, not {other}"
            ))),
        })
        .collect()
}

/// The JSON form of a value, as xapi writes it: int64s as numbers, dates as strings.
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::String(text) | Value::DateTime(text) | Value::Base64(text) => {
            Json::String(text.clone())
        }
        Value::Int(n) => Json::from(*n),
        Value::Int32(n) => Json::from(*n),
        Value::Boolean(flag) => Json::Bool(*flag),
        Value::Double(x) => Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::Nil => Json::Null,
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Struct(members) => Json::Object(
            members
                .iter()
                .map(|(name, member)| (name.clone(), to_json(member)))
                .collect(),
        ),
    }
}

/// The value a JSON tree stands for.
pub fn from_json(json: Json) -> Value {
    match json {
        Json::Null => Value::Nil,
        Json::Bool(flag) => Value::Boolean(flag),
        Json::Number(n) => match n.as_i64() {
            Some(n) => Value::Int(n),
            None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(text) => Value::String(text),
        Json::Array(items) => Value::Array(items.into_iter().map(from_json).collect()),
        Json::Object(members) => Value::Struct(
            members
                .into_iter()
                .map(|(name, member)| (name, from_json(member)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).expect("UTF-8")
    }

    #[test]
    fn v2_success_has_no_error_key_and_v2_failure_uses_code_1() {
        let id = json!(0);
        assert_eq!(
            text(encode_response(Version::V2, &id, &Ok(Value::Int(5)))),
            r#"{"id":0,"jsonrpc":"2.0","result":5}"#
        );
        let failure = Err(ApiError::new("HANDLE_INVALID", ["VM", "OpaqueRef:x"]));
        assert_eq!(
            text(encode_response(Version::V2, &id, &failure)),
            r#"{"error":{"code":1,"data":["VM","OpaqueRef:x"],"message":"HANDLE_INVALID"},"id":0,"jsonrpc":"2.0"}"#
        );
        assert_eq!(
            text(encode_response(Version::V1, &json!("a"), &failure)),
            r#"{"error":["HANDLE_INVALID","VM","OpaqueRef:x"],"id":"a","result":null}"#
        );
    }

    #[test]
    fn responses_of_both_versions_decode() {
        for version in [Version::V1, Version::V2] {
            let ok = Ok(Value::Array(vec![Value::string("x")]));
            let encoded = encode_response(version, &json!(1), &ok);
            assert_eq!(decode_response(&encoded), Ok(ok));
            let failure = Err(ApiError::new("SESSION_INVALID", ["OpaqueRef:s"]));
            let encoded = encode_response(version, &json!(1), &failure);
            assert_eq!(decode_response(&encoded), Ok(failure));
        }
    }

    #[test]
    fn requests_follow_xapis_rules() {
        let v2 =
            Request::parse(br#"{"jsonrpc":"2.0","method":"VM.get_all","params":["s"],"id":0}"#)
                .expect("valid");
        assert_eq!(v2.version, Version::V2);
        assert_eq!(v2.call.params, vec![Value::string("s")]);
        let object = Request::parse(br#"{"jsonrpc":"2.0","method":"m","params":{"a":1},"id":"x"}"#)
            .expect("an object is one parameter in 2.0");
        assert_eq!(
            object.call.params,
            vec![Value::record([("a", Value::Int(1))])]
        );
        let none = Request::parse(br#"{"jsonrpc":"2.0","method":"m","id":2}"#).expect("valid");
        assert!(none.call.params.is_empty());
        let v1 = Request::parse(br#"{"method":"m","params":[],"id":3}"#).expect("valid");
        assert_eq!(v1.version, Version::V1);
        for bad in [
            &br#"{"method":"m","id":3}"#[..],
            br#"{"jsonrpc":"2.0","method":"m","params":[]}"#,
            br#"{"jsonrpc":"2.0","method":"m","params":[],"id":null}"#,
            br#"{"jsonrpc":"2.0","method":"m","params":[],"id":[1]}"#,
            br#"{"jsonrpc":"2.0","method":5,"params":[],"id":1}"#,
            br#"{"method":"m","params":{},"id":1}"#,
            br#"[1]"#,
            b"{",
        ] {
            assert!(
                Request::parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn requests_round_trip() {
        let request = Request {
            version: Version::V2,
            id: json!(0),
            call: Call {
                method: "session.login_with_password".into(),
                params: vec![Value::string("root"), Value::string("pw")],
            },
        };
        assert_eq!(Request::parse(&request.to_json()), Ok(request));
    }
}
