//! The `xapi` interface: a component's calls on the pools its step is granted.
//!
//! Reads go straight to the pool. Calls that create objects record them as the run's own;
//! calls that destroy or rewrite objects pass the guards of [`guard`] first. Transfers return
//! plans ([`SourcePlan`], [`SinkPlan`]) that `transfers.copy` carries out.

mod convert;
mod guard;
pub mod ova_changes;
mod transfer;

use std::sync::Arc;

use lifeboat_xapi::records::{Ref, Sr, Vbd, VbdType, Vdi, Vif, Vm};
use lifeboat_xapi::{RawFormat, Value, VmCompression};
use wasmtime::component::Resource;

use crate::bindings::types::Error;
use crate::bindings::xapi::{
    self as wit, Compression, DiskFormat, HostRecord, PoolRecord, SrRecord, VbdRecord, VbdSpec,
    VdiChanges, VdiRecord, VdiSpec, VifRecord, VmChanges, VmFilter, VmRecord,
};
use crate::grants::PoolConnection;
use crate::host::errors;
use crate::host::transfers::{SinkPlan, SourcePlan};
use crate::state::StepState;

pub use guard::{JOB_MARK, MIGRATION_BLOCKED, TEMPORARY_SNAPSHOT_NAME};

/// A granted pool, as the component holds it.
pub struct PoolGrant {
    connection: Arc<PoolConnection>,
}

type Answer<T> = wasmtime::Result<Result<T, Error>>;

fn xapi<T>(result: lifeboat_xapi::Result<T>) -> Result<T, Error> {
    result.map_err(|e| errors::from_xapi(&e))
}

impl StepState {
    fn pool(&self, grant: &Resource<PoolGrant>) -> wasmtime::Result<Arc<PoolConnection>> {
        Ok(self.table.get(grant)?.connection.clone())
    }
}

impl wit::Host for StepState {}

impl wit::HostPool for StepState {
    async fn connect(&mut self, connection: String) -> Answer<Resource<PoolGrant>> {
        let Some(granted) = self.env.grants.pool(&connection).cloned() else {
            return Ok(Err(self.refuse(&format!(
                "connection {connection:?}: this step is not granted it (add it to the step's allow.xapi)"
            ))));
        };
        Ok(Ok(self.table.push(PoolGrant {
            connection: granted,
        })?))
    }

    async fn name(&mut self, grant: Resource<PoolGrant>) -> wasmtime::Result<String> {
        Ok(self.pool(&grant)?.name.clone())
    }

    async fn pool_record(&mut self, grant: Resource<PoolGrant>) -> Answer<PoolRecord> {
        let pool = self.pool(&grant)?;
        Ok(xapi(pool.client.pool().await).map(|(r, record)| convert::pool(&r, &record)))
    }

    async fn hosts(&mut self, grant: Resource<PoolGrant>) -> Answer<Vec<HostRecord>> {
        let pool = self.pool(&grant)?;
        Ok(xapi(pool.client.get_all_records().await)
            .map(|all| all.iter().map(|(r, h)| convert::host(r, h)).collect()))
    }

    async fn vm(&mut self, grant: Resource<PoolGrant>, vm: String) -> Answer<VmRecord> {
        let pool = self.pool(&grant)?;
        let vm = Ref::<Vm>::new(vm);
        Ok(xapi(pool.client.get_record(&vm).await).map(|record| convert::vm(&vm, &record)))
    }

    async fn vm_by_uuid(&mut self, grant: Resource<PoolGrant>, uuid: String) -> Answer<VmRecord> {
        let pool = self.pool(&grant)?;
        let found = async {
            let vm = pool.client.get_by_uuid::<Vm>(&uuid).await?;
            let record = pool.client.get_record(&vm).await?;
            Ok(convert::vm(&vm, &record))
        };
        Ok(xapi(found.await))
    }

