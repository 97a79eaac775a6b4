//! Typed API calls: the generic per-class messages, and the operations Lifeboat's workflows use.
//!
//! Long operations (snapshot, clone, copy, destroy, power changes, revert) run as `Async.*`
//! tasks, so that a slow SR never runs into the HTTP call deadline.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::records::{Class, Host, Pool, Ref, Sr, Vbd, Vdi, Vm};
use crate::{Value, decode};

use super::Client;

fn reference<C>(r: &Ref<C>) -> Value {
    Value::string(r.as_str())
}

fn decode_ref<C>(method: &str, value: Value) -> Result<Ref<C>> {
    decode::from_value(value).map_err(|e| super::decode_error(method, e))
}

impl Client {
    /// Every object of class `C` with its record (`C.get_all_records`).
    pub async fn get_all_records<C: Class + DeserializeOwned>(
        &self,
    ) -> Result<BTreeMap<Ref<C>, C>> {
        self.call_as(&format!("{}.get_all_records", C::NAME), Vec::new())
            .await
    }

    /// One record (`C.get_record`).
    pub async fn get_record<C: Class + DeserializeOwned>(&self, object: &Ref<C>) -> Result<C> {
        self.call_as(&format!("{}.get_record", C::NAME), vec![reference(object)])
            .await
    }

    /// The object with this uuid (`C.get_by_uuid`).
    pub async fn get_by_uuid<C: Class>(&self, uuid: &str) -> Result<Ref<C>> {
        let method = format!("{}.get_by_uuid", C::NAME);
        let value = self.call(&method, vec![Value::string(uuid)]).await?;
        decode_ref(&method, value)
    }

    /// The pool and its record (a connection manages exactly one).
    pub async fn pool(&self) -> Result<(Ref<Pool>, Pool)> {
        let pools = self.get_all_records::<Pool>().await?;
        pools
            .into_iter()
            .next()
            .ok_or_else(|| crate::Error::Decode {
                what: "pool.get_all_records".into(),
                problem: "no pool object".into(),
            })
    }

    /// The pool master's record.
    pub async fn master(&self) -> Result<(Ref<Host>, Host)> {
        let (_, pool) = self.pool().await?;
        let host = self.get_record(&pool.master).await?;
        Ok((pool.master, host))
    }

    /// Sets a field through its generated setter, `C.set_<field>`.
    pub async fn set_field<C: Class>(
        &self,
        object: &Ref<C>,
        field: &str,
        value: Value,
    ) -> Result<()> {
        self.call(
            &format!("{}.set_{field}", C::NAME),
            vec![reference(object), value],
        )
        .await
        .map(drop)
    }

    /// Sets `key` of the map field `field` to `value`, replacing any previous value: removes the
    /// key first, as `add_to_<field>` refuses existing keys (`MAP_DUPLICATE_KEY`).
    pub async fn set_map_entry<C: Class>(
        &self,
        object: &Ref<C>,
        field: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        self.remove_map_entry(object, field, key).await?;
        self.call(
            &format!("{}.add_to_{field}", C::NAME),
            vec![reference(object), Value::string(key), Value::string(value)],
        )
        .await
        .map(drop)
    }

    /// Removes `key` from the map field `field`; absent keys are fine.
    pub async fn remove_map_entry<C: Class>(
        &self,
        object: &Ref<C>,
        field: &str,
        key: &str,
    ) -> Result<()> {
        self.call(
            &format!("{}.remove_from_{field}", C::NAME),
            vec![reference(object), Value::string(key)],
        )
        .await
        .map(drop)
    }

    /// Adds a tag (idempotent).
    pub async fn add_tag<C: Class>(&self, object: &Ref<C>, tag: &str) -> Result<()> {
        self.call(
            &format!("{}.add_tags", C::NAME),
            vec![reference(object), Value::string(tag)],
        )
        .await
        .map(drop)
    }

    /// Removes a tag (absent tags are fine).
    pub async fn remove_tag<C: Class>(&self, object: &Ref<C>, tag: &str) -> Result<()> {
        self.call(
            &format!("{}.remove_tags", C::NAME),
            vec![reference(object), Value::string(tag)],
        )
        .await
        .map(drop)
    }

    /// Snapshots a VM. `ignore_vdis` needs xapi ≥ 21.4; when it is empty the parameter is not
    /// sent, so that older hosts accept the call.
    pub async fn vm_snapshot(
        &self,
        vm: &Ref<Vm>,
        name: &str,
        ignore_vdis: &[Ref<Vdi>],
    ) -> Result<Ref<Vm>> {
        let mut params = vec![reference(vm), Value::string(name)];
        if !ignore_vdis.is_empty() {
            params.push(Value::Array(ignore_vdis.iter().map(reference).collect()));
        }
        let value = self.run_async("VM.snapshot", params).await?;
        decode_ref("VM.snapshot", value)
    }

    /// Checkpoints a running VM: a snapshot of its disks and of its memory, taken suspended.
    /// xapi refuses a halted VM (`VM_BAD_POWER_STATE`).
    pub async fn vm_checkpoint(&self, vm: &Ref<Vm>, name: &str) -> Result<Ref<Vm>> {
        let value = self
            .run_async("VM.checkpoint", vec![reference(vm), Value::string(name)])
            .await?;
        decode_ref("VM.checkpoint", value)
    }

