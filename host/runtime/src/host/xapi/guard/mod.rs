//! The guards on destructive XAPI calls (DESIGN.md, principle 2): a component may destroy or
//! rewrite only what its run created or what is provably its job's own.
//!
//! Marks alone prove little: `VM.clone` copies `other_config` (and `VDI.clone` a disk's), so a
//! user's clone of a replica, and its disks, carry the job's mark. What the job owns is
//! therefore: a snapshot that carries its mark, and a VM that carries its mark and has `start`
//! blocked (a replica; the block is not cloned, and whoever takes a replica over lifts it); to
//! destroy a VM that is not a snapshot, it must also be halted. A disk is the job's if it
//! carries the mark or a VM it is attached to is the job's, and no VM it is attached to is
//! somebody else's. Whatever fails the test belongs to a person and is neither changed,
//! powered nor destroyed, nor is a disk such a VM uses.
//!
//! Three exceptions, each the least an operation on the user's own VM needs and none able to
//! lose anything ([`bookkeeping`]): Xen Orchestra's migration block during a backup, on any VM;
//! the removal of the job's own backup marks from a VM or disk that carries them; and a clean
//! shutdown and a start of the VM a run is for (its step's `for_each` item), as an offline
//! backup does.

mod bookkeeping;

use lifeboat_xapi::records::{PowerState, Ref, Vbd, Vdi, Vm};

use crate::bindings::types::Error;
use crate::bindings::xapi::{VdiChanges, VmChanges};
use crate::grants::PoolConnection;
use crate::host::errors;
use crate::state::StepEnv;

pub use bookkeeping::MIGRATION_BLOCKED;

/// The `other_config` key that names the job an object belongs to (Xen Orchestra's).
pub const JOB_MARK: &str = "xo:backup:job";

/// The name Xen Orchestra gives a backup snapshot until it is marked. A snapshot still named so
/// was left by a run that stopped between the snapshot and its marks; it is a backup tool's
/// leftover, whoever's it was.
pub const TEMPORARY_SNAPSHOT_NAME: &str = "xo-backup-temp-snapshot-name";

/// What a VM must be for a call to go ahead.
#[derive(Clone, Copy)]
enum Test {
    /// The job's own: to change, power or attach to.
    Owned,
    /// The job's own and not in use: to destroy.
    Destructible,
}

impl StepEnv {
    fn created(&self, pool: &PoolConnection, object: &str) -> bool {
        self.objects.contains(&pool.name, object)
    }

    fn marked(&self, other_config: &lifeboat_xapi::records::StringMap) -> bool {
        other_config.get(JOB_MARK) == Some(&self.context.job_id)
    }

