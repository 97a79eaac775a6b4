//! The target side of the DR copy: removals that never leave fewer copies than promised
//! (`deleteFirst` only once the snapshot exists and the export started; an old copy's
//! snapshots go with it, a disk another VM uses stays; a copy that cannot be removed is a
//! warning), several SRs fed from one export with their own retention, an SR that fails
//! dropped with a warning, and compressed exports.

use lifeboat_e2e::dr::{
    DAY, DB01, DR_SR, FIXTURE, NIGHTLY, SECOND_SR, SMALL_SR, START, WEB01, dr, interrupted_copy,
    replicas, vm,
};
use lifeboat_e2e::{Harness, Pools, children, disks, end_of, raw, vms, warnings};
use lifeboat_executor::RunStatus;
use lifeboat_sim::xapi::faults::Fault;

#[tokio::test]
async fn delete_first_deletes_nothing_when_the_snapshot_fails() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let job = dr(
        &[WEB01],
        &[DR_SR],
        r#"{ "": { copyRetention: 1, deleteFirst: true } }"#,
        "",
    );
    harness.run(&job, START).await;
    let recovery = pools.client("recovery").await;
    let before = replicas(&recovery, WEB01, NIGHTLY, DR_SR).await;
    assert_eq!(before.len(), 1);
    pools.arm(
        "production",
        Fault::Error {
            method: "VM.snapshot".into(),
            nth: 1,
            code: "SR_BACKEND_FAILURE_44".into(),
            params: vec!["injected".into()],
        },
    );
    let (report, _) = harness.run(&job, START + DAY).await;
    assert_eq!(report.status, RunStatus::Failure);
    assert_eq!(replicas(&recovery, WEB01, NIGHTLY, DR_SR).await, before);

    // With the snapshot taken and the export started, the old copy makes room first.
    let (report, _) = harness.run(&job, START + 2 * DAY).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    let after = replicas(&recovery, WEB01, NIGHTLY, DR_SR).await;
    assert_eq!(after.len(), 1);
    assert_ne!(after[0].0, before[0].0);
}

#[tokio::test]
async fn delete_first_deletes_nothing_when_the_export_cannot_start() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let job = dr(
        &[DB01],
        &[DR_SR],
        r#"{ "": { copyRetention: 1, deleteFirst: true } }"#,
        "",
    );
    harness.run(&job, START).await;
    let recovery = pools.client("recovery").await;
    let before = replicas(&recovery, DB01, NIGHTLY, DR_SR).await;
    let production = pools.client("production").await;
    let (db01, _) = vm(&production, DB01).await;
    production
        .set_map_entry(&db01, "blocked_operations", "export", "not today")
        .await
        .unwrap();
    let (report, events) = harness.run(&job, START + DAY).await;
    assert_eq!(report.status, RunStatus::Failure);
    assert_eq!(replicas(&recovery, DB01, NIGHTLY, DR_SR).await, before);
    let export = events
        .iter()
        .find(|e| e["event"] == "task.start" && e["message"] == "export")
        .unwrap();
    let id = export["taskId"].as_str().unwrap();
    assert_eq!(end_of(&events, id)["status"], "failure");
    assert!(
        children(&events, id).is_empty(),
        "neither clean nor transfer ran"
    );
}

#[tokio::test]
async fn an_old_copy_goes_with_its_snapshots_but_not_with_a_disk_another_vm_uses() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let job = dr(&[DB01], &[DR_SR], r#"{ "": { copyRetention: 1 } }"#, "");
    harness.run(&job, START).await;
    let recovery = pools.client("recovery").await;
    let (old, old_record) = replicas(&recovery, DB01, NIGHTLY, DR_SR).await.remove(0);
    let snapshot = recovery
        .vm_snapshot(&old, "before testing", &[])
        .await
        .unwrap();
    let (_, old_disk) = disks(&recovery, &old_record).await.remove(0);
    // Someone attaches the old copy's disk to a VM of their own.
    let users = recovery.vm_clone(&old, "someone's").await.unwrap();
    recovery
        .vbd_create(&users, &old_disk, "3", false)
        .await
        .unwrap();

    let (report, _) = harness.run(&job, START + DAY).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    let left = vms(&recovery).await;
    assert!(!left.contains_key(&old), "the old copy is gone");
    assert!(
        recovery.get_record(&snapshot).await.is_err(),
        "its snapshot too"
    );
    assert!(left.contains_key(&users));
    assert!(
        recovery.get_record(&old_disk).await.is_ok(),
        "the disk another VM uses stays"
    );
}