    /// Has xapi recompute a VM's `allowed_operations`, which it does not do by itself when
    /// `blocked_operations` changes (clients such as XenCenter read the field).
    pub async fn vm_update_allowed_operations(&self, vm: &Ref<Vm>) -> Result<()> {
        self.call("VM.update_allowed_operations", vec![reference(vm)])
            .await
            .map(drop)
    }

    /// Clones a halted VM or a snapshot (copy-on-write disks).
    pub async fn vm_clone(&self, vm: &Ref<Vm>, name: &str) -> Result<Ref<Vm>> {
        let value = self
            .run_async("VM.clone", vec![reference(vm), Value::string(name)])
            .await?;
        decode_ref("VM.clone", value)
    }

    /// Copies a halted VM or a snapshot with full disks into `sr` (a null ref keeps each disk's
    /// own SR).
    pub async fn vm_copy(&self, vm: &Ref<Vm>, name: &str, sr: &Ref<Sr>) -> Result<Ref<Vm>> {
        let value = self
            .run_async(
                "VM.copy",
                vec![reference(vm), Value::string(name), reference(sr)],
            )
            .await?;
        decode_ref("VM.copy", value)
    }

    /// Destroys a VM record with its VBDs and VIFs; its VDIs stay (see [`Client::vdi_destroy`]).
    pub async fn vm_destroy(&self, vm: &Ref<Vm>) -> Result<()> {
        self.run_async("VM.destroy", vec![reference(vm)])
            .await
            .map(drop)
    }

    /// Starts a halted VM.
    pub async fn vm_start(&self, vm: &Ref<Vm>) -> Result<()> {
        self.run_async(
            "VM.start",
            vec![reference(vm), Value::Boolean(false), Value::Boolean(false)],
        )
        .await
        .map(drop)
    }

    /// Asks a VM's guest to shut down and waits until it has.
    pub async fn vm_clean_shutdown(&self, vm: &Ref<Vm>) -> Result<()> {
        self.run_async("VM.clean_shutdown", vec![reference(vm)])
            .await
            .map(drop)
    }

    /// Powers a VM off without asking its guest.
    pub async fn vm_hard_shutdown(&self, vm: &Ref<Vm>) -> Result<()> {
        self.run_async("VM.hard_shutdown", vec![reference(vm)])
            .await
            .map(drop)
    }

    /// Reverts the VM that `snapshot` was taken of to that snapshot.
    pub async fn vm_revert(&self, snapshot: &Ref<Vm>) -> Result<()> {
        self.run_async("VM.revert", vec![reference(snapshot)])
            .await
            .map(drop)
    }

    /// Destroys a VDI.
    pub async fn vdi_destroy(&self, vdi: &Ref<Vdi>) -> Result<()> {
        self.run_async("VDI.destroy", vec![reference(vdi)])
            .await
            .map(drop)
    }

    /// Clones a VDI (copy-on-write); the clone is never a snapshot.
    pub async fn vdi_clone(&self, vdi: &Ref<Vdi>) -> Result<Ref<Vdi>> {
        let value = self.run_async("VDI.clone", vec![reference(vdi)]).await?;
        decode_ref("VDI.clone", value)
    }

    /// Snapshots a VDI.
    pub async fn vdi_snapshot(&self, vdi: &Ref<Vdi>) -> Result<Ref<Vdi>> {
        let value = self.run_async("VDI.snapshot", vec![reference(vdi)]).await?;
        decode_ref("VDI.snapshot", value)
    }

    /// Reverts the VDI that `snapshot` was taken of, in place (SRs advertising `vdi_revert`).
    pub async fn vdi_revert(&self, snapshot: &Ref<Vdi>) -> Result<()> {
        self.run_async("VDI.revert", vec![reference(snapshot)])
            .await
            .map(drop)
    }

    /// Creates an empty VDI of `virtual_size` bytes in `sr`.
    pub async fn vdi_create(
        &self,
        sr: &Ref<Sr>,
        name: &str,
        virtual_size: u64,
    ) -> Result<Ref<Vdi>> {
        let record = Value::record([
            ("name_label", Value::string(name)),
            ("name_description", Value::string("")),
            ("SR", reference(sr)),
            (
                "virtual_size",
                Value::Int(i64::try_from(virtual_size).unwrap_or(i64::MAX)),
            ),
            ("type", Value::string("user")),
            ("sharable", Value::Boolean(false)),
            ("read_only", Value::Boolean(false)),
            ("other_config", Value::Struct(Vec::new())),
        ]);
        let value = self.run_async("VDI.create", vec![record]).await?;
        decode_ref("VDI.create", value)
    }

    /// Attaches `vdi` to `vm` as disk `userdevice` (`"autodetect"` picks the next free one).
    pub async fn vbd_create(
        &self,
        vm: &Ref<Vm>,
        vdi: &Ref<Vdi>,
        userdevice: &str,
        bootable: bool,
    ) -> Result<Ref<Vbd>> {
        let record = Value::record([
            ("VM", reference(vm)),
            ("VDI", reference(vdi)),
            ("userdevice", Value::string(userdevice)),
            ("bootable", Value::Boolean(bootable)),
            ("mode", Value::string("RW")),
            ("type", Value::string("Disk")),
            ("empty", Value::Boolean(false)),
            ("other_config", Value::Struct(Vec::new())),
            ("qos_algorithm_type", Value::string("")),
            ("qos_algorithm_params", Value::Struct(Vec::new())),
        ]);
        let value = self.run_async("VBD.create", vec![record]).await?;
        decode_ref("VBD.create", value)
    }
}