    /// Why `record` fails `test`, if it does (objects the run created pass before this is
    /// asked).
    fn fails(&self, record: &Vm, test: Test) -> Option<String> {
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
        if matches!(test, Test::Destructible) && record.power_state != PowerState::Halted {
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

    async fn vdi_record(&self, pool: &PoolConnection, vdi: &Ref<Vdi>) -> Result<Vdi, Error> {
        pool.client
            .get_record(vdi)
            .await
            .map_err(|e| errors::from_xapi(&e))
    }

    /// Allows `action` on `vm` if the run created it or the job owns it.
    pub async fn guard_vm(
        &self,
        pool: &PoolConnection,
        vm: &Ref<Vm>,
        action: &str,
    ) -> Result<(), Error> {
        self.guard_vm_or(pool, vm, action, Test::Owned, |_| false, None)
            .await
    }

    /// Allows destroying `vm` if the run created it, or the job owns it and it is halted (a
    /// snapshot of the job's need not be).
    pub async fn guard_vm_destruction(
        &self,
        pool: &PoolConnection,
        vm: &Ref<Vm>,
    ) -> Result<(), Error> {
        let action = "destruction";
        self.guard_vm_or(pool, vm, action, Test::Destructible, |_| false, None)
            .await
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
        let exception = |record: &Vm| is_item(record) && !force;
        self.guard_vm_or(pool, vm, action, Test::Owned, exception, Some(hint))
            .await
    }

    /// Allows `changes` to `vm` if [`StepEnv::guard_vm`] does, or if they only block its
    /// migration as a backup does (or lift that block), or only remove the job's marks from a
    /// VM that carries them.
    pub async fn guard_vm_changes(
        &self,
        pool: &PoolConnection,
        vm: &Ref<Vm>,
        changes: &VmChanges,
    ) -> Result<(), Error> {
        let hint = format!(
            "on such a VM, only `migrate_send` and `pool_migrate` may be blocked with the reason {MIGRATION_BLOCKED:?} and unblocked, and the job's own backup marks removed"
        );
        let exception = |record: &Vm| {
            bookkeeping::only_migration_blocks(record, changes)
                || (self.marked(&record.other_config) && bookkeeping::vm_mark_removals(changes))
        };
        self.guard_vm_or(pool, vm, "a change", Test::Owned, exception, Some(&hint))
            .await
    }

    /// Allows `action` on `vm` if the run created it, it passes `test`, or it is an
    /// `exception`; else refuses, with `hint` on what would be allowed.
    async fn guard_vm_or(
        &self,
        pool: &PoolConnection,
        vm: &Ref<Vm>,
        action: &str,
        test: Test,
        exception: impl FnOnce(&Vm) -> bool,
        hint: Option<&str>,
    ) -> Result<(), Error> {
        if self.created(pool, vm.as_str()) {
            return Ok(());
        }
        let record = self.vm_record(pool, vm).await?;
        let Some(why) = self.fails(&record, test) else {
            return Ok(());
        };
        if exception(&record) {
            return Ok(());
        }
        let hint = hint.map(|hint| format!(" ({hint})")).unwrap_or_default();
        Err(self.refuse(&format!(
            "{action} of VM {} ({:?}) on {}: {why}, and this run did not create it{hint}",
            record.uuid, record.name_label, pool.name
        )))
    }

    /// Why a disk the run did not create is not the job's to act on (with `test` for the VMs it
    /// is attached to), if it is not: every VM it is attached to must pass `test` (or be the
    /// run's), and the disk must carry the mark or be attached to one of them.
    async fn disk_fails(
        &self,
        pool: &PoolConnection,
        record: &Vdi,
        test: Test,
    ) -> Result<Option<String>, Error> {
        let mut claimed = self.marked(&record.other_config);
        for vm in attached_vms(pool, &record.vbds).await {
            if self.created(pool, vm.as_str()) {
                claimed = true;
                continue;
            }
            let owner = self.vm_record(pool, &vm).await?;
            if owner.is_control_domain {
                continue;
            }
            if let Some(why) = self.fails(&owner, test) {
                return Ok(Some(format!(
                    "it is attached to VM {} ({:?}), which is not the job's: {why}",
                    owner.uuid, owner.name_label
                )));
            }
            claimed = true;
        }
        Ok((!claimed).then(|| {
            format!(
                "neither it nor a VM it is attached to carries the mark of job {}, and this run did not create it",
                self.context.job_id
            )
        }))
    }

    /// Allows `action` on `vdi` if the run created it or it is the job's (see
    /// [`StepEnv::disk_fails`]).
    pub async fn guard_vdi(
        &self,
        pool: &PoolConnection,
        vdi: &Ref<Vdi>,
        action: &str,
    ) -> Result<(), Error> {
        self.guard_vdi_or(pool, vdi, action, Test::Owned, false)
            .await
    }

    /// Allows `changes` to `vdi` if [`StepEnv::guard_vdi`] does, or if they only remove the
    /// job's marks from a disk that carries them or whose VM does.
    pub async fn guard_vdi_changes(
        &self,
        pool: &PoolConnection,
        vdi: &Ref<Vdi>,
        changes: &VdiChanges,
    ) -> Result<(), Error> {
        let removals = bookkeeping::vdi_mark_removals(changes);
        self.guard_vdi_or(pool, vdi, "a change", Test::Owned, removals)
            .await
    }

    /// Allows destroying `vdi` if the run created it, or it is the job's and no VM it is
    /// attached to is in use or somebody else's.
    pub async fn guard_vdi_destruction(
        &self,
        pool: &PoolConnection,
        vdi: &Ref<Vdi>,
    ) -> Result<(), Error> {
        self.guard_vdi_or(pool, vdi, "destruction", Test::Destructible, false)
            .await
    }

    async fn guard_vdi_or(
        &self,
        pool: &PoolConnection,
        vdi: &Ref<Vdi>,
        action: &str,
        test: Test,
        mark_removals: bool,
    ) -> Result<(), Error> {
        if self.created(pool, vdi.as_str()) {
            return Ok(());
        }
        let record = self.vdi_record(pool, vdi).await?;
        let Some(why) = self.disk_fails(pool, &record, test).await? else {
            return Ok(());
        };
        if mark_removals && self.carries_mark(pool, &record).await {
            return Ok(());
        }
        Err(self.refuse(&format!(
            "{action} of VDI {} ({:?}) on {}: {why}",
            record.uuid, record.name_label, pool.name
        )))
    }

    /// Whether a disk or a VM it is attached to carries the job's mark.
    async fn carries_mark(&self, pool: &PoolConnection, record: &Vdi) -> bool {
        if self.marked(&record.other_config) {
            return true;
        }
        for vm in attached_vms(pool, &record.vbds).await {
            if let Ok(owner) = pool.client.get_record(&vm).await
                && self.marked(&owner.other_config)
            {
                return true;
            }
        }
        false
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
