//! The classes of the simulated pool and their fields, in xapi's datamodel order.

use super::types::Ty::{self, *};
use super::types::{ClassDef, Field};

const fn ro(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        writable: false,
    }
}

const fn rw(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        writable: true,
    }
}

const fn derived(name: &'static str, class: &'static str, field: &'static str) -> Field {
    ro(name, Derived { class, field })
}

pub const POWER_STATES: &[&str] = &["Halted", "Paused", "Running", "Suspended"];
const TASK_STATUS: &[&str] = &["pending", "success", "failure", "cancelling", "cancelled"];
const VDI_TYPES: &[&str] = &[
    "user",
    "system",
    "ephemeral",
    "suspend",
    "crashdump",
    "ha_statefile",
    "metadata",
    "redo_log",
    "rrd",
    "pvs_cache",
    "cbt_metadata",
];
const VBD_TYPES: &[&str] = &["Disk", "CD", "Floppy"];
const VBD_MODES: &[&str] = &["RW", "RO"];
const ON_BOOT: &[&str] = &["persist", "reset"];
const ON_NORMAL_EXIT: &[&str] = &["destroy", "restart"];
const ON_CRASH: &[&str] = &[
    "restart",
    "destroy",
    "coredump_and_destroy",
    "coredump_and_restart",
    "preserve",
    "rename_restart",
];
const ON_SOFTREBOOT: &[&str] = &["soft_reboot", "destroy", "restart", "preserve"];
const DOMAIN_TYPES: &[&str] = &["hvm", "pv", "pv_in_pvh", "pvh", "unspecified"];
const VIF_LOCKING: &[&str] = &["network_default", "locked", "unlocked", "disabled"];

const SESSION: &[Field] = &[
    ro("uuid", Str),
    ro("this_host", Ref("host")),
    ro("this_user", Str),
    ro("last_active", Date),
    ro("pool", Bool),
    rw("other_config", StrMap),
    ro("is_local_superuser", Bool),
    ro("subject", Str),
    ro("validation_time", Date),
    ro("auth_user_sid", Str),
    ro("auth_user_name", Str),
    ro("rbac_permissions", StrSet),
    ro("tasks", RefSet("task")),
    ro("parent", Ref("session")),
    ro("originator", Str),
    ro("client_certificate", Bool),
];

const POOL: &[Field] = &[
    ro("uuid", Str),
    rw("name_label", Str),
    rw("name_description", Str),
    ro("master", Ref("host")),
    rw("default_SR", Ref("SR")),
    rw("suspend_image_SR", Ref("SR")),
    rw("crash_dump_SR", Ref("SR")),
    rw("other_config", StrMap),
    ro("ha_enabled", Bool),
    ro("ha_configuration", StrMap),
    ro("ha_statefiles", StrSet),
    ro("ha_host_failures_to_tolerate", Int),
    ro("ha_plan_exists_for", Int),
    rw("ha_allow_overcommit", Bool),
    ro("ha_overcommitted", Bool),
    ro("blobs", StrMap),
    rw("tags", StrSet),
    rw("gui_config", StrMap),
    rw("health_check_config", StrMap),
    rw("wlb_url", Str),
    rw("wlb_username", Str),
    rw("wlb_enabled", Bool),
    rw("wlb_verify_cert", Bool),
    rw("redo_log_enabled", Bool),
    ro("redo_log_vdi", Ref("VDI")),
    ro("vswitch_controller", Str),
    ro("restrictions", StrMap),
    ro("metadata_VDIs", RefSet("VDI")),
    ro("ha_cluster_stack", Str),
    ro("allowed_operations", StrSet),
    ro("current_operations", StrMap),
    rw("guest_agent_config", StrMap),
    rw("cpu_info", StrMap),
    rw("policy_no_vendor_device", Bool),
    rw("live_patching_disabled", Bool),
    rw("igmp_snooping_enabled", Bool),
    rw("uefi_certificates", Str),
    ro("is_psr_pending", Bool),
    ro("tls_verification_enabled", Bool),
    ro("repositories", RefSet("Repository")),
    ro("client_certificate_auth_enabled", Bool),
    ro("client_certificate_auth_name", Str),
    ro("repository_proxy_url", Str),
    ro("repository_proxy_username", Str),
    ro("repository_proxy_password", Ref("secret")),
    rw("migration_compression", Bool),
    ro("coordinator_bias", Bool),
    ro("telemetry_uuid", Ref("secret")),
    ro("telemetry_frequency", Str),
    ro("telemetry_next_collection", Date),
    ro("last_update_sync", Date),
    ro("update_sync_frequency", Str),
    ro("update_sync_day", Int),
    ro("update_sync_enabled", Bool),
    ro("recommendations", StrMap),
    ro("license_server", StrMap),
    ro("ha_reboot_vm_on_internal_shutdown", Bool),
];

