//! The executor: runs a checked pipeline's steps, then its `finally` steps, against the pools
//! and remotes it names, and reports every task as Xen Orchestra's job log does.
//!
//! Steps run in order. A step whose items all succeed lets the next one start; a step with a
//! failed item stops the run unless it continues on error; `finally` steps run whatever
//! happened. Every step of a run shares its start (`now_ms`), its clock (what components read
//! as the current time), its ids and the record of the objects it created (for the guards).

mod cloud;
mod components;
mod connect;
mod error;
mod events;
mod params;
mod remote;
mod select;
mod step;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lifeboat_runtime::{
    Clock, CloudConnection, Grants, PoolConnection, RemoteConnection, RunContext, RunObjects,
    Runtime, TaskLog, TaskStatus, task_log::now_ms,
};
use serde::Serialize;
use serde_json::json;

use lifeboat_pipeline::ids;
use lifeboat_pipeline::model::{Pipeline, Step};
use lifeboat_pipeline::secrets::Secrets;
use lifeboat_pipeline::{ResolvedConnection, resolve_connections};

pub use components::DEFAULT_POLICY;
pub use connect::{Connecting, Connector, DirectConnector};
pub use error::{ComponentError, ConnectError, RunError};
pub use events::{JobEvent, RunEvent, RunSink, RunStatus};
pub use params::check_params;
pub use select::SelectedVm;
pub use step::ItemReport;

/// What a run needs besides the pipeline.
pub struct RunOptions {
    /// The schedule this run belongs to, by its name in the pipeline. Without one: the
    /// pipeline's only schedule, else an implicit `manual` schedule.
    pub schedule: Option<String>,
    /// Where events go.
    pub sink: Arc<dyn RunSink>,
    /// The run's time; now by default. The time components read (`clock.now-ms`) starts
    /// there and moves on.
    pub now_ms: Option<u64>,
}

/// How a run went.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub job_id: String,
    pub schedule_id: String,
    pub status: RunStatus,
    pub steps: Vec<StepReport>,
}

/// How a step went.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub id: String,
    pub status: StepStatus,
    /// Why the step could not run at all (a component that does not load, a pool that does
    /// not answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub items: Vec<ItemReport>,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Success,
    /// Some items failed, and the step continues on error.
    Partial,
    Failure,
    /// Not run, because an earlier step failed.
    Skipped,
}

/// Runs pipelines with one runtime and one way of reaching pools.
pub struct Runner {
    pub runtime: Arc<Runtime>,
    pub connector: Arc<dyn Connector>,
}

/// The schedule id of a run; see [`RunOptions::schedule`].
pub fn schedule_id(pipeline: &Pipeline, schedule: Option<&str>) -> Result<String, RunError> {
    match schedule {
        Some(name) => pipeline
            .schedules
            .get(name)
            .map(|schedule| schedule.id.clone())
            .ok_or_else(|| {
                let known: Vec<&str> = pipeline.schedules.keys().map(String::as_str).collect();
                RunError::UnknownSchedule {
                    name: name.to_owned(),
                    known: if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    },
                }
            }),
        None if pipeline.schedules.len() == 1 => Ok(pipeline
            .schedules
            .values()
            .next()
            .map(|s| s.id.clone())
            .unwrap_or_default()),
        None => Ok(ids::default_schedule_id(&pipeline.id, "manual")),
    }
}

