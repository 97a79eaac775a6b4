//! What the end-to-end tests share: simulated pools started by the test, a connector that
//! serves `sim://NAME` from them, a runner with a private component cache, and readers of the
//! pools' state and of the run's events.

pub mod dr;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use lifeboat_executor::{
    ConnectError, Connecting, Connector, RunEvent, RunOptions, RunReport, RunSink, Runner,
};
use lifeboat_pipeline::{Pipeline, ResolvedXapi};
use lifeboat_runtime::{Runtime, RuntimeOptions};
use lifeboat_sim::xapi::faults::Fault;
use lifeboat_sim::xapi::{Fixture, SimOptions, Simulator};
use lifeboat_xapi::records::{Ref, Vdi, Vm};
use lifeboat_xapi::{Client, ConnectOptions, RawFormat};

/// Simulated pools, reachable as `sim://NAME`.
pub struct Pools {
    pub sim: Simulator,
}

impl Pools {
    pub async fn start(fixture: &str) -> Pools {
        let fixture = Fixture::parse(fixture, "test fixture").expect("valid fixture");
        let sim = Simulator::start(&fixture, SimOptions::default())
            .await
            .expect("the simulator starts");
        Pools { sim }
    }

    /// Arms a fault on pool `name` (as the control endpoint does).
    pub fn arm(&self, name: &str, fault: Fault) {
        self.sim
            .pool(name)
            .expect("the pool exists")
            .pool
            .arm(fault)
            .expect("a valid fault");
    }

    /// Clears the faults of pool `name`.
    pub fn clear_faults(&self, name: &str) {
        self.sim
            .pool(name)
            .expect("the pool exists")
            .pool
            .clear_faults();
    }

    /// A logged-in client of pool `name`.
    pub async fn client(&self, name: &str) -> Client {
        let handle = self.sim.pool(name).expect("the pool exists");
        let url = handle.url.parse().expect("a URL");
        Client::connect(ConnectOptions::new(
            url,
            handle.username.clone(),
            handle.password.clone(),
        ))
        .await
        .expect("login")
    }
}

/// Serves `sim://NAME` from the test's simulator.
struct SimConnector(Arc<Vec<(String, String, String, lifeboat_xapi::Secret)>>);

impl Connector for SimConnector {
    fn connect<'a>(&'a self, name: &'a str, connection: &'a ResolvedXapi) -> Connecting<'a> {
        Box::pin(async move {
            let pool = connection.url.host_str().unwrap_or_default();
            let Some((_, url, username, password)) =
                self.0.iter().find(|(candidate, ..)| candidate == pool)
            else {
                return lifeboat_executor::DirectConnector
                    .connect(name, connection)
                    .await;
            };
            let url = url
                .parse()
                .map_err(|error: url::ParseError| ConnectError::Other(Box::new(error)))?;
            Ok(
                Client::connect(ConnectOptions::new(url, username.clone(), password.clone()))
                    .await?,
            )
        })
    }
}

/// Every event of a run.
#[derive(Default)]
pub struct Recorded(Mutex<Vec<serde_json::Value>>);

impl RunSink for Recorded {
    fn emit(&self, event: RunEvent) {
        let value = serde_json::to_value(&event).expect("events serialise");
        self.0.lock().unwrap().push(value);
    }
}

impl Recorded {
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.0.lock().unwrap().clone()
    }
}

/// Runs pipelines against `pools` with a private component cache.
pub struct Harness {
    runner: Runner,
    _cache: tempfile::TempDir,
}

impl Harness {
    pub fn new(pools: &Pools) -> Harness {
        let cache = tempfile::tempdir().unwrap();
        let runtime = Runtime::new(RuntimeOptions {
            cache: Some(lifeboat_runtime::ComponentCache::new(cache.path())),
            ..RuntimeOptions::default()
        })
        .expect("the engine starts");
        let endpoints = pools
            .sim
            .pools()
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.url.clone(),
                    p.username.clone(),
                    p.password.clone(),
                )
            })
            .collect();
        Harness {
            runner: Runner {
                runtime: Arc::new(runtime),
                connector: Arc::new(SimConnector(Arc::new(endpoints))),
            },
            _cache: cache,
        }
    }

    /// Runs `pipeline` at `now_ms`; returns the report and the events.
    pub async fn run(
        &self,
        pipeline: &Pipeline,
        now_ms: u64,
    ) -> (RunReport, Vec<serde_json::Value>) {
        self.run_schedule(pipeline, now_ms, None).await
    }

    /// Runs `pipeline` at `now_ms` for `schedule` (by its name in the pipeline).
    pub async fn run_schedule(
        &self,
        pipeline: &Pipeline,
        now_ms: u64,
        schedule: Option<&str>,
    ) -> (RunReport, Vec<serde_json::Value>) {
        let secrets = lifeboat_pipeline::resolve_secrets(pipeline).expect("secrets");
        let events = Arc::new(Recorded::default());
        let report = self
            .runner
            .run(
                pipeline,
                &secrets,
                RunOptions {
                    schedule: schedule.map(str::to_owned),
                    sink: events.clone(),
                    now_ms: Some(now_ms),
                },
            )
            .await
            .expect("the run starts");
        (report, events.events())
    }
}

