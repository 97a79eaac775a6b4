//! A step's `with` as written: any YAML value, every node kept with its place so that a bad
//! `${{ … }}` deep inside is reported where it is.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::location::Located;

/// A step's parameters: a mapping of names to values.
pub(crate) type Params = BTreeMap<String, Located<ParamValue>>;

/// One value of `with`, shaped like JSON (what the component receives).
#[derive(Debug)]
pub(crate) enum ParamValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Located<ParamValue>>),
    Map(BTreeMap<String, Located<ParamValue>>),
}

impl<'de> Deserialize<'de> for ParamValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ParamVisitor)
    }
}

struct ParamVisitor;

impl<'de> Visitor<'de> for ParamVisitor {
    type Value = ParamValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<ParamValue, E> {
        Ok(ParamValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<ParamValue, E> {
        Ok(ParamValue::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<ParamValue, E> {
        Ok(ParamValue::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<ParamValue, E> {
        Ok(ParamValue::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<ParamValue, E> {
        Ok(ParamValue::Number(value.into()))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<ParamValue, E> {
        i64::try_from(value)
            .map(|value| ParamValue::Number(value.into()))
            .map_err(|_| E::custom("integer out of range: a parameter is at most 64 bits"))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<ParamValue, E> {
        u64::try_from(value)
            .map(|value| ParamValue::Number(value.into()))
            .map_err(|_| E::custom("integer out of range: a parameter is at most 64 bits"))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<ParamValue, E> {
        serde_json::Number::from_f64(value)
            .map(ParamValue::Number)
            .ok_or_else(|| E::custom("a parameter must be a finite number (JSON has no NaN)"))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<ParamValue, E> {
        Ok(ParamValue::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<ParamValue, E> {
        Ok(ParamValue::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ParamValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(ParamValue::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ParamValue, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Located<ParamValue>>()? {
            entries.insert(key, value);
        }
        Ok(ParamValue::Map(entries))
    }
}

impl JsonSchema for ParamValue {
    fn schema_name() -> Cow<'static, str> {
        "ParamValue".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!(true)
    }
}
