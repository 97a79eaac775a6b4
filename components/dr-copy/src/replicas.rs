//! The job's replicas of one VM on the target pool: finding them, removing interrupted ones,
//! and rolling retention through the step's retention policy.

use lifeboat_sdk::policy::{self, Candidate};
use lifeboat_sdk::string_map;
use lifeboat_sdk::tasks::Task;
use lifeboat_sdk::types::{Error, RunContext};
use lifeboat_sdk::xapi::{Pool, VmFilter, VmRecord};
use serde_json::json;

use crate::marks;

/// The VMs on `target` that this job and schedule made of `vm_uuid` (complete or not),
/// oldest first.
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
    let mut replicas = target.find_vms(&filter)?;
    replicas.sort_by_key(|vm| marks::made_at(vm).unwrap_or(0));
    Ok(replicas)
}

/// Destroys the copies whose transfer never completed (no `xo:backup:sr`); returns their
/// uuids.
pub fn remove_interrupted(
    target: &Pool,
    replicas: &[VmRecord],
    task: &Task,
) -> Result<Vec<String>, Error> {
    let mut removed = Vec::new();
    for vm in replicas {
        if string_map::get(&vm.other_config, marks::SR).is_none() {
            let data = json!({ "vm": vm.uuid, "name_label": vm.name_label }).to_string();
            task.info("removing an interrupted copy", Some(&data));
            target.destroy_vm(&vm.opaque_ref, true)?;
            removed.push(vm.uuid.clone());
        }
    }
    Ok(removed)
}

/// The complete copies on `sr_uuid`, as retention candidates, oldest first; among copies made
/// in the same second, the ones this run made (`made_now`) come last, so the newest is the new
/// one.
pub fn candidates(replicas: &[VmRecord], sr_uuid: &str, made_now: &[String]) -> Vec<Candidate> {
    let mut candidates: Vec<Candidate> = replicas
        .iter()
        .filter(|vm| string_map::get(&vm.other_config, marks::SR) == Some(sr_uuid))
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

/// Asks the step's policy which candidates expire and destroys them; returns their uuids.
pub fn apply_retention(
    target: &Pool,
    replicas: &[VmRecord],
    candidates: Vec<Candidate>,
    settings: &str,
    task: &Task,
) -> Result<Vec<String>, Error> {
    let expired = policy::select_expired(&candidates, settings)?;
    let mut removed = Vec::new();
    for uuid in expired.iter().filter(|id| id.as_str() != UPCOMING) {
        let Some(vm) = replicas.iter().find(|vm| &vm.uuid == uuid) else {
            continue;
        };
        let data = json!({ "vm": vm.uuid, "name_label": vm.name_label }).to_string();
        task.info("removing an old copy", Some(&data));
        target.destroy_vm(&vm.opaque_ref, true)?;
        removed.push(vm.uuid.clone());
    }
    Ok(removed)
}
