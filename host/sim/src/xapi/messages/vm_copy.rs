//! `VM.snapshot`, `VM.checkpoint`, `VM.clone` and `VM.copy`: a new VM made from another, with
//! new disks.
//!
//! The new record follows xapi's rules: a snapshot is a template that points at its VM and
//! carries the VM's record at snapshot time (used by revert), becomes the VM's `parent`, and
//! keeps MAC addresses; clones and copies are independent VMs with a fresh `mac_seed`. No copy
//! keeps `blocked_operations`. Disk VBDs get new VDIs (snapshot, clone or full copy), CD VBDs
//! keep their ISO, and on any failure the new VDIs are destroyed again. A checkpoint is a
//! snapshot that also holds the VM's memory: of a live VM it is `Suspended`, with a suspend
//! image (an empty disk of the VM's memory size: the simulator runs no guest) as its
//! `suspend_VDI`; of a suspended VM it takes a clone of the VM's own suspend image.

use lifeboat_formats::xmlrpc::{Value, xapi_now};
use lifeboat_xapi::ApiError;
use lifeboat_xapi::wire::Outcome;

use super::vm::new_metrics;
use crate::xapi::build::random_mac;
use crate::xapi::db::Database;
use crate::xapi::dispatch::{Ctx, Method};
use crate::xapi::errors;
use crate::xapi::operations;
use crate::xapi::params::Param::{Set, Str};
use crate::xapi::pool::{Pool, cls};
use crate::xapi::records::{map_with, map_without, put, stored_fields, value_of};
use crate::xapi::schema::{EPOCH, NULL};
use crate::xapi::vdi_ops::{self, Derivation};

pub fn methods() -> Vec<Method> {
    vec![
        Method::new(
            "VM.snapshot",
            &[("vm", Str), ("new_name", Str), ("ignore_vdis", Set)],
            snapshot,
        )
        .optional(1),
        Method::new(
            "VM.checkpoint",
            &[("vm", Str), ("new_name", Str)],
            checkpoint,
        ),
        Method::new("VM.clone", &[("vm", Str), ("new_name", Str)], clone),
        Method::new(
            "VM.copy",
            &[("vm", Str), ("new_name", Str), ("sr", Str)],
            copy,
        ),
    ]
}

