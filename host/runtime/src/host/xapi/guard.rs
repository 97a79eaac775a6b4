//! The guards on destructive XAPI calls (DESIGN.md, principle 2): a component may destroy or
//! rewrite only objects that carry its own job's mark (`other_config["xo:backup:job"]` equal to
//! the run's job id) or that its run created. A disk counts as marked when a VM it is attached
//! to is, since replicas are marked on the VM first.

use lifeboat_xapi::records::{Ref, Vbd, Vdi, Vm};

use crate::bindings::types::Error;
use crate::grants::PoolConnection;
use crate::host::errors;
use crate::state::StepEnv;

/// The `other_config` key that names the job an object belongs to (Xen Orchestra's).
pub const JOB_MARK: &str = "xo:backup:job";

impl StepEnv {
    fn created(&self, pool: &PoolConnection, object: &str) -> bool {
        self.objects.contains(&pool.name, object)
    }

    fn marked(&self, other_config: &lifeboat_xapi::records::StringMap) -> bool {
        other_config.get(JOB_MARK) == Some(&self.context.job_id)
    }

    /// Allows `action` on `vm` if the run created it or it carries the job's mark.
    pub async fn guard_vm(
        &self,
        pool: &PoolConnection,
        vm: &Ref<Vm>,
        action: &str,
    ) -> Result<(), Error> {
        if self.created(pool, vm.as_str()) {
            return Ok(());
        }
        let record = pool
            .client
            .get_record(vm)
            .await
            .map_err(|e| errors::from_xapi(&e))?;
        if self.marked(&record.other_config) {
            return Ok(());
        }
        Err(self.refuse(&format!(
            "{action} of VM {} ({:?}) on {}: it does not carry the mark of job {} and was not created by this run",
            record.uuid, record.name_label, pool.name, self.context.job_id
        )))
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
        let record = pool
            .client
            .get_record(vdi)
            .await
            .map_err(|e| errors::from_xapi(&e))?;
        if self.marked(&record.other_config) {
            return Ok(());
        }
        for vbd in &record.vbds {
            let vm = match pool.client.get_record::<Vbd>(vbd).await {
                Ok(vbd) => vbd.vm,
                Err(_) => continue,
            };
            if self.created(pool, vm.as_str()) {
                return Ok(());
            }
            if let Ok(owner) = pool.client.get_record(&vm).await
                && self.marked(&owner.other_config)
            {
                return Ok(());
            }
        }
        Err(self.refuse(&format!(
            "{action} of VDI {} ({:?}) on {}: neither it nor a VM it is attached to carries the mark of job {}, and this run did not create it",
            record.uuid, record.name_label, pool.name, self.context.job_id
        )))
    }
}
