//! How Xen Orchestra marks replicas and snapshots (reference/xen-orchestra.md §4): the
//! `other_config` keys, the tags, the blocks and the names, and what they prove about a VM.

use lifeboat_sdk::dates;
use lifeboat_sdk::string_map;
use lifeboat_sdk::types::RunContext;
use lifeboat_sdk::xapi::{PowerState, VmRecord};

pub const DATETIME: &str = "xo:backup:datetime";
pub const JOB: &str = "xo:backup:job";
pub const SCHEDULE: &str = "xo:backup:schedule";
pub const VM: &str = "xo:backup:vm";
/// Written last, once a copy is complete: a replica without it is an interrupted copy.
pub const SR: &str = "xo:backup:sr";
pub const DELTA_CHAIN_LENGTH: &str = "xo:backup:deltaChainLength";
pub const EXPORTED: &str = "xo:backup:exported";
/// On a replicated object, the uuid of the source object it is a copy of.
pub const COPY_OF: &str = "xo:copy_of";

/// The keys Xen Orchestra resets on the VM it backs up (and its disks) before each snapshot,
/// so that a snapshot someone takes of the VM does not look like one of the job's.
/// `xo:backup:sr` stays: a replica may itself be replicated.
pub const RESET_BEFORE_SNAPSHOT: [&str; 6] =
    [DATETIME, DELTA_CHAIN_LENGTH, EXPORTED, JOB, SCHEDULE, VM];

pub const TAG: &str = "Disaster Recovery";
pub const HA_DISABLED_TAG: &str = "HA disabled";
/// A VM tag that asks for checkpoints (memory included) instead of snapshots.
pub const MEMORY_BACKUP_TAG: &str = "xo-memory-backup";
/// A VM tag that asks for the VM to be shut down while it is snapshotted.
pub const OFFLINE_BACKUP_TAG: &str = "xo-offline-backup";
/// Disks whose name holds this are left out of the copy.
pub const NO_BACKUP_DISK: &str = "[NOBAK]";

pub const START_BLOCKED: &str =
    "Start operation for this vm is blocked, clone it if you want to use it.";

/// `<name> - <job> - (<YYYYMMDDTHHmmssZ>)`.
pub fn replica_name(vm_name: &str, job_name: &str, stamp_ms: u64) -> String {
    format!(
        "{vm_name} - {job_name} - ({})",
        dates::filename_date(stamp_ms)
    )
}

/// `[XO Backup <job>] <name>`: Xen Orchestra's default name of a backup snapshot.
pub fn snapshot_name(vm_name: &str, job_name: &str) -> String {
    format!("[XO Backup {job_name}] {vm_name}")
}

/// The marks of the job's objects for `vm_uuid`, stamped `stamp_ms`, without `xo:backup:sr`.
pub fn job_marks(context: &RunContext, vm_uuid: &str, stamp_ms: u64) -> Vec<(String, String)> {
    vec![
        (DATETIME.into(), dates::xapi_datetime(stamp_ms)),
        (JOB.into(), context.job_id.clone()),
        (SCHEDULE.into(), context.schedule_id.clone()),
        (VM.into(), vm_uuid.into()),
    ]
}

/// When a replica or snapshot was made: its `xo:backup:datetime`, else the date at the end of
/// its name, as Xen Orchestra falls back to.
pub fn made_at(vm: &VmRecord) -> Option<u64> {
    if let Some(datetime) = string_map::get(&vm.other_config, DATETIME)
        && let Ok(ms) = dates::parse_date(datetime)
    {
        return Some(ms);
    }
    let name = vm.name_label.strip_suffix(')')?;
    let start = name.len().checked_sub(16)?;
    dates::parse_date(name.get(start..)?).ok()
}

/// Whether `vm` is a replica this job made of `vm_uuid` on this schedule: the job's marks and
/// `start` blocked, as Xen Orchestra's `listReplicatedVms` requires. A clone of a replica (the
/// clone does not keep the block) or a replica whose block someone lifted is not one.
pub fn is_replica(vm: &VmRecord, context: &RunContext, vm_uuid: &str) -> bool {
    !vm.is_a_snapshot
        && !vm.is_a_template
        && string_map::get(&vm.other_config, JOB) == Some(context.job_id.as_str())
        && string_map::get(&vm.other_config, SCHEDULE) == Some(context.schedule_id.as_str())
        && string_map::get(&vm.other_config, VM) == Some(vm_uuid)
        && string_map::get(&vm.blocked_operations, "start").is_some()
}

