//! The pool's database: objects of every class, their generation numbers, and what was deleted.
//!
//! Like xapi's database, every write bumps a global generation and stamps the object with it;
//! `event.from` reports the objects stamped after a client's token, and deletions are kept as
//! tombstones for the same purpose. Derived fields (`VM.VBDs`, …) come from an index of the
//! reference fields that point at each object, kept up to date on every write; an object whose
//! derived field changes is stamped too, as xapi reports a `mod` for it.

use std::collections::{BTreeSet, HashMap, VecDeque};

use lifeboat_formats::xmlrpc::Value;
use uuid::Uuid;

use super::schema::{CLASSES, ClassDef, Ty, class};

/// How many deletions are remembered for `event.from`; a token older than the oldest forgotten
/// one gets `EVENTS_LOST`.
const MAX_TOMBSTONES: usize = 100_000;

/// One object: its field values in schema order (derived fields hold nothing).
#[derive(Debug, Clone)]
pub struct Object {
    pub values: Vec<Value>,
    /// Generation at which the object was created.
    pub created: u64,
    /// Generation of its last change.
    pub modified: u64,
}

/// A deleted object, remembered for events.
#[derive(Debug, Clone)]
pub struct Tombstone {
    pub class: &'static ClassDef,
    pub reference: String,
    pub created: u64,
    pub deleted: u64,
}

/// One object as `event.from` reports it.
#[derive(Debug, Clone)]
pub struct Change {
    pub class: &'static ClassDef,
    pub reference: String,
    pub generation: u64,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Add,
    Mod,
    Del,
}

/// Which objects an event subscription covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    All,
    /// Every object of a class, by its lowercase event name.
    Class(String),
    /// One object.
    Object(String, String),
}

impl Subscription {
    fn covers(&self, class: &ClassDef, reference: &str) -> bool {
        match self {
            Subscription::All => true,
            Subscription::Class(name) => class.event_name == name,
            Subscription::Object(name, object) => class.event_name == name && object == reference,
        }
    }
}

/// The tables of one class.
#[derive(Debug, Default)]
struct Table {
    objects: HashMap<String, Object>,
    by_uuid: HashMap<String, String>,
}

