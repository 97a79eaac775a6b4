//! The record structs and their enums.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::reference::{Class, Ref};

/// A string map field such as `other_config`.
pub type StringMap = BTreeMap<String, String>;

macro_rules! class {
    ($ty:ident, $name:literal) => {
        impl Class for $ty {
            const NAME: &'static str = $name;
        }
    };
}

class!(Pool, "pool");
class!(Host, "host");
class!(Sr, "SR");
class!(Vm, "VM");
class!(Vdi, "VDI");
class!(Vbd, "VBD");
class!(Vif, "VIF");
class!(Network, "network");
class!(Task, "task");
class!(Session, "session");

/// A pool: the unit that a connection manages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pool {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    pub master: Ref<Host>,
    #[serde(rename = "default_SR")]
    pub default_sr: Ref<Sr>,
    pub other_config: StringMap,
    pub tags: Vec<String>,
}

/// A host of a pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Host {
    pub uuid: String,
    pub name_label: String,
    pub address: String,
    #[serde(rename = "API_version_major")]
    pub api_version_major: i64,
    #[serde(rename = "API_version_minor")]
    pub api_version_minor: i64,
    pub software_version: StringMap,
    pub enabled: bool,
    pub control_domain: Ref<Vm>,
    #[serde(rename = "resident_VMs")]
    pub resident_vms: Vec<Ref<Vm>>,
    pub other_config: StringMap,
}

/// A storage repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sr {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    /// The SM driver: `ext`, `nfs`, `lvm`, `iso`, …
    #[serde(rename = "type")]
    pub sr_type: String,
    /// `user` for disks, `iso` for ISO libraries.
    pub content_type: String,
    pub shared: bool,
    /// Storage operations the SR supports (`vdi_create`, `vdi_snapshot`, `vdi_revert`, …).
    pub allowed_operations: Vec<String>,
    #[serde(rename = "VDIs")]
    pub vdis: Vec<Ref<Vdi>>,
    pub physical_size: i64,
    pub physical_utilisation: i64,
    pub virtual_allocation: i64,
    pub other_config: StringMap,
    pub sm_config: StringMap,
    pub tags: Vec<String>,
}

/// The power state of a VM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerState {
    #[default]
    Halted,
    Paused,
    Running,
    Suspended,
    /// A state this client does not know.
    #[serde(other)]
    Unknown,
}

/// A VM, template or snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vm {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    pub power_state: PowerState,
    pub is_a_template: bool,
    pub is_default_template: bool,
    pub is_control_domain: bool,
    pub is_a_snapshot: bool,
    pub snapshot_of: Ref<Vm>,
    pub snapshots: Vec<Ref<Vm>>,
    /// `YYYYMMDDTHH:MM:SSZ`; the epoch for VMs that are not snapshots.
    pub snapshot_time: String,
    pub snapshot_info: StringMap,
    pub parent: Ref<Vm>,
    #[serde(rename = "VBDs")]
    pub vbds: Vec<Ref<Vbd>>,
    #[serde(rename = "VIFs")]
    pub vifs: Vec<Ref<Vif>>,
    /// The memory image of a suspended VM or of a checkpoint; null otherwise.
    #[serde(rename = "suspend_VDI")]
    pub suspend_vdi: Ref<Vdi>,
    pub resident_on: Ref<Host>,
    pub affinity: Ref<Host>,
    /// Operation name → the message given when it is attempted.
    pub blocked_operations: StringMap,
    pub tags: Vec<String>,
    pub other_config: StringMap,
    /// Task reference → operation.
    pub current_operations: StringMap,
    pub allowed_operations: Vec<String>,
    pub memory_static_max: i64,
    #[serde(rename = "VCPUs_max")]
    pub vcpus_max: i64,
    pub ha_always_run: bool,
    pub ha_restart_priority: String,
    pub domid: i64,
}

/// A virtual disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vdi {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    #[serde(rename = "SR")]
    pub sr: Ref<Sr>,
    #[serde(rename = "VBDs")]
    pub vbds: Vec<Ref<Vbd>>,
    pub virtual_size: i64,
    pub physical_utilisation: i64,
    /// `system`, `user`, `suspend`, …
    #[serde(rename = "type")]
    pub vdi_type: String,
    pub sharable: bool,
    pub read_only: bool,
    /// False for hidden nodes of a VHD chain ("base copy").
    pub managed: bool,
    pub missing: bool,
    pub is_a_snapshot: bool,
    pub snapshot_of: Ref<Vdi>,
    pub snapshots: Vec<Ref<Vdi>>,
    pub snapshot_time: String,
    pub sm_config: StringMap,
    pub other_config: StringMap,
    pub tags: Vec<String>,
    pub allowed_operations: Vec<String>,
    pub current_operations: StringMap,
    pub cbt_enabled: bool,
    pub on_boot: String,
}

/// Whether a VBD is a disk or a CD drive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum VbdType {
    #[default]
    Disk,
    #[serde(rename = "CD")]
    Cd,
    Floppy,
    #[serde(other)]
    Unknown,
}

/// Read-only or read-write attachment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum VbdMode {
    #[default]
    #[serde(rename = "RW")]
    ReadWrite,
    #[serde(rename = "RO")]
    ReadOnly,
    #[serde(other)]
    Unknown,
}

/// The attachment of a VDI to a VM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vbd {
    pub uuid: String,
    #[serde(rename = "VM")]
    pub vm: Ref<Vm>,
    #[serde(rename = "VDI")]
    pub vdi: Ref<Vdi>,
    pub device: String,
    pub userdevice: String,
    pub bootable: bool,
    pub mode: VbdMode,
    #[serde(rename = "type")]
    pub vbd_type: VbdType,
    pub empty: bool,
    pub currently_attached: bool,
    pub other_config: StringMap,
}

/// A virtual network interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vif {
    pub uuid: String,
    #[serde(rename = "VM")]
    pub vm: Ref<Vm>,
    pub network: Ref<Network>,
    pub device: String,
    #[serde(rename = "MAC")]
    pub mac: String,
    #[serde(rename = "MTU")]
    pub mtu: i64,
    pub other_config: StringMap,
}

/// A network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Network {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    pub bridge: String,
    pub other_config: StringMap,
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    #[default]
    Pending,
    Success,
    Failure,
    Cancelling,
    Cancelled,
    #[serde(other)]
    Unknown,
}

impl TaskStatus {
    /// True once the task will not change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskStatus::Success | TaskStatus::Failure | TaskStatus::Cancelled
        )
    }
}

/// An asynchronous operation of xapi.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Task {
    pub uuid: String,
    pub name_label: String,
    pub name_description: String,
    pub status: TaskStatus,
    /// 0.0 to 1.0.
    pub progress: f64,
    /// The result as an XML-RPC `<value>` fragment.
    pub result: String,
    /// `[code, params…]` of a failure.
    pub error_info: Vec<String>,
    pub created: String,
    pub finished: String,
    pub other_config: StringMap,
    pub resident_on: Ref<Host>,
}

/// A login session (only its reference is used).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    pub uuid: String,
}
