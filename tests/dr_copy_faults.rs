//! Faults during a DR copy leave the target with complete, marked, start-blocked replicas or
//! nothing, and the next normal run cleans up and succeeds: an import cut at several points, a
//! full SR, a failed snapshot. (Killed runs are in the CLI's tests: `kill -9` needs a process.)

use lifeboat_e2e::dr::{
    DAY, DR_SR, FIXTURE, NIGHTLY, SMALL_SR, START, WEB01, assert_only_complete_replicas, dr,
    replicas, snapshots_of,
};
use lifeboat_e2e::{Harness, Pools, vms};
use lifeboat_executor::RunStatus;
use lifeboat_sim::xapi::faults::Fault;

#[tokio::test]
async fn an_import_cut_anywhere_leaves_nothing_half_made() {
    // In the first tar header, in ova.xml, in the first disk, in the second disk.
    for after_bytes in [100, 2_000, 3 << 20, 10 << 20] {
        let pools = Pools::start(FIXTURE).await;
        let harness = Harness::new(&pools);
        let job = dr(&[WEB01], &[DR_SR], r#"{ "": { copyRetention: 2 } }"#, "");
        let (report, _) = harness.run(&job, START).await;
        assert_eq!(report.status, RunStatus::Success, "{report:#?}");
        pools.arm(
            "recovery",
            Fault::CutTransfer {
                handler: "import".into(),
                after_bytes,
            },
        );
        let (report, _) = harness.run(&job, START + DAY).await;
        assert_eq!(
            report.status,
            RunStatus::Failure,
            "cut after {after_bytes} bytes"
        );
        let recovery = pools.client("recovery").await;
        assert_only_complete_replicas(&recovery).await;
        assert_eq!(
            vms(&recovery).await.len(),
            1,
            "cut after {after_bytes} bytes"
        );

        let (report, _) = harness.run(&job, START + 2 * DAY).await;
        assert_eq!(report.status, RunStatus::Success, "{report:#?}");
        assert_only_complete_replicas(&recovery).await;
        assert_eq!(replicas(&recovery, WEB01, NIGHTLY, DR_SR).await.len(), 2);
        let production = pools.client("production").await;
        assert!(snapshots_of(&production, WEB01).await.is_empty());
    }
}

#[tokio::test]
async fn a_full_sr_leaves_nothing() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let (report, _) = harness
        .run(&dr(&[WEB01], &[SMALL_SR], "{}", ""), START)
        .await;
    assert_eq!(report.status, RunStatus::Failure);
    let error = report.steps[0].items[0].error.as_deref().unwrap();
    assert!(error.contains("SR_FULL"), "{error}");
    let recovery = pools.client("recovery").await;
    assert!(vms(&recovery).await.is_empty());
    let production = pools.client("production").await;
    assert!(snapshots_of(&production, WEB01).await.is_empty());
}

#[tokio::test]
async fn a_failed_snapshot_touches_nothing_and_the_next_run_succeeds() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let job = dr(&[WEB01], &[DR_SR], "{}", "");
    harness.run(&job, START).await;
    pools.arm(
        "production",
        Fault::Error {
            method: "VM.snapshot".into(),
            nth: 1,
            code: "SR_BACKEND_FAILURE_82".into(),
            params: vec!["injected".into()],
        },
    );
    let (report, events) = harness.run(&job, START + DAY).await;
    assert_eq!(report.status, RunStatus::Failure);
    let snapshot = events
        .iter()
        .find(|e| e["event"] == "task.start" && e["message"] == "snapshot")
        .unwrap();
    let end = lifeboat_e2e::end_of(&events, snapshot["taskId"].as_str().unwrap());
    assert_eq!(end["status"], "failure");
    assert_eq!(end["result"]["code"], "SR_BACKEND_FAILURE_82");
    let recovery = pools.client("recovery").await;
    assert_only_complete_replicas(&recovery).await;
    assert_eq!(vms(&recovery).await.len(), 1);
    let (_, web01) = lifeboat_e2e::dr::vm(&pools.client("production").await, WEB01).await;
    assert!(
        !web01.blocked_operations.contains_key("migrate_send"),
        "the migration block is lifted after a failure too"
    );

    let (report, _) = harness.run(&job, START + 2 * DAY).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    assert_only_complete_replicas(&recovery).await;
}