const HOST: &[Field] = &[
    ro("uuid", Str),
    rw("name_label", Str),
    rw("name_description", Str),
    ro("memory_overhead", Int),
    ro("allowed_operations", StrSet),
    ro("current_operations", StrMap),
    ro("API_version_major", Int),
    ro("API_version_minor", Int),
    ro("API_version_vendor", Str),
    ro("API_version_vendor_implementation", StrMap),
    ro("enabled", Bool),
    ro("software_version", StrMap),
    rw("other_config", StrMap),
    ro("capabilities", StrSet),
    ro("cpu_configuration", StrMap),
    ro("sched_policy", Str),
    ro("supported_bootloaders", StrSet),
    derived("resident_VMs", "VM", "resident_on"),
    rw("logging", StrMap),
    derived("PIFs", "PIF", "host"),
    rw("suspend_image_sr", Ref("SR")),
    rw("crash_dump_sr", Ref("SR")),
    ro("crashdumps", RefSet("host_crashdump")),
    ro("patches", RefSet("host_patch")),
    ro("updates", RefSet("pool_update")),
    derived("PBDs", "PBD", "host"),
    ro("host_CPUs", RefSet("host_cpu")),
    ro("cpu_info", StrMap),
    rw("hostname", Str),
    rw("address", Str),
    ro("metrics", Ref("host_metrics")),
    ro("license_params", StrMap),
    ro("ha_statefiles", StrSet),
    ro("ha_network_peers", StrSet),
    ro("blobs", StrMap),
    rw("tags", StrSet),
    ro("external_auth_type", Str),
    ro("external_auth_service_name", Str),
    ro("external_auth_configuration", StrMap),
    ro("edition", Str),
    ro("license_server", StrMap),
    ro("bios_strings", StrMap),
    ro("power_on_mode", Str),
    ro("power_on_config", StrMap),
    ro("local_cache_sr", Ref("SR")),
    ro("chipset_info", StrMap),
    ro("PCIs", RefSet("PCI")),
    ro("PGPUs", RefSet("PGPU")),
    ro("PUSBs", RefSet("PUSB")),
    rw("ssl_legacy", Bool),
    rw("guest_VCPUs_params", StrMap),
    rw(
        "display",
        Enum(&[
            "enabled",
            "disable_on_reboot",
            "disabled",
            "enable_on_reboot",
        ]),
    ),
    ro("virtual_hardware_platform_versions", StrSet),
    ro("control_domain", Ref("VM")),
    ro("updates_requiring_reboot", RefSet("pool_update")),
    ro("features", RefSet("Feature")),
    ro("iscsi_iqn", Str),
    ro("multipathing", Bool),
    ro("uefi_certificates", Str),
    ro("certificates", RefSet("Certificate")),
    ro("editions", StrSet),
    ro("pending_guidances", StrSet),
    ro("tls_verification_enabled", Bool),
    ro("last_software_update", Date),
    ro("https_only", Bool),
    ro(
        "latest_synced_updates_applied",
        Enum(&["unknown", "yes", "no"]),
    ),
    ro(
        "numa_affinity_policy",
        Enum(&["default_policy", "any", "best_effort"]),
    ),
    ro("pending_guidances_recommended", StrSet),
    ro("pending_guidances_full", StrSet),
    ro("last_update_hash", Str),
];

