//! The official Python `XenAPI` client (pinned in tests/python/requirements.txt) against the
//! simulator: the scripts under host/sim/tests/python run in the virtual environment that
//! scripts/python-env prepares, and must exit 0.

use std::path::{Path, PathBuf};
use std::process::Command;

use lifeboat_sim::xapi::{Fixture, SimOptions, Simulator};

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

/// Runs `host/sim/tests/python/<script>.py URL USER PASSWORD` against a fresh simulator and asserts that
/// it succeeds, showing its output when it does not.
async fn run_script(script: &str) {
    let python = python();
    let sim = Simulator::start(&Fixture::builtin(), SimOptions::default())
        .await
        .expect("the built-in fixture starts");
    let pool = sim.pool("production").expect("pool exists");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/python/{script}.py"));
    let mut command = Command::new(&python);
    command
        .arg(&path)
        .args([&pool.url, &pool.username, pool.password.expose()]);
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
    run_script("xenapi_conformance").await;
}
