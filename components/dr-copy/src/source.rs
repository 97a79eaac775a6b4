//! The source side, as Xen Orchestra's VM backup runner does it (`_AbstractXapi`): what it
//! refuses to copy, the migration block for the length of the job, the backup marks reset on
//! the VM before its snapshot, and the offline shutdown and restart.

use lifeboat_sdk::string_map;
use lifeboat_sdk::tasks;
use lifeboat_sdk::types::{Error, RunContext};
use lifeboat_sdk::xapi::{Pool, PowerState, VdiChanges, VdiRecord, VmChanges, VmRecord};

use crate::marks;

/// The reason Xen Orchestra blocks a VM's migration while it backs it up.
pub const MIGRATION_BLOCKED: &str = "VM migration is blocked during backup";
const MIGRATIONS: [&str; 2] = ["migrate_send", "pool_migrate"];

/// Refuses what Xen Orchestra refuses to copy: a replica this very job made (the job's mark
/// and a blocked start), and a VM being migrated.
pub fn refuse(vm: &VmRecord, context: &RunContext) -> Result<(), Error> {
    let own = string_map::get(&vm.other_config, marks::JOB) == Some(context.job_id.as_str());
    let blocked = string_map::get(&vm.blocked_operations, "start").is_some();
    if own && blocked {
        return Err(Error::invalid_input(format!(
            "VM {} ({}) is a replica made by this job: a job does not copy its own copies",
            vm.uuid, vm.name_label
        )));
    }
    if let Some(migration) = vm
        .current_operations
        .iter()
        .find(|op| MIGRATIONS.contains(&op.as_str()))
    {
        return Err(Error::invalid_input(format!(
            "VM {} ({}) is being migrated ({migration}): it cannot be copied now; run the job again once the migration is over",
            vm.uuid, vm.name_label
        )));
    }
    Ok(())
}

/// The migration block this run set on a VM, lifted by [`MigrationBlock::lift`]. A block set
/// by someone else (another reason) is left as it is; one with Xen Orchestra's reason that an
/// interrupted run left behind is taken over and lifted at the end.
pub struct MigrationBlock {
    operations: Vec<&'static str>,
}

impl MigrationBlock {
    pub fn set(source: &Pool, vm: &VmRecord) -> Result<MigrationBlock, Error> {
        let operations: Vec<&'static str> = MIGRATIONS
            .into_iter()
            .filter(|op| {
                string_map::get(&vm.blocked_operations, op).is_none_or(|r| r == MIGRATION_BLOCKED)
            })
            .collect();
        let changes = VmChanges {
            blocked_operations: operations
                .iter()
                .map(|op| ((*op).to_owned(), Some(MIGRATION_BLOCKED.to_owned())))
                .collect(),
            ..VmChanges::none()
        };
        let block = MigrationBlock { operations };
        if !block.operations.is_empty()
            && let Err(error) = source.update_vm(&vm.opaque_ref, &changes)
        {
            // One of the two may be set already.
            block.lift(source, vm);
            return Err(error);
        }
        Ok(block)
    }

    /// Lifts the block where it is set; a failure is a warning (the next run lifts it).
    pub fn lift(self, source: &Pool, vm: &VmRecord) {
        let current = match source.vm(&vm.opaque_ref) {
            Ok(record) => record.blocked_operations,
            Err(error) => return warn_still_blocked(vm, &error),
        };
        let changes = VmChanges {
            blocked_operations: self
                .operations
                .iter()
                .filter(|op| string_map::get(&current, op) == Some(MIGRATION_BLOCKED))
                .map(|op| ((*op).to_owned(), None))
                .collect(),
            ..VmChanges::none()
        };
        if !changes.blocked_operations.is_empty()
            && let Err(error) = source.update_vm(&vm.opaque_ref, &changes)
        {
            warn_still_blocked(vm, &error);
        }
    }
}

fn warn_still_blocked(vm: &VmRecord, error: &Error) {
    tasks::warning(
        &format!(
            "the migration of VM {} stays blocked: {}",
            vm.uuid, error.message
        ),
        Some(&error.to_json().to_string()),
    );
}

/// Removes the job's backup marks from the VM and its disks, as Xen Orchestra does before each
/// snapshot: a snapshot someone takes of the VM (or a VM reverted to one of the job's
/// snapshots) must not look like one of the job's. A disk that carries them loses them even
/// when the VM does not (a disk reverted on its own); marks of another job are left to it.
pub fn reset_marks(
    source: &Pool,
    vm: &VmRecord,
    disks: &[VdiRecord],
    context: &RunContext,
) -> Result<(), Error> {
    let is_jobs = |other_config: &[(String, String)]| {
        string_map::get(other_config, marks::JOB) == Some(context.job_id.as_str())
    };
    let removed: Vec<(String, Option<String>)> = marks::RESET_BEFORE_SNAPSHOT
        .iter()
        .map(|key| ((*key).to_owned(), None))
        .collect();
    let vm_is_jobs = is_jobs(&vm.other_config);
    for vdi in disks {
        if vm_is_jobs || is_jobs(&vdi.other_config) {
            source.update_vdi(
                &vdi.opaque_ref,
                &VdiChanges {
                    other_config: removed.clone(),
                    ..VdiChanges::none()
                },
            )?;
        }
    }
    match string_map::get(&vm.other_config, marks::JOB) {
        Some(job) if job != context.job_id => tasks::info(
            &format!(
                "VM {} carries the backup marks of job {job}; they are left to that job",
                vm.uuid
            ),
            None,
        ),
        Some(_) => source.update_vm(
            &vm.opaque_ref,
            &VmChanges {
                other_config: removed,
                ..VmChanges::none()
            },
        )?,
        None => {}
    }
    Ok(())
}

/// A running VM shut down for an offline backup or snapshot, started again by
/// [`Offline::restart`].
pub struct Offline {
    vm: String,
}

impl Offline {
    /// Shuts `vm` down cleanly if it runs.
    pub fn shut_down(source: &Pool, vm: &VmRecord) -> Result<Option<Offline>, Error> {
        if vm.power_state != PowerState::Running {
            return Ok(None);
        }
        tasks::info(&format!("shutting VM {} down", vm.uuid), None);
        source.shutdown_vm(&vm.opaque_ref, false)?;
        Ok(Some(Offline {
            vm: vm.opaque_ref.clone(),
        }))
    }

    /// Starts the VM again; a failure is a warning, as it is to Xen Orchestra.
    pub fn restart(self, source: &Pool) {
        if let Err(error) = source.start_vm(&self.vm) {
            tasks::warning(
                &format!("the VM could not be started again: {}", error.message),
                Some(&error.to_json().to_string()),
            );
        }
    }
}
