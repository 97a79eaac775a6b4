//! The job's replicas of one VM on the target pool: finding the real ones (marked and
//! start-blocked), removing interrupted copies, and rolling retention through the step's
//! retention policy. A VM that is not a real replica of the job (a user's clone, a replica
//! someone took over) is never a candidate for anything here.

use lifeboat_sdk::policy::{self, Candidate};
use lifeboat_sdk::string_map;
use lifeboat_sdk::tasks::Task;
use lifeboat_sdk::types::{Error, RunContext};
use lifeboat_sdk::xapi::{Pool, VmFilter, VmRecord};
use serde_json::json;

use crate::marks;

/// The replicas this job and schedule made of `vm_uuid` on `target`, complete or not, oldest
/// first.
pub fn of_vm(target: &Pool, context: &RunContext, vm_uuid: &str) -> Result<Vec<VmRecord>, Error> {
    let filter = VmFilter {
        other_config: vec![
            (marks::JOB.into(), context.job_id.clone()),
            (marks::SCHEDULE.into(), context.schedule_id.clone()),
            (marks::VM.into(), vm_uuid.into()),
        ],
        tags: Vec::new(),
        snapshots: false,
        templates: false,
    };
    let mut replicas: Vec<VmRecord> = target
        .find_vms(&filter)?
        .into_iter()
        .filter(|vm| marks::is_replica(vm, context, vm_uuid))
        .collect();
    replicas.sort_by_key(|vm| marks::made_at(vm).unwrap_or(0));
    Ok(replicas)
}

/// When the job's copies of `vm_uuid` on `target` were made, whatever their schedule, complete
/// or not: the seconds a new copy's name must not reuse.
pub fn stamps(target: &Pool, context: &RunContext, vm_uuid: &str) -> Result<Vec<u64>, Error> {
    let filter = VmFilter {
        other_config: vec![
            (marks::JOB.into(), context.job_id.clone()),
            (marks::VM.into(), vm_uuid.into()),
        ],
        tags: Vec::new(),
        snapshots: false,
        templates: false,
    };
    Ok(target
        .find_vms(&filter)?
        .iter()
        .filter_map(marks::made_at)
        .collect())
}

/// Destroys the copies whose transfer never completed (no `xo:backup:sr`) and that nothing is
/// busy with; returns their uuids. A copy that cannot be destroyed is a warning.
pub fn remove_interrupted(target: &Pool, replicas: &[VmRecord], task: &Task) -> Vec<String> {
    replicas
        .iter()
        .filter(|vm| string_map::get(&vm.other_config, marks::SR).is_none() && marks::is_idle(vm))
        .filter(|vm| remove(target, vm, "removing an interrupted copy", task))
        .map(|vm| vm.uuid.clone())
        .collect()
}

/// The complete, idle replicas on `sr_uuid`, as retention candidates, oldest first; among
/// copies made in the same second, the ones this run made (`made_now`) come last, so the
/// newest is the new one.
pub fn candidates(replicas: &[VmRecord], sr_uuid: &str, made_now: &[String]) -> Vec<Candidate> {
    let mut candidates: Vec<Candidate> = replicas
        .iter()
        .filter(|vm| string_map::get(&vm.other_config, marks::SR) == Some(sr_uuid))
        .filter(|vm| marks::is_idle(vm))
        .map(|vm| Candidate {
            id: vm.uuid.clone(),
            timestamp_ms: marks::made_at(vm).unwrap_or(0),
            schedule: string_map::get(&vm.other_config, marks::SCHEDULE)
                .unwrap_or_default()
                .to_owned(),
            size: 0,
            tags: vm.tags.clone(),
        })
        .collect();
    candidates.sort_by_key(|c| (c.timestamp_ms, made_now.contains(&c.id)));
    candidates
}

/// The id of the copy about to be made, when retention runs before it exists: it stands for
/// the new copy, the newest candidate, so the policy keeps room for it.
pub const UPCOMING: &str = "(the copy being made)";

/// Asks the step's policy which candidates expire and destroys them; returns the uuids of the
/// ones destroyed. A copy that cannot be destroyed is a warning: the new copy stands anyway.
pub fn apply_retention(
    target: &Pool,
    replicas: &[VmRecord],
    candidates: Vec<Candidate>,
    settings: &str,
    task: &Task,
) -> Result<Vec<String>, Error> {
    let expired = policy::select_expired(&candidates, settings)?;
    Ok(expired
        .iter()
        .filter(|id| id.as_str() != UPCOMING)
        .filter_map(|uuid| replicas.iter().find(|vm| &vm.uuid == uuid))
        .filter(|vm| remove(target, vm, "removing an old copy", task))
        .map(|vm| vm.uuid.clone())
        .collect())
}

/// Destroys a replica with its snapshots and disks; says whether it is gone.
fn remove(target: &Pool, vm: &VmRecord, why: &str, task: &Task) -> bool {
    let data = json!({ "vm": vm.uuid, "name_label": vm.name_label });
    task.info(why, Some(&data.to_string()));
    match target.destroy_vm(&vm.opaque_ref, true) {
        Ok(()) => true,
        Err(error) => {
            task.warning(
                &format!("{} ({}) stays: {}", vm.uuid, vm.name_label, error.message),
                Some(&error.to_json().to_string()),
            );
            false
        }
    }
}
