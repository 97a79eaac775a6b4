//! The DR copy around what its users do between runs: a clone of a replica (made the way Xen
//! Orchestra's documentation and the replica's own message advise), a replica someone
//! unblocked or started, a half-made copy. Only real replicas of the job (its marks and `start`
//! blocked) are ever removed, and retention still keeps exactly `copyRetention` of them.

use lifeboat_e2e::dr::{
    DAY, DB01, DR_SR, FIXTURE, NIGHTLY, START, WEB01, dr, interrupted_copy, replicas, stamp, vm,
};
use lifeboat_e2e::{Harness, Pools, disks, raw, vms};
use lifeboat_executor::RunStatus;
use lifeboat_xapi::Client;
use lifeboat_xapi::records::{PowerState, Ref, Vm};

async fn same_bytes(source: &Client, source_vm: &Vm, copy: &Client, copy_vm: &Vm) {
    let originals = disks(source, source_vm).await;
    let copies = disks(copy, copy_vm).await;
    assert_eq!(originals.len(), copies.len(), "{}", copy_vm.name_label);
    for ((device, original), (_, copied)) in originals.iter().zip(&copies) {
        assert!(
            raw(source, original).await == raw(copy, copied).await,
            "disk {device} of {} differs from the source's",
            copy_vm.name_label
        );
    }
}

async fn unblock(pool: &Client, vm: &Ref<Vm>) {
    for operation in ["start", "start_on"] {
        pool.remove_map_entry(vm, "blocked_operations", operation)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_clone_of_a_replica_and_an_unblocked_replica_survive_the_next_runs() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let job = dr(
        &[WEB01, DB01],
        &[DR_SR],
        r#"{ "": { copyRetention: 2 } }"#,
        "",
    );
    for day in 0..2 {
        let (report, _) = harness.run(&job, START + day * DAY).await;
        assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    }
    let production = pools.client("production").await;
    let recovery = pools.client("recovery").await;

    // The user clones the newest replica of web01 (VM.clone copies other_config, marks
    // included, but not blocked_operations), and lifts the start block of db01's oldest.
    let web01_replicas = replicas(&recovery, WEB01, NIGHTLY, DR_SR).await;
    assert_eq!(web01_replicas.len(), 2);
    let clone = recovery
        .vm_clone(&web01_replicas[1].0, "web01 failover test")
        .await
        .unwrap();
    let db01_replicas = replicas(&recovery, DB01, NIGHTLY, DR_SR).await;
    assert_eq!(db01_replicas.len(), 2);
    let (unblocked, _) = db01_replicas[0].clone();
    unblock(&recovery, &unblocked).await;

    for day in 2..4 {
        let (report, _) = harness.run(&job, START + day * DAY).await;
        assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    }

    let left = vms(&recovery).await;
    let clone_vm = left.get(&clone).expect("the clone survives");
    let (_, web01) = vm(&production, WEB01).await;
    same_bytes(&production, &web01, &recovery, clone_vm).await;
    let unblocked_vm = left
        .get(&unblocked)
        .expect("the unblocked replica survives");
    let (_, db01) = vm(&production, DB01).await;
    same_bytes(&production, &db01, &recovery, unblocked_vm).await;

    for source in [WEB01, DB01] {
        let kept = replicas(&recovery, source, NIGHTLY, DR_SR).await;
        assert_eq!(kept.len(), 2, "copyRetention 2 for {source}");
        let days: Vec<u64> = kept
            .iter()
            .map(|(_, replica)| (stamp(replica) - START) / DAY)
            .collect();
        assert_eq!(days, [2, 3], "the two newest copies of {source}");
    }
    assert_eq!(
        left.len(),
        6,
        "two replicas per VM, the clone and the unblocked one"
    );
}

#[tokio::test]
async fn a_replica_in_use_is_never_destroyed() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let job = dr(&[DB01], &[DR_SR], r#"{ "": { copyRetention: 1 } }"#, "");
    harness.run(&job, START).await;
    let recovery = pools.client("recovery").await;
    let (started, _) = replicas(&recovery, DB01, NIGHTLY, DR_SR).await.remove(0);
    // Started by someone who lifted the block and set it again afterwards.
    unblock(&recovery, &started).await;
    recovery.vm_start(&started).await.unwrap();
    recovery
        .set_map_entry(&started, "blocked_operations", "start", "blocked again")
        .await
        .unwrap();

    let (report, _) = harness.run(&job, START + DAY).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    let left = vms(&recovery).await;
    assert_eq!(
        left.get(&started).map(|vm| vm.power_state),
        Some(PowerState::Running),
        "the running replica is still there, running"
    );
    let newest = replicas(&recovery, DB01, NIGHTLY, DR_SR).await;
    assert_eq!(newest.len(), 2, "the running one and the new copy");
}

#[tokio::test]
async fn only_a_start_blocked_copy_without_its_sr_mark_is_an_interrupted_copy() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let job = dr(&[DB01], &[DR_SR], r#"{ "": { copyRetention: 2 } }"#, "");
    harness.run(&job, START).await;
    let recovery = pools.client("recovery").await;
    let (replica, _) = replicas(&recovery, DB01, NIGHTLY, DR_SR).await.remove(0);
    // A copy whose transfer never completed: blocked and marked, without `xo:backup:sr`.
    let interrupted = interrupted_copy(&recovery, &replica, &[]).await;
    let interrupted_uuid = recovery.get_record(&interrupted).await.unwrap().uuid;
    // A user's clone that lost its SR mark too, but not blocked: it is theirs.
    let users = recovery.vm_clone(&replica, "someone's").await.unwrap();
    recovery
        .remove_map_entry(&users, "other_config", "xo:backup:sr")
        .await
        .unwrap();

    let (report, events) = harness.run(&job, START + DAY).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    let left = vms(&recovery).await;
    assert!(
        !left.contains_key(&interrupted),
        "the interrupted copy is gone"
    );
    assert!(left.contains_key(&users), "the user's clone stays");
    assert!(left.contains_key(&replica), "the complete copy stays");
    let removed = &report.steps[0].items[0].outputs.as_ref().unwrap()["removed"];
    assert_eq!(removed, &serde_json::json!([interrupted_uuid]));
    assert!(
        events
            .iter()
            .any(|e| e["message"] == "removing an interrupted copy"),
        "the removal is logged"
    );
}
