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

/// `VM_BAD_POWER_STATE [vm; expected; actual]`, states in lowercase and the expected ones joined
/// with a comma and a space, as xapi spells them.
pub fn bad_power_state(vm: &str, expected: &[&str], actual: &str) -> ApiError {
    let expected: Vec<String> = expected.iter().map(|s| s.to_lowercase()).collect();
    ApiError::new(
        "VM_BAD_POWER_STATE",
        [vm.to_owned(), expected.join(", "), actual.to_lowercase()],
    )
}

/// `SESSION_AUTHENTICATION_FAILED []`: what the HTTP handlers fail a task with for a bad session.
pub fn http_authentication_failed() -> ApiError {
    ApiError::new("SESSION_AUTHENTICATION_FAILED", [] as [&str; 0])
}

/// `VDI_IO_ERROR ["Device I/O error(s)"]`: a disk stream that failed or ended early.
pub fn vdi_io_error() -> ApiError {
    ApiError::new("VDI_IO_ERROR", ["Device I/O error(s)"])
}

/// `DEFAULT_SR_NOT_FOUND [sr]`: an import without an SR when the pool's default is not valid.
pub fn default_sr_not_found(sr: &str) -> ApiError {
    ApiError::new("DEFAULT_SR_NOT_FOUND", [sr])
}

/// An SR without room for `requested` bytes of disks: `SR_FULL [requested; maximum]`.
pub fn sr_full(requested: u64, maximum: u64) -> ApiError {
    ApiError::new("SR_FULL", [requested.to_string(), maximum.to_string()])
}

/// `SR_OPERATION_NOT_SUPPORTED [sr]`.
pub fn sr_operation_not_supported(sr: &str) -> ApiError {
    ApiError::new("SR_OPERATION_NOT_SUPPORTED", [sr])
}

/// One of the `IMPORT_ERROR_*` codes of XVA imports that take no parameters.
pub fn import_failure(code: &str) -> ApiError {
    ApiError::new(code, [] as [&str; 0])
}

/// `IMPORT_ERROR [message]`: an XVA import that failed for another reason.
pub fn import_error(message: impl Into<String>) -> ApiError {
    ApiError::new("IMPORT_ERROR", [message.into()])
}
