//! Running one step: its component once per item (per VM for a `for_each`), at most
//! `max_parallel` at a time, each attempt in a fresh sandbox under the step's timeout, retried
//! as the step says, each item's outcome written as its task's end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use lifeboat_runtime::{
    Clock, Grants, Limits, OperationComponent, PolicyComponent, RunContext, RunObjects, StepEnv,
    TaskLog, TaskStatus,
};
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::select::SelectedVm;
use lifeboat_pipeline::model::{ItemContext, Step, SubstitutionContext};

/// How one item of a step ended.
#[derive(Debug, Clone, Serialize)]
pub struct ItemReport {
    /// The VM, for a `for_each` step.
    pub vm: Option<SelectedVm>,
    pub status: TaskStatus,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(with = "duration_ms", rename = "duration_ms")]
    pub duration: Duration,
}

mod duration_ms {
    pub fn serialize<S: serde::Serializer>(
        duration: &std::time::Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(duration.as_millis() as u64)
    }
}

/// Everything the items of a step share.
pub struct StepRun<'a> {
    pub step: &'a Step,
    pub operation: Arc<OperationComponent>,
    pub policy: Arc<PolicyComponent>,
    pub grants: Grants,
    pub objects: Arc<RunObjects>,
    pub log: TaskLog,
    pub context: RunContext,
    pub clock: Clock,
    /// The connection name of the `for_each` pool.
    pub pool: Option<String>,
}

impl StepRun<'_> {
    /// Runs every item, `max_parallel` at a time; reports them in the order given.
    pub async fn run_items(&self, items: Vec<Option<SelectedVm>>) -> Vec<ItemReport> {
        let parallel = usize::try_from(self.step.max_parallel.get()).unwrap_or(1);
        let mut reports: Vec<(usize, ItemReport)> = stream::iter(items.into_iter().enumerate())
            .map(|(index, vm)| async move { (index, self.run_item(vm).await) })
            .buffer_unordered(parallel)
            .collect()
            .await;
        reports.sort_by_key(|(index, _)| *index);
        reports.into_iter().map(|(_, report)| report).collect()
    }

    async fn run_item(&self, vm: Option<SelectedVm>) -> ItemReport {
        let started = Instant::now();
        let data = match &vm {
            Some(vm) => json!({ "type": "VM", "id": vm.uuid, "name_label": vm.name_label }),
            None => json!({ "type": "step", "id": self.step.id }),
        };
        let task = self.log.start(None, &self.step.id, Some(data));
        let params = self.step.with.substitute(&SubstitutionContext {
            job_id: &self.context.job_id,
            job_name: &self.context.job_name,
            run_id: &self.context.run_id,
            schedule_id: Some(&self.context.schedule_id),
            item: vm.as_ref().map(|vm| ItemContext {
                uuid: &vm.uuid,
                name_label: &vm.name_label,
                pool: self.pool.as_deref().unwrap_or_default(),
            }),
        });
        let params = match params {
            Ok(params) => params,
            Err(error) => {
                let message = format!("step {}: {error}", self.step.id);
                task.end(TaskStatus::Failure, Some(json!({ "message": message })));
                return ItemReport {
                    vm,
                    status: TaskStatus::Failure,
                    attempts: 0,
                    outputs: None,
                    error: Some(message),
                    duration: started.elapsed(),
                };
            }
        };
        let limits = Limits {
            deadline: self.step.timeout.unwrap_or(Limits::OPERATION.deadline),
            ..Limits::OPERATION
        };
        let max_attempts = self.step.retry.max_attempts.get();
        let mut attempt = 1;
        loop {
            let env = StepEnv {
                component: self.operation.name().to_owned(),
                context: self.context.clone(),
                clock: self.clock,
                item_vm: vm.as_ref().map(|vm| vm.uuid.clone()),
                grants: self.grants.clone(),
                objects: self.objects.clone(),
                task: task.clone(),
                policy: Some(self.policy.clone()),
            };
            match self.operation.run(env, &params, limits).await {
                Ok(outputs) => {
                    task.end(TaskStatus::Success, Some(outputs.clone()));
                    return ItemReport {
                        vm,
                        status: TaskStatus::Success,
                        attempts: attempt,
                        outputs: Some(outputs),
                        error: None,
                        duration: started.elapsed(),
                    };
                }
                Err(error) if attempt < max_attempts => {
                    task.warning(
                        "Retry the VM backup due to an error",
                        Some(json!({ "attempt": attempt, "error": error.to_string() })),
                    );
                    tokio::time::sleep(self.step.retry.interval).await;
                    attempt += 1;
                }
                Err(error) => {
                    let message = match &vm {
                        Some(vm) => format!(
                            "step {}, VM {} ({}): {error}",
                            self.step.id, vm.name_label, vm.uuid
                        ),
                        None => format!("step {}: {error}", self.step.id),
                    };
                    task.end(TaskStatus::Failure, Some(failure(&error, &message)));
                    return ItemReport {
                        vm,
                        status: TaskStatus::Failure,
                        attempts: attempt,
                        outputs: None,
                        error: Some(message),
                        duration: started.elapsed(),
                    };
                }
            }
        }
    }
}

/// A failed task's result: the message, and XAPI's code when the pool refused something.
fn failure(error: &lifeboat_runtime::RuntimeError, message: &str) -> Json {
    match error {
        lifeboat_runtime::RuntimeError::Failed(failure) => json!({
            "message": message,
            "kind": failure.kind,
            "code": failure.code,
            "params": failure.params,
        }),
        _ => json!({ "message": message }),
    }
}