    async fn find_vms(
        &mut self,
        grant: Resource<PoolGrant>,
        filter: VmFilter,
    ) -> Answer<Vec<VmRecord>> {
        let pool = self.pool(&grant)?;
        let all = match xapi(pool.client.get_all_records::<Vm>().await) {
            Ok(all) => all,
            Err(error) => return Ok(Err(error)),
        };
        Ok(Ok(all
            .iter()
            .filter(|(_, vm)| matches(vm, &filter))
            .map(|(r, vm)| convert::vm(r, vm))
            .collect()))
    }

    async fn vdi(&mut self, grant: Resource<PoolGrant>, vdi: String) -> Answer<VdiRecord> {
        let pool = self.pool(&grant)?;
        let vdi = Ref::<Vdi>::new(vdi);
        Ok(xapi(pool.client.get_record(&vdi).await).map(|record| convert::vdi(&vdi, &record)))
    }

    async fn vdi_by_uuid(&mut self, grant: Resource<PoolGrant>, uuid: String) -> Answer<VdiRecord> {
        let pool = self.pool(&grant)?;
        let found = async {
            let vdi = pool.client.get_by_uuid::<Vdi>(&uuid).await?;
            let record = pool.client.get_record(&vdi).await?;
            Ok(convert::vdi(&vdi, &record))
        };
        Ok(xapi(found.await))
    }

    async fn vbd(&mut self, grant: Resource<PoolGrant>, vbd: String) -> Answer<VbdRecord> {
        let pool = self.pool(&grant)?;
        let vbd = Ref::<Vbd>::new(vbd);
        Ok(xapi(pool.client.get_record(&vbd).await).map(|record| convert::vbd(&vbd, &record)))
    }

    async fn vif(&mut self, grant: Resource<PoolGrant>, vif: String) -> Answer<VifRecord> {
        let pool = self.pool(&grant)?;
        let vif = Ref::<Vif>::new(vif);
        Ok(xapi(pool.client.get_record(&vif).await).map(|record| convert::vif(&vif, &record)))
    }

    async fn sr(&mut self, grant: Resource<PoolGrant>, sr: String) -> Answer<SrRecord> {
        let pool = self.pool(&grant)?;
        let sr = Ref::<Sr>::new(sr);
        Ok(xapi(pool.client.get_record(&sr).await).map(|record| convert::sr(&sr, &record)))
    }

    async fn sr_by_uuid(&mut self, grant: Resource<PoolGrant>, uuid: String) -> Answer<SrRecord> {
        let pool = self.pool(&grant)?;
        let found = async {
            let sr = pool.client.get_by_uuid::<Sr>(&uuid).await?;
            let record = pool.client.get_record(&sr).await?;
            Ok(convert::sr(&sr, &record))
        };
        Ok(xapi(found.await))
    }

    async fn srs(&mut self, grant: Resource<PoolGrant>) -> Answer<Vec<SrRecord>> {
        let pool = self.pool(&grant)?;
        Ok(xapi(pool.client.get_all_records::<Sr>().await)
            .map(|all| all.iter().map(|(r, sr)| convert::sr(r, sr)).collect()))
    }

    async fn snapshot_vm(
        &mut self,
        grant: Resource<PoolGrant>,
        vm: String,
        name_label: String,
        ignore_vdis: Vec<String>,
    ) -> Answer<String> {
        let pool = self.pool(&grant)?;
        let ignore: Vec<Ref<Vdi>> = ignore_vdis.into_iter().map(Ref::new).collect();
        let made = pool
            .client
            .vm_snapshot(&Ref::new(vm), &name_label, &ignore)
            .await;
        Ok(self.own(&pool, made))
    }

    async fn checkpoint_vm(
        &mut self,
        grant: Resource<PoolGrant>,
        vm: String,
        name_label: String,
    ) -> Answer<String> {
        let pool = self.pool(&grant)?;
        let made = pool.client.vm_checkpoint(&Ref::new(vm), &name_label).await;
        Ok(self.own(&pool, made))
    }

    async fn clone_vm(
        &mut self,
        grant: Resource<PoolGrant>,
        vm: String,
        name_label: String,
    ) -> Answer<String> {
        let pool = self.pool(&grant)?;
        let made = pool.client.vm_clone(&Ref::new(vm), &name_label).await;
        Ok(self.own(&pool, made))
    }

