//! How Xen Orchestra marks replicas and snapshots (reference/xen-orchestra.md §4): the
//! `other_config` keys, the tag, the start block and the replica's name.

use lifeboat_sdk::dates;
use lifeboat_sdk::string_map;
use lifeboat_sdk::types::RunContext;
use lifeboat_sdk::xapi::VmRecord;

pub const DATETIME: &str = "xo:backup:datetime";
pub const JOB: &str = "xo:backup:job";
pub const SCHEDULE: &str = "xo:backup:schedule";
pub const VM: &str = "xo:backup:vm";
/// Written last, once a copy is complete: a replica without it is an interrupted copy.
pub const SR: &str = "xo:backup:sr";

pub const TAG: &str = "Disaster Recovery";
pub const HA_DISABLED_TAG: &str = "HA disabled";
pub const START_BLOCKED: &str =
    "Start operation for this vm is blocked, clone it if you want to use it.";

/// `<name> - <job> - (<YYYYMMDDTHHmmssZ>)`.
pub fn replica_name(vm_name: &str, context: &RunContext) -> String {
    format!(
        "{vm_name} - {} - ({})",
        context.job_name,
        dates::filename_date(context.now_ms)
    )
}

/// The marks of the job's objects for `vm_uuid`, without `xo:backup:sr`.
pub fn job_marks(context: &RunContext, vm_uuid: &str) -> Vec<(String, String)> {
    vec![
        (DATETIME.into(), dates::xapi_datetime(context.now_ms)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RunContext {
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

    #[test]
    fn replicas_are_named_as_xen_orchestra_names_them() {
        assert_eq!(
            replica_name("web01", &context()),
            "web01 - Nightly DR - (20241102T030405Z)"
        );
        let marks = job_marks(&context(), "vm-uuid");
        assert!(marks.contains(&(DATETIME.into(), "20241102T03:04:05Z".into())));
        assert!(marks.contains(&(VM.into(), "vm-uuid".into())));
        assert!(
            !marks.iter().any(|(key, _)| key == SR),
            "the SR mark comes last, alone"
        );
    }

    #[test]
    fn a_copy_is_dated_by_its_mark_else_by_its_name() {
        let mut vm = VmRecord {
            opaque_ref: String::new(),
            uuid: String::new(),
            name_label: "web01 - Nightly DR - (20241102T030405Z)".into(),
            name_description: String::new(),
            power_state: lifeboat_sdk::xapi::PowerState::Halted,
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
        };
        assert_eq!(made_at(&vm), Some(1_730_516_645_000));
        vm.other_config = vec![(DATETIME.into(), "20241103T03:04:05Z".into())];
        assert_eq!(made_at(&vm), Some(1_730_516_645_000 + 86_400_000));
        vm.other_config.clear();
        vm.name_label = "renamed by someone".into();
        assert_eq!(made_at(&vm), None);
    }
}