const SR: &[Field] = &[
    ro("uuid", Str),
    rw("name_label", Str),
    rw("name_description", Str),
    ro("allowed_operations", StrSet),
    ro("current_operations", StrMap),
    derived("VDIs", "VDI", "SR"),
    derived("PBDs", "PBD", "SR"),
    ro("virtual_allocation", Int),
    ro("physical_utilisation", Int),
    ro("physical_size", Int),
    ro("type", Str),
    ro("content_type", Str),
    ro("shared", Bool),
    rw("other_config", StrMap),
    rw("tags", StrSet),
    rw("sm_config", StrMap),
    ro("blobs", StrMap),
    ro("local_cache_enabled", Bool),
    ro("introduced_by", Ref("DR_task")),
    ro("clustered", Bool),
    ro("is_tools_sr", Bool),
];

const PBD: &[Field] = &[
    ro("uuid", Str),
    ro("host", Ref("host")),
    ro("SR", Ref("SR")),
    ro("device_config", StrMap),
    ro("currently_attached", Bool),
    rw("other_config", StrMap),
];

const SM: &[Field] = &[
    ro("uuid", Str),
    ro("name_label", Str),
    ro("name_description", Str),
    ro("type", Str),
    ro("vendor", Str),
    ro("copyright", Str),
    ro("version", Str),
    ro("required_api_version", Str),
    ro("configuration", StrMap),
    ro("capabilities", StrSet),
    ro("features", StrMap),
    rw("other_config", StrMap),
    ro("driver_filename", Str),
    ro("required_cluster_stack", StrSet),
    ro("supported_image_formats", StrSet),
];