    async fn copy_vm(
        &mut self,
        grant: Resource<PoolGrant>,
        vm: String,
        name_label: String,
        sr: String,
    ) -> Answer<String> {
        let pool = self.pool(&grant)?;
        let made = pool
            .client
            .vm_copy(&Ref::new(vm), &name_label, &Ref::new(sr))
            .await;
        Ok(self.own(&pool, made))
    }

    async fn destroy_vm(
        &mut self,
        grant: Resource<PoolGrant>,
        vm: String,
        disks: bool,
    ) -> Answer<()> {
        let pool = self.pool(&grant)?;
        let env = self.env.clone();
        let vm = Ref::<Vm>::new(vm);
        if let Err(refused) = env.guard_vm_destruction(&pool, &vm).await {
            return Ok(Err(refused));
        }
        let result = if disks {
            destroy_vm_with_disks(&pool, &vm).await
        } else {
            pool.client
                .vm_destroy(&vm)
                .await
                .map(|()| vec![vm.to_string()])
        };
        if let Ok(destroyed) = &result {
            for object in destroyed {
                self.env.objects.forget(&pool.name, object);
            }
        }
        Ok(xapi(result.map(drop)))
    }

    async fn update_vm(
        &mut self,
        grant: Resource<PoolGrant>,
        vm: String,
        changes: VmChanges,
    ) -> Answer<()> {
        let pool = self.pool(&grant)?;
        let env = self.env.clone();
        let vm = Ref::<Vm>::new(vm);
        if let Err(refused) = env.guard_vm_changes(&pool, &vm, &changes).await {
            return Ok(Err(refused));
        }
        Ok(xapi(apply_vm_changes(&pool, &vm, changes).await))
    }

    async fn start_vm(&mut self, grant: Resource<PoolGrant>, vm: String) -> Answer<()> {
        let pool = self.pool(&grant)?;
        let env = self.env.clone();
        let vm = Ref::<Vm>::new(vm);
        if let Err(refused) = env.guard_power(&pool, &vm, "a start", false).await {
            return Ok(Err(refused));
        }
        Ok(xapi(pool.client.vm_start(&vm).await))
    }

    async fn shutdown_vm(
        &mut self,
        grant: Resource<PoolGrant>,
        vm: String,
        force: bool,
    ) -> Answer<()> {
        let pool = self.pool(&grant)?;
        let env = self.env.clone();
        let vm = Ref::<Vm>::new(vm);
        if let Err(refused) = env.guard_power(&pool, &vm, "a shutdown", force).await {
            return Ok(Err(refused));
        }
        let done = if force {
            pool.client.vm_hard_shutdown(&vm).await
        } else {
            pool.client.vm_clean_shutdown(&vm).await
        };
        Ok(xapi(done))
    }

    async fn revert_vm(&mut self, grant: Resource<PoolGrant>, snapshot: String) -> Answer<()> {
        let pool = self.pool(&grant)?;
        let env = self.env.clone();
        let snapshot = Ref::<Vm>::new(snapshot);
        if let Err(refused) = env.guard_vm(&pool, &snapshot, "a revert to").await {
            return Ok(Err(refused));
        }
        Ok(xapi(pool.client.vm_revert(&snapshot).await))
    }

    async fn create_vdi(&mut self, grant: Resource<PoolGrant>, spec: VdiSpec) -> Answer<String> {
        let pool = self.pool(&grant)?;
        let env = self.env.clone();
        let made = async {
            let vdi = pool
                .client
                .vdi_create(&Ref::new(spec.sr), &spec.name_label, spec.virtual_size)
                .await?;
            // Recorded before the changes below so that a failure leaves a disk this run
            // may still remove.
            env.objects.record(&pool.name, vdi.as_str());
            if !spec.name_description.is_empty() {
                pool.client
                    .set_field(
                        &vdi,
                        "name_description",
                        Value::string(&spec.name_description),
                    )
                    .await?;
            }
            for (key, value) in &spec.other_config {
                pool.client
                    .set_map_entry(&vdi, "other_config", key, value)
                    .await?;
            }
            Ok(vdi.to_string())
        };
        Ok(xapi(made.await))
    }

