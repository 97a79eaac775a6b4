//! A pipeline's `kind: openstack` connections, end to end: the file is loaded and checked, its
//! password read from a secret file, the executor logs in to the cloud simulator on loopback,
//! and a component granted the connections (`allow.clouds`) drives them; a step that is not
//! granted a cloud cannot reach it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use lifeboat_executor::{DirectConnector, RunEvent, RunOptions, RunSink, Runner, StepStatus};
use lifeboat_pipeline::model::Pipeline;
use lifeboat_pipeline::secrets::resolve_secrets;
use lifeboat_runtime::{Runtime, RuntimeOptions};
use lifeboat_sim::cloud::{CloudFixture, CloudSimulator};
use serde_json::json;
use sha2::Digest;

/// The password of the fixture's `admin` of cloud `east`.
const EAST_ADMIN_PASSWORD: &str = "east-admin-secret";

#[derive(Default)]
struct Events(Mutex<Vec<String>>);

impl RunSink for Events {
    fn emit(&self, event: RunEvent) {
        let text = serde_json::to_string(&event).unwrap_or_default();
        self.0.lock().unwrap().push(text);
    }
}

fn probe() -> (String, String) {
    let path = Path::new(lifeboat_builtins::COMPONENTS_DIR).join("cloud_probe.wasm");
    let digest: String = sha2::Sha256::digest(std::fs::read(&path).unwrap())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    (path.display().to_string(), digest)
}

#[tokio::test]
async fn a_step_granted_a_cloud_drives_it_and_one_without_the_grant_cannot() {
    let sim = CloudSimulator::start(&CloudFixture::builtin(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the simulated clouds start");
    let east = sim.cloud("east").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("east-password"), EAST_ADMIN_PASSWORD).unwrap();
    let (component, digest) = probe();
    let params = json!({
        "cloud": "east",
        "other": "east-recovery",
        "server": east.server_id("web-1").unwrap(),
        "user_volume": east.volume_id("web-1-data").unwrap(),
        "marked_volume": east.volume_id("web-1-logs").unwrap(),
        "copied_volume": east.volume_id("web-1-system").unwrap(),
        "user_backup": "no-such-backup",
    });
    let text = format!(
        r#"version: 1
name: cloud probe
secrets:
  east_password: {{ file: east-password }}
connections:
  east:
    kind: openstack
    url: "{url}"
    username: admin
    password: "${{{{ secrets.east_password }}}}"
    project: production
    region: {region}
  east-recovery:
    kind: openstack
    url: "{url}"
    username: admin
    password: "${{{{ secrets.east_password }}}}"
    project: recovery
components:
  probe: {{ path: "{component}", digest: "sha256:{digest}" }}
steps:
  - id: probe
    uses: probe
    allow: {{ clouds: [east, east-recovery] }}
    with: {params}
  - id: ungranted
    uses: probe
    with: {params}
"#,
        url = east.auth_url(),
        region = east.region,
    );
    let path = dir.path().join("cloud.yaml");
    std::fs::write(&path, text).unwrap();
    let pipeline = Pipeline::load(&path, lifeboat_builtins::NAMES).expect("the pipeline is valid");
    let secrets = resolve_secrets(&pipeline).expect("the secret file is read");
    let runner = Runner {
        runtime: Arc::new(Runtime::new(RuntimeOptions::default()).unwrap()),
        connector: Arc::new(DirectConnector),
    };
    let events = Arc::new(Events::default());
    let options = RunOptions {
        schedule: None,
        sink: events.clone(),
        now_ms: None,
    };
    let report = runner.run(&pipeline, &secrets, options).await.unwrap();

    let probe = &report.steps[0];
    assert_eq!(probe.status, StepStatus::Success, "{report:#?}");
    let outputs = probe.items[0]
        .outputs
        .as_ref()
        .expect("the probe's outputs");
    assert_eq!(outputs["project"], "production");
    assert_eq!(outputs["transferred"], true);
    assert_eq!(outputs["booted"], "ACTIVE");
    // The fixture's volumes are the user's: none carries the job's marks.
    assert_eq!(
        outputs["marked_volume"],
        json!({ "error": "permission-denied" })
    );

    let ungranted = &report.steps[1];
    assert_eq!(ungranted.status, StepStatus::Failure, "{report:#?}");
    let error = ungranted.items[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("allow.clouds"), "{error}");

    let log = events.0.lock().unwrap().join("\n");
    assert!(
        !log.contains(EAST_ADMIN_PASSWORD),
        "the password stays out of events"
    );
}
