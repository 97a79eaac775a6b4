//! `VM.revert`: the snapshot's VM gets the snapshot's fields and disks back.
//!
//! As xapi since "Better VM revert": the VM is hard-shut down if it runs; its fields come back
//! from the snapshot's `snapshot_metadata` except identity, devices, tags and affinity. Each
//! snapshot disk is reverted in place (`VDI.revert`, the VM keeps its VDI) where the SR allows
//! `vdi_revert`; elsewhere the old VDI is destroyed and replaced by a clone of the snapshot disk,
//! and other snapshots that pointed at the old VDI are re-pointed at the clone. Disks that were
//! not in the snapshot are detached but kept. A VM that no longer exists is recreated from the
//! metadata with its old uuid. Any failure is `VM_REVERT_FAILED [snapshot; vm]`, VM halted.

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::ApiError;
use lifeboat_xapi::wire::Outcome;

use super::vm::{new_metrics, set_power_state};
use super::vm_copy::{copy_vbd, copy_vif};
use crate::xapi::db::Database;
use crate::xapi::dispatch::{Ctx, Method};
use crate::xapi::operations;
use crate::xapi::params::Param::Str;
use crate::xapi::pool::{Pool, cls};
use crate::xapi::records::{from_record, put};
use crate::xapi::schema::NULL;
use crate::xapi::vdi_ops::{self, Derivation};

pub fn methods() -> Vec<Method> {
    vec![Method::new("VM.revert", &[("snapshot", Str)], revert)]
}

/// VM fields that a revert leaves as they are.
const KEPT_FIELDS: &[&str] = &[
    "uuid",
    "suspend_VDI",
    "power_state",
    "parent",
    "current_operations",
    "allowed_operations",
    "metrics",
    "guest_metrics",
    "resident_on",
    "domid",
    "protection_policy",
    "snapshot_schedule",
    "scheduled_to_be_resident_on",
    "tags",
    "affinity",
    "groups",
    "consoles",
    "VUSBs",
    "VTPMs",
    "VGPUs",
    "attached_PCIs",
    "is_a_snapshot",
    "snapshot_of",
    "snapshot_time",
    "snapshot_info",
    "snapshot_metadata",
];

fn revert(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    let snapshot = args[0].as_str().unwrap_or_default();
    let _reverting_snapshot = operations::begin(pool, snapshot, "revert", ctx.task.as_deref())?;
    let vm = pool.write(|db| vm_of(db, snapshot))?;
    let failed = |_: ApiError| ApiError::new("VM_REVERT_FAILED", [snapshot, vm.as_str()]);
    let _reverting_vm = operations::begin(pool, &vm, "reverting", ctx.task.as_deref())?;
    pool.write(|db| {
        if db.get_str(cls("VM"), &vm, "power_state") != "Halted" {
            set_power_state(db, &vm, "Halted", NULL);
        }
        restore_fields(db, snapshot, &vm)
    })
    .map_err(failed)?;
    revert_disks(pool, snapshot, &vm).map_err(failed)?;
    pool.write(|db| {
        for vif in db.referrers(cls("VIF"), "VM", &vm) {
            db.destroy(cls("VIF"), &vif);
        }
        for vif in db.referrers(cls("VIF"), "VM", snapshot) {
            copy_vif(db, &vif, &vm, false);
        }
        db.set(cls("VM"), &vm, "parent", Value::string(snapshot));
    });
    Ok(Value::string(""))
}

