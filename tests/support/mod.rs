//! What the end-to-end tests share: simulated pools started by the test, a connector that
//! serves `sim://NAME` from them, a runner with a private component cache, and readers of the
//! pools' state and of the run's events.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use lifeboat_pipeline::run::{
    Connecting, Connector, RunEvent, RunOptions, RunReport, RunSink, Runner,
};
use lifeboat_pipeline::{Pipeline, ResolvedXapi};
use lifeboat_runtime::{Runtime, RuntimeOptions};
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
                return lifeboat_pipeline::run::DirectConnector
                    .connect(name, connection)
                    .await;
            };
            let url = url.parse().map_err(|e| format!("{e}"))?;
            Client::connect(ConnectOptions::new(url, username.clone(), password.clone()))
                .await
                .map_err(|error| format!("connection {name:?}: {error}"))
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
        let secrets = lifeboat_pipeline::resolve_secrets(pipeline).expect("secrets");
        let events = Arc::new(Recorded::default());
        let report = self
            .runner
            .run(
                pipeline,
                &secrets,
                RunOptions {
                    schedule: None,
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
