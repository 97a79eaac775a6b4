//! Objects named in a handler's query, by reference or by uuid as xapi accepts both.

use lifeboat_xapi::ApiError;

use crate::xapi::db::Database;
use crate::xapi::errors;
use crate::xapi::schema::ClassDef;

/// The reference of the object `key` (a reference or a uuid) of `class`, or xapi's error for it.
pub fn find(db: &Database, class: &'static ClassDef, key: &str) -> Result<String, ApiError> {
    if db.exists(class, key) {
        return Ok(key.to_owned());
    }
    if let Some(reference) = db.by_uuid(class, key) {
        return Ok(reference.to_owned());
    }
    Err(if key.starts_with("OpaqueRef:") {
        errors::handle_invalid(class.name, key)
    } else {
        errors::uuid_invalid(class.name, key)
    })
}
