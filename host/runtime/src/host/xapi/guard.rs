//! The guards on destructive XAPI calls (DESIGN.md, principle 2): a component may destroy or
//! rewrite only objects that carry its own job's mark (`other_config["xo:backup:job"]` equal to
//! the run's job id) or that its run created. A disk counts as marked when a VM it is attached
//! to is, since replicas are marked on the VM first.
//!
//! Marks alone prove little: `VM.clone` copies `other_config`, so a user's clone of a replica
//! carries the job's mark. Destruction therefore asks for proof that the VM is still the job's
//! own: a snapshot of the job, or a replica, which is halted and has `start` blocked (the block
//! is not cloned, and whoever takes a replica over lifts it). Whatever fails that test belongs
//! to a person and is never destroyed, nor is a disk such a VM uses.
//!
//! One change is allowed on any VM of a granted pool: Xen Orchestra blocks the migration of the
//! VM it backs up for the length of the backup, with a reason of its own, and lifts that block
//! afterwards. Nothing else can be written that way. And the VM a run is for (its step's
//! `for_each` item) may be shut down cleanly and started again, as an offline backup does.

use lifeboat_xapi::records::{PowerState, Ref, Vbd, Vdi, Vm};

use crate::bindings::types::Error;
use crate::bindings::xapi::VmChanges;
use crate::grants::PoolConnection;
use crate::host::errors;
use crate::state::StepEnv;

/// The `other_config` key that names the job an object belongs to (Xen Orchestra's).
pub const JOB_MARK: &str = "xo:backup:job";

/// The reason Xen Orchestra gives `migrate_send` and `pool_migrate` while it backs a VM up.
pub const MIGRATION_BLOCKED: &str = "VM migration is blocked during backup";

/// The name Xen Orchestra gives a backup snapshot until it is marked. A snapshot still named so
/// was left by a run that stopped between the snapshot and its marks; it is a backup tool's
/// leftover, whoever's it was.
pub const TEMPORARY_SNAPSHOT_NAME: &str = "xo-backup-temp-snapshot-name";

impl StepEnv {
    fn created(&self, pool: &PoolConnection, object: &str) -> bool {
        self.objects.contains(&pool.name, object)
    }

    fn marked(&self, other_config: &lifeboat_xapi::records::StringMap) -> bool {
        other_config.get(JOB_MARK) == Some(&self.context.job_id)
    }

    /// Why `record` is not the job's own to destroy, if it is not (objects the run created pass
    /// before this is asked).
    fn not_destructible(&self, record: &Vm) -> Option<String> {
        if record.is_a_snapshot && record.name_label == TEMPORARY_SNAPSHOT_NAME {
            return None;
        }
        if !self.marked(&record.other_config) {
            return Some(format!(
                "it does not carry the mark of job {}",
                self.context.job_id
            ));
        }
        if record.is_a_snapshot {
            return None;
        }
        if !record.blocked_operations.contains_key("start") {
            return Some(
                "its start is not blocked, so it is not a replica of the job but a VM someone \
                 uses (a clone of a replica, or a replica taken over); block its start again to \
                 hand it back to the job"
                    .into(),
            );
        }
        if record.power_state != PowerState::Halted {
            return Some(format!(
                "it is {:?}: a VM in use is never destroyed",
                record.power_state
            ));
        }
        None
    }

    async fn vm_record(&self, pool: &PoolConnection, vm: &Ref<Vm>) -> Result<Vm, Error> {
        pool.client
            .get_record(vm)
            .await
            .map_err(|e| errors::from_xapi(&e))
    }

    /// Allows `action` on `vm` if the run created it or it carries the job's mark.
    pub async fn guard_vm(
        &self,
        pool: &PoolConnection,
        vm: &Ref<Vm>,
        action: &str,
    ) -> Result<(), Error> {
        self.guard_vm_or(pool, vm, action, |_| false, None).await
    }

    /// Allows starting or (with `force` false, cleanly) shutting down `vm` if
    /// [`StepEnv::guard_vm`] does, or if it is the VM this run is for.
    pub async fn guard_power(
        &self,
        pool: &PoolConnection,
        vm: &Ref<Vm>,
        action: &str,
        force: bool,
    ) -> Result<(), Error> {
        let is_item = |record: &Vm| self.item_vm.as_deref() == Some(record.uuid.as_str());
        let hint = "a step may shut down cleanly and start again only the VM it runs for, its for_each item";
        self.guard_vm_or(
            pool,
            vm,
            action,
            |record| is_item(record) && !force,
            Some(hint),
        )
        .await
    }

