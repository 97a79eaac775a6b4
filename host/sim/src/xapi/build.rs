//! Builds a pool's database (and its disk files) from a fixture: the objects a real pool always
//! has (pool, hosts, their control domains, default templates, SM drivers, PBDs, PIFs) plus
//! the fixture's SRs, networks, VMs and disks.

use std::collections::HashMap;
use std::path::Path;

use lifeboat_formats::xmlrpc::{Value, xapi_now};
use rand::Rng;

use super::db::Database;
use super::fixture::{PoolSpec, SrSpec};
use super::pool::cls;
use super::storage;
use super::vdi_ops::SIZE_GRANULARITY;
use crate::seeded::fixture_uuid;

/// The xapi version the simulator claims to be.
pub const API_VERSION: (i64, i64) = (2, 21);

/// Templates a fresh XCP-ng pool ships (a few of them).
const DEFAULT_TEMPLATES: &[&str] = &[
    "Other install media",
    "Debian Bookworm 12",
    "Ubuntu Noble Numbat 24.04",
    "Windows Server 2022 (64-bit)",
];

/// What went wrong while building a pool.
#[derive(Debug, thiserror::Error)]
#[error("pool {pool}: {problem}")]
pub struct BuildError {
    pub pool: String,
    pub problem: String,
}

pub fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Value {
    Value::Array(items.into_iter().map(Value::string).collect())
}

fn map<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Struct(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::string(v)))
            .collect(),
    )
}

/// A MAC address in the locally administered range, as xapi generates them.
pub fn random_mac() -> String {
    let bytes: [u8; 5] = rand::rng().random();
    format!(
        "02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4]
    )
}

/// The storage operations an SR of this spec allows.
fn sr_operations(spec: &SrSpec) -> Vec<&'static str> {
    let mut operations = vec![
        "scan",
        "destroy",
        "forget",
        "plug",
        "unplug",
        "update",
        "vdi_create",
        "vdi_introduce",
        "vdi_destroy",
        "vdi_resize",
        "vdi_clone",
        "vdi_snapshot",
        "vdi_mirror",
        "vdi_enable_cbt",
        "vdi_disable_cbt",
        "vdi_data_destroy",
        "vdi_list_changed_blocks",
        "vdi_set_on_boot",
        "pbd_create",
        "pbd_destroy",
    ];
    if spec.vdi_revert {
        operations.push("vdi_revert");
    }
    if spec.sr_type == "iso" {
        operations.retain(|op| !op.starts_with("vdi_") || *op == "vdi_introduce");
    }
    operations
}

