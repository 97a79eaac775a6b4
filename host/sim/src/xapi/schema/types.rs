//! The vocabulary of the schema: field types, fields and classes.

use lifeboat_formats::xmlrpc::Value;

/// The epoch as xapi writes it: the value of dates that were never set.
pub const EPOCH: &str = "19700101T00:00:00Z";

/// The null reference.
pub const NULL: &str = "OpaqueRef:NULL";

/// The type of a field, which decides its default, its wire encoding and how setters parse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    Int,
    Float,
    Bool,
    Date,
    /// A reference to an object of the named class.
    Ref(&'static str),
    /// One of the listed names (the first is the default).
    Enum(&'static [&'static str]),
    /// A set of strings (tags, operations).
    StrSet,
    /// A stored set of references.
    RefSet(&'static str),
    /// A map of strings to strings.
    StrMap,
    /// The references of the objects of `class` whose field `field` points at this object.
    Derived {
        class: &'static str,
        field: &'static str,
    },
}

impl Ty {
    /// The value a new object gets when nothing else is said.
    pub fn default_value(self) -> Value {
        match self {
            Ty::Str => Value::String(String::new()),
            Ty::Int => Value::Int(0),
            Ty::Float => Value::Double(0.0),
            Ty::Bool => Value::Boolean(false),
            Ty::Date => Value::DateTime(EPOCH.to_owned()),
            Ty::Ref(_) => Value::String(NULL.to_owned()),
            Ty::Enum(names) => Value::String(names[0].to_owned()),
            Ty::StrSet | Ty::RefSet(_) | Ty::Derived { .. } => Value::Array(Vec::new()),
            Ty::StrMap => Value::Struct(Vec::new()),
        }
    }

    /// Whether the field's value is a map (`add_to_*`/`remove_from_*` apply).
    pub fn is_map(self) -> bool {
        matches!(self, Ty::StrMap)
    }

    /// Whether the field's value is a set (`add_*`/`remove_*` apply).
    pub fn is_set(self) -> bool {
        matches!(self, Ty::StrSet | Ty::RefSet(_))
    }
}

/// One field of a class.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    /// Whether xapi generates a public setter (`set_<name>`, and for maps and sets the
    /// `add_to_`/`remove_from_` or `add_`/`remove_` messages).
    pub writable: bool,
}

/// One class of objects.
#[derive(Debug)]
pub struct ClassDef {
    /// The API name (`VM`, `VDI`, `pool`, …).
    pub name: &'static str,
    /// The lowercase name used by events and `valid_ref_counts`.
    pub event_name: &'static str,
    pub fields: &'static [Field],
    /// Whether clients may call `create` and `destroy` with the generic semantics.
    pub generic_lifecycle: bool,
    /// Whether the class is listed to clients (`get_all_records`, events, `system.listMethods`).
    pub public: bool,
}

impl ClassDef {
    /// The position of a field in [`ClassDef::fields`].
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|field| field.name == name)
    }

    /// Whether the class has the field.
    pub fn has_field(&self, name: &str) -> bool {
        self.field_index(name).is_some()
    }
}
