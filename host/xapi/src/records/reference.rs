//! Typed object references: `OpaqueRef:…` strings that know which class they point to.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What xapi sends for "no object".
pub const NULL_REF: &str = "OpaqueRef:NULL";

/// A class of XAPI objects, named as in the API (`VM`, `VDI`, `SR`, `pool`, …).
pub trait Class {
    const NAME: &'static str;
}

/// A reference to an object of class `C`.
pub struct Ref<C> {
    raw: String,
    class: PhantomData<fn() -> C>,
}

impl<C> Ref<C> {
    /// Wraps a reference string as received from xapi.
    pub fn new(raw: impl Into<String>) -> Self {
        Ref {
            raw: raw.into(),
            class: PhantomData,
        }
    }

    /// `OpaqueRef:NULL`.
    pub fn null() -> Self {
        Ref::new(NULL_REF)
    }

    pub fn is_null(&self) -> bool {
        self.raw == NULL_REF
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl<C> Clone for Ref<C> {
    fn clone(&self) -> Self {
        Ref::new(self.raw.clone())
    }
}

impl<C> Default for Ref<C> {
    fn default() -> Self {
        Ref::null()
    }
}

impl<C> PartialEq for Ref<C> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl<C> Eq for Ref<C> {}

impl<C> PartialOrd for Ref<C> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<C> Ord for Ref<C> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.raw.cmp(&other.raw)
    }
}

impl<C> Hash for Ref<C> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.raw.hash(state);
    }
}

impl<C: Class> fmt::Debug for Ref<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", C::NAME, self.raw)
    }
}

impl<C> fmt::Display for Ref<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl<C> Serialize for Ref<C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de, C> Deserialize<'de> for Ref<C> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Ref::new)
    }
}