/// Field `field` (by index) of class `class`, a reference field that some derived field lists.
type Relation = (&'static str, usize);

/// The whole database.
#[derive(Debug)]
pub struct Database {
    tables: HashMap<&'static str, Table>,
    generation: u64,
    tombstones: VecDeque<Tombstone>,
    /// Generation of the oldest forgotten deletion.
    forgotten: u64,
    /// For each relation, target reference → the objects pointing at it.
    back_references: HashMap<Relation, HashMap<String, BTreeSet<String>>>,
    /// For each relation, the derived field it feeds: (class, field name).
    derived_targets: HashMap<Relation, (&'static str, &'static str)>,
}

impl Default for Database {
    fn default() -> Self {
        Database::new()
    }
}

/// A fresh `OpaqueRef:<uuid>`.
pub fn new_ref() -> String {
    format!("OpaqueRef:{}", Uuid::new_v4())
}

impl Database {
    pub fn new() -> Database {
        let mut derived_targets = HashMap::new();
        for target in CLASSES {
            for field in target.fields {
                if let Ty::Derived {
                    class: source,
                    field: back,
                } = field.ty
                {
                    let source = class(source).expect("the schema names known classes");
                    let index = source
                        .field_index(back)
                        .expect("the schema names known fields");
                    derived_targets.insert((source.name, index), (target.name, field.name));
                }
            }
        }
        Database {
            tables: CLASSES.iter().map(|c| (c.name, Table::default())).collect(),
            generation: 0,
            tombstones: VecDeque::new(),
            forgotten: 0,
            back_references: derived_targets
                .keys()
                .map(|r| (*r, HashMap::new()))
                .collect(),
            derived_targets,
        }
    }

    /// The current generation: the token of "now".
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Continues the history of a database restored from a save made at `generation`: later
    /// writes get later generations, and since deletions are not saved, a token older than the
    /// save gets `EVENTS_LOST` (clients then read everything again).
    pub fn resume_at(&mut self, generation: u64) {
        self.generation = self.generation.max(generation);
        self.forgotten = self.generation;
    }

    fn bump(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    /// Creates an object of `class` from `fields` (others get their defaults) and returns its
    /// reference. A `uuid` field is used if given, else one is generated.
    pub fn create(&mut self, class: &'static ClassDef, fields: Vec<(&str, Value)>) -> String {
        let reference = new_ref();
        self.create_with_ref(class, reference.clone(), fields);
        reference
    }

    /// [`Database::create`] with a chosen reference (restoring persisted state).
    pub fn create_with_ref(
        &mut self,
        class: &'static ClassDef,
        reference: String,
        fields: Vec<(&str, Value)>,
    ) {
        let generation = self.bump();
        let mut values: Vec<Value> = class.fields.iter().map(|f| f.ty.default_value()).collect();
        for (name, value) in fields {
            if let Some(index) = class.field_index(name) {
                values[index] = value;
            }
        }
        if values[0].as_str().is_none_or(str::is_empty) {
            values[0] = Value::String(Uuid::new_v4().to_string());
        }
        let uuid = values[0].as_str().unwrap_or_default().to_owned();
        let table = self
            .tables
            .get_mut(class.name)
            .expect("every class has a table");
        table.by_uuid.insert(uuid, reference.clone());
        table.objects.insert(
            reference.clone(),
            Object {
                values,
                created: generation,
                modified: generation,
            },
        );
        for (index, field) in class.fields.iter().enumerate() {
            if matches!(field.ty, Ty::Ref(_)) {
                let target = self.tables[class.name].objects[&reference].values[index].clone();
                self.link(class.name, index, &reference, &target, generation);
            }
        }
    }

    /// Deletes an object; `false` if there was none.
    pub fn destroy(&mut self, class: &'static ClassDef, reference: &str) -> bool {
        let Some(object) = self
            .tables
            .get_mut(class.name)
            .and_then(|t| t.objects.remove(reference))
        else {
            return false;
        };
        let generation = self.bump();
        let table = self
            .tables
            .get_mut(class.name)
            .expect("every class has a table");
        if let Some(uuid) = object.values[0].as_str() {
            table.by_uuid.remove(uuid);
        }
        for (index, field) in class.fields.iter().enumerate() {
            if matches!(field.ty, Ty::Ref(_)) {
                self.unlink(
                    class.name,
                    index,
                    reference,
                    &object.values[index],
                    generation,
                );
            }
        }
        self.tombstones.push_back(Tombstone {
            class,
            reference: reference.to_owned(),
            created: object.created,
            deleted: generation,
        });
        if self.tombstones.len() > MAX_TOMBSTONES
            && let Some(oldest) = self.tombstones.pop_front()
        {
            self.forgotten = oldest.deleted;
        }
        true
    }

    /// Whether the object exists.
    pub fn exists(&self, class: &ClassDef, reference: &str) -> bool {
        self.tables[class.name].objects.contains_key(reference)
    }

    /// The object, if it exists.
    pub fn object(&self, class: &ClassDef, reference: &str) -> Option<&Object> {
        self.tables[class.name].objects.get(reference)
    }

    /// The reference of the object with this uuid.
    pub fn by_uuid(&self, class: &ClassDef, uuid: &str) -> Option<&str> {
        self.tables[class.name]
            .by_uuid
            .get(uuid)
            .map(String::as_str)
    }

    /// Every reference of a class, in no particular order.
    pub fn references(&self, class: &ClassDef) -> impl Iterator<Item = &str> {
        self.tables[class.name].objects.keys().map(String::as_str)
    }

    /// How many objects a class has.
    pub fn count(&self, class: &ClassDef) -> usize {
        self.tables[class.name].objects.len()
    }

    /// A stored field's value; `None` for an unknown object or field.
    pub fn get(&self, class: &ClassDef, reference: &str, field: &str) -> Option<&Value> {
        let index = class.field_index(field)?;
        self.object(class, reference).map(|o| &o.values[index])
    }

    /// A stored string field, or `""`.
    pub fn get_str(&self, class: &ClassDef, reference: &str, field: &str) -> &str {
        self.get(class, reference, field)
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// A stored boolean field, or `false`.
    pub fn get_bool(&self, class: &ClassDef, reference: &str, field: &str) -> bool {
        self.get(class, reference, field)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// A stored integer field, or 0.
    pub fn get_int(&self, class: &ClassDef, reference: &str, field: &str) -> i64 {
        self.get(class, reference, field)
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }

    /// Sets a stored field; `false` if the object or field does not exist.
    pub fn set(
        &mut self,
        class: &'static ClassDef,
        reference: &str,
        field: &str,
        value: Value,
    ) -> bool {
        let Some(index) = class.field_index(field) else {
            return false;
        };
        if !self.exists(class, reference) {
            return false;
        }
        let generation = self.bump();
        let object = self
            .tables
            .get_mut(class.name)
            .and_then(|t| t.objects.get_mut(reference))
            .expect("checked above");
        let old = std::mem::replace(&mut object.values[index], value.clone());
        object.modified = generation;
        if index == 0 {
            let table = self
                .tables
                .get_mut(class.name)
                .expect("every class has a table");
            if let Some(old) = old.as_str() {
                table.by_uuid.remove(old);
            }
            if let Some(new) = value.as_str() {
                table.by_uuid.insert(new.to_owned(), reference.to_owned());
            }
        }
        if matches!(class.fields[index].ty, Ty::Ref(_)) && old != value {
            self.unlink(class.name, index, reference, &old, generation);
            self.link(class.name, index, reference, &value, generation);
        }
        true
    }

    /// Stamps an object as changed without changing it (`event.inject`).
    pub fn touch(&mut self, class: &ClassDef, reference: &str) -> bool {
        if !self.exists(class, reference) {
            return false;
        }
        let generation = self.bump();
        self.stamp(class.name, reference, generation);
        true
    }

    fn stamp(&mut self, class: &str, reference: &str, generation: u64) {
        if let Some(object) = self
            .tables
            .get_mut(class)
            .and_then(|t| t.objects.get_mut(reference))
        {
            object.modified = generation;
        }
    }

    fn link(
        &mut self,
        class: &'static str,
        index: usize,
        source: &str,
        target: &Value,
        generation: u64,
    ) {
        let Some(target) = target.as_str() else {
            return;
        };
        let relation = (class, index);
        let Some(&(target_class, _)) = self.derived_targets.get(&relation) else {
            return;
        };
        if let Some(index) = self.back_references.get_mut(&relation) {
            index
                .entry(target.to_owned())
                .or_default()
                .insert(source.to_owned());
        }
        self.stamp(target_class, target, generation);
    }

    fn unlink(
        &mut self,
        class: &'static str,
        index: usize,
        source: &str,
        target: &Value,
        generation: u64,
    ) {
        let Some(target) = target.as_str() else {
            return;
        };
        let relation = (class, index);
        let Some(&(target_class, _)) = self.derived_targets.get(&relation) else {
            return;
        };
        if let Some(index) = self.back_references.get_mut(&relation)
            && let Some(sources) = index.get_mut(target)
        {
            sources.remove(source);
            if sources.is_empty() {
                index.remove(target);
            }
        }
        self.stamp(target_class, target, generation);
    }

    /// The objects of `class` whose reference field `field` points at `target`.
    pub fn referrers(&self, class: &ClassDef, field: &str, target: &str) -> Vec<String> {
        let Some(index) = class.field_index(field) else {
            return Vec::new();
        };
        match self.back_references.get(&(class.name, index)) {
            Some(map) => map
                .get(target)
                .map(|set| set.iter().cloned().collect())
                .unwrap_or_default(),
            None => self.scan_referrers(class, index, target),
        }
    }

    fn scan_referrers(&self, class: &ClassDef, index: usize, target: &str) -> Vec<String> {
        let mut found: Vec<String> = self.tables[class.name]
            .objects
            .iter()
            .filter(|(_, o)| o.values[index].as_str() == Some(target))
            .map(|(r, _)| r.clone())
            .collect();
        found.sort();
        found
    }

    /// The full record of an object, derived fields included, as the API returns it.
    pub fn record(&self, class: &ClassDef, reference: &str) -> Option<Value> {
        let object = self.object(class, reference)?;
        Some(Value::Struct(
            class
                .fields
                .iter()
                .zip(&object.values)
                .map(|(field, value)| {
                    let value = self
                        .derived_value(field.ty, reference)
                        .unwrap_or_else(|| value.clone());
                    (field.name.to_owned(), value)
                })
                .collect(),
        ))
    }

    /// One field as the API returns it, derived fields included.
    pub fn field_value(&self, class: &ClassDef, reference: &str, field: &str) -> Option<Value> {
        let index = class.field_index(field)?;
        let object = self.object(class, reference)?;
        Some(
            self.derived_value(class.fields[index].ty, reference)
                .unwrap_or_else(|| object.values[index].clone()),
        )
    }

    /// The value of a derived field of type `ty` on `reference`; `None` for stored fields.
    fn derived_value(&self, ty: Ty, reference: &str) -> Option<Value> {
        let Ty::Derived {
            class: source,
            field: back,
        } = ty
        else {
            return None;
        };
        let source = super::schema::class(source).expect("the schema names known classes");
        Some(Value::Array(
            self.referrers(source, back, reference)
                .into_iter()
                .map(Value::String)
                .collect(),
        ))
    }

    /// What changed after generation `since` among the subscribed objects, oldest first; `None`
    /// if deletions after `since` were already forgotten.
    pub fn changes_since(&self, since: u64, subscriptions: &[Subscription]) -> Option<Vec<Change>> {
        // Token 0 (a first `event.from`) needs no deletions: every object it reports is an `add`.
        if since != 0 && since < self.forgotten {
            return None;
        }
        let covered = |class: &ClassDef, reference: &str| {
            class.public && subscriptions.iter().any(|s| s.covers(class, reference))
        };
        let mut changes = Vec::new();
        for class in CLASSES {
            for (reference, object) in &self.tables[class.name].objects {
                if object.modified > since && covered(class, reference) {
                    changes.push(Change {
                        class,
                        reference: reference.clone(),
                        generation: object.modified,
                        kind: if object.created > since {
                            ChangeKind::Add
                        } else {
                            ChangeKind::Mod
                        },
                    });
                }
            }
        }
        for tombstone in &self.tombstones {
            if tombstone.deleted > since
                && tombstone.created <= since
                && covered(tombstone.class, &tombstone.reference)
            {
                changes.push(Change {
                    class: tombstone.class,
                    reference: tombstone.reference.clone(),
                    generation: tombstone.deleted,
                    kind: ChangeKind::Del,
                });
            }
        }
        changes.sort_by_key(|change| change.generation);
        Some(changes)
    }
}
