//! VDI messages: create, destroy, snapshot, clone, copy and revert.

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::wire::Outcome;

use crate::xapi::dispatch::{Ctx, Method};
use crate::xapi::params::Param::Field;
use crate::xapi::params::Param::{Record, Str};
use crate::xapi::pool::Pool;
use crate::xapi::pool::cls;
use crate::xapi::records::from_record;
use crate::xapi::schema::{NULL, Ty};
use crate::xapi::vdi_ops::{self, Derivation};

pub fn methods() -> Vec<Method> {
    let driver_params = ("driver_params", Field(Ty::StrMap));
    vec![
        Method::new("VDI.create", &[("args", Record)], create),
        Method::new("VDI.destroy", &[("self", Str)], destroy),
        Method::new("VDI.snapshot", &[("vdi", Str), driver_params], snapshot).optional(1),
        Method::new("VDI.clone", &[("vdi", Str), driver_params], clone).optional(1),
        Method::new(
            "VDI.copy",
            &[
                ("vdi", Str),
                ("sr", Str),
                ("base_vdi", Str),
                ("into_vdi", Str),
            ],
            copy,
        )
        .optional(2),
        Method::new("VDI.revert", &[("snapshot", Str)], revert),
    ]
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// Fields `VDI.create` needs in its record.
const REQUIRED: &[&str] = &[
    "SR",
    "virtual_size",
    "type",
    "sharable",
    "read_only",
    "other_config",
];

fn create(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let record = args.into_iter().next().unwrap_or(Value::Nil);
    let fields = from_record(cls("VDI"), record, REQUIRED)?;
    pool.write(|db| vdi_ops::create(pool, db, fields))
        .map(Value::String)
}

fn destroy(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    pool.write(|db| vdi_ops::destroy(pool, db, text(&args[0])))?;
    Ok(Value::string(""))
}

fn snapshot(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    pool.write(|db| vdi_ops::derive(pool, db, text(&args[0]), Derivation::Snapshot))
        .map(Value::String)
}

fn clone(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    pool.write(|db| vdi_ops::derive(pool, db, text(&args[0]), Derivation::Clone))
        .map(Value::String)
}

fn copy(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let into = args
        .get(3)
        .map(text)
        .filter(|into| !into.is_empty() && *into != NULL);
    vdi_ops::copy(pool, text(&args[0]), text(&args[1]), into).map(Value::String)
}

fn revert(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    pool.write(|db| vdi_ops::revert_in_place(pool, db, text(&args[0])))?;
    Ok(Value::string(""))
}
