//! The `transfers` interface: sources and sinks as plans, and `copy`, which carries them out
//! in the host (see [`crate::transfer`]).

use std::path::PathBuf;
use std::sync::Arc;

use lifeboat_xapi::records::{Ref, Sr, Vdi, Vm};
use lifeboat_xapi::{RawFormat, VmCompression};
use wasmtime::component::Resource;

use crate::bindings::transfers::{self as wit, Delivered};
use crate::bindings::types::Error;
use crate::bindings::xapi::VmChanges;
use crate::grants::{PoolConnection, RemoteConnection};
use crate::host::tasks::TaskResource;
use crate::state::StepState;
use crate::transfer::Opened;

/// Where bytes will come from.
pub enum SourcePlan {
    VmExport {
        pool: Arc<PoolConnection>,
        vm: Ref<Vm>,
        compression: VmCompression,
    },
    VdiExport {
        pool: Arc<PoolConnection>,
        vdi: Ref<Vdi>,
        format: RawFormat,
        base: Option<Ref<Vdi>>,
    },
    RemoteFile {
        remote: Arc<RemoteConnection>,
        /// The file's path, already confined to the remote's root.
        path: PathBuf,
    },
    /// A source that `open` started: what it was, and its stream.
    Opened { what: String, opened: Opened },
    /// A source whose `open` failed: every copy of it fails the same way.
    Failed { what: String, error: Error },
}

/// Where bytes will go.
pub enum SinkPlan {
    VmImport {
        pool: Arc<PoolConnection>,
        sr: Ref<Sr>,
        /// What the imported VM carries from its creation (`import-vm-with`).
        changes: Option<VmChanges>,
    },
    VdiImport {
        pool: Arc<PoolConnection>,
        vdi: Ref<Vdi>,
        format: RawFormat,
    },
    RemoteFile {
        remote: Arc<RemoteConnection>,
        /// The file's path, already confined to the remote's root.
        path: PathBuf,
    },
}

impl SourcePlan {
    pub fn describe(&self) -> String {
        match self {
            SourcePlan::VmExport { pool, vm, .. } => {
                format!("export of VM {vm} from {}", pool.name)
            }
            SourcePlan::VdiExport {
                pool, vdi, base, ..
            } => match base {
                Some(base) => format!("export of VDI {vdi} from {} since {base}", pool.name),
                None => format!("export of VDI {vdi} from {}", pool.name),
            },
            SourcePlan::RemoteFile { remote, path } => {
                format!("file {} of {}", path.display(), remote.name)
            }
            SourcePlan::Opened { what, .. } | SourcePlan::Failed { what, .. } => what.clone(),
        }
    }
}

impl SinkPlan {
    pub fn describe(&self) -> String {
        match self {
            SinkPlan::VmImport { pool, sr, .. } => {
                format!("import of a VM into SR {sr} of {}", pool.name)
            }
            SinkPlan::VdiImport { pool, vdi, .. } => {
                format!("import into VDI {vdi} of {}", pool.name)
            }
            SinkPlan::RemoteFile { remote, path } => {
                format!("file {} of {}", path.display(), remote.name)
            }
        }
    }
}

impl wit::Host for StepState {
    async fn copy(
        &mut self,
        source: Resource<SourcePlan>,
        sinks: Vec<Resource<SinkPlan>>,
        progress: Option<Resource<TaskResource>>,
    ) -> wasmtime::Result<Vec<Result<Delivered, Error>>> {
        let source = self.table.delete(source)?;
        let sinks = sinks
            .into_iter()
            .map(|sink| self.table.delete(sink))
            .collect::<Result<Vec<_>, _>>()?;
        let progress = match progress {
            Some(task) => Some(self.table.get(&task)?.task().clone()),
            None => None,
        };
        let objects = self.env.objects.clone();
        let outcomes = crate::transfer::copy(source, sinks, progress, objects).await;
        Ok(outcomes
            .into_iter()
            .map(|outcome| {
                outcome.map(|done| Delivered {
                    bytes: done.bytes,
                    created: done.created,
                })
            })
            .collect())
    }
}

impl wit::HostSource for StepState {
    async fn describe(&mut self, source: Resource<SourcePlan>) -> wasmtime::Result<String> {
        Ok(self.table.get(&source)?.describe())
    }

    async fn open(&mut self, source: Resource<SourcePlan>) -> wasmtime::Result<Result<(), Error>> {
        let plan = self.table.get_mut(&source)?;
        let what = plan.describe();
        let started = match std::mem::replace(
            plan,
            SourcePlan::Failed {
                what: what.clone(),
                error: crate::host::errors::internal("the source is being opened"),
            },
        ) {
            already @ (SourcePlan::Opened { .. } | SourcePlan::Failed { .. }) => already,
            plan => match crate::transfer::open(plan).await {
                Ok(opened) => SourcePlan::Opened { what, opened },
                Err(error) => SourcePlan::Failed { what, error },
            },
        };
        let outcome = match &started {
            SourcePlan::Failed { error, .. } => Err(error.clone()),
            _ => Ok(()),
        };
        *self.table.get_mut(&source)? = started;
        Ok(outcome)
    }

    async fn drop(&mut self, source: Resource<SourcePlan>) -> wasmtime::Result<()> {
        self.table.delete(source)?;
        Ok(())
    }
}

impl wit::HostSink for StepState {
    async fn describe(&mut self, sink: Resource<SinkPlan>) -> wasmtime::Result<String> {
        Ok(self.table.get(&sink)?.describe())
    }

    async fn drop(&mut self, sink: Resource<SinkPlan>) -> wasmtime::Result<()> {
        self.table.delete(sink)?;
        Ok(())
    }
}
