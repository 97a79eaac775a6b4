//! The source side: the snapshot a copy is exported from, and rolling snapshot retention.

use lifeboat_sdk::types::{Error, RunContext};
use lifeboat_sdk::xapi::{Pool, PowerState, VmChanges, VmFilter, VmRecord};
use serde_json::json;

use crate::marks;

/// Snapshots `vm` when it must be: when it is not halted (a running VM's disks change under an
/// export) or when snapshots are kept. A halted VM with no snapshot retention is exported as
/// it is, as Xen Orchestra does.
pub fn take(
    source: &Pool,
    vm: &VmRecord,
    context: &RunContext,
    retention: u32,
) -> Result<Option<VmRecord>, Error> {
    if vm.power_state == PowerState::Halted && retention == 0 {
        return Ok(None);
    }
    let snapshot = lifeboat_sdk::tasks::run("snapshot", Some(json!({ "vm": vm.uuid })), |_| {
        let name = format!("[XO Backup {}] {}", context.job_name, vm.name_label);
        let snapshot = source.snapshot_vm(&vm.opaque_ref, &name, &[])?;
        let changes = VmChanges {
            name_label: None,
            name_description: None,
            other_config: marks::job_marks(context, &vm.uuid)
                .into_iter()
                .map(|(key, value)| (key, Some(value)))
                .collect(),
            blocked_operations: Vec::new(),
            add_tags: Vec::new(),
            remove_tags: Vec::new(),
            ha_restart_priority: None,
            is_a_template: Some(false),
        };
        source.update_vm(&snapshot, &changes)?;
        Ok(snapshot)
    })?;
    source.vm(&snapshot).map(Some)
}

/// After the transfer: keeps the newest `retention` snapshots this job took of `vm` on this
/// schedule and destroys the others (all of them, the new one included, when `retention` is
/// 0). Returns the new snapshot's uuid if it is kept.
pub fn settle(
    source: &Pool,
    vm: &VmRecord,
    snapshot: &VmRecord,
    context: &RunContext,
    retention: u32,
) -> Result<Option<String>, Error> {
    let filter = VmFilter {
        other_config: vec![
            (marks::JOB.into(), context.job_id.clone()),
            (marks::SCHEDULE.into(), context.schedule_id.clone()),
            (marks::VM.into(), vm.uuid.clone()),
        ],
        tags: Vec::new(),
        snapshots: true,
        templates: false,
    };
    let mut snapshots: Vec<VmRecord> = source
        .find_vms(&filter)?
        .into_iter()
        .filter(|s| s.is_a_snapshot && s.snapshot_of == vm.opaque_ref)
        .collect();
    snapshots.sort_by_key(|s| marks::made_at(s).unwrap_or(0));
    let keep = usize::try_from(retention).unwrap_or(usize::MAX);
    let expired = snapshots.len().saturating_sub(keep);
    let mut kept_new = true;
    for old in &snapshots[..expired] {
        source.destroy_vm(&old.opaque_ref, true)?;
        if old.opaque_ref == snapshot.opaque_ref {
            kept_new = false;
        }
    }
    if retention == 0
        && snapshots
            .iter()
            .all(|s| s.opaque_ref != snapshot.opaque_ref)
    {
        // Not found by its marks (they could not be written): it still must not stay.
        source.destroy_vm(&snapshot.opaque_ref, true)?;
        kept_new = false;
    }
    Ok(kept_new.then(|| snapshot.uuid.clone()))
}