/// Builds the database of `spec`; `addresses` are the hosts' addresses in fixture order.
pub fn build(
    spec: &PoolSpec,
    storage_root: &Path,
    addresses: &[String],
) -> Result<Database, BuildError> {
    let error = |problem: String| BuildError {
        pool: spec.name.clone(),
        problem,
    };
    let mut db = Database::new();
    let now = xapi_now();

    let mut hosts = Vec::new();
    for (host, address) in spec.hosts.iter().zip(addresses) {
        let reference = db.create(
            cls("host"),
            vec![
                ("name_label", Value::string(host.name.as_str())),
                ("hostname", Value::string(host.name.as_str())),
                ("address", Value::string(address.as_str())),
                ("API_version_major", Value::Int(API_VERSION.0)),
                ("API_version_minor", Value::Int(API_VERSION.1)),
                ("API_version_vendor", Value::string("XenSource")),
                ("enabled", Value::Boolean(true)),
                (
                    "software_version",
                    map([
                        ("product_brand", "XCP-ng"),
                        ("product_version", "8.3.0"),
                        ("platform_name", "XCP"),
                        ("xapi", "25.6"),
                        ("xapi_build", "25.6.0"),
                        ("build_number", "lifeboat-sim"),
                    ]),
                ),
            ],
        );
        let dom0 = db.create(
            cls("VM"),
            vec![
                (
                    "name_label",
                    Value::String(format!("Control domain on host: {}", host.name)),
                ),
                ("is_control_domain", Value::Boolean(true)),
                ("power_state", Value::string("Running")),
                ("resident_on", Value::string(reference.as_str())),
                ("domid", Value::Int(0)),
                ("memory_static_max", Value::Int(4 << 30)),
                ("memory_dynamic_max", Value::Int(4 << 30)),
                ("memory_dynamic_min", Value::Int(4 << 30)),
                ("memory_static_min", Value::Int(1 << 30)),
                ("VCPUs_max", Value::Int(4)),
                ("VCPUs_at_startup", Value::Int(4)),
                ("domain_type", Value::string("pv")),
            ],
        );
        db.set(
            cls("host"),
            &reference,
            "control_domain",
            Value::String(dom0),
        );
        hosts.push(reference);
    }
    let host_by_name: HashMap<&str, &String> = spec
        .hosts
        .iter()
        .map(|h| h.name.as_str())
        .zip(&hosts)
        .collect();
    let master = hosts[0].clone();

    if spec.templates {
        for name in DEFAULT_TEMPLATES {
            db.create(
                cls("VM"),
                vec![
                    ("name_label", Value::string(*name)),
                    ("is_a_template", Value::Boolean(true)),
                    ("is_default_template", Value::Boolean(true)),
                    ("other_config", map([("default_template", "true")])),
                    ("memory_static_max", Value::Int(2 << 30)),
                    ("memory_dynamic_max", Value::Int(2 << 30)),
                    ("memory_dynamic_min", Value::Int(2 << 30)),
                    ("memory_static_min", Value::Int(512 << 20)),
                    ("VCPUs_max", Value::Int(1)),
                    ("VCPUs_at_startup", Value::Int(1)),
                    ("domid", Value::Int(-1)),
                    ("HVM_boot_policy", Value::string("BIOS order")),
                    ("domain_type", Value::string("hvm")),
                ],
            );
        }
    }

    let mut sm_types: Vec<(&str, bool)> = Vec::new();
    for sr in &spec.srs {
        match sm_types.iter_mut().find(|(t, _)| *t == sr.sr_type) {
            Some((_, revert)) => *revert |= sr.vdi_revert,
            None => sm_types.push((sr.sr_type.as_str(), sr.vdi_revert)),
        }
    }
    for (sm_type, revert) in sm_types {
        let mut features = vec![
            ("SR_PROBE", "1"),
            ("SR_UPDATE", "1"),
            ("VDI_CREATE", "1"),
            ("VDI_DELETE", "1"),
            ("VDI_ATTACH", "1"),
            ("VDI_DETACH", "1"),
            ("VDI_CLONE", "1"),
            ("VDI_SNAPSHOT", "1"),
            ("VDI_RESIZE", "1"),
        ];
        if revert {
            features.push(("VDI_REVERT", "1"));
        }
        db.create(
            cls("SM"),
            vec![
                ("name_label", Value::String(format!("{sm_type} SR driver"))),
                ("type", Value::string(sm_type)),
                ("vendor", Value::string("Lifeboat simulator")),
                ("version", Value::string("1.0")),
                ("required_api_version", Value::string("1.0")),
                ("features", map(features)),
            ],
        );
    }

    let mut srs: HashMap<&str, (String, String)> = HashMap::new();
    for (sr_index, sr) in spec.srs.iter().enumerate() {
        let uuid = sr
            .uuid
            .unwrap_or_else(|| fixture_uuid(&spec.name, "SR", sr_index, &sr.name))
            .to_string();
        let content_type = if sr.sr_type == "iso" { "iso" } else { "user" };
        let reference = db.create(
            cls("SR"),
            vec![
                ("uuid", Value::string(uuid.as_str())),
                ("name_label", Value::string(sr.name.as_str())),
                ("type", Value::string(sr.sr_type.as_str())),
                ("content_type", Value::string(content_type)),
                ("shared", Value::Boolean(sr.shared)),
                (
                    "physical_size",
                    Value::Int(i64::try_from(sr.size.0).unwrap_or(i64::MAX)),
                ),
                ("allowed_operations", strings(sr_operations(sr))),
            ],
        );
        let dir = storage::sr_dir(storage_root, &uuid);
        std::fs::create_dir_all(&dir)
            .map_err(|e| error(format!("cannot create {}: {e}", dir.display())))?;
        let attached_hosts = if sr.shared {
            hosts.clone()
        } else {
            vec![master.clone()]
        };
        for host in attached_hosts {
            db.create(
                cls("PBD"),
                vec![
                    ("host", Value::string(host.as_str())),
                    ("SR", Value::string(reference.as_str())),
                    (
                        "device_config",
                        map([("location", &*dir.to_string_lossy())]),
                    ),
                    ("currently_attached", Value::Boolean(true)),
                ],
            );
        }
        srs.insert(sr.name.as_str(), (reference, uuid));
    }
    let default_sr = spec
        .srs
        .iter()
        .find(|s| s.default)
        .or_else(|| spec.srs.iter().find(|s| s.sr_type != "iso"))
        .map(|s| srs[s.name.as_str()].clone());

    let mut networks: HashMap<&str, String> = HashMap::new();
    for (index, network) in spec.networks.iter().enumerate() {
        let bridge = if network.bridge.is_empty() {
            format!("xenbr{index}")
        } else {
            network.bridge.clone()
        };
        let reference = db.create(
            cls("network"),
            vec![
                ("name_label", Value::string(network.name.as_str())),
                ("bridge", Value::String(bridge)),
                ("MTU", Value::Int(1500)),
                ("managed", Value::Boolean(true)),
            ],
        );
        for host in &hosts {
            db.create(
                cls("PIF"),
                vec![
                    ("device", Value::String(format!("eth{index}"))),
                    ("network", Value::string(reference.as_str())),
                    ("host", Value::string(host.as_str())),
                    ("MAC", Value::String(random_mac())),
                    ("MTU", Value::Int(1500)),
                    ("physical", Value::Boolean(true)),
                    ("currently_attached", Value::Boolean(true)),
                    ("management", Value::Boolean(index == 0)),
                    ("managed", Value::Boolean(true)),
                ],
            );
        }
        networks.insert(network.name.as_str(), reference);
    }

    db.create(
        cls("pool"),
        vec![
            ("name_label", Value::string(spec.name.as_str())),
            ("master", Value::string(master.as_str())),
            (
                "default_SR",
                Value::String(default_sr.as_ref().map_or_else(
                    || super::schema::NULL.to_owned(),
                    |(reference, _)| reference.clone(),
                )),
            ),
        ],
    );

    for (vm_index, vm) in spec.vms.iter().enumerate() {
        let running = vm.power_state.as_str() != "Halted";
        let resident = match &vm.host {
            Some(name) if running => host_by_name[name.as_str()].clone(),
            _ if running => master.clone(),
            _ => super::schema::NULL.to_owned(),
        };
        let memory = Value::Int(i64::try_from(vm.memory.0).unwrap_or(i64::MAX));
        let metrics = db.create(
            cls("VM_metrics"),
            vec![
                ("memory_actual", memory.clone()),
                ("VCPUs_number", Value::Int(i64::from(vm.vcpus))),
                ("install_time", Value::DateTime(now.clone())),
                ("last_updated", Value::DateTime(now.clone())),
                ("current_domain_type", Value::string("hvm")),
            ],
        );
        let mut other_config: Vec<(&str, &str)> = vm
            .other_config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let vm_uuid = vm
            .uuid
            .unwrap_or_else(|| fixture_uuid(&spec.name, "VM", vm_index, &vm.name))
            .to_string();
        let mac_seed = uuid::Uuid::new_v4().to_string();
        other_config.push(("mac_seed", &mac_seed));
        let reference = db.create(
            cls("VM"),
            vec![
                ("uuid", Value::string(vm_uuid.as_str())),
                ("name_label", Value::string(vm.name.as_str())),
                ("name_description", Value::string(vm.description.as_str())),
                ("power_state", Value::string(vm.power_state.as_str())),
                ("user_version", Value::Int(1)),
                ("resident_on", Value::String(resident)),
                (
                    "domid",
                    Value::Int(if running { vm_index as i64 + 1 } else { -1 }),
                ),
                ("memory_static_max", memory.clone()),
                ("memory_dynamic_max", memory.clone()),
                ("memory_dynamic_min", memory.clone()),
                ("memory_static_min", memory.clone()),
                ("memory_target", memory),
                ("VCPUs_max", Value::Int(i64::from(vm.vcpus))),
                ("VCPUs_at_startup", Value::Int(i64::from(vm.vcpus))),
                ("HVM_boot_policy", Value::string("BIOS order")),
                ("HVM_boot_params", map([("order", "cdn")])),
                (
                    "platform",
                    map([("viridian", "false"), ("acpi", "1"), ("apic", "true")]),
                ),
                ("domain_type", Value::string("hvm")),
                ("metrics", Value::String(metrics)),
                ("tags", strings(vm.tags.iter().map(String::as_str))),
                ("other_config", map(other_config)),
                (
                    "blocked_operations",
                    map(vm
                        .blocked_operations
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))),
                ),
                ("generation_id", Value::string("0:0")),
                ("hardware_platform_version", Value::Int(0)),
            ],
        );
        for (position, disk) in vm.disks.iter().enumerate() {
            let (sr_ref, sr_uuid) = match &disk.sr {
                Some(name) => srs[name.as_str()].clone(),
                None => default_sr
                    .clone()
                    .ok_or_else(|| error(format!("VM {:?} has disks but no SR", vm.name)))?,
            };
            let size = disk.size.0.next_multiple_of(SIZE_GRANULARITY);
            let uuid = fixture_uuid(&spec.name, "VDI", position, &vm_uuid).to_string();
            let path = storage::vdi_path(storage_root, &sr_uuid, &uuid);
            let written = match &disk.content {
                Some(content) => storage::generate_content(&path, size, content.fill, content.seed),
                None => storage::create_empty(&path, size).map(|()| 0),
            };
            let blocks =
                written.map_err(|e| error(format!("cannot write disk {:?}: {e}", disk.name)))?;
            let utilisation = blocks * SIZE_GRANULARITY;
            let vdi = db.create(
                cls("VDI"),
                vec![
                    ("uuid", Value::string(uuid.as_str())),
                    ("name_label", Value::string(disk.name.as_str())),
                    ("SR", Value::String(sr_ref)),
                    ("virtual_size", Value::Int(size as i64)),
                    ("physical_utilisation", Value::Int(utilisation as i64)),
                    ("type", Value::string("user")),
                    ("managed", Value::Boolean(true)),
                    ("location", Value::string(uuid.as_str())),
                    ("on_boot", Value::string("persist")),
                    (
                        "allowed_operations",
                        strings(["clone", "snapshot", "copy", "destroy", "resize"]),
                    ),
                ],
            );
            db.create(
                cls("VBD"),
                vec![
                    ("VM", Value::string(reference.as_str())),
                    ("VDI", Value::String(vdi)),
                    (
                        "device",
                        Value::String(format!("xvd{}", (b'a' + position as u8) as char)),
                    ),
                    ("userdevice", Value::String(position.to_string())),
                    ("bootable", Value::Boolean(position == 0)),
                    ("mode", Value::string("RW")),
                    ("type", Value::string("Disk")),
                    ("unpluggable", Value::Boolean(true)),
                    ("currently_attached", Value::Boolean(running)),
                    ("qos_supported_algorithms", strings([])),
                ],
            );
        }
        for (position, network) in vm.networks.iter().enumerate() {
            db.create(
                cls("VIF"),
                vec![
                    ("device", Value::String(position.to_string())),
                    (
                        "network",
                        Value::string(networks[network.as_str()].as_str()),
                    ),
                    ("VM", Value::string(reference.as_str())),
                    ("MAC", Value::String(random_mac())),
                    ("MTU", Value::Int(1500)),
                    ("currently_attached", Value::Boolean(running)),
                    ("MAC_autogenerated", Value::Boolean(true)),
                ],
            );
        }
    }
    Ok(db)
}
