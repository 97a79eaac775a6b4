//! The official Python clients (pinned in tests/python/requirements.txt) against the simulators:
//! `XenAPI` against the pool simulator, `openstacksdk` against the cloud simulator. The scripts
//! under host/sim/tests/python run in the virtual environment that scripts/python-env prepares,
//! and must exit 0.

use std::path::{Path, PathBuf};
use std::process::Command;

use lifeboat_sim::cloud::{CloudFixture, CloudSimulator};
use lifeboat_sim::xapi::{Fixture, SimOptions, Simulator};
use serde_json::json;

/// The interpreter with `XenAPI` installed: `LIFEBOAT_PYTHON` (set by scripts/test), else the
/// workspace's `.venv`. Missing, the test fails: a user of the simulator would use this client.
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("LIFEBOAT_PYTHON") {
        return PathBuf::from(python);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("host/sim sits two levels under the workspace root");
    let venv = workspace.join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with XenAPI: run scripts/python-env (it creates {}) or set LIFEBOAT_PYTHON",
        venv.display()
    );
    venv
}

/// Runs `host/sim/tests/python/<script>.py ARGS…` and asserts that it succeeds, showing its
/// output when it does not.
async fn run_script(script: &str, args: &[&str]) {
    let python = python();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/python/{script}.py"));
    let mut command = Command::new(&python);
    command.arg(&path).args(args);
    // The simulator runs on this test's runtime; the blocking wait goes to another thread.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the waiting thread completes")
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", python.display()));
    assert!(
        output.status.success(),
        "{script}.py failed ({})\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

#[tokio::test]
async fn the_xenapi_python_client_works_against_the_simulator() {
    let sim = Simulator::start(&Fixture::builtin(), SimOptions::default())
        .await
        .expect("the built-in fixture starts");
    let pool = sim.pool("production").expect("pool exists");
    run_script(
        "xenapi_conformance",
        &[&pool.url, &pool.username, pool.password.expose()],
    )
    .await;
}

/// openstacksdk runs the DR scenario against the two clouds of examples/openstack-clouds.yaml:
/// connect (three ways), flavors, the instance of three volumes, backups full, forced and
/// incremental, refused deletes, restores (new volume, existing volume, too small, failing),
/// export and import across clouds, boot from volumes, and the shared objects of an import.
#[tokio::test]
async fn openstacksdk_works_against_the_cloud_simulator() {
    let fixture = CloudFixture::builtin();
    let sim = CloudSimulator::start(&fixture, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the example clouds start");
    let cloud = |name: &str| {
        let cloud = sim.cloud(name).expect("the example has this cloud");
        let spec = fixture.clouds.iter().find(|c| c.name == name).unwrap();
        let admin = spec.users.iter().find(|u| u.name == "admin").unwrap();
        let mut entry = json!({
            "auth_url": cloud.auth_url(),
            "region": cloud.region,
            "control": format!("{}/_sim", cloud.base_url),
            "admin": {"username": admin.name, "password": admin.password},
        });
        if let Some(credential) = spec.application_credentials.first() {
            entry["application_credential"] = json!({
                "name": credential.name, "secret": credential.secret, "user": credential.user,
            });
        }
        entry
    };
    let config = json!({"east": cloud("east"), "west": cloud("west")}).to_string();
    run_script("openstacksdk_conformance", &[&config]).await;
}