#[tokio::test]
async fn a_copy_that_cannot_be_removed_is_a_warning() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let job = dr(&[DB01], &[DR_SR], r#"{ "": { copyRetention: 1 } }"#, "");
    harness.run(&job, START).await;
    let recovery = pools.client("recovery").await;
    let (replica, _) = replicas(&recovery, DB01, NIGHTLY, DR_SR).await.remove(0);
    let interrupted = interrupted_copy(&recovery, &replica, &[("destroy", "kept by hand")]).await;

    let (report, events) = harness.run(&job, START + DAY).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    assert!(vms(&recovery).await.contains_key(&interrupted));
    let clean = events
        .iter()
        .find(|e| e["event"] == "task.start" && e["message"] == "clean")
        .unwrap();
    let warned = warnings(&events, clean["taskId"].as_str().unwrap());
    assert!(
        warned
            .iter()
            .any(|w| w.contains("stays") && w.contains("kept by hand")),
        "{warned:?}"
    );
}

#[tokio::test]
async fn one_export_feeds_every_sr_and_each_keeps_its_own_count() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let settings =
        format!(r#"{{ "": {{ copyRetention: 2 }}, "{SECOND_SR}": {{ copyRetention: 1 }} }}"#);
    let job = dr(&[WEB01], &[DR_SR, SECOND_SR], &settings, "");
    for day in 0..3 {
        let (report, events) = harness.run(&job, START + day * DAY).await;
        assert_eq!(report.status, RunStatus::Success, "{report:#?}");
        let exports = events
            .iter()
            .filter(|e| e["event"] == "task.start" && e["message"] == "export")
            .count();
        assert_eq!(exports, 2, "one export task per SR");
    }
    let recovery = pools.client("recovery").await;
    assert_eq!(replicas(&recovery, WEB01, NIGHTLY, DR_SR).await.len(), 2);
    assert_eq!(
        replicas(&recovery, WEB01, NIGHTLY, SECOND_SR).await.len(),
        1
    );
}

#[tokio::test]
async fn a_full_sr_is_dropped_with_a_warning_and_the_others_complete() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let job = dr(&[WEB01], &[SMALL_SR, DR_SR], "{}", "");
    let (report, events) = harness.run(&job, START).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    let recovery = pools.client("recovery").await;
    assert_eq!(replicas(&recovery, WEB01, NIGHTLY, DR_SR).await.len(), 1);
    assert!(
        replicas(&recovery, WEB01, NIGHTLY, SMALL_SR)
            .await
            .is_empty()
    );
    assert_eq!(
        vms(&recovery).await.len(),
        1,
        "nothing left of the failed import"
    );
    let vm_task = events
        .iter()
        .find(|e| e["event"] == "task.start" && e["data"]["type"] == "VM")
        .unwrap();
    let warned = warnings(&events, vm_task["taskId"].as_str().unwrap());
    assert!(
        warned
            .iter()
            .any(|w| w.contains(SMALL_SR) && w.contains("SR_FULL")),
        "{warned:?}"
    );

    // With no SR left, the copy fails.
    let (report, _) = harness
        .run(&dr(&[WEB01], &[SMALL_SR], "{}", ""), START + DAY)
        .await;
    assert_eq!(report.status, RunStatus::Failure);
    let error = report.steps[0].items[0].error.as_deref().unwrap();
    assert!(error.contains("all targets have failed"), "{error}");
}

#[tokio::test]
async fn compressed_exports_make_the_same_replicas() {
    for compression in ["gzip", "zstd", "native"] {
        let pools = Pools::start(FIXTURE).await;
        let harness = Harness::new(&pools);
        let job = dr(
            &[WEB01, DB01],
            &[DR_SR],
            "{}",
            &format!("compression: {compression}"),
        );
        let (report, _) = harness.run(&job, START).await;
        assert_eq!(
            report.status,
            RunStatus::Success,
            "{compression}: {report:#?}"
        );
        let production = pools.client("production").await;
        let recovery = pools.client("recovery").await;
        for source in [WEB01, DB01] {
            let (_, original) = vm(&production, source).await;
            let (_, replica) = replicas(&recovery, source, NIGHTLY, DR_SR).await.remove(0);
            let originals = disks(&production, &original).await;
            let copies = disks(&recovery, &replica).await;
            assert_eq!(originals.len(), copies.len());
            for ((_, a), (_, b)) in originals.iter().zip(&copies) {
                assert!(
                    raw(&production, a).await == raw(&recovery, b).await,
                    "{compression}"
                );
            }
        }
    }
}
