//! `lifeboat run` killed with `kill -9` at random points of a DR copy, each time followed by a
//! normal run: the pools must then hold only complete, marked, start-blocked replicas (or none
//! yet), no snapshot or migration block left behind on the source, and the normal run must
//! succeed. The pools are simulated in this process, on loopback, so they outlive the killed
//! runs as a real pool outlives its clients.
//!
//! 20 trials by default; `LIFEBOAT_KILL_TRIALS=500 cargo test -p lifeboat-cli --test kill_cli`
//! runs a longer campaign, and `LIFEBOAT_KILL_SEED` replays one.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lifeboat_e2e::Pools;
use lifeboat_e2e::dr::{
    DB01, DR_SR, FIXTURE, JOB, NIGHTLY, WEB01, assert_only_complete_replicas, replicas,
};
use lifeboat_xapi::records::Vm;
use rand::{Rng, SeedableRng, rngs::StdRng};

/// The DR pipeline against the test's pools, reached over HTTP with their passwords from the
/// environment.
fn pipeline(pools: &Pools) -> String {
    let url = |name: &str| pools.sim.pool(name).unwrap().url.clone();
    format!(
        r#"
version: 1
name: Nightly DR
id: {JOB}
secrets:
  password: {{ env: POOL_PASSWORD }}
connections:
  production: {{ kind: xapi, url: "{}", username: root, password: "${{{{ secrets.password }}}}" }}
  recovery: {{ kind: xapi, url: "{}", username: root, password: "${{{{ secrets.password }}}}" }}
schedules:
  nightly: {{ cron: "0 2 * * *", id: {NIGHTLY} }}
steps:
  - id: replicate
    uses: dr-copy
    allow: {{ xapi: [production, recovery] }}
    for_each: {{ vms: {{ pool: production, uuids: [{WEB01}, {DB01}] }} }}
    max_parallel: 2
    with:
      vm: "${{{{ item.uuid }}}}"
      source: production
      target: recovery
      sr: {DR_SR}
      settings: {{ "": {{ copyRetention: 2 }} }}
"#,
        url("production"),
        url("recovery")
    )
}

fn start(file: &Path, cache: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["run", file.to_str().unwrap()])
        .env("POOL_PASSWORD", "secret")
        .env("XDG_CACHE_HOME", cache)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs the pipeline to its end; returns how long it took.
async fn run_whole(file: &Path, cache: &Path) -> Duration {
    let (file, cache) = (file.to_owned(), cache.to_owned());
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let output = start(&file, &cache).wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "a normal run after a killed one fails: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        started.elapsed()
    })
    .await
    .unwrap()
}

/// Starts the pipeline and kills it (SIGKILL) after `after`.
async fn run_killed(file: &Path, cache: &Path, after: Duration) {
    let (file, cache) = (file.to_owned(), cache.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut child = start(&file, &cache);
        std::thread::sleep(after);
        let _ = child.kill();
        let _ = child.wait();
    })
    .await
    .unwrap();
}

/// Waits until no VM of `pool` is in the middle of an operation: an import that a killed run
/// was feeding ends (and is removed) once the pool notices the connection closed.
async fn settle(pool: &lifeboat_xapi::Client) {
    for _ in 0..200 {
        let busy = pool
            .get_all_records::<Vm>()
            .await
            .unwrap()
            .into_values()
            .any(|vm| !vm.current_operations.is_empty());
        if !busy {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the pool stays busy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_anywhere_is_cleaned_up_by_the_next_one() {
    let trials: usize = std::env::var("LIFEBOAT_KILL_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("LIFEBOAT_KILL_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(rand::random);
    println!("LIFEBOAT_KILL_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let pools = Pools::start(FIXTURE).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dr.yaml");
    std::fs::write(&file, pipeline(&pools)).unwrap();
    let cache = dir.path().join("cache");
    // The first run compiles the component into the cache; the second gives the time a run
    // takes, within which the kills fall.
    run_whole(&file, &cache).await;
    let whole = run_whole(&file, &cache).await;

    let production = pools.client("production").await;
    let recovery = pools.client("recovery").await;
    for trial in 0..trials {
        let after = whole.mul_f64(rng.random_range(0.0..1.2));
        run_killed(&file, &cache, after).await;
        run_whole(&file, &cache).await;
        settle(&recovery).await;
        assert_only_complete_replicas(&recovery).await;
        for vm in [WEB01, DB01] {
            let kept = replicas(&recovery, vm, NIGHTLY, DR_SR).await.len();
            assert_eq!(
                kept, 2,
                "trial {trial} (killed after {after:?}): copyRetention 2 of {vm}"
            );
        }
        for (_, vm) in production.get_all_records::<Vm>().await.unwrap() {
            if vm.is_control_domain || vm.is_a_template && !vm.is_a_snapshot {
                continue;
            }
            assert!(
                !vm.is_a_snapshot,
                "trial {trial} (killed after {after:?}): snapshot {:?} left",
                vm.name_label
            );
            assert!(
                !vm.blocked_operations.contains_key("migrate_send"),
                "trial {trial} (killed after {after:?}): {} stays blocked",
                vm.name_label
            );
        }
    }
}
