//! Parameter types of API messages, and the unmarshalling rules xapi applies to them.
//!
//! xapi's decoder is lenient in known ways: int64 parameters may come as decimal strings (Xen
//! Orchestra sends every int as a string over XML-RPC; Python cannot send ints above 2³¹),
//! floats as ints or strings, dates as strings. Booleans must be booleans. A parameter that does
//! not fit is refused before the session is even checked.

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::ApiError;

use super::errors;
use super::schema::Ty;

/// The type of one parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// A string, reference or enum name given as a string.
    Str,
    Int,
    Float,
    Bool,
    /// A set (array) of anything.
    Set,
    /// A constructor's record (a struct checked field by field by the constructor).
    Record,
    /// A value of a field's type (setters, map values).
    Field(Ty),
}

/// Checks and normalises one parameter; `name` is for the error.
pub fn coerce(param: Param, value: Value, name: &str) -> Result<Value, ApiError> {
    let bad = || errors::field_type_error(name);
    Ok(match param {
        Param::Str => match value {
            Value::String(_) => value,
            Value::DateTime(text) => Value::String(text),
            _ => return Err(bad()),
        },
        Param::Int => Value::Int(value.as_i64().ok_or_else(bad)?),
        Param::Float => Value::Double(match value {
            Value::Double(x) => x,
            Value::Int(n) => n as f64,
            Value::Int32(n) => f64::from(n),
            Value::String(text) => text.trim().parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        }),
        Param::Bool => match value {
            Value::Boolean(_) => value,
            _ => return Err(bad()),
        },
        Param::Set => match value {
            Value::Array(_) => value,
            _ => return Err(bad()),
        },
        Param::Record => match value {
            Value::Struct(_) => value,
            _ => return Err(bad()),
        },
        Param::Field(ty) => coerce_field(ty, value, name)?,
    })
}

/// Checks and normalises a value for a field of type `ty`.
pub fn coerce_field(ty: Ty, value: Value, name: &str) -> Result<Value, ApiError> {
    let bad = || errors::field_type_error(name);
    Ok(match ty {
        Ty::Str | Ty::Ref(_) => coerce(Param::Str, value, name)?,
        Ty::Int => coerce(Param::Int, value, name)?,
        Ty::Float => coerce(Param::Float, value, name)?,
        Ty::Bool => coerce(Param::Bool, value, name)?,
        Ty::Date => match value {
            Value::DateTime(_) => value,
            Value::String(text) => Value::DateTime(text),
            _ => return Err(bad()),
        },
        Ty::Enum(names) => match value {
            Value::String(text) if names.contains(&text.as_str()) => Value::String(text),
            Value::String(text) => return Err(errors::invalid_value(name, &text)),
            _ => return Err(bad()),
        },
        Ty::StrSet | Ty::RefSet(_) | Ty::Derived { .. } => match value {
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| coerce(Param::Str, item, name))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(bad()),
        },
        Ty::StrMap => match value {
            Value::Struct(members) => Value::Struct(
                members
                    .into_iter()
                    .map(|(key, item)| Ok((key, string_of(item).ok_or_else(bad)?)))
                    .collect::<Result<_, ApiError>>()?,
            ),
            _ => return Err(bad()),
        },
    })
}

/// Map values are strings; numbers and booleans sent by loose clients are kept as their text.
fn string_of(value: Value) -> Option<Value> {
    match value {
        Value::String(_) => Some(value),
        Value::Int(n) => Some(Value::String(n.to_string())),
        Value::Int32(n) => Some(Value::String(n.to_string())),
        Value::Boolean(b) => Some(Value::String(b.to_string())),
        Value::Double(x) => Some(Value::String(x.to_string())),
        Value::DateTime(text) => Some(Value::String(text)),
        _ => None,
    }
}
