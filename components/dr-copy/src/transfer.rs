//! The copy itself: one XVA export of the source VM (or its snapshot) streamed by the host
//! into an import on every target SR, then each replica named, tagged, blocked and marked,
//! with `xo:backup:sr` written last.

use lifeboat_sdk::tasks::{self, Status, Task};
use lifeboat_sdk::transfers;
use lifeboat_sdk::types::{Error, RunContext};
use lifeboat_sdk::xapi::{Compression, Pool, VdiChanges, VmChanges, VmRecord};
use serde_json::{Value, json};

use crate::Target;
use crate::marks;

/// Copies `exported` (a ref on `source`) to every target; returns a description of each
/// replica made. A target that fails does not stop the others; the first failure is returned
/// once all were tried.
pub fn copy(
    source: &Pool,
    exported: &str,
    target: &Pool,
    targets: &[Target],
    vm: &VmRecord,
    context: &RunContext,
) -> Result<Vec<Value>, Error> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let exports: Vec<Task> = targets
        .iter()
        .map(|t| {
            let data = json!({ "type": "SR", "id": t.sr.uuid, "name_label": t.sr.name_label, "isFull": true });
            tasks::start("export", Some(&data.to_string()))
        })
        .collect();
    let transfer = exports[0].start("transfer", None);
    let stream = source.export_vm(exported, Compression::None)?;
    let sinks = targets
        .iter()
        .map(|t| target.import_vm(&t.sr.opaque_ref))
        .collect::<Result<Vec<_>, _>>()?;
    let outcomes = transfers::copy(stream, sinks, Some(&transfer));

    let mut replicas = Vec::new();
    let mut first_failure = None;
    for ((t, export), outcome) in targets.iter().zip(&exports).zip(outcomes) {
        let finished = outcome.and_then(|delivered| {
            let imported = delivered
                .created
                .first()
                .cloned()
                .ok_or_else(|| Error::internal("the import created no VM"))?;
            match mark(target, &imported, t, vm, context) {
                Ok(replica) => Ok((replica, delivered.bytes)),
                Err(error) => {
                    // An unmarked import would be found as interrupted next run; remove it
                    // now rather than leave it until then.
                    let _ = target.destroy_vm(&imported, true);
                    Err(error)
                }
            }
        });
        match finished {
            Ok((replica, bytes)) => {
                export.end(Status::Success, Some(&json!({ "size": bytes }).to_string()));
                replicas.push(replica);
            }
            Err(error) => {
                export.end(Status::Failure, Some(&error.to_json().to_string()));
                first_failure.get_or_insert(error);
            }
        }
    }
    match &first_failure {
        None => transfer.end(Status::Success, None),
        Some(error) => transfer.end(Status::Failure, Some(&error.to_json().to_string())),
    }
    match first_failure {
        Some(error) => Err(error),
        None => Ok(replicas),
    }
}

/// Turns an imported VM into a DR replica: name, tag, HA off, start blocked, the job's marks
/// on the VM and its disks, and only then `xo:backup:sr`.
fn mark(
    target: &Pool,
    imported: &str,
    t: &Target,
    vm: &VmRecord,
    context: &RunContext,
) -> Result<Value, Error> {
    let record = target.vm(imported)?;
    let had_ha = !record.ha_restart_priority.is_empty();
    let mut tags = vec![marks::TAG.to_owned()];
    if had_ha {
        tags.push(marks::HA_DISABLED_TAG.to_owned());
    }
    let name = marks::replica_name(&vm.name_label, context);
    let job_marks = marks::job_marks(context, &vm.uuid);
    target.update_vm(
        imported,
        &VmChanges {
            name_label: Some(name.clone()),
            name_description: None,
            other_config: job_marks
                .iter()
                .map(|(key, value)| (key.clone(), Some(value.clone())))
                .collect(),
            blocked_operations: replica_blocks(&record),
            add_tags: tags,
            remove_tags: Vec::new(),
            ha_restart_priority: had_ha.then(String::new),
            is_a_template: record.is_a_template.then_some(false),
        },
    )?;
    let disks = disks_of(target, &record)?;
    let mut disk_marks = job_marks.clone();
    disk_marks.push((marks::SR.into(), t.sr.uuid.clone()));
    for vdi in &disks {
        target.update_vdi(vdi, &vdi_marks(&disk_marks))?;
    }
    target.update_vm(
        imported,
        &VmChanges {
            name_label: None,
            name_description: None,
            other_config: vec![(marks::SR.into(), Some(t.sr.uuid.clone()))],
            blocked_operations: Vec::new(),
            add_tags: Vec::new(),
            remove_tags: Vec::new(),
            ha_restart_priority: None,
            is_a_template: None,
        },
    )?;
    Ok(json!({ "sr": t.sr.uuid, "vm": record.uuid, "name_label": name }))
}

/// A replica is blocked from starting and from nothing else: blocks it inherited from the
/// source (a `destroy` block, say) would keep its own job's retention from removing it.
fn replica_blocks(record: &VmRecord) -> Vec<(String, Option<String>)> {
    let mut blocks: Vec<(String, Option<String>)> = record
        .blocked_operations
        .iter()
        .filter(|(operation, _)| operation != "start" && operation != "start_on")
        .map(|(operation, _)| (operation.clone(), None))
        .collect();
    blocks.push(("start".into(), Some(marks::START_BLOCKED.into())));
    blocks.push(("start_on".into(), Some(marks::START_BLOCKED.into())));
    blocks
}

fn vdi_marks(pairs: &[(String, String)]) -> VdiChanges {
    VdiChanges {
        name_label: None,
        name_description: None,
        other_config: pairs
            .iter()
            .map(|(key, value)| (key.clone(), Some(value.clone())))
            .collect(),
        add_tags: Vec::new(),
        remove_tags: Vec::new(),
    }
}

/// The disks of a VM (not its CD drives).
fn disks_of(pool: &Pool, vm: &VmRecord) -> Result<Vec<String>, Error> {
    let mut disks = Vec::new();
    for vbd in &vm.vbds {
        let vbd = pool.vbd(vbd)?;
        if vbd.vbd_type == "Disk" && !vbd.empty {
            disks.push(vbd.vdi);
        }
    }
    Ok(disks)
}
