//! The objects an XVA import creates from `ova.xml`: its VMs, their VBDs and VIFs, and a new
//! VDI (with an empty VHD file) in the target SR for each disk the archive carries.
//!
//! Records are taken field by field from the archive where the simulator's schema has the field
//! and the value fits its type (anything else keeps the default, as an older importer ignores
//! what it does not know). Archive ids become the new objects' references; references to
//! objects the archive does not recreate become `OpaqueRef:NULL`. As xapi does: VMs come halted,
//! with a new uuid and `mac_seed` unless `restore`, and `current_operations[task] = "import"`
//! until the import ends; networks are matched by name, else the pool's first network; CD
//! drives keep an ISO that the pool has (same uuid) or become empty.

use std::collections::HashMap;

use lifeboat_formats::xmlrpc::Value;
use lifeboat_formats::xva::{OvaObject, OvaXml};
use lifeboat_xapi::ApiError;
use uuid::Uuid;

use crate::xapi::db::Database;
use crate::xapi::errors;
use crate::xapi::messages::vm::new_metrics;
use crate::xapi::params::coerce_field;
use crate::xapi::pool::{Pool, cls};
use crate::xapi::records::{map_with, map_without, put};
use crate::xapi::schema::{ClassDef, NULL, Ty};
use crate::xapi::vdi_ops;

/// What an import created.
#[derive(Debug, Default)]
pub struct Imported {
    /// The VMs, in archive order, with whether each is a snapshot.
    pub vms: Vec<(String, bool)>,
    /// The new VDI behind each disk id of the archive.
    pub disks: HashMap<String, String>,
}

/// How the records are made.
pub struct Target<'a> {
    pub sr: &'a str,
    pub restore: bool,
    pub task: &'a str,
}

/// Creates the objects of `ova`; on failure, those created so far are in `imported` for the
/// caller to remove.
pub fn create(
    pool: &Pool,
    db: &mut Database,
    ova: &OvaXml,
    target: &Target,
    imported: &mut Imported,
) -> Result<(), ApiError> {
    let mut ids: HashMap<String, String> = HashMap::new();
    let disks = ova
        .disks()
        .map_err(|e| errors::import_error(e.to_string()))?;
    for disk in &disks {
        let object = object(ova, &disk.id)
            .ok_or_else(|| errors::import_error(format!("no VDI {}", disk.id)))?;
        let vdi = new_vdi(pool, db, object, target.sr, disk.virtual_size)?;
        imported.disks.insert(disk.id.clone(), vdi.clone());
        ids.insert(disk.id.clone(), vdi);
    }
    for vdi in objects_of(ova, "VDI") {
        if imported.disks.contains_key(&vdi.id) {
            continue;
        }
        let uuid = vdi.snapshot.get("uuid").and_then(Value::as_str);
        if let Some(existing) = uuid.and_then(|uuid| db.by_uuid(cls("VDI"), uuid)) {
            ids.insert(vdi.id.clone(), existing.to_owned());
        }
    }
    for network in objects_of(ova, "network") {
        let name = network.snapshot.get("name_label").and_then(Value::as_str);
        if let Some(found) = find_network(db, name) {
            ids.insert(network.id.clone(), found);
        }
    }
    for vm in objects_of(ova, "VM") {
        let (reference, is_snapshot) = new_vm(db, vm, &ids, target)?;
        imported.vms.push((reference.clone(), is_snapshot));
        ids.insert(vm.id.clone(), reference);
    }
    for vbd in objects_of(ova, "VBD") {
        new_vbd(db, vbd, &ids);
    }
    for vif in objects_of(ova, "VIF") {
        new_vif(db, vif, &ids);
    }
    Ok(())
}

fn new_vdi(
    pool: &Pool,
    db: &mut Database,
    object: &OvaObject,
    sr: &str,
    size: u64,
) -> Result<String, ApiError> {
    let mut fields = fields_of(cls("VDI"), &object.snapshot, &HashMap::new());
    put(&mut fields, "SR", Value::string(sr));
    put(&mut fields, "virtual_size", Value::Int(size as i64));
    put(&mut fields, "is_a_snapshot", Value::Boolean(false));
    put(&mut fields, "current_operations", Value::Struct(Vec::new()));
    let sm_config = fields
        .iter()
        .find(|(name, _)| *name == "sm_config")
        .map(|(_, value)| map_without(value, &["vhd-parent"]))
        .unwrap_or(Value::Struct(Vec::new()));
    put(&mut fields, "sm_config", sm_config);
    vdi_ops::create(pool, db, fields)
}

