//! Where a value sits in a pipeline file, so that every error can point at the node it is about.
//!
//! serde-saphyr records the line and column of any value deserialized through its
//! [`serde_saphyr::Spanned`] wrapper; [`Located`] is that wrapper in Lifeboat's own terms (and with
//! a JSON Schema that is simply the wrapped value's, so the file types stay the schema's source).

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};

/// A place in a pipeline file: 1-based line and column, counted in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

impl Location {
    /// serde-saphyr's location, or `None` where it has none (line 0: values buffered by serde).
    pub(crate) fn from_yaml(location: serde_saphyr::Location) -> Option<Self> {
        let line = u32::try_from(location.line())
            .ok()
            .filter(|&line| line > 0)?;
        let column = u32::try_from(location.column()).ok()?;
        Some(Location { line, column })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A value of the file together with its place.
#[derive(Clone, Debug)]
pub struct Located<T> {
    pub value: T,
    pub location: Option<Location>,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        // `referenced` is where the value is used; for an alias that is the `*name`, the place
        // that belongs to the node being checked.
        Ok(Located {
            value: spanned.value,
            location: Location::from_yaml(spanned.referenced),
        })
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

// Map keys are identified by their text alone (YAML already refuses a key written twice), so a
// `Located<String>` key compares, orders and hashes like the string.
impl<T: PartialEq> PartialEq for Located<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Located<T> {}

impl<T: Ord> PartialOrd for Located<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> Ord for Located<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl<T: Hash> Hash for Located<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Doc {
        timeout: Located<String>,
        list: Vec<Located<u32>>,
    }

    #[test]
    fn values_carry_their_line_and_column() {
        let doc: Doc = serde_saphyr::from_str("timeout: 30m\nlist:\n  - 1\n  - 22\n").unwrap();
        assert_eq!(doc.timeout.value, "30m");
        assert_eq!(
            doc.timeout.location,
            Some(Location {
                line: 1,
                column: 10
            })
        );
        assert_eq!(doc.list[1].value, 22);
        assert_eq!(doc.list[1].location, Some(Location { line: 4, column: 5 }));
    }

    #[test]
    fn a_location_displays_as_line_colon_column() {
        assert_eq!(
            Location {
                line: 12,
                column: 7
            }
            .to_string(),
            "12:7"
        );
    }
}