    async fn clone_vdi(&mut self, grant: Resource<PoolGrant>, vdi: String) -> Answer<String> {
        let pool = self.pool(&grant)?;
        let made = pool.client.vdi_clone(&Ref::new(vdi)).await;
        Ok(self.own(&pool, made))
    }

    async fn revert_vdi(&mut self, grant: Resource<PoolGrant>, snapshot: String) -> Answer<()> {
        let pool = self.pool(&grant)?;
        let env = self.env.clone();
        let snapshot = Ref::<Vdi>::new(snapshot);
        if let Err(refused) = env.guard_vdi(&pool, &snapshot, "a revert to").await {
            return Ok(Err(refused));
        }
        Ok(xapi(pool.client.vdi_revert(&snapshot).await))
    }

    async fn update_vdi(
        &mut self,
        grant: Resource<PoolGrant>,
        vdi: String,
        changes: VdiChanges,
    ) -> Answer<()> {
        let pool = self.pool(&grant)?;
        let env = self.env.clone();
        let vdi = Ref::<Vdi>::new(vdi);
        if let Err(refused) = env.guard_vdi_changes(&pool, &vdi, &changes).await {
            return Ok(Err(refused));
        }
        Ok(xapi(apply_vdi_changes(&pool, &vdi, changes).await))
    }

    async fn destroy_vdi(&mut self, grant: Resource<PoolGrant>, vdi: String) -> Answer<()> {
        let pool = self.pool(&grant)?;
        let env = self.env.clone();
        let vdi = Ref::<Vdi>::new(vdi);
        if let Err(refused) = env.guard_vdi_destruction(&pool, &vdi).await {
            return Ok(Err(refused));
        }
        let destroyed = pool.client.vdi_destroy(&vdi).await;
        if destroyed.is_ok() {
            self.env.objects.forget(&pool.name, vdi.as_str());
        }
        Ok(xapi(destroyed))
    }

    async fn create_vbd(&mut self, grant: Resource<PoolGrant>, spec: VbdSpec) -> Answer<String> {
        let pool = self.pool(&grant)?;
        let env = self.env.clone();
        let vm = Ref::<Vm>::new(spec.vm);
        if let Err(refused) = env.guard_vm(&pool, &vm, "attaching a disk to").await {
            return Ok(Err(refused));
        }
        let made = async {
            let vbd = pool
                .client
                .vbd_create(&vm, &Ref::new(spec.vdi), &spec.userdevice, spec.bootable)
                .await?;
            env.objects.record(&pool.name, vbd.as_str());
            if spec.read_only {
                pool.client
                    .set_field(&vbd, "mode", Value::string("RO"))
                    .await?;
            }
            Ok(vbd.to_string())
        };
        Ok(xapi(made.await))
    }

    async fn export_vm(
        &mut self,
        grant: Resource<PoolGrant>,
        vm: String,
        compression: Compression,
    ) -> Answer<Resource<SourcePlan>> {
        let pool = self.pool(&grant)?;
        let compression = match compression {
            Compression::None => VmCompression::None,
            Compression::Gzip => VmCompression::Gzip,
            Compression::Zstd => VmCompression::Zstd,
        };
        let plan = SourcePlan::new(transfer::VmExport {
            pool,
            vm: Ref::new(vm),
            compression,
        });
        Ok(Ok(self.table.push(plan)?))
    }

    async fn export_vdi(
        &mut self,
        grant: Resource<PoolGrant>,
        vdi: String,
        format: DiskFormat,
        base: Option<String>,
    ) -> Answer<Resource<SourcePlan>> {
        let pool = self.pool(&grant)?;
        let plan = SourcePlan::new(transfer::VdiExport {
            pool,
            vdi: Ref::new(vdi),
            format: raw_format(format),
            base: base.map(Ref::new),
        });
        Ok(Ok(self.table.push(plan)?))
    }