    /// Allows `changes` to `vm` if [`StepEnv::guard_vm`] does, or if they only block its
    /// migration with [`MIGRATION_BLOCKED`] or lift that block.
    pub async fn guard_vm_changes(
        &self,
        pool: &PoolConnection,
        vm: &Ref<Vm>,
        changes: &VmChanges,
    ) -> Result<(), Error> {
        let hint = format!(
            "on such a VM, only `migrate_send` and `pool_migrate` may be blocked, with the reason {MIGRATION_BLOCKED:?}, and unblocked"
        );
        let migration = |record: &Vm| only_migration_blocks(record, changes);
        self.guard_vm_or(pool, vm, "a change", migration, Some(&hint))
            .await
    }

    /// Allows `action` on `vm` if the run created it, it carries the job's mark, or it is an
    /// `exception`; else refuses, with `hint` on what would be allowed.
    async fn guard_vm_or(
        &self,
        pool: &PoolConnection,
        vm: &Ref<Vm>,
        action: &str,
        exception: impl FnOnce(&Vm) -> bool,
        hint: Option<&str>,
    ) -> Result<(), Error> {
        if self.created(pool, vm.as_str()) {
            return Ok(());
        }
        let record = self.vm_record(pool, vm).await?;
        if self.marked(&record.other_config) || exception(&record) {
            return Ok(());
        }
        let hint = hint.map(|hint| format!(" ({hint})")).unwrap_or_default();
        Err(self.refuse(&format!(
            "{action} of VM {} ({:?}) on {}: it does not carry the mark of job {} and was not created by this run{hint}",
            record.uuid, record.name_label, pool.name, self.context.job_id
        )))
    }

    /// Allows destroying `vm` if the run created it or [`StepEnv::not_destructible`] finds
    /// nothing against it.
    pub async fn guard_vm_destruction(
        &self,
        pool: &PoolConnection,
        vm: &Ref<Vm>,
    ) -> Result<(), Error> {
        if self.created(pool, vm.as_str()) {
            return Ok(());
        }
        let record = self.vm_record(pool, vm).await?;
        match self.not_destructible(&record) {
            None => Ok(()),
            Some(why) => Err(self.refuse(&format!(
                "destruction of VM {} ({:?}) on {}: {why}",
                record.uuid, record.name_label, pool.name
            ))),
        }
    }

    async fn vdi_record(&self, pool: &PoolConnection, vdi: &Ref<Vdi>) -> Result<Vdi, Error> {
        pool.client
            .get_record(vdi)
            .await
            .map_err(|e| errors::from_xapi(&e))
    }

    /// Whether a disk the run did not create is the job's to change: it carries the job's
    /// mark, or a VM it is attached to was created by the run or carries the mark.
    async fn vdi_is_jobs(&self, pool: &PoolConnection, record: &Vdi) -> bool {
        if self.marked(&record.other_config) {
            return true;
        }
        for vm in attached_vms(pool, &record.vbds).await {
            if self.created(pool, vm.as_str()) {
                return true;
            }
            if let Ok(owner) = pool.client.get_record(&vm).await
                && self.marked(&owner.other_config)
            {
                return true;
            }
        }
        false
    }

    fn refuse_vdi(&self, pool: &PoolConnection, record: &Vdi, action: &str) -> Error {
        self.refuse(&format!(
            "{action} of VDI {} ({:?}) on {}: neither it nor a VM it is attached to carries the mark of job {}, and this run did not create it",
            record.uuid, record.name_label, pool.name, self.context.job_id
        ))
    }

    /// Allows `action` on `vdi` if the run created it, it carries the job's mark, or a VM it
    /// is attached to passes [`StepEnv::guard_vm`]'s test.
    pub async fn guard_vdi(
        &self,
        pool: &PoolConnection,
        vdi: &Ref<Vdi>,
        action: &str,
    ) -> Result<(), Error> {
        if self.created(pool, vdi.as_str()) {
            return Ok(());
        }
        let record = self.vdi_record(pool, vdi).await?;
        if self.vdi_is_jobs(pool, &record).await {
            return Ok(());
        }
        Err(self.refuse_vdi(pool, &record, action))
    }

