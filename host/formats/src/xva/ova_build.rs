//! Builds the `ova.xml` of a fresh export: one halted VM with its disks, for packing raw or VHD
//! images into an XVA that xapi can import.
//!
//! The records carry what an importer reads to recreate the VM and its disks (uuids, names, refs
//! between VM, VBDs, VDIs and SR, sizes, device numbers, power state, memory and vCPU settings);
//! xapi fills every other field with its defaults.

use std::time::{SystemTime, UNIX_EPOCH};

use super::ova::{ExportVersion, OvaObject, OvaXml};
use crate::xmlrpc::{Value, civil_date};

/// `export_vsn` written: inline `.xxhash`/`.checksum` entries after every chunk.
pub const EXPORT_VSN: u64 = 2;

/// Memory given to the VM (1 GiB), adjustable after import.
const VM_MEMORY: i64 = 1 << 30;

/// A null reference, for refs to objects outside the export.
const NULL_REF: &str = "OpaqueRef:NULL";

impl OvaXml {
    /// The metadata of an export of one halted VM named `vm_name` with one disk per
    /// `(virtual size, name_label)` in `disks`, plugged as devices 0, 1, … (the first bootable).
    ///
    /// Ids are `Ref:0`, `Ref:1`, …, zero-padded to a common width when there are more than ten
    /// objects so that [`OvaXml::disks`] (lexicographic order, as xapi streams them) lists the
    /// disks in the order given here.
    pub fn for_vm(vm_name: &str, disks: &[(u64, String)]) -> OvaXml {
        let object_count = 2 + 2 * disks.len();
        let width = (object_count - 1).to_string().len();
        let id = |n: usize| format!("Ref:{n:0width$}");
        let vm_id = id(0);
        let sr_id = id(1);
        let vdi_ids: Vec<String> = (0..disks.len()).map(|i| id(2 + i)).collect();
        let vbd_ids: Vec<String> = (0..disks.len()).map(|i| id(2 + disks.len() + i)).collect();

        let mut objects = vec![
            object("VM", &vm_id, vm_record(vm_name, &vbd_ids)),
            object("SR", &sr_id, sr_record(&vdi_ids)),
        ];
        for (i, (virtual_size, name_label)) in disks.iter().enumerate() {
            let record = vdi_record(name_label, *virtual_size, &sr_id, &vbd_ids[i]);
            objects.push(object("VDI", &vdi_ids[i], record));
        }
        for (i, vbd_id) in vbd_ids.iter().enumerate() {
            objects.push(object("VBD", vbd_id, vbd_record(i, &vm_id, &vdi_ids[i])));
        }
        OvaXml {
            version: lifeboat_version(),
            objects,
        }
    }
}

/// The `version` struct of Lifeboat's exports. `xapi_major.xapi_minor` is 1.249 (the xapi of
/// XCP-ng / Citrix Hypervisor 8.2): importers refuse archives from a newer xapi than their own,
/// and every supported host runs 8.2 or later.
fn lifeboat_version() -> ExportVersion {
    ExportVersion {
        hostname: "lifeboat".into(),
        date: today(),
        product_version: env!("CARGO_PKG_VERSION").into(),
        product_brand: "Lifeboat".into(),
        build_number: env!("CARGO_PKG_VERSION").into(),
        xapi_major: 1,
        xapi_minor: 249,
        export_vsn: EXPORT_VSN,
    }
}

fn object(class: &str, id: &str, snapshot: Value) -> OvaObject {
    OvaObject {
        class: class.into(),
        id: id.into(),
        snapshot,
    }
}

fn vm_record(name: &str, vbd_ids: &[String]) -> Value {
    Value::record([
        ("uuid", new_uuid()),
        ("name_label", Value::string(name)),
        ("name_description", Value::string("")),
        ("power_state", Value::string("Halted")),
        ("is_a_template", Value::Boolean(false)),
        ("is_a_snapshot", Value::Boolean(false)),
        ("snapshot_of", Value::string(NULL_REF)),
        ("snapshots", Value::Array(Vec::new())),
        ("parent", Value::string(NULL_REF)),
        ("suspend_VDI", Value::string(NULL_REF)),
        ("VBDs", refs(vbd_ids)),
        ("VIFs", Value::Array(Vec::new())),
        ("memory_static_max", Value::Int(VM_MEMORY)),
        ("memory_dynamic_max", Value::Int(VM_MEMORY)),
        ("memory_dynamic_min", Value::Int(VM_MEMORY)),
        ("memory_static_min", Value::Int(VM_MEMORY)),
        ("VCPUs_max", Value::Int(1)),
        ("VCPUs_at_startup", Value::Int(1)),
        ("VCPUs_params", Value::Struct(Vec::new())),
        ("actions_after_shutdown", Value::string("destroy")),
        ("actions_after_reboot", Value::string("restart")),
        ("actions_after_crash", Value::string("restart")),
        ("domain_type", Value::string("hvm")),
        ("HVM_boot_policy", Value::string("BIOS order")),
        (
            "HVM_boot_params",
            Value::record([("order", Value::string("cdn"))]),
        ),
        ("PV_bootloader", Value::string("")),
        ("PV_kernel", Value::string("")),
        ("PV_ramdisk", Value::string("")),
        ("PV_args", Value::string("")),
        ("PV_bootloader_args", Value::string("")),
        ("PV_legacy_args", Value::string("")),
        ("platform", Value::Struct(Vec::new())),
        ("other_config", Value::Struct(Vec::new())),
        ("tags", Value::Array(Vec::new())),
    ])
}