impl Runner {
    /// Runs `pipeline`. Problems with the pipeline's surroundings (a secret that cannot be
    /// read, an unknown schedule) are errors before anything runs; failures while running are
    /// in the report.
    pub async fn run(
        &self,
        pipeline: &Pipeline,
        secrets: &Secrets,
        options: RunOptions,
    ) -> Result<RunReport, RunError> {
        let schedule_id = schedule_id(pipeline, options.schedule.as_deref())?;
        let connections = resolve_connections(pipeline, secrets)?;
        let run_id = uuid::Uuid::new_v4().to_string();
        let clock = options
            .now_ms
            .map_or_else(Clock::system, Clock::starting_at);
        let context = RunContext {
            job_id: pipeline.id.clone(),
            job_name: pipeline.name.clone(),
            schedule_id: schedule_id.clone(),
            run_id: run_id.clone(),
            step_id: String::new(),
            now_ms: clock.now_ms(),
        };
        let mut data = json!({ "reportWhen": pipeline.report_when });
        if let Some(mode) = job_mode(pipeline) {
            data["mode"] = json!(mode);
        }
        options.sink.emit(RunEvent::Job(JobEvent::Start {
            run_id: run_id.clone(),
            job_id: context.job_id.clone(),
            job_name: context.job_name.clone(),
            schedule_id: schedule_id.clone(),
            timestamp: now_ms(),
            data,
        }));
        let log = TaskLog::new(&run_id, Arc::new(events::TaskEvents(options.sink.clone())))
            .under(&run_id);
        let mut run = Run {
            runner: self,
            pipeline,
            connections,
            pools: BTreeMap::new(),
            remotes: BTreeMap::new(),
            clouds: BTreeMap::new(),
            loaded: components::Loaded::default(),
            objects: Arc::new(RunObjects::default()),
            log,
            context,
            clock,
        };
        let mut steps = Vec::new();
        let mut stopped = false;
        for step in &pipeline.steps {
            if stopped {
                steps.push(StepReport {
                    id: step.id.clone(),
                    status: StepStatus::Skipped,
                    error: None,
                    items: Vec::new(),
                });
                continue;
            }
            let report = run.step(step).await;
            stopped = report.status == StepStatus::Failure;
            steps.push(report);
        }
        for step in &pipeline.finally {
            steps.push(run.step(step).await);
        }
        let status = overall(&steps);
        options.sink.emit(RunEvent::Job(JobEvent::End {
            run_id: run_id.clone(),
            status,
            timestamp: now_ms(),
        }));
        Ok(RunReport {
            run_id,
            job_id: pipeline.id.clone(),
            schedule_id,
            status,
            steps,
        })
    }
}

/// Xen Orchestra's `mode` of the job: the one its steps' built-in operations share (`full` for
/// `dr-copy`); `None` when they have none or differ.
fn job_mode(pipeline: &Pipeline) -> Option<&'static str> {
    let mut modes = pipeline
        .steps
        .iter()
        .chain(&pipeline.finally)
        .filter_map(|step| match &step.uses {
            lifeboat_pipeline::model::ComponentRef::Builtin(name) => lifeboat_builtins::mode(name),
            lifeboat_pipeline::model::ComponentRef::Component(_) => None,
        });
    let first = modes.next()?;
    modes.all(|mode| mode == first).then_some(first)
}

/// Success if every item of every step succeeded; failure if a step failed or nothing
/// succeeded; partial otherwise.
fn overall(steps: &[StepReport]) -> RunStatus {
    let items = || steps.iter().flat_map(|s| &s.items);
    if steps.iter().all(|s| s.status == StepStatus::Success) {
        RunStatus::Success
    } else if steps.iter().any(|s| s.status == StepStatus::Failure)
        || !items().any(|item| item.status == TaskStatus::Success)
    {
        RunStatus::Failure
    } else {
        RunStatus::Partial
    }
}

/// The state of one run.
struct Run<'a> {
    runner: &'a Runner,
    pipeline: &'a Pipeline,
    connections: BTreeMap<String, ResolvedConnection>,
    pools: BTreeMap<String, Arc<PoolConnection>>,
    remotes: BTreeMap<String, Arc<RemoteConnection>>,
    clouds: BTreeMap<String, Arc<CloudConnection>>,
    loaded: components::Loaded,
    objects: Arc<RunObjects>,
    log: TaskLog,
    context: RunContext,
    clock: Clock,
}