const VM: &[Field] = &[
    ro("uuid", Str),
    ro("allowed_operations", StrSet),
    ro("current_operations", StrMap),
    rw("name_label", Str),
    rw("name_description", Str),
    ro("power_state", Enum(POWER_STATES)),
    rw("user_version", Int),
    rw("is_a_template", Bool),
    ro("is_default_template", Bool),
    ro("suspend_VDI", Ref("VDI")),
    ro("resident_on", Ref("host")),
    ro("scheduled_to_be_resident_on", Ref("host")),
    rw("affinity", Ref("host")),
    ro("memory_overhead", Int),
    ro("memory_target", Int),
    ro("memory_static_max", Int),
    ro("memory_dynamic_max", Int),
    ro("memory_dynamic_min", Int),
    ro("memory_static_min", Int),
    rw("VCPUs_params", StrMap),
    ro("VCPUs_max", Int),
    ro("VCPUs_at_startup", Int),
    rw("actions_after_softreboot", Enum(ON_SOFTREBOOT)),
    rw("actions_after_shutdown", Enum(ON_NORMAL_EXIT)),
    rw("actions_after_reboot", Enum(&["restart", "destroy"])),
    rw("actions_after_crash", Enum(ON_CRASH)),
    ro("consoles", RefSet("console")),
    derived("VIFs", "VIF", "VM"),
    derived("VBDs", "VBD", "VM"),
    ro("VUSBs", RefSet("VUSB")),
    ro("crash_dumps", RefSet("crashdump")),
    ro("VTPMs", RefSet("VTPM")),
    rw("PV_bootloader", Str),
    rw("PV_kernel", Str),
    rw("PV_ramdisk", Str),
    rw("PV_args", Str),
    rw("PV_bootloader_args", Str),
    rw("PV_legacy_args", Str),
    rw("HVM_boot_policy", Str),
    rw("HVM_boot_params", StrMap),
    ro("HVM_shadow_multiplier", Float),
    rw("platform", StrMap),
    rw("PCI_bus", Str),
    rw("other_config", StrMap),
    ro("domid", Int),
    ro("domarch", Str),
    ro("last_boot_CPU_flags", StrMap),
    ro("is_control_domain", Bool),
    ro("metrics", Ref("VM_metrics")),
    ro("guest_metrics", Ref("VM_guest_metrics")),
    ro("last_booted_record", Str),
    rw("recommendations", Str),
    rw("xenstore_data", StrMap),
    ro("ha_always_run", Bool),
    ro("ha_restart_priority", Str),
    ro("is_a_snapshot", Bool),
    ro("snapshot_of", Ref("VM")),
    derived("snapshots", "VM", "snapshot_of"),
    ro("snapshot_time", Date),
    ro("transportable_snapshot_id", Str),
    ro("blobs", StrMap),
    rw("tags", StrSet),
    rw("blocked_operations", StrMap),
    ro("snapshot_info", StrMap),
    ro("snapshot_metadata", Str),
    ro("parent", Ref("VM")),
    derived("children", "VM", "parent"),
    ro("bios_strings", StrMap),
    ro("protection_policy", Ref("VMPP")),
    ro("is_snapshot_from_vmpp", Bool),
    ro("snapshot_schedule", Ref("VMSS")),
    ro("is_vmss_snapshot", Bool),
    ro("appliance", Ref("VM_appliance")),
    ro("start_delay", Int),
    ro("shutdown_delay", Int),
    ro("order", Int),
    ro("VGPUs", RefSet("VGPU")),
    ro("attached_PCIs", RefSet("PCI")),
    rw("suspend_SR", Ref("SR")),
    ro("version", Int),
    ro("generation_id", Str),
    rw("hardware_platform_version", Int),
    ro("has_vendor_device", Bool),
    ro("requires_reboot", Bool),
    ro("reference_label", Str),
    ro("domain_type", Enum(DOMAIN_TYPES)),
    ro("NVRAM", StrMap),
    ro("pending_guidances", StrSet),
    ro("pending_guidances_recommended", StrSet),
    ro("pending_guidances_full", StrSet),
    ro("groups", RefSet("VM_group")),
];

const VM_METRICS: &[Field] = &[
    ro("uuid", Str),
    ro("memory_actual", Int),
    ro("VCPUs_number", Int),
    ro("VCPUs_utilisation", StrMap),
    ro("VCPUs_CPU", StrMap),
    ro("VCPUs_params", StrMap),
    ro("VCPUs_flags", StrMap),
    ro("state", StrSet),
    ro("start_time", Date),
    ro("install_time", Date),
    ro("last_updated", Date),
    rw("other_config", StrMap),
    ro("hvm", Bool),
    ro("nested_virt", Bool),
    ro("nomigrate", Bool),
    ro("current_domain_type", Enum(DOMAIN_TYPES)),
];

const VM_GUEST_METRICS: &[Field] = &[
    ro("uuid", Str),
    ro("os_version", StrMap),
    ro("netbios_name", StrMap),
    ro("PV_drivers_version", StrMap),
    ro("PV_drivers_up_to_date", Bool),
    ro("memory", StrMap),
    ro("disks", StrMap),
    ro("networks", StrMap),
    ro("other", StrMap),
    ro("last_updated", Date),
    rw("other_config", StrMap),
    ro("live", Bool),
    ro("can_use_hotplug_vbd", Enum(&["unspecified", "yes", "no"])),
    ro("can_use_hotplug_vif", Enum(&["unspecified", "yes", "no"])),
    ro("PV_drivers_detected", Bool),
    ro("services", StrMap),
];

