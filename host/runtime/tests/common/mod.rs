//! What the runtime's tests share: a runtime with a private cache, the components the build
//! made, a step environment with an event log to read, and simulated pools.

#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use lifeboat_runtime::{
    Event, EventSink, Grants, OperationComponent, PoolConnection, RunContext, RunObjects, Runtime,
    RuntimeOptions, StepEnv, TaskLog,
};
use lifeboat_sim::xapi::{Fixture, SimOptions, Simulator};
use lifeboat_xapi::{Client, ConnectOptions};
use url::Url;

/// The job id every test run uses.
pub const JOB: &str = "7b0c4a9e-0000-4000-8000-00000000a001";
pub const SCHEDULE: &str = "7b0c4a9e-0000-4000-8000-00000000b001";

/// Events as a run wrote them.
#[derive(Default)]
pub struct Recorded(Mutex<Vec<Event>>);

impl EventSink for Recorded {
    fn emit(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorded {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }

    /// The messages of every warning.
    pub fn warnings(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|event| match event {
                Event::Warning { message, data, .. } => Some(format!(
                    "{message} {}",
                    data.map(|d| d.to_string()).unwrap_or_default()
                )),
                _ => None,
            })
            .collect()
    }
}

pub fn runtime(cache: &Path) -> Runtime {
    Runtime::new(RuntimeOptions {
        cache: Some(lifeboat_runtime::ComponentCache::new(cache)),
        ..RuntimeOptions::default()
    })
    .expect("the engine starts")
}

/// A component the build script built, by file stem (`trap`, `dr_copy`, …).
pub fn wasm(name: &str) -> Vec<u8> {
    let path = Path::new(lifeboat_builtins::COMPONENTS_DIR).join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn operation(runtime: &Runtime, name: &str) -> OperationComponent {
    runtime
        .load_operation(name, &wasm(name))
        .expect("the component loads")
        .0
}

pub fn context(now_ms: u64) -> RunContext {
    RunContext {
        job_id: JOB.into(),
        job_name: "Nightly DR".into(),
        schedule_id: SCHEDULE.into(),
        run_id: format!("run-{now_ms}"),
        step_id: "replicate".into(),
        now_ms,
    }
}

/// A step environment granting `pools`, writing to `events`.
pub fn env(
    component: &str,
    context: RunContext,
    pools: &[Arc<PoolConnection>],
    objects: Arc<RunObjects>,
    events: Arc<Recorded>,
) -> StepEnv {
    let mut grants = Grants::default();
    for pool in pools {
        grants.grant_pool(pool.clone());
    }
    let log = TaskLog::new(&context.run_id, events);
    StepEnv {
        component: component.into(),
        task: log.start(None, "test", None),
        clock: lifeboat_runtime::Clock::starting_at(context.now_ms),
        item_vm: None,
        context,
        grants,
        objects,
        policy: None,
    }
}

pub async fn simulator(fixture: &str) -> Simulator {
    let fixture = Fixture::parse(fixture, "test fixture").expect("valid fixture");
    Simulator::start(&fixture, SimOptions::default())
        .await
        .expect("the simulator starts")
}

/// A logged-in connection to the simulator's pool `name`, under that name.
pub async fn connect(sim: &Simulator, name: &str) -> Arc<PoolConnection> {
    let handle = sim.pool(name).expect("the pool exists");
    let options = ConnectOptions::new(
        Url::parse(&handle.url).unwrap(),
        handle.username.clone(),
        handle.password.clone(),
    );
    Arc::new(PoolConnection {
        name: name.into(),
        client: Client::connect(options).await.expect("login"),
    })
}

/// Runs an operation once, as a step of a fresh run granting `pools` would.
pub trait Call {
    async fn call(
        &self,
        pools: &[Arc<PoolConnection>],
        objects: Arc<RunObjects>,
        events: Arc<Recorded>,
        params: &serde_json::Value,
        limits: lifeboat_runtime::Limits,
    ) -> Result<serde_json::Value, lifeboat_runtime::RuntimeError>;
}

impl Call for OperationComponent {
    async fn call(
        &self,
        pools: &[Arc<PoolConnection>],
        objects: Arc<RunObjects>,
        events: Arc<Recorded>,
        params: &serde_json::Value,
        limits: lifeboat_runtime::Limits,
    ) -> Result<serde_json::Value, lifeboat_runtime::RuntimeError> {
        let env = env(self.name(), context(1), pools, objects, events);
        self.run(env, params, limits).await
    }
}
