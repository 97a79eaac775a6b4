//! XAPI records as the client decodes them → the WIT records components see.

use lifeboat_xapi::records::{self as x, PowerState, StringMap};

use crate::bindings::xapi as wit;

fn pairs(map: &StringMap) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn refs<C>(list: &[x::Ref<C>]) -> Vec<String> {
    list.iter().map(|r| r.as_str().to_owned()).collect()
}

pub fn pool(opaque_ref: &x::Ref<x::Pool>, pool: &x::Pool) -> wit::PoolRecord {
    wit::PoolRecord {
        opaque_ref: opaque_ref.to_string(),
        uuid: pool.uuid.clone(),
        name_label: pool.name_label.clone(),
        master: pool.master.to_string(),
        default_sr: pool.default_sr.to_string(),
        other_config: pairs(&pool.other_config),
    }
}

pub fn host(opaque_ref: &x::Ref<x::Host>, host: &x::Host) -> wit::HostRecord {
    wit::HostRecord {
        opaque_ref: opaque_ref.to_string(),
        uuid: host.uuid.clone(),
        name_label: host.name_label.clone(),
        address: host.address.clone(),
        enabled: host.enabled,
    }
}

pub fn vm(opaque_ref: &x::Ref<x::Vm>, vm: &x::Vm) -> wit::VmRecord {
    wit::VmRecord {
        opaque_ref: opaque_ref.to_string(),
        uuid: vm.uuid.clone(),
        name_label: vm.name_label.clone(),
        name_description: vm.name_description.clone(),
        power_state: match vm.power_state {
            PowerState::Running => wit::PowerState::Running,
            PowerState::Paused => wit::PowerState::Paused,
            PowerState::Suspended => wit::PowerState::Suspended,
            // xapi knows only these four; should it add one, an operation that acts on a
            // "halted" VM in that state is refused by xapi itself (VM_BAD_POWER_STATE).
            PowerState::Halted | PowerState::Unknown => wit::PowerState::Halted,
        },
        is_a_template: vm.is_a_template,
        is_a_snapshot: vm.is_a_snapshot,
        is_control_domain: vm.is_control_domain,
        snapshot_of: vm.snapshot_of.to_string(),
        snapshots: refs(&vm.snapshots),
        snapshot_time: vm.snapshot_time.clone(),
        vbds: refs(&vm.vbds),
        vifs: refs(&vm.vifs),
        resident_on: vm.resident_on.to_string(),
        tags: vm.tags.clone(),
        other_config: pairs(&vm.other_config),
        blocked_operations: pairs(&vm.blocked_operations),
        current_operations: vm.current_operations.values().cloned().collect(),
        ha_restart_priority: vm.ha_restart_priority.clone(),
        ha_always_run: vm.ha_always_run,
        memory_static_max: vm.memory_static_max,
        vcpus_max: vm.vcpus_max,
    }
}

pub fn vdi(opaque_ref: &x::Ref<x::Vdi>, vdi: &x::Vdi) -> wit::VdiRecord {
    wit::VdiRecord {
        opaque_ref: opaque_ref.to_string(),
        uuid: vdi.uuid.clone(),
        name_label: vdi.name_label.clone(),
        name_description: vdi.name_description.clone(),
        sr: vdi.sr.to_string(),
        virtual_size: u64::try_from(vdi.virtual_size).unwrap_or(0),
        physical_utilisation: vdi.physical_utilisation,
        vdi_type: vdi.vdi_type.clone(),
        read_only: vdi.read_only,
        sharable: vdi.sharable,
        managed: vdi.managed,
        is_a_snapshot: vdi.is_a_snapshot,
        snapshot_of: vdi.snapshot_of.to_string(),
        snapshots: refs(&vdi.snapshots),
        snapshot_time: vdi.snapshot_time.clone(),
        vbds: refs(&vdi.vbds),
        other_config: pairs(&vdi.other_config),
        sm_config: pairs(&vdi.sm_config),
        tags: vdi.tags.clone(),
    }
}

pub fn vbd(opaque_ref: &x::Ref<x::Vbd>, vbd: &x::Vbd) -> wit::VbdRecord {
    wit::VbdRecord {
        opaque_ref: opaque_ref.to_string(),
        uuid: vbd.uuid.clone(),
        vm: vbd.vm.to_string(),
        vdi: vbd.vdi.to_string(),
        device: vbd.device.clone(),
        userdevice: vbd.userdevice.clone(),
        bootable: vbd.bootable,
        mode: serde_name(&vbd.mode),
        vbd_type: serde_name(&vbd.vbd_type),
        empty: vbd.empty,
        currently_attached: vbd.currently_attached,
    }
}

pub fn vif(opaque_ref: &x::Ref<x::Vif>, vif: &x::Vif) -> wit::VifRecord {
    wit::VifRecord {
        opaque_ref: opaque_ref.to_string(),
        uuid: vif.uuid.clone(),
        vm: vif.vm.to_string(),
        network: vif.network.to_string(),
        device: vif.device.clone(),
        mac: vif.mac.clone(),
        mtu: vif.mtu,
    }
}

pub fn sr(opaque_ref: &x::Ref<x::Sr>, sr: &x::Sr) -> wit::SrRecord {
    wit::SrRecord {
        opaque_ref: opaque_ref.to_string(),
        uuid: sr.uuid.clone(),
        name_label: sr.name_label.clone(),
        name_description: sr.name_description.clone(),
        sr_type: sr.sr_type.clone(),
        content_type: sr.content_type.clone(),
        shared: sr.shared,
        physical_size: sr.physical_size,
        physical_utilisation: sr.physical_utilisation,
        allowed_operations: sr.allowed_operations.clone(),
        other_config: pairs(&sr.other_config),
        tags: sr.tags.clone(),
    }
}

/// The name xapi uses for an enum value (`RW`, `Disk`, …): its serde name.
fn serde_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}
