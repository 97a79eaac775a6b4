//! Parameters in, outputs out: JSON text to typed values and back, with errors that name the
//! field at fault.

use crate::json_path;
use crate::types::{Error, Json};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

/// Parses a component's JSON input (an operation's params, a policy's settings) into `T`.
///
/// A value of the wrong type or out of range fails with an `invalid-input` error that names
/// the field (`` `targets[0].sr`: invalid type: integer `3`, expected a string ``); malformed
/// JSON fails with its line and column.
pub fn params<T: DeserializeOwned>(json: &str) -> Result<T, Error> {
    serde_json::from_str(json).map_err(|error| invalid(json, &error))
}

/// Serializes an operation's outputs into the JSON text that `run` returns.
pub fn output<T: Serialize + ?Sized>(value: &T) -> Result<Json, Error> {
    serde_json::to_string(value)
        .map_err(|error| Error::internal(format!("cannot serialize the outputs: {error}")))
}

/// The `invalid-input` error for a failed parse of `text`.
fn invalid(text: &str, error: &serde_json::Error) -> Error {
    let position = format!(" at line {} column {}", error.line(), error.column());
    let full = error.to_string();
    let message = full.strip_suffix(&position).unwrap_or(&full);
    match error.classify() {
        Category::Data => {
            let offset = json_path::offset_of(text, error.line(), error.column());
            let path = json_path::member_at(text, offset);
            if path.is_empty() {
                Error::invalid_input(message)
            } else {
                Error::invalid_input(format!("`{path}`: {message}"))
            }
        }
        Category::Syntax | Category::Eof | Category::Io => {
            Error::invalid_input(format!("malformed JSON{position}: {message}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ErrorKind;
    use serde::Deserialize;
    use std::num::NonZeroU32;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Params {
        pool: String,
        copy_retention: Option<NonZeroU32>,
        #[serde(default)]
        targets: Vec<Target>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Target {
        sr: String,
        mode: Option<Mode>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Full,
    }

    fn message(json: &str) -> String {
        let error = params::<Params>(json).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidInput);
        error.message
    }

    #[test]
    fn parses_valid_params() {
        let parsed: Params = params(r#"{"pool": "p", "targets": [{"sr": "s"}]}"#).unwrap();
        assert_eq!(parsed.pool, "p");
        assert_eq!(parsed.targets[0].sr, "s");
        assert!(parsed.targets[0].mode.is_none());
        assert!(parsed.copy_retention.is_none());
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            message(r#"{"pool": 3}"#),
            "`pool`: invalid type: integer `3`, expected a string"
        );
        assert_eq!(
            message(r#"{"pool": "p", "copyRetention": 0}"#),
            "`copyRetention`: invalid value: integer `0`, expected a nonzero u32"
        );
        assert_eq!(
            message(r#"{"pool": "p", "targets": [{"sr": "a"}, {"sr": true}]}"#),
            "`targets[1].sr`: invalid type: boolean `true`, expected a string"
        );
        assert_eq!(
            message(r#"{"pool": "p", "targets": [{"sr": "a", "mode": "delta"}]}"#),
            "`targets[0].mode`: unknown variant `delta`, expected `full`"
        );
        assert_eq!(
            message(r#"{"pool": "p", "targets": {"sr": "a"}}"#),
            "`targets`: invalid type: map, expected a sequence"
        );
    }

    #[test]
    fn missing_and_unknown_fields() {
        assert_eq!(message(r#"{"copyRetention": 2}"#), "missing field `pool`");
        assert_eq!(
            message(r#"{"pool": "p", "targets": [{"mode": "full"}]}"#),
            "`targets[0]`: missing field `sr`"
        );
        assert_eq!(
            message(r#"{"pool": "p", "extra": 1}"#),
            "`extra`: unknown field `extra`, expected one of `pool`, `copyRetention`, `targets`"
        );
    }

    #[test]
    fn malformed_json_gives_its_position() {
        assert_eq!(
            message("{\"pool\": \"p\",\n}"),
            "malformed JSON at line 2 column 1: trailing comma"
        );
        assert_eq!(
            message(""),
            "malformed JSON at line 1 column 0: EOF while parsing a value"
        );
    }

    #[test]
    fn outputs_are_json_text() {
        assert_eq!(
            output(&serde_json::json!({"copies": 2})).unwrap(),
            r#"{"copies":2}"#
        );
    }
}