/// The VM a snapshot belongs to, recreated from the snapshot's metadata if it was destroyed.
fn vm_of(db: &mut Database, snapshot: &str) -> Result<String, ApiError> {
    let class = cls("VM");
    let vm = db.get_str(class, snapshot, "snapshot_of").to_owned();
    if db.exists(class, &vm) {
        return Ok(vm);
    }
    let metadata = metadata(db, snapshot)?;
    let uuid = metadata
        .get("uuid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut fields = from_record(class, metadata, &[])?;
    fields.retain(|(name, _)| !KEPT_FIELDS.contains(name) || *name == "tags");
    if !uuid.is_empty() && db.by_uuid(class, &uuid).is_none() {
        put(&mut fields, "uuid", Value::String(uuid));
    }
    put(&mut fields, "power_state", Value::string("Halted"));
    put(&mut fields, "domid", Value::Int(-1));
    let metrics = new_metrics(db, &fields);
    put(&mut fields, "metrics", Value::String(metrics));
    let vm = db.create(class, fields);
    db.set(class, snapshot, "snapshot_of", Value::string(vm.as_str()));
    Ok(vm)
}

fn metadata(db: &Database, snapshot: &str) -> Result<Value, ApiError> {
    let text = db.get_str(cls("VM"), snapshot, "snapshot_metadata");
    Value::parse_xml(text.as_bytes()).map_err(|error| {
        ApiError::new(
            "INTERNAL_ERROR",
            [format!(
                "snapshot metadata of {snapshot} is unreadable: {error}"
            )],
        )
    })
}

/// Sets the VM's fields to their values at snapshot time.
fn restore_fields(db: &mut Database, snapshot: &str, vm: &str) -> Result<(), ApiError> {
    let class = cls("VM");
    let fields = from_record(class, metadata(db, snapshot)?, &[])?;
    for (name, value) in fields {
        if !KEPT_FIELDS.contains(&name) {
            db.set(class, vm, name, value);
        }
    }
    db.set(class, vm, "ha_always_run", Value::Boolean(false));
    Ok(())
}

/// Gives the VM the snapshot's disks: reverted in place where the SR can, cloned elsewhere.
fn revert_disks(pool: &Pool, snapshot: &str, vm: &str) -> Result<(), ApiError> {
    let vbd = cls("VBD");
    let vdi = cls("VDI");
    let snapshot_vbds = pool.read(|db| db.referrers(vbd, "VM", snapshot));
    // VDIs of the VM reverted in place keep their VBDs; everything else is rebuilt.
    let mut kept_vdis = Vec::new();
    let mut new_vbds: Vec<(String, String)> = Vec::new();
    for snapshot_vbd in snapshot_vbds {
        let (disk, target, in_place) = pool.read(|db| {
            let disk = db.get_str(vbd, &snapshot_vbd, "VDI").to_owned();
            let is_disk = db.get_str(vbd, &snapshot_vbd, "type") == "Disk"
                && db.exists(vdi, &disk)
                && db.get_bool(vdi, &disk, "is_a_snapshot");
            let target = db.get_str(vdi, &disk, "snapshot_of").to_owned();
            let in_place = is_disk
                && db.exists(vdi, &target)
                && vdi_ops::sr_allows(db, db.get_str(vdi, &target, "SR"), "vdi_revert");
            (is_disk.then_some(disk), target, in_place)
        });
        match disk {
            Some(disk) if in_place => {
                pool.write(|db| vdi_ops::revert_in_place(pool, db, &disk))?;
                kept_vdis.push(target);
            }
            Some(disk) => {
                let clone = pool.write(|db| {
                    let clone = vdi_ops::derive(pool, db, &disk, Derivation::Clone)?;
                    if db.exists(vdi, &target) {
                        for old_vbd in db.referrers(vbd, "VDI", &target) {
                            if db.get_str(vbd, &old_vbd, "VM") == vm {
                                db.destroy(vbd, &old_vbd);
                            }
                        }
                        vdi_ops::destroy(pool, db, &target)?;
                    }
                    for other in db.referrers(vdi, "snapshot_of", &target) {
                        db.set(vdi, &other, "snapshot_of", Value::string(clone.as_str()));
                    }
                    Ok::<_, ApiError>(clone)
                })?;
                new_vbds.push((snapshot_vbd, clone));
            }
            None => {
                let same = pool.read(|db| db.get_str(vbd, &snapshot_vbd, "VDI").to_owned());
                new_vbds.push((snapshot_vbd, same));
            }
        }
    }
    pool.write(|db| {
        for old_vbd in db.referrers(vbd, "VM", vm) {
            if !kept_vdis
                .iter()
                .any(|k| db.get_str(vbd, &old_vbd, "VDI") == k)
            {
                db.destroy(vbd, &old_vbd);
            }
        }
        for (snapshot_vbd, disk) in &new_vbds {
            copy_vbd(db, snapshot_vbd, vm, disk);
        }
    });
    Ok(())
}
