//! VM lifecycle messages: create, destroy, power operations, templates and blocked operations.
//! Snapshot, clone and copy are in [`vm_copy`](super::vm_copy), revert in
//! [`vm_revert`](super::vm_revert).

use lifeboat_formats::xmlrpc::{Value, xapi_now};
use lifeboat_xapi::wire::Outcome;

use super::generic::{Generic, Op};
use crate::xapi::db::Database;
use crate::xapi::dispatch::{Ctx, Method};
use crate::xapi::errors;
use crate::xapi::operations::{self, VM_OPERATIONS};
use crate::xapi::params::Param::{Bool, Field, Record, Str};
use crate::xapi::pool::{Pool, cls};
use crate::xapi::records::from_record;
use crate::xapi::schema::{NULL, Ty};

pub fn methods() -> Vec<Method> {
    let vm = ("vm", Str);
    let paused_force = [vm, ("start_paused", Bool), ("force", Bool)];
    vec![
        Method::new("VM.create", &[("args", Record)], create),
        Method::new("VM.destroy", &[("self", Str)], destroy),
        Method::new("VM.start", &paused_force, start),
        Method::new(
            "VM.start_on",
            &[vm, ("host", Str), ("start_paused", Bool), ("force", Bool)],
            start_on,
        ),
        Method::new("VM.clean_shutdown", &[vm], clean_shutdown),
        Method::new("VM.hard_shutdown", &[vm], hard_shutdown),
        Method::new("VM.shutdown", &[vm], shutdown),
        Method::new("VM.clean_reboot", &[vm], clean_reboot),
        Method::new("VM.hard_reboot", &[vm], hard_reboot),
        Method::new("VM.suspend", &[vm], suspend),
        Method::new("VM.resume", &paused_force, resume),
        Method::new("VM.pause", &[vm], pause),
        Method::new("VM.unpause", &[vm], unpause),
        Method::new(
            "VM.set_is_a_template",
            &[("self", Str), ("value", Bool)],
            set_is_a_template,
        ),
        Method::new(
            "VM.add_to_blocked_operations",
            &[("self", Str), ("key", Str), ("value", Str)],
            add_to_blocked_operations,
        )
        .sync_only(),
        Method::new(
            "VM.update_allowed_operations",
            &[("self", Str)],
            update_allowed_operations,
        ),
        Method::new(
            "VM.set_blocked_operations",
            &[("self", Str), ("value", Field(Ty::StrMap))],
            set_blocked_operations,
        )
        .sync_only(),
    ]
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn done() -> Outcome {
    Ok(Value::string(""))
}

/// Fields `VM.create` needs in its record.
const REQUIRED: &[&str] = &[
    "user_version",
    "is_a_template",
    "affinity",
    "memory_static_max",
    "memory_dynamic_max",
    "memory_dynamic_min",
    "memory_static_min",
    "VCPUs_params",
    "VCPUs_max",
    "VCPUs_at_startup",
    "actions_after_shutdown",
    "actions_after_reboot",
    "actions_after_crash",
    "PV_bootloader",
    "PV_kernel",
    "PV_ramdisk",
    "PV_args",
    "PV_bootloader_args",
    "PV_legacy_args",
    "HVM_boot_policy",
    "HVM_boot_params",
    "platform",
    "PCI_bus",
    "other_config",
    "recommendations",
];

fn create(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let record = args.into_iter().next().unwrap_or(Value::Nil);
    let mut fields = from_record(cls("VM"), record, REQUIRED)?;
    // A new VM is halted and owns nothing yet, whatever the record says.
    fields.retain(|(name, _)| {
        !matches!(
            *name,
            "power_state"
                | "resident_on"
                | "domid"
                | "metrics"
                | "guest_metrics"
                | "current_operations"
                | "is_control_domain"
                | "is_a_snapshot"
                | "snapshot_of"
        )
    });
    Ok(Value::String(pool.write(|db| {
        let metrics = new_metrics(db, &fields);
        fields.push(("metrics", Value::String(metrics)));
        fields.push(("domid", Value::Int(-1)));
        db.create(cls("VM"), fields)
    })))
}

/// A VM_metrics object for a VM with these fields.
pub fn new_metrics(db: &mut Database, fields: &[(&'static str, Value)]) -> String {
    let memory = crate::xapi::records::value_of(fields, "memory_static_max")
        .cloned()
        .unwrap_or(Value::Int(0));
    let vcpus = crate::xapi::records::value_of(fields, "VCPUs_at_startup")
        .cloned()
        .unwrap_or(Value::Int(1));
    db.create(
        cls("VM_metrics"),
        vec![
            ("memory_actual", memory),
            ("VCPUs_number", vcpus),
            ("install_time", Value::DateTime(xapi_now())),
            ("last_updated", Value::DateTime(xapi_now())),
        ],
    )
}

fn destroy(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    let vm = text(&args[0]);
    let _running = operations::begin(pool, vm, "destroy", ctx.task.as_deref())?;
    pool.write(|db| destroy_records(db, vm));
    done()
}

/// Removes a VM with its VBDs, VIFs and metrics; its VDIs and snapshots stay.
pub fn destroy_records(db: &mut Database, vm: &str) {
    let class = cls("VM");
    for vbd in db.referrers(cls("VBD"), "VM", vm) {
        db.destroy(cls("VBD"), &vbd);
    }
    for vif in db.referrers(cls("VIF"), "VM", vm) {
        db.destroy(cls("VIF"), &vif);
    }
    let metrics = db.get_str(class, vm, "metrics").to_owned();
    db.destroy(cls("VM_metrics"), &metrics);
    let guest_metrics = db.get_str(class, vm, "guest_metrics").to_owned();
    db.destroy(cls("VM_guest_metrics"), &guest_metrics);
    db.destroy(class, vm);
}

/// Puts a VM in `state`, resident on `host` (running states) or nowhere, with its devices
/// attached or not to match.
pub fn set_power_state(db: &mut Database, vm: &str, state: &str, host: &str) {
    let class = cls("VM");
    let live = matches!(state, "Running" | "Paused");
    let was_live = matches!(db.get_str(class, vm, "power_state"), "Running" | "Paused");
    if live && !was_live {
        let domid = db
            .references(class)
            .map(|other| db.get_int(class, other, "domid"))
            .max()
            .unwrap_or(0)
            + 1;
        db.set(class, vm, "domid", Value::Int(domid));
        db.set(class, vm, "resident_on", Value::string(host));
        let metrics = db.get_str(class, vm, "metrics").to_owned();
        db.set(
            cls("VM_metrics"),
            &metrics,
            "start_time",
            Value::DateTime(xapi_now()),
        );
    } else if !live {
        db.set(class, vm, "domid", Value::Int(-1));
        db.set(class, vm, "resident_on", Value::string(NULL));
    }
    db.set(class, vm, "power_state", Value::string(state));
    for vbd in db.referrers(cls("VBD"), "VM", vm) {
        let attached = live && !db.get_bool(cls("VBD"), &vbd, "empty");
        db.set(
            cls("VBD"),
            &vbd,
            "currently_attached",
            Value::Boolean(attached),
        );
    }
    for vif in db.referrers(cls("VIF"), "VM", vm) {
        db.set(cls("VIF"), &vif, "currently_attached", Value::Boolean(live));
    }
}

/// Runs power operation `op` on `vm`, ending in `state`.
fn power(pool: &Pool, ctx: &Ctx, vm: &str, op: &str, state: &str, host: Option<&str>) -> Outcome {
    let _running = operations::begin(pool, vm, op, ctx.task.as_deref())?;
    pool.write(|db| {
        let host = match host {
            Some(host) => host.to_owned(),
            None => {
                let affinity = db.get_str(cls("VM"), vm, "affinity");
                if db.exists(cls("host"), affinity) {
                    affinity.to_owned()
                } else {
                    let pool_ref = db.references(cls("pool")).next().unwrap_or_default();
                    db.get_str(cls("pool"), pool_ref, "master").to_owned()
                }
            }
        };
        set_power_state(db, vm, state, &host);
    });
    done()
}

fn running_state(start_paused: &Value) -> &'static str {
    if start_paused.as_bool() == Some(true) {
        "Paused"
    } else {
        "Running"
    }
}

fn start(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    power(
        pool,
        ctx,
        text(&args[0]),
        "start",
        running_state(&args[1]),
        None,
    )
}

fn start_on(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    let host = text(&args[1]);
    pool.check_ref(cls("host"), host)?;
    power(
        pool,
        ctx,
        text(&args[0]),
        "start_on",
        running_state(&args[2]),
        Some(host),
    )
}

fn clean_shutdown(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    power(pool, ctx, text(&args[0]), "clean_shutdown", "Halted", None)
}

fn hard_shutdown(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    power(pool, ctx, text(&args[0]), "hard_shutdown", "Halted", None)
}

fn shutdown(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    power(pool, ctx, text(&args[0]), "shutdown", "Halted", None)
}

fn clean_reboot(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    power(pool, ctx, text(&args[0]), "clean_reboot", "Running", None)
}

fn hard_reboot(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    power(pool, ctx, text(&args[0]), "hard_reboot", "Running", None)
}

fn suspend(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    power(pool, ctx, text(&args[0]), "suspend", "Suspended", None)
}

fn resume(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    power(
        pool,
        ctx,
        text(&args[0]),
        "resume",
        running_state(&args[1]),
        None,
    )
}

fn pause(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    power(pool, ctx, text(&args[0]), "pause", "Paused", None)
}

fn unpause(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    power(pool, ctx, text(&args[0]), "unpause", "Running", None)
}

fn set_is_a_template(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    let vm = text(&args[0]);
    let make_template = args[1].as_bool() == Some(true);
    let already = pool.read(|db| db.get_bool(cls("VM"), vm, "is_a_template"));
    let _running = if make_template && !already {
        Some(operations::begin(
            pool,
            vm,
            "make_into_template",
            ctx.task.as_deref(),
        )?)
    } else {
        pool.check_ref(cls("VM"), vm)?;
        None
    };
    pool.write(|db| db.set(cls("VM"), vm, "is_a_template", args[1].clone()));
    done()
}

/// Recomputes `allowed_operations`: the operations whose checks pass now. xapi keeps the field
/// up to date itself but misses changes to `blocked_operations`, which is why clients that
/// change those call this afterwards.
fn update_allowed_operations(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let vm = text(&args[0]);
    pool.check_ref(cls("VM"), vm)?;
    pool.write(|db| {
        let allowed: Vec<Value> = VM_OPERATIONS
            .iter()
            .filter(|op| operations::check(db, vm, op).is_ok())
            .map(|op| Value::string(*op))
            .collect();
        db.set(cls("VM"), vm, "allowed_operations", Value::Array(allowed));
    });
    done()
}

/// The generated map message `op` on `VM.blocked_operations`.
fn blocked_operations(op: fn(usize) -> Op) -> Generic {
    let class = cls("VM");
    let index = class
        .field_index("blocked_operations")
        .expect("VM has blocked_operations");
    Generic {
        op: op(index),
        class,
    }
}

/// Refuses a key that is not a VM operation, as xapi's enum-keyed map does.
fn check_operation_key(key: &str) -> Result<(), lifeboat_xapi::ApiError> {
    if VM_OPERATIONS.contains(&key) {
        Ok(())
    } else {
        Err(errors::invalid_value("key", key))
    }
}

fn add_to_blocked_operations(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    check_operation_key(text(&args[1]))?;
    blocked_operations(Op::AddToMap).run(pool, args)
}

fn set_blocked_operations(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    for (key, _) in args[1].as_struct().unwrap_or_default() {
        check_operation_key(key)?;
    }
    blocked_operations(Op::Set).run(pool, args)
}