impl Run<'_> {
    async fn step(&mut self, step: &Step) -> StepReport {
        match self.prepare(step).await {
            Ok((step_run, items)) => {
                let items = step_run.run_items(items).await;
                let failed = items
                    .iter()
                    .filter(|i| i.status == TaskStatus::Failure)
                    .count();
                let status = match (failed, step.continue_on_error) {
                    (0, _) => StepStatus::Success,
                    (_, true) if failed < items.len() => StepStatus::Partial,
                    _ => StepStatus::Failure,
                };
                StepReport {
                    id: step.id.clone(),
                    status,
                    error: None,
                    items,
                }
            }
            Err(error) => {
                let message = format!("step {}: {error}", step.id);
                let task = self.log.start(
                    None,
                    &step.id,
                    Some(json!({ "type": "step", "id": step.id })),
                );
                task.end(TaskStatus::Failure, Some(json!({ "message": message })));
                StepReport {
                    id: step.id.clone(),
                    status: StepStatus::Failure,
                    error: Some(message),
                    items: Vec::new(),
                }
            }
        }
    }

    /// Loads the step's components, connects its grants and selects its items.
    async fn prepare<'s>(
        &mut self,
        step: &'s Step,
    ) -> Result<(step::StepRun<'s>, Vec<Option<SelectedVm>>), RunError> {
        let runtime = &self.runner.runtime;
        let operation = self.loaded.operation(runtime, self.pipeline, &step.uses)?;
        let policy = self
            .loaded
            .policy(runtime, self.pipeline, step.retention.as_ref())?;
        let mut grants = Grants::default();
        for name in &step.grants.xapi {
            grants.grant_pool(self.pool(name).await?);
        }
        for name in &step.grants.remotes {
            grants.grant_remote(self.remote(name)?);
        }
        for name in &step.grants.clouds {
            grants.grant_cloud(self.cloud(name).await?);
        }
        let items = match &step.for_each {
            None => vec![None],
            Some(selection) => {
                let pool = self.pool(&selection.pool).await?;
                let found = select::select(&pool.client, &selection.filter, &self.context.job_id)
                    .await
                    .map_err(|error| RunError::ListVms {
                        pool: selection.pool.clone(),
                        error: Box::new(error),
                    })?;
                for vm in &found.own_copies {
                    let task = self.log.start(
                        None,
                        &step.id,
                        Some(json!({ "type": "VM", "id": vm.uuid, "name_label": vm.name_label })),
                    );
                    task.end(
                        TaskStatus::Skipped,
                        Some(json!({ "message": "a copy made by this job is not copied again" })),
                    );
                }
                if !found.missing.is_empty() {
                    return Err(RunError::MissingVms {
                        pool: selection.pool.clone(),
                        vms: found.missing,
                    });
                }
                self.log.info(
                    "vms",
                    Some(json!({ "vms": found.vms.iter().map(|vm| &vm.uuid).collect::<Vec<_>>() })),
                );
                found.vms.into_iter().map(Some).collect()
            }
        };
        let context = RunContext {
            step_id: step.id.clone(),
            ..self.context.clone()
        };
        Ok((
            step::StepRun {
                step,
                operation,
                policy,
                grants,
                objects: self.objects.clone(),
                log: self.log.clone(),
                context,
                clock: self.clock,
                pool: step.for_each.as_ref().map(|s| s.pool.clone()),
            },
            items,
        ))
    }

    /// The logged-in connection `name`, connecting on first use.
    async fn pool(&mut self, name: &str) -> Result<Arc<PoolConnection>, RunError> {
        if let Some(pool) = self.pools.get(name) {
            return Ok(pool.clone());
        }
        let Some(ResolvedConnection::Xapi(connection)) = self.connections.get(name) else {
            return Err(RunError::WrongKind {
                name: name.to_owned(),
                expected: "pool connection",
            });
        };
        let client = tokio::time::timeout(
            CONNECT_TIMEOUT,
            self.runner.connector.connect(name, connection),
        )
        .await
        .map_err(|_| RunError::ConnectTimeout {
            name: name.to_owned(),
            timeout: CONNECT_TIMEOUT,
        })?
        .map_err(|error| RunError::Connect {
            name: name.to_owned(),
            error: Box::new(error),
        })?;
        let pool = Arc::new(PoolConnection {
            name: name.to_owned(),
            client,
        });
        self.pools.insert(name.to_owned(), pool.clone());
        Ok(pool)
    }

    /// The remote `name`, opened on first use.
    fn remote(&mut self, name: &str) -> Result<Arc<RemoteConnection>, RunError> {
        if let Some(remote) = self.remotes.get(name) {
            return Ok(remote.clone());
        }
        let Some(ResolvedConnection::Remote(connection)) = self.connections.get(name) else {
            return Err(RunError::WrongKind {
                name: name.to_owned(),
                expected: "remote",
            });
        };
        let remote = Arc::new(remote::open(name, connection)?);
        self.remotes.insert(name.to_owned(), remote.clone());
        Ok(remote)
    }

    /// The project of cloud connection `name`, logged in to on first use.
    async fn cloud(&mut self, name: &str) -> Result<Arc<CloudConnection>, RunError> {
        if let Some(cloud) = self.clouds.get(name) {
            return Ok(cloud.clone());
        }
        let Some(ResolvedConnection::Openstack(connection)) = self.connections.get(name) else {
            return Err(RunError::WrongKind {
                name: name.to_owned(),
                expected: "cloud",
            });
        };
        let cloud = tokio::time::timeout(CONNECT_TIMEOUT, cloud::open(name, connection))
            .await
            .map_err(|_| RunError::ConnectTimeout {
                name: name.to_owned(),
                timeout: CONNECT_TIMEOUT,
            })??;
        let cloud = Arc::new(cloud);
        self.clouds.insert(name.to_owned(), cloud.clone());
        Ok(cloud)
    }
}

/// How long logging in to a pool or a cloud may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);