/// A pipeline from YAML, with the built-in components known.
pub fn pipeline(yaml: &str) -> Pipeline {
    Pipeline::parse(yaml, "test.yaml", lifeboat_builtins::NAMES)
        .unwrap_or_else(|error| panic!("invalid test pipeline:\n{error}"))
}

/// The VMs of a pool that are neither templates nor control domains, by ref.
pub async fn vms(client: &Client) -> BTreeMap<Ref<Vm>, Vm> {
    client
        .get_all_records::<Vm>()
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, vm)| !vm.is_a_template && !vm.is_control_domain)
        .collect()
}

/// A VM's disks, by device position.
pub async fn disks(client: &Client, vm: &Vm) -> Vec<(String, Ref<Vdi>)> {
    let mut disks = Vec::new();
    for vbd in &vm.vbds {
        let vbd = client.get_record(vbd).await.unwrap();
        disks.push((vbd.userdevice, vbd.vdi));
    }
    disks.sort();
    disks
}

/// Every byte of a disk, through a raw export.
pub async fn raw(client: &Client, vdi: &Ref<Vdi>) -> Vec<u8> {
    let mut download = client
        .export_raw_vdi(vdi, RawFormat::Raw, None)
        .await
        .unwrap();
    let mut bytes = Vec::new();
    while let Some(chunk) = download.chunk().await.unwrap() {
        bytes.extend_from_slice(&chunk);
    }
    download.finish().await.unwrap();
    bytes
}

/// The hex sha256 of a file, as a pipeline pins it.
pub fn digest_of(path: &std::path::Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The path of a component the build made (`trap`, `keep_daily`, …).
pub fn component_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(lifeboat_builtins::COMPONENTS_DIR).join(format!("{name}.wasm"))
}

/// The tasks started under `parent` (a task id), in order.
pub fn children<'a>(events: &'a [serde_json::Value], parent: &str) -> Vec<&'a serde_json::Value> {
    events
        .iter()
        .filter(|e| e["event"] == "task.start" && e["parentId"] == parent)
        .collect()
}

/// The `task.end` event of task `id`.
pub fn end_of<'a>(events: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    events
        .iter()
        .find(|e| e["event"] == "task.end" && e["taskId"] == id)
        .unwrap_or_else(|| panic!("task {id} never ends"))
}

/// The messages of the warnings recorded on task `id`.
pub fn warnings<'a>(events: &'a [serde_json::Value], id: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter(|e| e["event"] == "task.warning" && e["taskId"] == id)
        .filter_map(|e| e["message"].as_str())
        .collect()
}

/// A key of a record's `other_config`.
pub fn mark<'a>(other_config: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    other_config.get(key).map(String::as_str)
}

/// Milliseconds since the Unix epoch of an `xo:backup:datetime` (`20241102T03:04:05Z`).
pub fn parse_datetime(text: &str) -> u64 {
    let parsed = chrono::NaiveDateTime::parse_from_str(text, "%Y%m%dT%H:%M:%SZ")
        .unwrap_or_else(|error| panic!("{text:?} is not an xo:backup:datetime: {error}"));
    u64::try_from(parsed.and_utc().timestamp_millis()).expect("after 1970")
}

/// `20241102T030405Z`: how a replica's name writes the time `ms`.
pub fn filename_date(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).expect("a time"))
        .expect("a time")
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// Xen Orchestra's `listReplicatedVms(xapi, scheduleId, srUuid, vmUuid)`, as its source reads
/// (reference/xen-orchestra.md §4): what Xen Orchestra counts as a replica of a job.
pub fn xo_lists_as_replica(vm: &Vm, schedule: &str, sr: &str, vm_uuid: &str) -> bool {
    let oc = &vm.other_config;
    !vm.is_a_template
        && (mark(oc, "xo:backup:job") == Some(schedule)
            || mark(oc, "xo:backup:schedule") == Some(schedule))
        && mark(oc, "xo:backup:sr") == Some(sr)
        && mark(oc, "xo:backup:vm") == Some(vm_uuid)
        && !vm.is_a_snapshot
        && vm.blocked_operations.contains_key("start")
}