    async fn import_vm(
        &mut self,
        grant: Resource<PoolGrant>,
        sr: String,
    ) -> Answer<Resource<SinkPlan>> {
        let pool = self.pool(&grant)?;
        let plan = SinkPlan::new(transfer::VmImport {
            pool,
            sr: Ref::new(sr),
            changes: None,
            objects: self.env.objects.clone(),
        });
        Ok(Ok(self.table.push(plan)?))
    }

    async fn import_vm_with(
        &mut self,
        grant: Resource<PoolGrant>,
        sr: String,
        changes: VmChanges,
    ) -> Answer<Resource<SinkPlan>> {
        let pool = self.pool(&grant)?;
        let plan = SinkPlan::new(transfer::VmImport {
            pool,
            sr: Ref::new(sr),
            changes: Some(changes),
            objects: self.env.objects.clone(),
        });
        Ok(Ok(self.table.push(plan)?))
    }

    async fn import_vdi(
        &mut self,
        grant: Resource<PoolGrant>,
        vdi: String,
        format: DiskFormat,
    ) -> Answer<Resource<SinkPlan>> {
        let pool = self.pool(&grant)?;
        let env = self.env.clone();
        let vdi = Ref::<Vdi>::new(vdi);
        if let Err(refused) = env.guard_vdi(&pool, &vdi, "an import into").await {
            return Ok(Err(refused));
        }
        let plan = SinkPlan::new(transfer::VdiImport {
            pool,
            vdi,
            format: raw_format(format),
        });
        Ok(Ok(self.table.push(plan)?))
    }

    async fn drop(&mut self, grant: Resource<PoolGrant>) -> wasmtime::Result<()> {
        self.table.delete(grant)?;
        Ok(())
    }
}

impl StepState {
    /// Records an object a call created as the run's own.
    fn own<C>(
        &self,
        pool: &PoolConnection,
        made: lifeboat_xapi::Result<Ref<C>>,
    ) -> Result<String, Error> {
        let made = xapi(made)?;
        self.env.objects.record(&pool.name, made.as_str());
        Ok(made.to_string())
    }
}

fn raw_format(format: DiskFormat) -> RawFormat {
    match format {
        DiskFormat::Raw => RawFormat::Raw,
        DiskFormat::Vhd => RawFormat::Vhd,
    }
}

/// Whether `vm` is one that `filter` asks for.
fn matches(vm: &Vm, filter: &VmFilter) -> bool {
    if vm.is_control_domain || vm.is_default_template {
        return false;
    }
    if vm.is_a_snapshot && !filter.snapshots {
        return false;
    }
    if vm.is_a_template && !vm.is_a_snapshot && !filter.templates {
        return false;
    }
    filter
        .other_config
        .iter()
        .all(|(key, value)| vm.other_config.get(key) == Some(value))
        && filter.tags.iter().all(|tag| vm.tags.contains(tag))
}

/// Destroys `vm` as Xen Orchestra's `VM_destroy` does: the VM first (if that fails, nothing
/// else is touched), then its snapshots, each with its own disks, then the disks (and memory
/// image) that were attached to it and to no other VM. Returns the references of everything
/// destroyed. A snapshot or disk that cannot be destroyed is logged and left; the VM is gone.
pub async fn destroy_vm_with_disks(
    pool: &PoolConnection,
    vm: &Ref<Vm>,
) -> lifeboat_xapi::Result<Vec<String>> {
    let record = pool.client.get_record(vm).await?;
    let disks = disks_of(pool, vm, &record).await?;
    pool.client.vm_destroy(vm).await?;
    let mut destroyed = vec![vm.to_string()];
    for snapshot in &record.snapshots {
        match Box::pin(destroy_vm_with_disks(pool, snapshot)).await {
            Ok(gone) => destroyed.extend(gone),
            Err(error) => {
                tracing::warn!(%vm, %snapshot, %error, "cannot destroy a snapshot of a destroyed VM")
            }
        }
    }
    for vdi in disks {
        match pool.client.vdi_destroy(&vdi).await {
            Ok(()) => destroyed.push(vdi.to_string()),
            Err(error) => {
                tracing::warn!(%vm, %vdi, %error, "cannot destroy a disk of a destroyed VM")
            }
        }
    }
    Ok(destroyed)
}

