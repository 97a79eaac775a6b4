//! Retention policies: third-party components of the `retention-policy` world, each call run
//! in a store of its own with its own limits, and their answers checked before an operation
//! sees them.

use std::collections::HashSet;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::policy::RetentionPolicyPre;
use crate::bindings::policy::exports::lifeboat::plugin::retention as export;
use crate::bindings::retention::Candidate;
use crate::error::RuntimeError;
use crate::host::tasks::{StartedTasks, TasksView};
use crate::limits::{Limits, MemoryLimiter};
use crate::sandbox::{self, CapturedOutput};
use crate::task_log::Task;
use crate::trap;

/// A loaded retention policy.
pub struct PolicyComponent {
    pub(crate) name: String,
    pub(crate) engine: Engine,
    pub(crate) pre: RetentionPolicyPre<PolicyState>,
    pub(crate) limits: Limits,
}

/// The data of a policy's store.
pub struct PolicyState {
    table: ResourceTable,
    wasi: WasiCtx,
    limiter: MemoryLimiter,
    started: StartedTasks,
    task: Task,
}

impl PolicyState {
    pub(crate) fn tasks(&mut self) -> TasksView<'_> {
        TasksView {
            table: &mut self.table,
            root: &self.task,
            started: &mut self.started,
        }
    }
}

impl WasiView for PolicyState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Why a policy's answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerRefused {
    #[error("it names {0:?}, which is not one of the candidates it was given")]
    Unknown(String),
    #[error("it names {0:?} twice")]
    Duplicate(String),
    #[error("it names {0:?}, the newest candidate, which retention always keeps")]
    Newest(String),
}

impl PolicyComponent {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the policy over `candidates` (oldest first) and returns its answer once checked.
    pub async fn select_expired(
        &self,
        candidates: &[Candidate],
        settings: &str,
        now_ms: u64,
        task: &Task,
    ) -> Result<Vec<String>, RuntimeError> {
        let stderr = CapturedOutput::default();
        let mut store = Store::new(
            &self.engine,
            PolicyState {
                table: ResourceTable::new(),
                wasi: sandbox::empty_wasi(now_ms, &stderr),
                limiter: MemoryLimiter::new(self.limits.memory),
                started: StartedTasks::default(),
                task: task.clone(),
            },
        );
        store.limiter(|state| &mut state.limiter);
        let deadline = Instant::now() + self.limits.deadline;
        sandbox::set_deadline(&mut store, deadline);
        let called = async {
            let policy = self.pre.instantiate_async(&mut store).await?;
            policy
                .lifeboat_plugin_retention()
                .call_select_expired(
                    &mut store,
                    &to_export(candidates),
                    &settings.to_owned(),
                    now_ms,
                )
                .await
        };
        let outcome = tokio::time::timeout(self.limits.deadline, called).await;
        store.data().started.interrupt_open();
        let answer = match outcome {
            Err(_elapsed) => {
                return Err(RuntimeError::Deadline {
                    component: self.name.clone(),
                    deadline: self.limits.deadline,
                });
            }
            Ok(Err(error)) => {
                let limiter = &store.data().limiter;
                return Err(trap::classify(
                    &self.name,
                    error,
                    limiter,
                    deadline,
                    self.limits.deadline,
                    &stderr,
                ));
            }
            Ok(Ok(answer)) => answer,
        };
        let ids = answer.map_err(|message| {
            RuntimeError::Failed(crate::error::OperationError {
                kind: "internal".into(),
                message: format!("retention policy {}: {message}", self.name),
                code: None,
                params: Vec::new(),
            })
        })?;
        check_answer(candidates, &ids).map_err(|refused| RuntimeError::BadOutput {
            component: self.name.clone(),
            problem: format!("its answer was refused: {refused}"),
        })?;
        Ok(ids)
    }
}

/// A policy may name only candidates it was given, each once, and never the newest (the one
/// with the latest timestamp, the last of them on a tie).
pub fn check_answer(candidates: &[Candidate], answer: &[String]) -> Result<(), AnswerRefused> {
    let offered: HashSet<&str> = candidates.iter().map(|c| c.id.as_str()).collect();
    let newest = candidates
        .iter()
        .enumerate()
        .max_by_key(|(position, c)| (c.timestamp_ms, *position))
        .map(|(_, c)| c.id.as_str());
    let mut seen = HashSet::new();
    for id in answer {
        if !offered.contains(id.as_str()) {
            return Err(AnswerRefused::Unknown(id.clone()));
        }
        if !seen.insert(id.as_str()) {
            return Err(AnswerRefused::Duplicate(id.clone()));
        }
        if Some(id.as_str()) == newest {
            return Err(AnswerRefused::Newest(id.clone()));
        }
    }
    Ok(())
}

fn to_export(candidates: &[Candidate]) -> Vec<export::Candidate> {
    candidates
        .iter()
        .map(|c| export::Candidate {
            id: c.id.clone(),
            timestamp_ms: c.timestamp_ms,
            schedule: c.schedule.clone(),
            size: c.size,
            tags: c.tags.clone(),
        })
        .collect()
}

/// Links what a policy may import: WASI (empty) and the task log.
pub(crate) fn link(linker: &mut wasmtime::component::Linker<PolicyState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    crate::bindings::tasks::add_to_linker::<PolicyState, crate::host::tasks::TasksData>(
        linker,
        PolicyState::tasks,
    )?;
    Ok(())
}

/// The interfaces a policy may import besides WASI.
pub(crate) const POLICY_IMPORTS: &[&str] = &["lifeboat:plugin/tasks", "lifeboat:plugin/types"];

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, timestamp_ms: u64) -> Candidate {
        Candidate {
            id: id.into(),
            timestamp_ms,
            schedule: "s".into(),
            size: 0,
            tags: Vec::new(),
        }
    }

    #[test]
    fn answers_are_subsets_without_the_newest() {
        let candidates = [candidate("a", 1), candidate("b", 3), candidate("c", 2)];
        assert_eq!(check_answer(&candidates, &["a".into(), "c".into()]), Ok(()));
        assert_eq!(check_answer(&candidates, &[]), Ok(()));
        assert_eq!(
            check_answer(&candidates, &["b".into()]),
            Err(AnswerRefused::Newest("b".into()))
        );
        assert_eq!(
            check_answer(&candidates, &["z".into()]),
            Err(AnswerRefused::Unknown("z".into()))
        );
        assert_eq!(
            check_answer(&candidates, &["a".into(), "a".into()]),
            Err(AnswerRefused::Duplicate("a".into()))
        );
    }

    #[test]
    fn on_a_tie_the_last_is_the_newest() {
        let candidates = [candidate("a", 5), candidate("b", 5)];
        assert_eq!(check_answer(&candidates, &["a".into()]), Ok(()));
        assert_eq!(
            check_answer(&candidates, &["b".into()]),
            Err(AnswerRefused::Newest("b".into()))
        );
    }
}
