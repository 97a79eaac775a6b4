//! Bad input and bad components: each failure is a clear error attributed to its step and VM,
//! the job's other VMs go on, and nothing is destroyed that the job did not make.

use lifeboat_e2e::{Harness, Pools, component_path, digest_of, pipeline, vms};
use lifeboat_executor::{RunStatus, StepStatus};
use lifeboat_pipeline::Pipeline;
use lifeboat_runtime::TaskStatus;

const FIXTURE: &str = r#"
pools:
  - name: production
    password: secret
    srs: [{name: Local, size: 100GiB, default: true}]
    vms:
      - name: web01
        uuid: aaaaaaaa-0000-4000-8000-000000000001
        tags: [prod]
        disks: [{name: web01 root, size: 2MiB, content: {fill: 50, seed: 1}}]
      - name: db01
        uuid: aaaaaaaa-0000-4000-8000-000000000002
        tags: [prod]
        disks: [{name: db01 root, size: 2MiB, content: {fill: 50, seed: 2}}]
  - name: recovery
    password: secret
    srs: [{name: DR storage, uuid: bbbbbbbb-0000-4000-8000-000000000001, size: 100GiB, default: true}]
"#;

const WEB01: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const DB01: &str = "aaaaaaaa-0000-4000-8000-000000000002";

/// A pipeline running the test component `component` over both VMs, misbehaving on web01.
fn misbehaving(component: &str, timeout: &str) -> Pipeline {
    let path = component_path(component);
    pipeline(&format!(
        r#"
version: 1
name: misbehaving
connections:
  production: {{ kind: xapi, url: "sim://production" }}
components:
  suspect: {{ path: "{}", digest: "sha256:{}" }}
steps:
  - id: suspect-step
    uses: suspect
    allow: {{ xapi: [production] }}
    for_each: {{ vms: {{ pool: production, tags: [prod] }} }}
    continue_on_error: true
    timeout: {timeout}
    with: {{ vm: "${{{{ item.uuid }}}}", only: "{WEB01}" }}
"#,
        path.display(),
        digest_of(&path)
    ))
}

/// Runs `component` misbehaving on web01 and checks that web01 fails with a message holding
/// `expected`, attributed to the step and the VM, while db01 succeeds.
async fn only_the_victim_fails(component: &str, timeout: &str, expected: &str) {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let (report, events) = harness.run(&misbehaving(component, timeout), 0).await;
    assert_eq!(report.status, RunStatus::Partial, "{report:#?}");
    let step = &report.steps[0];
    assert_eq!(step.status, StepStatus::Partial);
    for item in &step.items {
        let vm = item.vm.as_ref().unwrap();
        if vm.uuid == WEB01 {
            assert_eq!(item.status, TaskStatus::Failure);
            let error = item.error.as_deref().unwrap();
            assert!(
                error.starts_with(&format!("step suspect-step, VM web01 ({WEB01}): ")),
                "{error}"
            );
            assert!(error.contains(expected), "{error}");
        } else {
            assert_eq!(vm.uuid, DB01);
            assert_eq!(item.status, TaskStatus::Success, "{item:?}");
        }
    }
    let failed_ends = events
        .iter()
        .filter(|e| e["event"] == "task.end" && e["status"] == "failure")
        .filter(|e| {
            e["result"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(WEB01))
        })
        .count();
    assert_eq!(
        failed_ends, 1,
        "web01's task ends as a failure with the message"
    );
}

#[tokio::test]
async fn a_component_that_crashes_fails_its_vm_only() {
    only_the_victim_fails("trap", "1m", "crashed").await;
}

#[tokio::test]
async fn a_component_that_loops_is_stopped_at_the_step_timeout() {
    only_the_victim_fails("spin", "1s", "ran past its deadline of 1.0 s").await;
}

#[tokio::test]
async fn a_component_that_exhausts_its_memory_fails_its_vm_only() {
    only_the_victim_fails("memory_hog", "1m", "exceeded its memory limit of 256 MiB").await;
}

#[tokio::test]
async fn a_component_cannot_destroy_vms_its_job_did_not_make() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let path = component_path("rogue_destroyer");
    let rogue = pipeline(&format!(
        r#"
version: 1
name: rogue
connections:
  production: {{ kind: xapi, url: "sim://production" }}
components:
  rogue: {{ path: "{}", digest: "sha256:{}" }}
steps:
  - id: destroy-everything
    uses: rogue
    allow: {{ xapi: [production] }}
    for_each: {{ vms: {{ pool: production, tags: [prod] }} }}
    continue_on_error: true
    with: {{ pool: production, vm: "${{{{ item.uuid }}}}" }}
"#,
        path.display(),
        digest_of(&path)
    ));
    let (report, events) = harness.run(&rogue, 0).await;
    assert_eq!(report.status, RunStatus::Failure, "nothing succeeded");
    for item in &report.steps[0].items {
        let error = item.error.as_deref().unwrap();
        assert!(error.contains("does not carry the mark of job"), "{error}");
    }
    let production = pools.client("production").await;
    assert_eq!(vms(&production).await.len(), 2, "both VMs are still there");
    let refusals = events
        .iter()
        .filter(|e| e["event"] == "task.warning" && e["message"] == "permission denied")
        .count();
    assert_eq!(refusals, 2, "each refusal is logged");
}