/// Whether a replica may be removed now: halted and not in the middle of an operation (an
/// import still running is not interrupted).
pub fn is_idle(vm: &VmRecord) -> bool {
    vm.power_state == PowerState::Halted && vm.current_operations.is_empty()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn context() -> RunContext {
        RunContext {
            job_id: "job".into(),
            job_name: "Nightly DR".into(),
            schedule_id: "schedule".into(),
            run_id: "run".into(),
            step_id: "step".into(),
            // 2024-11-02T03:04:05Z
            now_ms: 1_730_516_645_000,
        }
    }

    pub fn vm(name: &str) -> VmRecord {
        VmRecord {
            opaque_ref: String::new(),
            uuid: String::new(),
            name_label: name.into(),
            name_description: String::new(),
            power_state: PowerState::Halted,
            is_a_template: false,
            is_a_snapshot: false,
            is_control_domain: false,
            snapshot_of: String::new(),
            snapshots: Vec::new(),
            snapshot_time: String::new(),
            vbds: Vec::new(),
            vifs: Vec::new(),
            resident_on: String::new(),
            tags: Vec::new(),
            other_config: Vec::new(),
            blocked_operations: Vec::new(),
            current_operations: Vec::new(),
            ha_restart_priority: String::new(),
            ha_always_run: false,
            memory_static_max: 0,
            vcpus_max: 0,
        }
    }

    #[test]
    fn replicas_are_named_as_xen_orchestra_names_them() {
        let context = context();
        assert_eq!(
            replica_name("web01", &context.job_name, context.now_ms),
            "web01 - Nightly DR - (20241102T030405Z)"
        );
        let marks = job_marks(&context, "vm-uuid", context.now_ms + 2_000);
        assert!(marks.contains(&(DATETIME.into(), "20241102T03:04:07Z".into())));
        assert!(marks.contains(&(VM.into(), "vm-uuid".into())));
        assert!(
            !marks.iter().any(|(key, _)| key == SR),
            "the SR mark comes last, alone"
        );
    }

    #[test]
    fn a_copy_is_dated_by_its_mark_else_by_its_name() {
        let mut vm = vm("web01 - Nightly DR - (20241102T030405Z)");
        assert_eq!(made_at(&vm), Some(1_730_516_645_000));
        vm.other_config = vec![(DATETIME.into(), "20241103T03:04:05Z".into())];
        assert_eq!(made_at(&vm), Some(1_730_516_645_000 + 86_400_000));
        vm.other_config.clear();
        vm.name_label = "renamed by someone".into();
        assert_eq!(made_at(&vm), None);
    }

    #[test]
    fn only_a_marked_start_blocked_vm_is_a_replica() {
        let context = context();
        let mut replica = vm("web01 - Nightly DR - (20241102T030405Z)");
        replica.other_config = vec![
            (JOB.into(), "job".into()),
            (SCHEDULE.into(), "schedule".into()),
            (VM.into(), "vm-uuid".into()),
        ];
        replica.blocked_operations = vec![("start".into(), START_BLOCKED.into())];
        assert!(is_replica(&replica, &context, "vm-uuid"));
        assert!(!is_replica(&replica, &context, "another-vm"));

        let mut clone = replica.clone();
        clone.blocked_operations.clear();
        assert!(!is_replica(&clone, &context, "vm-uuid"), "a clone");

        let mut other_schedule = replica.clone();
        other_schedule.other_config[1].1 = "weekly".into();
        assert!(!is_replica(&other_schedule, &context, "vm-uuid"));

        let mut snapshot = replica.clone();
        snapshot.is_a_snapshot = true;
        assert!(!is_replica(&snapshot, &context, "vm-uuid"));

        assert!(is_idle(&replica));
        let mut running = replica.clone();
        running.power_state = PowerState::Running;
        assert!(!is_idle(&running));
        let mut importing = replica;
        importing.current_operations = vec!["import".into()];
        assert!(!is_idle(&importing));
    }
}