fn new_vm(
    db: &mut Database,
    object: &OvaObject,
    ids: &HashMap<String, String>,
    target: &Target,
) -> Result<(String, bool), ApiError> {
    let mut fields = fields_of(cls("VM"), &object.snapshot, ids);
    let uuid = match object.snapshot.get("uuid").and_then(Value::as_str) {
        Some(uuid) if target.restore => {
            if db.by_uuid(cls("VM"), uuid).is_some() {
                return Err(ApiError::new("DUPLICATE_VM", [uuid]));
            }
            uuid.to_owned()
        }
        _ => Uuid::new_v4().to_string(),
    };
    put(&mut fields, "uuid", Value::String(uuid));
    put(&mut fields, "power_state", Value::string("Halted"));
    put(&mut fields, "domid", Value::Int(-1));
    put(&mut fields, "allowed_operations", Value::Array(Vec::new()));
    put(
        &mut fields,
        "current_operations",
        Value::record([(target.task, Value::string("import"))]),
    );
    if !target.restore {
        let other_config = fields
            .iter()
            .find(|(name, _)| *name == "other_config")
            .map_or(Value::Struct(Vec::new()), |(_, value)| value.clone());
        let seed = Uuid::new_v4().to_string();
        put(
            &mut fields,
            "other_config",
            map_with(&other_config, "mac_seed", &seed),
        );
    }
    let metrics = new_metrics(db, &fields);
    put(&mut fields, "metrics", Value::String(metrics));
    let is_snapshot = fields
        .iter()
        .any(|(name, value)| *name == "is_a_snapshot" && value.as_bool() == Some(true));
    Ok((db.create(cls("VM"), fields), is_snapshot))
}

/// A VBD of an imported VM; CD drives whose ISO the pool lacks become empty, other drives
/// whose disk was not imported are left out.
fn new_vbd(db: &mut Database, object: &OvaObject, ids: &HashMap<String, String>) {
    let mut fields = fields_of(cls("VBD"), &object.snapshot, ids);
    let linked = |name: &str| {
        fields
            .iter()
            .any(|(field, value)| *field == name && value.as_str().is_some_and(|r| r != NULL))
    };
    let is_cd = object.snapshot.get("type").and_then(Value::as_str) == Some("CD");
    if !linked("VM") || (!linked("VDI") && !is_cd) {
        return;
    }
    if !linked("VDI") {
        put(&mut fields, "empty", Value::Boolean(true));
    }
    put(&mut fields, "currently_attached", Value::Boolean(false));
    put(&mut fields, "current_operations", Value::Struct(Vec::new()));
    db.create(cls("VBD"), fields);
}

/// A VIF of an imported VM, on its matched network or the pool's first one.
fn new_vif(db: &mut Database, object: &OvaObject, ids: &HashMap<String, String>) {
    let mut fields = fields_of(cls("VIF"), &object.snapshot, ids);
    let vm = fields.iter().find(|(name, _)| *name == "VM");
    if vm.is_none_or(|(_, value)| value.as_str() == Some(NULL)) {
        return;
    }
    let network = fields
        .iter()
        .find(|(name, _)| *name == "network")
        .and_then(|(_, value)| value.as_str())
        .filter(|network| *network != NULL)
        .map(str::to_owned)
        .or_else(|| find_network(db, None));
    let Some(network) = network else {
        return;
    };
    put(&mut fields, "network", Value::String(network));
    put(&mut fields, "currently_attached", Value::Boolean(false));
    put(&mut fields, "current_operations", Value::Struct(Vec::new()));
    db.create(cls("VIF"), fields);
}

/// The network named `name`, else the first network (by name, for a stable choice).
fn find_network(db: &Database, name: Option<&str>) -> Option<String> {
    let class = cls("network");
    let mut networks: Vec<(&str, &str)> = db
        .references(class)
        .map(|r| (db.get_str(class, r, "name_label"), r))
        .collect();
    networks.sort_unstable();
    networks
        .iter()
        .find(|(label, _)| Some(*label) == name)
        .or(networks.first())
        .map(|(_, reference)| (*reference).to_owned())
}

/// The fields of `class` that `record` gives values for: references mapped through `ids` (else
/// null), sets of references and derived fields left out, values that do not fit the field's
/// type skipped.
fn fields_of(
    class: &'static ClassDef,
    record: &Value,
    ids: &HashMap<String, String>,
) -> Vec<(&'static str, Value)> {
    let mut fields = Vec::new();
    for (name, value) in record.as_struct().unwrap_or_default() {
        let Some(field) = class.fields.iter().find(|f| f.name == name) else {
            continue;
        };
        let value = match field.ty {
            _ if field.name == "uuid" => continue,
            Ty::Derived { .. } | Ty::RefSet(_) => continue,
            Ty::Ref(_) => Value::String(
                value
                    .as_str()
                    .and_then(|id| ids.get(id))
                    .cloned()
                    .unwrap_or_else(|| NULL.to_owned()),
            ),
            ty => match coerce_field(ty, value.clone(), field.name) {
                Ok(value) => value,
                Err(_) => continue,
            },
        };
        fields.push((field.name, value));
    }
    fields
}

fn objects_of<'a>(ova: &'a OvaXml, class: &'a str) -> impl Iterator<Item = &'a OvaObject> {
    ova.objects.iter().filter(move |o| o.class == class)
}

fn object<'a>(ova: &'a OvaXml, id: &str) -> Option<&'a OvaObject> {
    ova.objects.iter().find(|o| o.id == id)
}
