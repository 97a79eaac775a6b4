//! Building objects from other records: copies of stored objects (snapshots, clones, copies,
//! reverts), and objects from the record a client gives a constructor (`VM.create`, …).

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::ApiError;

use super::db::Database;
use super::errors;
use super::params::coerce_field;
use super::schema::{ClassDef, Ty};

/// The stored fields of an object, derived fields and `uuid` left out, ready for
/// [`Database::create`] after the caller's changes.
pub fn stored_fields(
    db: &Database,
    class: &'static ClassDef,
    reference: &str,
) -> Vec<(&'static str, Value)> {
    let Some(object) = db.object(class, reference) else {
        return Vec::new();
    };
    class
        .fields
        .iter()
        .zip(&object.values)
        .filter(|(field, _)| field.name != "uuid" && !matches!(field.ty, Ty::Derived { .. }))
        .map(|(field, value)| (field.name, value.clone()))
        .collect()
}

/// Replaces (or adds) the field `name` in `fields`.
pub fn put(fields: &mut Vec<(&'static str, Value)>, name: &'static str, value: Value) {
    match fields.iter_mut().find(|(field, _)| *field == name) {
        Some((_, slot)) => *slot = value,
        None => fields.push((name, value)),
    }
}

/// The value of `name` in `fields`.
pub fn value_of<'a>(fields: &'a [(&'static str, Value)], name: &str) -> Option<&'a Value> {
    fields
        .iter()
        .find(|(field, _)| *field == name)
        .map(|(_, value)| value)
}

/// The fields of a constructor's record: every member naming a stored field of `class` is checked
/// against the field's type; unknown members are ignored, as xapi's unmarshaller does; a missing
/// `required` member is refused.
pub fn from_record(
    class: &'static ClassDef,
    record: Value,
    required: &[&str],
) -> Result<Vec<(&'static str, Value)>, ApiError> {
    let Value::Struct(members) = record else {
        return Err(errors::field_type_error("args"));
    };
    for name in required {
        if !members.iter().any(|(member, _)| member == name) {
            return Err(errors::field_type_error(name));
        }
    }
    let mut fields = Vec::new();
    for (member, value) in members {
        let Some(field) = class.fields.iter().find(|f| f.name == member) else {
            continue;
        };
        if field.name == "uuid" || matches!(field.ty, Ty::Derived { .. }) {
            continue;
        }
        fields.push((field.name, coerce_field(field.ty, value, field.name)?));
    }
    Ok(fields)
}

/// A string map with `key` set to `value`.
pub fn map_with(map: &Value, key: &str, value: &str) -> Value {
    let mut members: Vec<(String, Value)> = map
        .as_struct()
        .map(<[_]>::to_vec)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != key)
        .collect();
    members.push((key.to_owned(), Value::string(value)));
    Value::Struct(members)
}

/// A string map without `keys`.
pub fn map_without(map: &Value, keys: &[&str]) -> Value {
    Value::Struct(
        map.as_struct()
            .unwrap_or_default()
            .iter()
            .filter(|(k, _)| !keys.contains(&k.as_str()))
            .cloned()
            .collect(),
    )
}