#[tokio::test]
async fn a_component_whose_digest_differs_is_not_run() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let path = component_path("noop");
    let tampered = pipeline(&format!(
        r#"
version: 1
name: tampered
components:
  noop: {{ path: "{}", digest: "sha256:{}" }}
steps:
  - id: step
    uses: noop
"#,
        path.display(),
        "0".repeat(64)
    ));
    let (report, _) = harness.run(&tampered, 0).await;
    assert_eq!(report.status, RunStatus::Failure);
    let error = report.steps[0].error.as_deref().unwrap();
    assert!(error.contains("refusing to run it"), "{error}");
    assert!(
        error.contains(&format!("has digest sha256:{}", digest_of(&path))),
        "{error}"
    );
}

#[tokio::test]
async fn a_pool_that_does_not_answer_fails_the_step_that_needs_it() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let unreachable = pipeline(
        r#"
version: 1
name: unreachable
secrets:
  password: { env: PATH }
connections:
  nowhere: { kind: xapi, url: "http://127.0.0.1:9/", username: root, password: "${{ secrets.password }}" }
steps:
  - id: first
    uses: dr-copy
    allow: { xapi: [nowhere] }
    for_each: { vms: { pool: nowhere, tags: [prod] } }
    with: { vm: "${{ item.uuid }}", source: nowhere, target: nowhere, sr: x }
  - id: second
    uses: dr-copy
    allow: { xapi: [nowhere] }
    with: { vm: x, source: nowhere, target: nowhere, sr: x }
"#,
    );
    let (report, _) = harness.run(&unreachable, 0).await;
    assert_eq!(report.status, RunStatus::Failure);
    let error = report.steps[0].error.as_deref().unwrap();
    assert!(
        error.starts_with("step first: connection \"nowhere\""),
        "{error}"
    );
    assert_eq!(report.steps[1].status, StepStatus::Skipped);
}

#[tokio::test]
async fn a_missing_secret_is_named_before_anything_runs() {
    let missing = pipeline(
        r#"
version: 1
name: secretless
secrets:
  password: { env: LIFEBOAT_TEST_SECRET_THAT_IS_NOT_SET }
connections:
  pool: { kind: xapi, url: "https://pool.invalid", username: root, password: "${{ secrets.password }}" }
steps:
  - id: step
    uses: dr-copy
    allow: { xapi: [pool] }
    with: { vm: x, source: pool, target: pool, sr: x }
"#,
    );
    let error = lifeboat_pipeline::resolve_secrets(&missing)
        .unwrap_err()
        .to_string();
    assert!(error.contains("password"), "{error}");
    assert!(
        error.contains("LIFEBOAT_TEST_SECRET_THAT_IS_NOT_SET"),
        "{error}"
    );
}

#[tokio::test]
async fn a_cut_transfer_leaves_no_copy_that_looks_complete() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    pools
        .sim
        .pool("production")
        .unwrap()
        .pool
        .arm(lifeboat_sim::xapi::faults::Fault::CutTransfer {
            handler: "export".into(),
            after_bytes: 1 << 20,
        })
        .unwrap();
    let dr = pipeline(
        r#"
version: 1
name: cut
connections:
  production: { kind: xapi, url: "sim://production" }
  recovery: { kind: xapi, url: "sim://recovery" }
steps:
  - id: replicate
    uses: dr-copy
    allow: { xapi: [production, recovery] }
    for_each: { vms: { pool: production, uuids: [aaaaaaaa-0000-4000-8000-000000000001] } }
    with: { vm: "${{ item.uuid }}", source: production, target: recovery, sr: bbbbbbbb-0000-4000-8000-000000000001 }
"#,
    );
    let (report, _) = harness.run(&dr, 0).await;
    assert_eq!(report.status, RunStatus::Failure, "{report:#?}");
    let error = report.steps[0].items[0].error.as_deref().unwrap();
    assert!(
        error.starts_with(&format!("step replicate, VM web01 ({WEB01})")),
        "{error}"
    );
    // The target fails the import once it sees its connection close, and then removes what
    // it had begun; until then no VM there may look like a complete copy.
    let recovery = pools.client("recovery").await;
    for _ in 0..100 {
        let left = vms(&recovery).await;
        for vm in left.values() {
            assert!(
                !vm.other_config.contains_key("xo:backup:sr"),
                "{} looks complete",
                vm.name_label
            );
        }
        if left.is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the failed import was never removed: {:?}",
        vms(&recovery).await
    );
}
