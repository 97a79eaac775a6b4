//! The messages xapi generates for every class from its datamodel: `get_all`,
//! `get_all_records`, `get_record`, `get_by_uuid`, `get_by_name_label`, a getter per field, and
//! for writable fields a setter plus `add_to_`/`remove_from_` (maps) or `add_`/`remove_` (sets).
//!
//! `add_to_<map>` refuses an existing key (`MAP_DUPLICATE_KEY`); `remove_from_<map>` and
//! `remove_<set>` accept absent entries; `add_<set>` is idempotent. Hand-written messages of the
//! same name (with extra rules) replace these.

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::wire::Outcome;

use crate::xapi::dispatch::{Action, Method};
use crate::xapi::errors;
use crate::xapi::params::{Param, coerce_field};
use crate::xapi::pool::Pool;
use crate::xapi::schema::{CLASSES, ClassDef};

/// What a generated message does.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    GetAll,
    GetAllRecords,
    GetRecord,
    GetByUuid,
    GetByNameLabel,
    Get(usize),
    Set(usize),
    AddToMap(usize),
    RemoveFromMap(usize),
    AddToSet(usize),
    RemoveFromSet(usize),
}

/// A generated message bound to its class.
#[derive(Debug, Clone, Copy)]
pub struct Generic {
    pub op: Op,
    pub class: &'static ClassDef,
}

