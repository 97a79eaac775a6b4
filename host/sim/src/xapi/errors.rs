//! The API failures the simulated pool reports, spelled and parameterised exactly as xapi's.

use lifeboat_xapi::ApiError;

pub fn handle_invalid(class: &str, reference: &str) -> ApiError {
    ApiError::new("HANDLE_INVALID", [class, reference])
}

pub fn uuid_invalid(class: &str, uuid: &str) -> ApiError {
    ApiError::new("UUID_INVALID", [class, uuid])
}

pub fn session_invalid(session: &str) -> ApiError {
    ApiError::new("SESSION_INVALID", [session])
}

pub fn method_unknown(method: &str) -> ApiError {
    ApiError::new("MESSAGE_METHOD_UNKNOWN", [method])
}

pub fn count_mismatch(method: &str, expected: usize, received: i64) -> ApiError {
    ApiError::new(
        "MESSAGE_PARAMETER_COUNT_MISMATCH",
        [
            method.to_owned(),
            expected.to_string(),
            received.to_string(),
        ],
    )
}

pub fn field_type_error(param: &str) -> ApiError {
    ApiError::new("FIELD_TYPE_ERROR", [param])
}

pub fn map_duplicate_key(class: &str, field: &str, reference: &str, key: &str) -> ApiError {
    ApiError::new("MAP_DUPLICATE_KEY", [class, field, reference, key])
}

pub fn operation_not_allowed(reason: &str) -> ApiError {
    ApiError::new("OPERATION_NOT_ALLOWED", [reason])
}

pub fn internal(text: impl Into<String>) -> ApiError {
    ApiError::new("INTERNAL_ERROR", [text.into()])
}

pub fn invalid_value(field: &str, value: &str) -> ApiError {
    ApiError::new("INVALID_VALUE", [field, value])
}
