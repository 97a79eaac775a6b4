//! Operations: components of the `operation` world, each run in a fresh store with its own
//! limits, its step's grants, and a task in the run's log.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value as Json;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};

use crate::bindings::operation::OperationPre;
use crate::bindings::types;
use crate::error::{OperationError, RuntimeError};
use crate::grants::{Grants, RunObjects};
use crate::host::tasks::StartedTasks;
use crate::limits::{Limits, MemoryLimiter};
use crate::sandbox::{self, CapturedOutput};
use crate::state::{StepEnv, StepState};
use crate::task_log::{NoEvents, TaskLog};
use crate::{Clock, RunContext, trap};

/// A loaded operation, ready to be instantiated any number of times.
pub struct OperationComponent {
    pub(crate) name: String,
    pub(crate) engine: Engine,
    pub(crate) pre: OperationPre<StepState>,
}

/// What an operation says of itself (WIT's `description`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    pub name: String,
    pub version: String,
    pub summary: String,
    pub params_schema: Json,
    pub outputs_schema: Json,
}

impl OperationComponent {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Asks the operation for its description, in a sandbox that grants nothing.
    pub async fn describe(&self) -> Result<Description, RuntimeError> {
        let env = StepEnv {
            component: self.name.clone(),
            context: RunContext {
                job_id: String::new(),
                job_name: String::new(),
                schedule_id: String::new(),
                run_id: String::new(),
                step_id: String::new(),
                now_ms: 0,
            },
            clock: Clock::system(),
            item_vm: None,
            grants: Grants::default(),
            objects: Arc::new(RunObjects::default()),
            task: TaskLog::new("describe", Arc::new(NoEvents)).start(None, "describe", None),
            policy: None,
        };
        let described = self
            .call(env, Limits::POLICY, |operation, store| {
                Box::pin(async move { operation.call_describe(store).await })
            })
            .await?;
        let schema = |text: &str, what: &str| {
            serde_json::from_str(text).map_err(|error| RuntimeError::BadOutput {
                component: self.name.clone(),
                problem: format!("its {what} schema is not JSON: {error}"),
            })
        };
        Ok(Description {
            params_schema: schema(&described.params_schema, "parameters")?,
            outputs_schema: schema(&described.outputs_schema, "outputs")?,
            name: described.name,
            version: described.version,
            summary: described.summary,
        })
    }

    /// Runs the operation with `params` in `env`, under `limits`; returns its outputs.
    pub async fn run(
        &self,
        env: StepEnv,
        params: &Json,
        limits: Limits,
    ) -> Result<Json, RuntimeError> {
        let context = env.context.to_wit();
        let params = params.to_string();
        let outcome = self
            .call(env, limits, |operation, store| {
                Box::pin(async move { operation.call_run(store, &context, &params).await })
            })
            .await?;
        match outcome {
            Ok(outputs) => {
                serde_json::from_str(&outputs).map_err(|error| RuntimeError::BadOutput {
                    component: self.name.clone(),
                    problem: format!("its outputs are not JSON: {error}"),
                })
            }
            Err(error) => Err(RuntimeError::Failed(operation_error(error))),
        }
    }

    /// Instantiates the operation in a fresh store and makes one call, under `limits`.
    async fn call<R>(
        &self,
        env: StepEnv,
        limits: Limits,
        call: impl for<'a> FnOnce(
            &'a crate::bindings::operation::Operation,
            &'a mut Store<StepState>,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = wasmtime::Result<R>> + Send + 'a>,
        >,
    ) -> Result<R, RuntimeError> {
        let stderr = CapturedOutput::default();
        let now_ms = env.context.now_ms;
        let mut store = Store::new(
            &self.engine,
            StepState {
                env: Arc::new(env),
                table: ResourceTable::new(),
                wasi: sandbox::empty_wasi(now_ms, &stderr),
                limiter: MemoryLimiter::new(limits.memory),
                started: StartedTasks::default(),
            },
        );
        store.limiter(|state| &mut state.limiter);
        let deadline_at = Instant::now() + limits.deadline;
        sandbox::set_deadline(&mut store, deadline_at);
        let outcome = tokio::time::timeout(limits.deadline, async {
            let operation = self.pre.instantiate_async(&mut store).await?;
            call(&operation, &mut store).await
        })
        .await;
        store.data().started.interrupt_open();
        match outcome {
            Err(_elapsed) => Err(RuntimeError::Deadline {
                component: self.name.clone(),
                deadline: limits.deadline,
            }),
            Ok(Err(error)) => Err(trap::classify(
                &self.name,
                error,
                &store.data().limiter,
                deadline_at,
                limits.deadline,
                &stderr,
            )),
            Ok(Ok(value)) => Ok(value),
        }
    }
}

fn operation_error(error: types::Error) -> OperationError {
    let kind = match error.kind {
        types::ErrorKind::PermissionDenied => "permission-denied",
        types::ErrorKind::NotFound => "not-found",
        types::ErrorKind::InvalidInput => "invalid-input",
        types::ErrorKind::Xapi => "xapi",
        types::ErrorKind::Transfer => "transfer",
        types::ErrorKind::Cancelled => "cancelled",
        types::ErrorKind::Internal => "internal",
    };
    OperationError {
        kind: kind.to_owned(),
        message: error.message,
        code: error.code,
        params: error.params,
    }
}
