//! The data of an operation's store: its sandbox (an empty WASI context), its limits, its
//! resource table, and the environment its host calls act in.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::clock::Clock;
use crate::context::RunContext;
use crate::grants::{Grants, RunObjects};
use crate::host::tasks::{StartedTasks, TasksView};
use crate::limits::MemoryLimiter;
use crate::policy::PolicyComponent;
use crate::task_log::Task;

/// What a run's host calls act in and on.
pub struct StepEnv {
    /// The component's name, for errors and logs.
    pub component: String,
    pub context: RunContext,
    /// The time `clock.now-ms` reads.
    pub clock: Clock,
    /// The uuid of the VM this run is for (the item of a `for_each` over VMs). An offline
    /// backup may shut it down cleanly and start it again.
    pub item_vm: Option<String>,
    pub grants: Grants,
    /// What this job run created, shared by all its steps.
    pub objects: Arc<RunObjects>,
    /// The task the run's own tasks go under.
    pub task: Task,
    /// The retention policy the step names, if any.
    pub policy: Option<Arc<PolicyComponent>>,
}

/// The data of one operation store.
pub struct StepState {
    pub env: Arc<StepEnv>,
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub limiter: MemoryLimiter,
    pub started: StartedTasks,
}

impl StepState {
    pub fn tasks(&mut self) -> TasksView<'_> {
        TasksView {
            table: &mut self.table,
            root: &self.env.task,
            started: &mut self.started,
        }
    }

    /// Records a refusal by a guard; see [`StepEnv::refuse`].
    pub fn refuse(&self, what: &str) -> crate::bindings::types::Error {
        self.env.refuse(what)
    }
}

impl StepEnv {
    /// Records a refusal by a guard on the run's task and in the host's log, and returns the
    /// `permission-denied` error the component receives.
    pub fn refuse(&self, what: &str) -> crate::bindings::types::Error {
        tracing::warn!(component = %self.component, step = %self.context.step_id, "refused: {what}");
        self.task.warning(
            "permission denied",
            Some(serde_json::json!({ "message": what })),
        );
        crate::host::errors::permission_denied(what)
    }
}

impl WasiView for StepState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
