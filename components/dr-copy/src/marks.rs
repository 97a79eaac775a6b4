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
