//! The `ova.xml` of a VM export, built from the database as xapi builds it (reference §3).
//!
//! The archive holds the VM, its metrics, VBDs, VIFs, their VDIs and networks, and the VDIs'
//! SRs, each with its full record. Every reference between them becomes an archive-local id
//! `Ref:<n>`; a reference to anything outside the archive becomes `OpaqueRef:NULL` (and leaves
//! sets). The VM's record is reset as a normal export resets it: halted, no snapshot links, no
//! operations; `is_a_template` is kept.

use std::collections::HashMap;

use lifeboat_formats::xmlrpc::{Value, xapi_now};
use lifeboat_formats::xva::{EXPORT_VSN, ExportVersion, OvaObject, OvaXml};

use crate::xapi::db::Database;
use crate::xapi::pool::cls;
use crate::xapi::schema::{EPOCH, NULL, Ty};

/// The `ova.xml` of `vm`, and the VDI reference behind each archive id.
pub fn build(db: &Database, vm: &str, master: &str) -> (OvaXml, HashMap<String, String>) {
    let members = members(db, vm);
    let ids: HashMap<&str, String> = members
        .iter()
        .enumerate()
        .map(|(n, (_, reference))| (reference.as_str(), format!("Ref:{n}")))
        .collect();
    let objects = members
        .iter()
        .map(|(class, reference)| {
            let mut snapshot = translated(db, class, reference, &ids);
            if *class == "VM" {
                reset_vm(&mut snapshot);
            }
            OvaObject {
                class: (*class).to_owned(),
                id: ids[reference.as_str()].clone(),
                snapshot,
            }
        })
        .collect();
    let vdis = members
        .iter()
        .filter(|(class, _)| *class == "VDI")
        .map(|(_, reference)| (ids[reference.as_str()].clone(), reference.clone()))
        .collect();
    let ova = OvaXml {
        version: version(db, master),
        objects,
    };
    (ova, vdis)
}

/// The objects of the archive, VM first, each once.
fn members(db: &Database, vm: &str) -> Vec<(&'static str, String)> {
    let mut members: Vec<(&'static str, String)> = vec![("VM", vm.to_owned())];
    let mut add = |class: &'static str, reference: &str| {
        if db.exists(cls(class), reference) && !members.iter().any(|(_, r)| r == reference) {
            members.push((class, reference.to_owned()));
        }
    };
    add("VM_metrics", db.get_str(cls("VM"), vm, "metrics"));
    add(
        "VM_guest_metrics",
        db.get_str(cls("VM"), vm, "guest_metrics"),
    );
    let vbds = db.referrers(cls("VBD"), "VM", vm);
    let vifs = db.referrers(cls("VIF"), "VM", vm);
    for vbd in &vbds {
        add("VBD", vbd);
    }
    for vif in &vifs {
        add("VIF", vif);
    }
    for vbd in &vbds {
        let vdi = db.get_str(cls("VBD"), vbd, "VDI");
        add("VDI", vdi);
        add("SR", db.get_str(cls("VDI"), vdi, "SR"));
    }
    for vif in &vifs {
        add("network", db.get_str(cls("VIF"), vif, "network"));
    }
    members
}

/// An object's full record with its references turned into archive ids.
fn translated(db: &Database, class: &str, reference: &str, ids: &HashMap<&str, String>) -> Value {
    let class = cls(class);
    let Some(Value::Struct(members)) = db.record(class, reference) else {
        return Value::Struct(Vec::new());
    };
    let id_of = |value: &Value| value.as_str().and_then(|r| ids.get(r)).cloned();
    let members = members
        .into_iter()
        .map(|(name, value)| {
            let ty = class.fields.iter().find(|f| f.name == name).map(|f| f.ty);
            let value = match (ty, &value) {
                (Some(Ty::Ref(_)), _) => Value::String(id_of(&value).unwrap_or(NULL.to_owned())),
                (Some(Ty::RefSet(_) | Ty::Derived { .. }), Value::Array(items)) => {
                    Value::Array(items.iter().filter_map(id_of).map(Value::String).collect())
                }
                _ => value,
            };
            (name, value)
        })
        .collect();
    Value::Struct(members)
}

/// What a normal export resets in the VM's record.
fn reset_vm(record: &mut Value) {
    let Value::Struct(members) = record else {
        return;
    };
    for (name, value) in members {
        let reset = match name.as_str() {
            "power_state" => Value::string("Halted"),
            "is_a_snapshot" => Value::Boolean(false),
            "suspend_VDI" | "snapshot_of" | "parent" => Value::string(NULL),
            "snapshot_time" => Value::DateTime(EPOCH.to_owned()),
            "transportable_snapshot_id" => Value::string(""),
            "snapshots" | "allowed_operations" | "crash_dumps" | "consoles" => {
                Value::Array(Vec::new())
            }
            "current_operations" | "blobs" => Value::Struct(Vec::new()),
            _ => continue,
        };
        *value = reset;
    }
}

/// The exporting host's identity, from its `software_version`.
fn version(db: &Database, master: &str) -> ExportVersion {
    let host = cls("host");
    let software = |key: &str| {
        db.get(host, master, "software_version")
            .and_then(|map| map.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (xapi_major, xapi_minor) = xapi_version(db, master);
    ExportVersion {
        hostname: db.get_str(host, master, "hostname").to_owned(),
        date: xapi_now(),
        product_version: software("product_version"),
        product_brand: software("product_brand"),
        build_number: software("build_number"),
        xapi_major,
        xapi_minor,
        export_vsn: EXPORT_VSN,
    }
}

/// The version of xapi that `host` runs (`software_version["xapi"]`, `<major>.<minor>`).
pub fn xapi_version(db: &Database, host: &str) -> (u64, u64) {
    let version = db
        .get(cls("host"), host, "software_version")
        .and_then(|map| map.get("xapi"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (major, minor) = version.split_once('.').unwrap_or((version, "0"));
    (major.parse().unwrap_or(0), minor.parse().unwrap_or(0))
}