/// The disks attached to `vm` and to no other VM (control domains aside), and its memory
/// image: what goes with it when it is destroyed. Only `Disk` drives count, as in Xen
/// Orchestra's `VM_getDisks`: the ISO in a CD drive is a `user` VDI of an ISO SR, and is never
/// destroyed with a VM.
async fn disks_of(
    pool: &PoolConnection,
    vm: &Ref<Vm>,
    record: &Vm,
) -> lifeboat_xapi::Result<Vec<Ref<Vdi>>> {
    let mut disks = Vec::new();
    for vbd in &record.vbds {
        let vbd = pool.client.get_record::<Vbd>(vbd).await?;
        if vbd.vdi.is_null() || vbd.empty || vbd.vbd_type != VbdType::Disk {
            continue;
        }
        let vdi = pool.client.get_record(&vbd.vdi).await?;
        let mut shared = false;
        for other in &vdi.vbds {
            let other = pool.client.get_record::<Vbd>(other).await?.vm;
            if other != *vm && !pool.client.get_record(&other).await?.is_control_domain {
                shared = true;
            }
        }
        if !shared {
            disks.push(vbd.vdi);
        }
    }
    if !record.suspend_vdi.is_null() {
        disks.push(record.suspend_vdi.clone());
    }
    Ok(disks)
}

async fn apply_vm_changes(
    pool: &PoolConnection,
    vm: &Ref<Vm>,
    changes: VmChanges,
) -> lifeboat_xapi::Result<()> {
    let client = &pool.client;
    if let Some(name) = changes.name_label {
        client
            .set_field(vm, "name_label", Value::string(name))
            .await?;
    }
    if let Some(description) = changes.name_description {
        client
            .set_field(vm, "name_description", Value::string(description))
            .await?;
    }
    for (key, value) in &changes.other_config {
        match value {
            Some(value) => client.set_map_entry(vm, "other_config", key, value).await?,
            None => client.remove_map_entry(vm, "other_config", key).await?,
        }
    }
    for (operation, reason) in &changes.blocked_operations {
        match reason {
            Some(reason) => {
                client
                    .set_map_entry(vm, "blocked_operations", operation, reason)
                    .await?
            }
            None => {
                client
                    .remove_map_entry(vm, "blocked_operations", operation)
                    .await?
            }
        }
    }
    if !changes.blocked_operations.is_empty() {
        // xapi does not recompute `allowed_operations` when `blocked_operations` changes, and
        // clients such as XenCenter read it (Xen Orchestra calls this for the same reason).
        client.vm_update_allowed_operations(vm).await?;
    }
    for tag in &changes.add_tags {
        client.add_tag(vm, tag).await?;
    }
    for tag in &changes.remove_tags {
        client.remove_tag(vm, tag).await?;
    }
    if let Some(priority) = changes.ha_restart_priority {
        client
            .set_field(vm, "ha_restart_priority", Value::string(priority))
            .await?;
    }
    if let Some(template) = changes.is_a_template {
        client
            .set_field(vm, "is_a_template", Value::Boolean(template))
            .await?;
    }
    Ok(())
}

async fn apply_vdi_changes(
    pool: &PoolConnection,
    vdi: &Ref<Vdi>,
    changes: VdiChanges,
) -> lifeboat_xapi::Result<()> {
    let client = &pool.client;
    if let Some(name) = changes.name_label {
        client
            .set_field(vdi, "name_label", Value::string(name))
            .await?;
    }
    if let Some(description) = changes.name_description {
        client
            .set_field(vdi, "name_description", Value::string(description))
            .await?;
    }
    for (key, value) in &changes.other_config {
        match value {
            Some(value) => {
                client
                    .set_map_entry(vdi, "other_config", key, value)
                    .await?
            }
            None => client.remove_map_entry(vdi, "other_config", key).await?,
        }
    }
    for tag in &changes.add_tags {
        client.add_tag(vdi, tag).await?;
    }
    for tag in &changes.remove_tags {
        client.remove_tag(vdi, tag).await?;
    }
    Ok(())
}