const VDI: &[Field] = &[
    ro("uuid", Str),
    rw("name_label", Str),
    rw("name_description", Str),
    ro("allowed_operations", StrSet),
    ro("current_operations", StrMap),
    ro("SR", Ref("SR")),
    derived("VBDs", "VBD", "VDI"),
    ro("crash_dumps", RefSet("crashdump")),
    ro("virtual_size", Int),
    ro("physical_utilisation", Int),
    ro("type", Enum(VDI_TYPES)),
    ro("sharable", Bool),
    ro("read_only", Bool),
    rw("other_config", StrMap),
    ro("storage_lock", Bool),
    ro("location", Str),
    ro("managed", Bool),
    ro("missing", Bool),
    ro("parent", Ref("VDI")),
    rw("xenstore_data", StrMap),
    rw("sm_config", StrMap),
    ro("is_a_snapshot", Bool),
    ro("snapshot_of", Ref("VDI")),
    derived("snapshots", "VDI", "snapshot_of"),
    ro("snapshot_time", Date),
    rw("tags", StrSet),
    ro("allow_caching", Bool),
    ro("on_boot", Enum(ON_BOOT)),
    ro("metadata_of_pool", Ref("pool")),
    ro("metadata_latest", Bool),
    ro("is_tools_iso", Bool),
    ro("cbt_enabled", Bool),
];

const VBD: &[Field] = &[
    ro("uuid", Str),
    ro("allowed_operations", StrSet),
    ro("current_operations", StrMap),
    ro("VM", Ref("VM")),
    ro("VDI", Ref("VDI")),
    ro("device", Str),
    rw("userdevice", Str),
    rw("bootable", Bool),
    rw("mode", Enum(VBD_MODES)),
    rw("type", Enum(VBD_TYPES)),
    rw("unpluggable", Bool),
    ro("storage_lock", Bool),
    ro("empty", Bool),
    rw("other_config", StrMap),
    ro("currently_attached", Bool),
    ro("status_code", Int),
    ro("status_detail", Str),
    ro("runtime_properties", StrMap),
    rw("qos_algorithm_type", Str),
    rw("qos_algorithm_params", StrMap),
    ro("qos_supported_algorithms", StrSet),
    ro("metrics", Ref("VBD_metrics")),
];

const VIF: &[Field] = &[
    ro("uuid", Str),
    ro("allowed_operations", StrSet),
    ro("current_operations", StrMap),
    ro("device", Str),
    ro("network", Ref("network")),
    ro("VM", Ref("VM")),
    ro("MAC", Str),
    ro("MTU", Int),
    rw("other_config", StrMap),
    ro("currently_attached", Bool),
    ro("status_code", Int),
    ro("status_detail", Str),
    ro("runtime_properties", StrMap),
    rw("qos_algorithm_type", Str),
    rw("qos_algorithm_params", StrMap),
    ro("qos_supported_algorithms", StrSet),
    ro("metrics", Ref("VIF_metrics")),
    ro("MAC_autogenerated", Bool),
    ro("locking_mode", Enum(VIF_LOCKING)),
    ro("ipv4_allowed", StrSet),
    ro("ipv6_allowed", StrSet),
    ro("ipv4_configuration_mode", Enum(&["None", "Static"])),
    ro("ipv4_addresses", StrSet),
    ro("ipv4_gateway", Str),
    ro("ipv6_configuration_mode", Enum(&["None", "Static"])),
    ro("ipv6_addresses", StrSet),
    ro("ipv6_gateway", Str),
    ro("reserved_pci", Ref("PCI")),
];

const NETWORK: &[Field] = &[
    ro("uuid", Str),
    rw("name_label", Str),
    rw("name_description", Str),
    ro("allowed_operations", StrSet),
    ro("current_operations", StrMap),
    derived("VIFs", "VIF", "network"),
    derived("PIFs", "PIF", "network"),
    rw("MTU", Int),
    rw("other_config", StrMap),
    ro("bridge", Str),
    ro("managed", Bool),
    ro("blobs", StrMap),
    rw("tags", StrSet),
    ro("default_locking_mode", Enum(&["unlocked", "disabled"])),
    ro("assigned_ips", StrMap),
    ro("purpose", StrSet),
];