fn sr_record(vdi_ids: &[String]) -> Value {
    Value::record([
        ("uuid", new_uuid()),
        ("name_label", Value::string("Lifeboat export")),
        ("name_description", Value::string("")),
        ("type", Value::string("ext")),
        ("content_type", Value::string("user")),
        ("shared", Value::Boolean(false)),
        ("VDIs", refs(vdi_ids)),
        ("other_config", Value::Struct(Vec::new())),
        ("sm_config", Value::Struct(Vec::new())),
        ("tags", Value::Array(Vec::new())),
    ])
}

fn vdi_record(name: &str, virtual_size: u64, sr_id: &str, vbd_id: &str) -> Value {
    let size = i64::try_from(virtual_size)
        .map_or_else(|_| Value::string(virtual_size.to_string()), Value::Int);
    Value::record([
        ("uuid", new_uuid()),
        ("name_label", Value::string(name)),
        ("name_description", Value::string("")),
        ("SR", Value::string(sr_id)),
        ("VBDs", refs(&[vbd_id.to_owned()])),
        ("virtual_size", size),
        ("type", Value::string("user")),
        ("sharable", Value::Boolean(false)),
        ("read_only", Value::Boolean(false)),
        ("managed", Value::Boolean(true)),
        ("missing", Value::Boolean(false)),
        ("is_a_snapshot", Value::Boolean(false)),
        ("snapshot_of", Value::string(NULL_REF)),
        ("snapshots", Value::Array(Vec::new())),
        ("location", Value::string("")),
        ("other_config", Value::Struct(Vec::new())),
        ("xenstore_data", Value::Struct(Vec::new())),
        ("sm_config", Value::Struct(Vec::new())),
        ("tags", Value::Array(Vec::new())),
    ])
}

fn vbd_record(position: usize, vm_id: &str, vdi_id: &str) -> Value {
    Value::record([
        ("uuid", new_uuid()),
        ("VM", Value::string(vm_id)),
        ("VDI", Value::string(vdi_id)),
        ("device", Value::string("")),
        ("userdevice", Value::string(position.to_string())),
        ("bootable", Value::Boolean(position == 0)),
        ("mode", Value::string("RW")),
        ("type", Value::string("Disk")),
        ("unpluggable", Value::Boolean(false)),
        ("empty", Value::Boolean(false)),
        ("currently_attached", Value::Boolean(false)),
        ("other_config", Value::Struct(Vec::new())),
        ("qos_algorithm_type", Value::string("")),
        ("qos_algorithm_params", Value::Struct(Vec::new())),
    ])
}

fn refs(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(Value::string).collect())
}

fn new_uuid() -> Value {
    Value::string(uuid::Uuid::new_v4().to_string())
}

/// Today's UTC date as `YYYY-MM-DD`.
fn today() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let (year, month, day) = civil_date(seconds / 86_400);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xva::ova::XvaDisk;

    #[test]
    fn disks_keep_the_given_order_past_ten_objects() {
        let disks: Vec<(u64, String)> = (0..7).map(|i| (i * 512, format!("disk {i}"))).collect();
        let ova = OvaXml::for_vm("vm", &disks);
        assert_eq!(ova.objects.len(), 16);
        assert_eq!(ova.objects[0].id, "Ref:00");
        let listed: Vec<(u64, String)> = ova
            .disks()
            .expect("own records")
            .into_iter()
            .map(
                |XvaDisk {
                     virtual_size,
                     name_label,
                     ..
                 }| (virtual_size, name_label),
            )
            .collect();
        assert_eq!(listed, disks);
    }

    #[test]
    fn records_link_vm_vbd_vdi_and_sr() {
        let ova = OvaXml::for_vm("my vm", &[(1 << 30, "root".into())]);
        let ids: Vec<(&str, &str)> = ova
            .objects
            .iter()
            .map(|o| (o.class.as_str(), o.id.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("VM", "Ref:0"),
                ("SR", "Ref:1"),
                ("VDI", "Ref:2"),
                ("VBD", "Ref:3")
            ]
        );
        let [vm, _, vdi, vbd] = &ova.objects[..] else {
            panic!("four objects")
        };
        assert_eq!(
            vm.snapshot.get("power_state"),
            Some(&Value::string("Halted"))
        );
        assert_eq!(
            vm.snapshot.get("is_a_template"),
            Some(&Value::Boolean(false))
        );
        assert_eq!(vm.snapshot.get("VBDs"), Some(&refs(&["Ref:3".into()])));
        assert_eq!(vbd.snapshot.get("VDI"), Some(&Value::string("Ref:2")));
        assert_eq!(vbd.snapshot.get("type"), Some(&Value::string("Disk")));
        assert_eq!(vbd.snapshot.get("userdevice"), Some(&Value::string("0")));
        assert_eq!(vdi.snapshot.get("SR"), Some(&Value::string("Ref:1")));
        assert_eq!(ova.version.export_vsn, 2);
        assert_eq!(
            ova.disks().expect("own records"),
            [XvaDisk {
                id: "Ref:2".into(),
                virtual_size: 1 << 30,
                name_label: "root".into()
            }]
        );
    }
}