    /// Allows destroying `vdi` if [`StepEnv::guard_vdi`] does and no VM it is attached to is
    /// one the job may not destroy: a disk in a person's use stays.
    pub async fn guard_vdi_destruction(
        &self,
        pool: &PoolConnection,
        vdi: &Ref<Vdi>,
    ) -> Result<(), Error> {
        if self.created(pool, vdi.as_str()) {
            return Ok(());
        }
        let record = self.vdi_record(pool, vdi).await?;
        if !self.vdi_is_jobs(pool, &record).await {
            return Err(self.refuse_vdi(pool, &record, "destruction"));
        }
        for vm in attached_vms(pool, &record.vbds).await {
            if self.created(pool, vm.as_str()) {
                continue;
            }
            let owner = self.vm_record(pool, &vm).await?;
            if owner.is_control_domain {
                continue;
            }
            if let Some(why) = self.not_destructible(&owner) {
                return Err(self.refuse(&format!(
                    "destruction of VDI {} ({:?}) on {}: it is attached to VM {} ({:?}), which is not the job's to destroy: {why}",
                    record.uuid, record.name_label, pool.name, owner.uuid, owner.name_label,
                )));
            }
        }
        Ok(())
    }
}

/// The VMs that `vbds` attach a disk to (VBDs that cannot be read are skipped).
async fn attached_vms(pool: &PoolConnection, vbds: &[Ref<Vbd>]) -> Vec<Ref<Vm>> {
    let mut vms = Vec::new();
    for vbd in vbds {
        if let Ok(vbd) = pool.client.get_record::<Vbd>(vbd).await {
            vms.push(vbd.vm);
        }
    }
    vms
}

/// Whether `changes` only block `record`'s migration with [`MIGRATION_BLOCKED`] (where it is
/// not blocked already for another reason) or lift that very block.
fn only_migration_blocks(record: &Vm, changes: &VmChanges) -> bool {
    let touches_nothing_else = changes.name_label.is_none()
        && changes.name_description.is_none()
        && changes.other_config.is_empty()
        && changes.add_tags.is_empty()
        && changes.remove_tags.is_empty()
        && changes.ha_restart_priority.is_none()
        && changes.is_a_template.is_none()
        && !changes.blocked_operations.is_empty();
    touches_nothing_else
        && changes
            .blocked_operations
            .iter()
            .all(|(operation, reason)| {
                let current = record.blocked_operations.get(operation).map(String::as_str);
                matches!(operation.as_str(), "migrate_send" | "pool_migrate")
                    && match reason.as_deref() {
                        Some(MIGRATION_BLOCKED) => current.is_none_or(|c| c == MIGRATION_BLOCKED),
                        Some(_) => false,
                        None => current == Some(MIGRATION_BLOCKED),
                    }
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(blocks: &[(&str, Option<&str>)]) -> VmChanges {
        VmChanges {
            name_label: None,
            name_description: None,
            other_config: Vec::new(),
            blocked_operations: blocks
                .iter()
                .map(|(op, reason)| ((*op).to_owned(), reason.map(str::to_owned)))
                .collect(),
            add_tags: Vec::new(),
            remove_tags: Vec::new(),
            ha_restart_priority: None,
            is_a_template: None,
        }
    }

    #[test]
    fn only_the_backup_migration_block_passes_on_any_vm() {
        let mut vm = Vm::default();
        let block = changes(&[
            ("migrate_send", Some(MIGRATION_BLOCKED)),
            ("pool_migrate", Some(MIGRATION_BLOCKED)),
        ]);
        assert!(only_migration_blocks(&vm, &block));
        assert!(!only_migration_blocks(
            &vm,
            &changes(&[("migrate_send", None)])
        ));
        assert!(!only_migration_blocks(
            &vm,
            &changes(&[("start", Some(MIGRATION_BLOCKED))])
        ));
        assert!(!only_migration_blocks(
            &vm,
            &changes(&[("migrate_send", Some("another reason"))])
        ));
        assert!(!only_migration_blocks(&vm, &changes(&[])));
        let mut renamed = block.clone();
        renamed.name_label = Some("x".into());
        assert!(!only_migration_blocks(&vm, &renamed));

        vm.blocked_operations
            .insert("migrate_send".into(), MIGRATION_BLOCKED.into());
        assert!(only_migration_blocks(
            &vm,
            &changes(&[("migrate_send", None)])
        ));
        vm.blocked_operations
            .insert("pool_migrate".into(), "the user's own reason".into());
        assert!(
            !only_migration_blocks(&vm, &changes(&[("pool_migrate", None)])),
            "a block someone else set stays"
        );
        assert!(!only_migration_blocks(
            &vm,
            &changes(&[("pool_migrate", Some(MIGRATION_BLOCKED))])
        ));
    }
}
