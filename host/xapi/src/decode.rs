//! Typed views of dynamic [`Value`]s: a serde deserializer that reads records as xapi sends
//! them over either encoding.
//!
//! Over XML-RPC xapi writes int64 fields untyped, so they arrive as strings; over JSON-RPC they are
//! numbers. Asking this deserializer for an integer or a float accepts both, so one
//! `#[derive(Deserialize)]` struct reads a record from either transport.

use std::fmt;

use lifeboat_formats::xmlrpc::Value;
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::{Serialize, forward_to_deserialize_any};

use crate::wire::json;

/// A value whose shape does not match the requested type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(String);

impl DecodeError {
    pub fn new(problem: impl Into<String>) -> Self {
        DecodeError(problem.into())
    }
}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DecodeError(msg.to_string())
    }
}

/// Reads a typed value out of a dynamic one.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, DecodeError> {
    T::deserialize(Dynamic(value))
}

/// The dynamic form of a typed value (integers become [`Value::Int`]).
pub fn to_value<T: Serialize>(value: &T) -> Value {
    json::from_json(serde_json::to_value(value).expect("records always serialise to JSON"))
}

/// The deserializer over one owned value.
struct Dynamic(Value);

impl<'de> IntoDeserializer<'de, DecodeError> for Dynamic {
    type Deserializer = Dynamic;

    fn into_deserializer(self) -> Dynamic {
        self
    }
}

impl Dynamic {
    fn integer(&self) -> Result<i128, DecodeError> {
        match &self.0 {
            Value::Int(n) => Ok(i128::from(*n)),
            Value::Int32(n) => Ok(i128::from(*n)),
            Value::String(text) => text
                .trim()
                .parse()
                .map_err(|_| DecodeError(format!("{text:?} is not an integer"))),
            Value::Double(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(*x as i128),
            other => Err(DecodeError(format!("expected an integer, found {other:?}"))),
        }
    }

    fn float(&self) -> Result<f64, DecodeError> {
        match &self.0 {
            Value::Double(x) => Ok(*x),
            Value::Int(n) => Ok(*n as f64),
            Value::Int32(n) => Ok(f64::from(*n)),
            Value::String(text) => text
                .trim()
                .parse()
                .map_err(|_| DecodeError(format!("{text:?} is not a number"))),
            other => Err(DecodeError(format!("expected a number, found {other:?}"))),
        }
    }
}

macro_rules! integer {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            let n = self.integer()?;
            let n = <$ty>::try_from(n)
                .map_err(|_| DecodeError(format!("{n} is out of range for {}", stringify!($ty))))?;
            visitor.$visit(n)
        }
    };
}

impl<'de> de::Deserializer<'de> for Dynamic {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::String(text) | Value::DateTime(text) | Value::Base64(text) => {
                visitor.visit_string(text)
            }
            Value::Int(n) => visitor.visit_i64(n),
            Value::Int32(n) => visitor.visit_i32(n),
            Value::Boolean(flag) => visitor.visit_bool(flag),
            Value::Double(x) => visitor.visit_f64(x),
            Value::Nil => visitor.visit_unit(),
            Value::Array(items) => {
                visitor.visit_seq(SeqDeserializer::new(items.into_iter().map(Dynamic)))
            }
            Value::Struct(members) => visitor.visit_map(MapDeserializer::new(
                members
                    .into_iter()
                    .map(|(name, value)| (name, Dynamic(value))),
            )),
        }
    }

    integer!(deserialize_i8, visit_i8, i8);
    integer!(deserialize_i16, visit_i16, i16);
    integer!(deserialize_i32, visit_i32, i32);
    integer!(deserialize_i64, visit_i64, i64);
    integer!(deserialize_u8, visit_u8, u8);
    integer!(deserialize_u16, visit_u16, u16);
    integer!(deserialize_u32, visit_u32, u32);
    integer!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_f32(self.float()? as f32)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_f64(self.float()?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::Nil => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::String(text) => visitor.visit_enum(text.into_deserializer()),
            other => Err(DecodeError(format!(
                "expected an enum name, found {other:?}"
            ))),
        }
    }

    forward_to_deserialize_any! {
        bool i128 u128 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map
        struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Power {
        Halted,
        Running,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Record {
        size: i64,
        ratio: f64,
        power: Power,
        tags: Vec<String>,
        config: BTreeMap<String, String>,
        flag: bool,
        #[serde(default)]
        missing: u32,
    }

    #[test]
    fn reads_records_from_either_encoding() {
        let from_xml = Value::record([
            ("size", Value::string("10737418240")),
            ("ratio", Value::string("0.5")),
            ("power", Value::string("halted")),
            ("tags", Value::Array(vec![Value::string("a")])),
            ("config", Value::record([("k", Value::string("v"))])),
            ("flag", Value::Boolean(true)),
            ("unknown", Value::string("ignored")),
        ]);
        let from_json = Value::record([
            ("size", Value::Int(10_737_418_240)),
            ("ratio", Value::Double(0.5)),
            ("power", Value::string("halted")),
            ("tags", Value::Array(vec![Value::string("a")])),
            ("config", Value::record([("k", Value::string("v"))])),
            ("flag", Value::Boolean(true)),
        ]);
        let a: Record = from_value(from_xml).expect("XML-RPC shaped");
        let b: Record = from_value(from_json).expect("JSON-RPC shaped");
        assert_eq!(a, b);
        assert_eq!(a.size, 10_737_418_240);
        assert_eq!(a.power, Power::Halted);
        assert_eq!(a.missing, 0);
    }

    #[test]
    fn shape_errors_are_reported() {
        assert!(from_value::<i64>(Value::string("12a")).is_err());
        assert!(from_value::<u8>(Value::Int(300)).is_err());
        assert!(from_value::<Power>(Value::string("paused")).is_err());
        assert!(from_value::<Vec<String>>(Value::string("x")).is_err());
    }
}
