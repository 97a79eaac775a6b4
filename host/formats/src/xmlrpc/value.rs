//! XML-RPC values: the data model of XAPI calls and of an XVA's `ova.xml`.
//!
//! xapi's API records are dynamic (dozens of fields per class, varying across xapi versions).
//! Keeping them as a typed tree instead of Rust structs lets them be read and rewritten without
//! losing fields that the reader does not know.

/// One XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string; also what an untyped `<value>text</value>` decodes to.
    String(String),
    /// `<int>`, `<i4>` or `<i8>`. Encoded untyped like xapi does for int64, so it decodes back
    /// as a [`Value::String`]; [`Value::as_u64`] and [`Value::as_i64`] accept both.
    Int(i64),
    /// A 32-bit integer that xapi encodes typed, as `<i4>` (only `event.from`'s
    /// `valid_ref_counts` has them). Decoding yields [`Value::Int`].
    Int32(i32),
    /// `<boolean>`.
    Boolean(bool),
    /// `<double>`.
    Double(f64),
    /// `<dateTime.iso8601>`, kept as written (xapi: `YYYYMMDDTHH:MM:SSZ`).
    DateTime(String),
    /// `<base64>`, kept encoded.
    Base64(String),
    /// `<struct>`, members in document order.
    Struct(Vec<(String, Value)>),
    /// `<array><data>`.
    Array(Vec<Value>),
    /// `<nil/>`.
    Nil,
}

impl Value {
    /// A string value.
    pub fn string(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }

    /// A struct value from `(name, value)` pairs.
    pub fn record<'a>(members: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
        Value::Struct(
            members
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
        )
    }

    /// The member `name` of a struct (the first one if repeated), or `None` for a missing member
    /// or a value that is not a struct.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_struct()?
            .iter()
            .find(|(member, _)| member == name)
            .map(|(_, value)| value)
    }

    /// The member `name` of a struct, to change it.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Struct(members) => members
                .iter_mut()
                .find(|(member, _)| member == name)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    /// Sets the member `name` of a struct to `value`, adding it last if it is missing. Values
    /// that are not structs are left as they are.
    pub fn set(&mut self, name: &str, value: Value) {
        if let Some(member) = self.get_mut(name) {
            *member = value;
        } else if let Value::Struct(members) = self {
            members.push((name.to_owned(), value));
        }
    }

    /// Removes every member `name` of a struct.
    pub fn remove(&mut self, name: &str) {
        if let Value::Struct(members) = self {
            members.retain(|(member, _)| member != name);
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// A non-negative integer, given either typed or as a decimal string: xapi encodes int64
    /// fields untyped, so they arrive as strings.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_i64().and_then(|n| u64::try_from(n).ok())
    }

    /// An integer, given either typed or as a decimal string.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            Value::Int32(n) => Some(i64::from(*n)),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// A boolean value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(flag) => Some(*flag),
            _ => None,
        }
    }

    /// The members of a struct value.
    pub fn as_struct(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Struct(members) => Some(members),
            _ => None,
        }
    }

    /// The items of an array value.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_members_are_set_added_and_removed() {
        let mut record = Value::record([("a", Value::Int(1)), ("b", Value::Int(2))]);
        record.set("a", Value::string("one"));
        record.set("c", Value::Boolean(true));
        record.remove("b");
        assert_eq!(
            record,
            Value::record([("a", Value::string("one")), ("c", Value::Boolean(true))])
        );
        let mut text = Value::string("not a struct");
        text.set("a", Value::Nil);
        assert_eq!(text, Value::string("not a struct"));
        assert!(text.get_mut("a").is_none());
    }

    #[test]
    fn as_u64_accepts_typed_and_untyped_ints() {
        assert_eq!(Value::Int(42).as_u64(), Some(42));
        assert_eq!(Value::string("10737418240").as_u64(), Some(10_737_418_240));
        assert_eq!(Value::Int(-1).as_u64(), None);
        assert_eq!(Value::string("12a").as_u64(), None);
        assert_eq!(Value::Boolean(true).as_u64(), None);
    }

    #[test]
    fn get_finds_struct_members_only() {
        let record = Value::record([("a", Value::Int(1)), ("b", Value::string("x"))]);
        assert_eq!(record.get("b"), Some(&Value::string("x")));
        assert_eq!(record.get("c"), None);
        assert_eq!(Value::string("a").get("a"), None);
    }
}