fn method(
    class: &'static ClassDef,
    name: String,
    params: &[(&'static str, Param)],
    op: Op,
) -> Method {
    let mut method = Method::new(name, params, |_, _, _| {
        unreachable!("generic messages run as Action::Generic")
    });
    method.action = Action::Generic(Generic { op, class });
    method.allows_async = false;
    method
}

/// The generated messages of every class.
pub fn methods() -> Vec<Method> {
    let mut methods = Vec::new();
    for class in CLASSES {
        let c = class.name;
        let this = ("self", Param::Str);
        if class.public {
            methods.push(method(class, format!("{c}.get_all"), &[], Op::GetAll));
            methods.push(method(
                class,
                format!("{c}.get_all_records"),
                &[],
                Op::GetAllRecords,
            ));
        }
        methods.push(method(
            class,
            format!("{c}.get_record"),
            &[this],
            Op::GetRecord,
        ));
        methods.push(method(
            class,
            format!("{c}.get_by_uuid"),
            &[("uuid", Param::Str)],
            Op::GetByUuid,
        ));
        if class.has_field("name_label") {
            methods.push(method(
                class,
                format!("{c}.get_by_name_label"),
                &[("label", Param::Str)],
                Op::GetByNameLabel,
            ));
        }
        for (index, field) in class.fields.iter().enumerate() {
            let f = field.name;
            methods.push(method(
                class,
                format!("{c}.get_{f}"),
                &[this],
                Op::Get(index),
            ));
            if !field.writable {
                continue;
            }
            methods.push(method(
                class,
                format!("{c}.set_{f}"),
                &[this, ("value", Param::Field(field.ty))],
                Op::Set(index),
            ));
            if field.ty.is_map() {
                methods.push(method(
                    class,
                    format!("{c}.add_to_{f}"),
                    &[this, ("key", Param::Str), ("value", Param::Str)],
                    Op::AddToMap(index),
                ));
                methods.push(method(
                    class,
                    format!("{c}.remove_from_{f}"),
                    &[this, ("key", Param::Str)],
                    Op::RemoveFromMap(index),
                ));
            }
            if field.ty.is_set() {
                methods.push(method(
                    class,
                    format!("{c}.add_{f}"),
                    &[this, ("value", Param::Str)],
                    Op::AddToSet(index),
                ));
                methods.push(method(
                    class,
                    format!("{c}.remove_{f}"),
                    &[this, ("value", Param::Str)],
                    Op::RemoveFromSet(index),
                ));
            }
        }
    }
    methods
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

impl Generic {
    pub fn run(self, pool: &Pool, args: Vec<Value>) -> Outcome {
        let class = self.class;
        match self.op {
            Op::GetAll => {
                Ok(pool.read(|db| Value::Array(db.references(class).map(Value::string).collect())))
            }
            Op::GetAllRecords => Ok(pool.read(|db| {
                Value::Struct(
                    db.references(class)
                        .filter_map(|r| Some((r.to_owned(), db.record(class, r)?)))
                        .collect(),
                )
            })),
            Op::GetRecord => pool
                .read(|db| db.record(class, text(&args[0])))
                .ok_or_else(|| errors::handle_invalid(class.name, text(&args[0]))),
            Op::GetByUuid => pool
                .read(|db| db.by_uuid(class, text(&args[0])).map(Value::string))
                .ok_or_else(|| errors::uuid_invalid(class.name, text(&args[0]))),
            Op::GetByNameLabel => Ok(pool.read(|db| {
                let mut found: Vec<&str> = db
                    .references(class)
                    .filter(|r| db.get_str(class, r, "name_label") == text(&args[0]))
                    .collect();
                found.sort_unstable();
                Value::Array(found.into_iter().map(Value::string).collect())
            })),
            Op::Get(index) => pool
                .field(class, text(&args[0]), class.fields[index].name)
                .ok_or_else(|| errors::handle_invalid(class.name, text(&args[0]))),
            Op::Set(index) => {
                let field = class.fields[index].name;
                let reference = text(&args[0]).to_owned();
                let value = args.into_iter().nth(1).unwrap_or(Value::Nil);
                set(pool, class, &reference, field, value)
            }
            Op::AddToMap(index) => {
                let field = class.fields[index].name;
                let (reference, key, value) = (text(&args[0]), text(&args[1]), text(&args[2]));
                update(pool, class, reference, field, |current| {
                    let Value::Struct(members) = current else {
                        return Ok(());
                    };
                    if members.iter().any(|(k, _)| k == key) {
                        return Err(errors::map_duplicate_key(class.name, field, reference, key));
                    }
                    members.push((key.to_owned(), Value::string(value)));
                    Ok(())
                })
            }
            Op::RemoveFromMap(index) => {
                let field = class.fields[index].name;
                update(pool, class, text(&args[0]), field, |current| {
                    if let Value::Struct(members) = current {
                        members.retain(|(k, _)| k != text(&args[1]));
                    }
                    Ok(())
                })
            }
            Op::AddToSet(index) => {
                let field = class.fields[index].name;
                update(pool, class, text(&args[0]), field, |current| {
                    if let Value::Array(items) = current
                        && !items.iter().any(|item| text(item) == text(&args[1]))
                    {
                        items.insert(0, args[1].clone());
                    }
                    Ok(())
                })
            }
            Op::RemoveFromSet(index) => {
                let field = class.fields[index].name;
                update(pool, class, text(&args[0]), field, |current| {
                    if let Value::Array(items) = current {
                        items.retain(|item| text(item) != text(&args[1]));
                    }
                    Ok(())
                })
            }
        }
    }
}

/// Sets a field after checking the object exists and the value fits the field.
pub fn set(
    pool: &Pool,
    class: &'static ClassDef,
    reference: &str,
    field: &str,
    value: Value,
) -> Outcome {
    let index = class
        .field_index(field)
        .expect("generated for a known field");
    let value = coerce_field(class.fields[index].ty, value, "value")?;
    pool.write(|db| {
        if db.set(class, reference, field, value) {
            Ok(Value::string(""))
        } else {
            Err(errors::handle_invalid(class.name, reference))
        }
    })
}

/// Changes a map or set field in place with `change`.
pub fn update(
    pool: &Pool,
    class: &'static ClassDef,
    reference: &str,
    field: &str,
    change: impl FnOnce(&mut Value) -> Result<(), lifeboat_xapi::ApiError>,
) -> Outcome {
    pool.write(|db| {
        let mut value = db
            .get(class, reference, field)
            .cloned()
            .ok_or_else(|| errors::handle_invalid(class.name, reference))?;
        change(&mut value)?;
        db.set(class, reference, field, value);
        Ok(Value::string(""))
    })
}