/// What kind of VM is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    Snapshot,
    /// A snapshot with the VM's memory.
    Checkpoint,
    Clone,
    /// A full copy into an SR (`None`: each disk into its own SR).
    Copy(Option<&'a str>),
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn snapshot(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    let ignored: Vec<&str> = args
        .get(2)
        .and_then(Value::as_array)
        .unwrap_or_default()
        .iter()
        .map(text)
        .collect();
    derive_vm(
        pool,
        ctx,
        text(&args[0]),
        text(&args[1]),
        Kind::Snapshot,
        &ignored,
    )
}

fn checkpoint(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    derive_vm(
        pool,
        ctx,
        text(&args[0]),
        text(&args[1]),
        Kind::Checkpoint,
        &[],
    )
}

fn clone(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    derive_vm(pool, ctx, text(&args[0]), text(&args[1]), Kind::Clone, &[])
}

fn copy(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    let sr = text(&args[2]);
    let sr = pool.read(|db| {
        if !db.exists(cls("SR"), sr) {
            return Ok(None);
        }
        if db.get_str(cls("SR"), sr, "content_type") == "iso" {
            return Err(errors::operation_not_allowed(
                "Cannot copy a VM's disks to an ISO SR",
            ));
        }
        Ok(Some(sr))
    })?;
    derive_vm(
        pool,
        ctx,
        text(&args[0]),
        text(&args[1]),
        Kind::Copy(sr),
        &[],
    )
}

/// A VBD of the source and the VDI its copy gets.
struct DiskPlan {
    vbd: String,
    vdi: String,
}

fn derive_vm(
    pool: &Pool,
    ctx: &Ctx,
    vm: &str,
    new_name: &str,
    kind: Kind,
    ignored: &[&str],
) -> Outcome {
    let op = match kind {
        Kind::Snapshot => "snapshot",
        Kind::Checkpoint => "checkpoint",
        Kind::Clone => "clone",
        Kind::Copy(_) => "copy",
    };
    let _running = operations::begin(pool, vm, op, ctx.task.as_deref())?;
    let vbd_class = cls("VBD");
    let sources: Vec<(String, Option<String>)> = pool.read(|db| {
        let mut vbds = db.referrers(vbd_class, "VM", vm);
        vbds.sort_by_key(|vbd| db.get_str(vbd_class, vbd, "userdevice").to_owned());
        vbds.into_iter()
            .filter_map(|vbd| {
                let vdi = db.get_str(vbd_class, &vbd, "VDI").to_owned();
                let is_disk = db.get_str(vbd_class, &vbd, "type") == "Disk"
                    && !db.get_bool(vbd_class, &vbd, "empty")
                    && db.exists(cls("VDI"), &vdi);
                if is_disk && kind == Kind::Snapshot && ignored.contains(&vdi.as_str()) {
                    return None;
                }
                Some((vbd, is_disk.then_some(vdi)))
            })
            .collect()
    });

    let mut plans = Vec::new();
    let mut created: Vec<String> = Vec::new();
    for (vbd, disk) in sources {
        let vdi = match disk {
            Some(vdi) => {
                let made = match kind {
                    Kind::Snapshot | Kind::Checkpoint => {
                        pool.write(|db| vdi_ops::derive(pool, db, &vdi, Derivation::Snapshot))
                    }
                    Kind::Clone => {
                        pool.write(|db| vdi_ops::derive(pool, db, &vdi, Derivation::Clone))
                    }
                    Kind::Copy(sr) => {
                        let own_sr = pool.read(|db| db.get_str(cls("VDI"), &vdi, "SR").to_owned());
                        vdi_ops::copy(pool, &vdi, sr.unwrap_or(&own_sr), None)
                    }
                };
                match made {
                    Ok(new) => {
                        created.push(new.clone());
                        new
                    }
                    Err(error) => {
                        undo(pool, &created);
                        return Err(error);
                    }
                }
            }
            None => pool.read(|db| db.get_str(vbd_class, &vbd, "VDI").to_owned()),
        };
        plans.push(DiskPlan { vbd, vdi });
    }
    let memory = match kind {
        Kind::Checkpoint => match suspend_image(pool, vm) {
            Ok(image) => {
                created.extend(image.clone());
                image
            }
            Err(error) => {
                undo(pool, &created);
                return Err(error);
            }
        },
        _ => None,
    };
    let created_vm = pool.write(|db| {
        if !db.exists(cls("VM"), vm) {
            return Err(errors::handle_invalid("VM", vm));
        }
        Ok(create_vm(db, vm, new_name, kind, &plans, memory.as_deref()))
    });
    if created_vm.is_err() {
        undo(pool, &created);
    }
    created_vm.map(Value::String)
}

/// The suspend image of a checkpoint of `vm`: a clone of the VM's own if it is suspended, a
/// new one of its memory size if it runs, none if it is halted.
fn suspend_image(pool: &Pool, vm: &str) -> Result<Option<String>, ApiError> {
    let class = cls("VM");
    let (state, own_image, memory, sr) = pool.read(|db| {
        let own = db.get_str(class, vm, "suspend_VDI").to_owned();
        let default_sr = db
            .references(cls("pool"))
            .next()
            .map(|pool_ref| db.get_str(cls("pool"), pool_ref, "default_SR").to_owned())
            .unwrap_or_default();
        (
            db.get_str(class, vm, "power_state").to_owned(),
            db.exists(cls("VDI"), &own).then_some(own),
            db.get_int(class, vm, "memory_static_max"),
            default_sr,
        )
    });
    match (state.as_str(), own_image) {
        ("Suspended", Some(own)) => pool
            .write(|db| vdi_ops::derive(pool, db, &own, Derivation::Clone))
            .map(Some),
        ("Running" | "Paused", _) => {
            let fields = vec![
                ("SR", Value::String(sr)),
                ("virtual_size", Value::Int(memory)),
                ("name_label", Value::string("Suspend image")),
                ("type", Value::string("suspend")),
            ];
            pool.write(|db| vdi_ops::create(pool, db, fields)).map(Some)
        }
        _ => Ok(None),
    }
}

/// Destroys the VDIs made for a copy that failed.
fn undo(pool: &Pool, vdis: &[String]) {
    for vdi in vdis {
        // The VDIs were just made and nothing uses them: destroying them cannot be refused.
        let _ = pool.write(|db| vdi_ops::destroy(pool, db, vdi));
    }
}

/// Creates the new VM record with its VBDs, VIFs and metrics.
fn create_vm(
    db: &mut Database,
    vm: &str,
    new_name: &str,
    kind: Kind,
    plans: &[DiskPlan],
    memory: Option<&str>,
) -> String {
    let class = cls("VM");
    let is_snapshot = matches!(kind, Kind::Snapshot | Kind::Checkpoint);
    let mut fields = stored_fields(db, class, vm);
    let other_config = value_of(&fields, "other_config")
        .cloned()
        .unwrap_or(Value::Struct(Vec::new()));
    let mut other_config = map_without(&other_config, &["default_template", "xensource_internal"]);
    if !is_snapshot {
        other_config = map_with(&other_config, "mac_seed", &uuid::Uuid::new_v4().to_string());
    }
    let is_template = is_snapshot || db.get_bool(class, vm, "is_a_template");
    put(&mut fields, "name_label", Value::string(new_name));
    put(&mut fields, "other_config", other_config);
    put(&mut fields, "is_a_snapshot", Value::Boolean(is_snapshot));
    put(&mut fields, "is_a_template", Value::Boolean(is_template));
    put(&mut fields, "is_default_template", Value::Boolean(false));
    put(&mut fields, "blocked_operations", Value::Struct(Vec::new()));
    put(&mut fields, "current_operations", Value::Struct(Vec::new()));
    put(&mut fields, "allowed_operations", Value::Array(Vec::new()));
    put(
        &mut fields,
        "power_state",
        Value::string(if memory.is_some() {
            "Suspended"
        } else {
            "Halted"
        }),
    );
    put(&mut fields, "resident_on", Value::string(NULL));
    put(&mut fields, "domid", Value::Int(-1));
    put(&mut fields, "ha_always_run", Value::Boolean(false));
    put(
        &mut fields,
        "suspend_VDI",
        Value::string(memory.unwrap_or(NULL)),
    );
    put(&mut fields, "guest_metrics", Value::string(NULL));
    if is_snapshot {
        let power_state = db.get_str(class, vm, "power_state");
        put(&mut fields, "snapshot_of", Value::string(vm));
        put(&mut fields, "snapshot_time", Value::DateTime(xapi_now()));
        put(
            &mut fields,
            "snapshot_info",
            Value::record([
                ("power-state-at-snapshot", Value::string(power_state)),
                ("disk-snapshot-type", Value::string("crash_consistent")),
            ]),
        );
        put(
            &mut fields,
            "snapshot_metadata",
            Value::String(snapshot_metadata(db, vm)),
        );
        put(
            &mut fields,
            "parent",
            Value::string(db.get_str(class, vm, "parent")),
        );
    } else {
        put(&mut fields, "snapshot_of", Value::string(NULL));
        put(
            &mut fields,
            "snapshot_time",
            Value::DateTime(EPOCH.to_owned()),
        );
        put(&mut fields, "snapshot_info", Value::Struct(Vec::new()));
        put(&mut fields, "snapshot_metadata", Value::string(""));
        put(&mut fields, "parent", Value::string(NULL));
    }
    let metrics = new_metrics(db, &fields);
    put(&mut fields, "metrics", Value::String(metrics));
    let new_vm = db.create(class, fields);
    if is_snapshot {
        db.set(class, vm, "parent", Value::string(new_vm.as_str()));
    }
    for plan in plans {
        copy_vbd(db, &plan.vbd, &new_vm, &plan.vdi);
    }
    for vif in db.referrers(cls("VIF"), "VM", vm) {
        copy_vif(db, &vif, &new_vm, !is_snapshot);
    }
    new_vm
}

/// The VM's record as XML-RPC text: what `VM.revert` restores fields from.
pub fn snapshot_metadata(db: &Database, vm: &str) -> String {
    let record = db.record(cls("VM"), vm).unwrap_or(Value::Nil);
    let mut xml = Vec::new();
    record
        .write_xml(&mut xml)
        .expect("writing XML into memory cannot fail");
    String::from_utf8(xml).expect("the encoder writes UTF-8")
}

/// Copies a VBD onto `vm`, pointing at `vdi`, detached.
pub fn copy_vbd(db: &mut Database, vbd: &str, vm: &str, vdi: &str) -> String {
    let class = cls("VBD");
    let mut fields = stored_fields(db, class, vbd);
    put(&mut fields, "VM", Value::string(vm));
    put(&mut fields, "VDI", Value::string(vdi));
    put(&mut fields, "currently_attached", Value::Boolean(false));
    put(&mut fields, "current_operations", Value::Struct(Vec::new()));
    if db.get_str(class, vbd, "type") == "Disk" {
        let other_config = db
            .get(class, vbd, "other_config")
            .cloned()
            .unwrap_or(Value::Struct(Vec::new()));
        put(
            &mut fields,
            "other_config",
            map_with(&other_config, "owner", ""),
        );
    }
    db.create(class, fields)
}

/// Copies a VIF onto `vm`, detached; a generated MAC is generated anew when `new_mac`.
pub fn copy_vif(db: &mut Database, vif: &str, vm: &str, new_mac: bool) -> String {
    let class = cls("VIF");
    let mut fields = stored_fields(db, class, vif);
    put(&mut fields, "VM", Value::string(vm));
    put(&mut fields, "currently_attached", Value::Boolean(false));
    if new_mac && db.get_bool(class, vif, "MAC_autogenerated") {
        put(&mut fields, "MAC", Value::String(random_mac()));
    }
    db.create(class, fields)
}