const PIF: &[Field] = &[
    ro("uuid", Str),
    ro("device", Str),
    ro("network", Ref("network")),
    ro("host", Ref("host")),
    ro("MAC", Str),
    ro("MTU", Int),
    ro("VLAN", Int),
    ro("metrics", Ref("PIF_metrics")),
    ro("physical", Bool),
    ro("currently_attached", Bool),
    ro("ip_configuration_mode", Enum(&["None", "DHCP", "Static"])),
    ro("IP", Str),
    ro("netmask", Str),
    ro("gateway", Str),
    ro("DNS", Str),
    ro("management", Bool),
    rw("other_config", StrMap),
    ro("managed", Bool),
];

const TASK: &[Field] = &[
    ro("uuid", Str),
    ro("name_label", Str),
    ro("name_description", Str),
    ro("allowed_operations", StrSet),
    ro("current_operations", StrMap),
    ro("created", Date),
    ro("finished", Date),
    ro("status", Enum(TASK_STATUS)),
    ro("resident_on", Ref("host")),
    ro("progress", Float),
    ro("type", Str),
    ro("result", Str),
    ro("error_info", StrSet),
    rw("other_config", StrMap),
    ro("subtask_of", Ref("task")),
    derived("subtasks", "task", "subtask_of"),
    ro("backtrace", Str),
];

const MESSAGE: &[Field] = &[
    ro("uuid", Str),
    ro("name", Str),
    ro("priority", Int),
    ro("cls", Str),
    ro("obj_uuid", Str),
    ro("timestamp", Date),
    ro("body", Str),
];

macro_rules! class {
    ($name:literal, $event:literal, $fields:expr, $lifecycle:expr, $public:expr) => {
        ClassDef {
            name: $name,
            event_name: $event,
            fields: $fields,
            generic_lifecycle: $lifecycle,
            public: $public,
        }
    };
}

/// Every class of the simulated pool.
pub static CLASSES: &[ClassDef] = &[
    class!("session", "session", SESSION, false, false),
    class!("pool", "pool", POOL, false, true),
    class!("host", "host", HOST, false, true),
    class!("SR", "sr", SR, false, true),
    class!("PBD", "pbd", PBD, false, true),
    class!("SM", "sm", SM, false, true),
    class!("VM", "vm", VM, false, true),
    class!("VM_metrics", "vm_metrics", VM_METRICS, false, true),
    class!(
        "VM_guest_metrics",
        "vm_guest_metrics",
        VM_GUEST_METRICS,
        false,
        true
    ),
    class!("VDI", "vdi", VDI, false, true),
    class!("VBD", "vbd", VBD, false, true),
    class!("VIF", "vif", VIF, true, true),
    class!("network", "network", NETWORK, true, true),
    class!("PIF", "pif", PIF, false, true),
    class!("task", "task", TASK, false, true),
    class!("message", "message", MESSAGE, false, true),
];

/// The class named `name` (exact API spelling).
pub fn class(name: &str) -> Option<&'static ClassDef> {
    CLASSES.iter().find(|class| class.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_starts_with_uuid_and_has_unique_fields() {
        for class in CLASSES {
            assert_eq!(class.fields[0].name, "uuid", "{}", class.name);
            let mut names: Vec<_> = class.fields.iter().map(|f| f.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), class.fields.len(), "{}", class.name);
        }
    }

    #[test]
    fn derived_fields_point_at_reference_fields() {
        for class in CLASSES {
            for field in class.fields {
                if let Ty::Derived {
                    class: other,
                    field: back,
                } = field.ty
                {
                    let other = super::class(other).expect("derived from a known class");
                    let back = other.fields[other.field_index(back).expect("known field")];
                    assert_eq!(
                        back.ty,
                        Ty::Ref(class.name),
                        "{}.{}",
                        class.name,
                        field.name
                    );
                }
            }
        }
    }
}
