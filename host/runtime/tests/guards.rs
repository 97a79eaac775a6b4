//! The guards of DESIGN.md principle 2, through a real component against a simulated pool: a
//! component may destroy only what its run created or what is provably its job's (marked, and
//! for a VM that is not a snapshot, start-blocked and halted), never a disk in someone's use;
//! may change only what carries its mark, but for the migration block of a backup; may power
//! only its own VMs and, cleanly, the VM it runs for; and may reach only the connections its
//! step is granted.

mod common;

use std::sync::Arc;

use common::{Call, JOB, Recorded, connect, operation, runtime, simulator};
use lifeboat_runtime::{Limits, RunObjects, RuntimeError};
use lifeboat_xapi::records::{Ref, Vdi, Vm};
use serde_json::json;

const FIXTURE: &str = r#"
pools:
  - name: lab
    password: secret
    srs: [{name: Local, size: 100GiB, default: true}]
    vms:
      - name: precious
        uuid: 11111111-1111-4111-8111-111111111111
        disks: [{name: precious root, size: 4MiB, content: {fill: 50, seed: 1}}]
      - name: ours
        uuid: 22222222-2222-4222-8222-222222222222
        other_config: {"xo:backup:job": "7b0c4a9e-0000-4000-8000-00000000a001"}
        blocked_operations: {start: "a replica", start_on: "a replica"}
        disks: [{name: ours root, size: 4MiB}]
      - name: a clone of ours
        uuid: 44444444-4444-4444-8444-444444444444
        other_config: {"xo:backup:job": "7b0c4a9e-0000-4000-8000-00000000a001"}
        disks: [{name: clone root, size: 4MiB}]
      - name: ours, running
        uuid: 55555555-5555-4555-8555-555555555555
        power_state: Running
        other_config: {"xo:backup:job": "7b0c4a9e-0000-4000-8000-00000000a001"}
        blocked_operations: {start: "a replica"}
      - name: another job's
        uuid: 33333333-3333-4333-8333-333333333333
        other_config: {"xo:backup:job": "some-other-job"}
  - name: elsewhere
    password: secret
"#;

async fn vm_exists(pool: &lifeboat_runtime::PoolConnection, uuid: &str) -> bool {
    pool.client.get_by_uuid::<Vm>(uuid).await.is_ok()
}

/// The VM `uuid` of `pool`, and the disk of its first VBD.
async fn vm_and_disk(pool: &lifeboat_runtime::PoolConnection, uuid: &str) -> (Ref<Vm>, Ref<Vdi>) {
    let vm = pool.client.get_by_uuid::<Vm>(uuid).await.unwrap();
    (vm.clone(), first_disk(pool, &vm).await)
}

async fn first_disk(pool: &lifeboat_runtime::PoolConnection, vm: &Ref<Vm>) -> Ref<Vdi> {
    let record = pool.client.get_record(vm).await.unwrap();
    pool.client.get_record(&record.vbds[0]).await.unwrap().vdi
}

#[tokio::test]
async fn destroying_a_vm_the_job_does_not_own_is_refused_and_logged() {
    assert_eq!(JOB, "7b0c4a9e-0000-4000-8000-00000000a001");
    let sim = simulator(FIXTURE).await;
    let lab = connect(&sim, "lab").await;
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let rogue = operation(&runtime, "rogue_destroyer");
    for (uuid, why) in [
        (
            "11111111-1111-4111-8111-111111111111",
            "does not carry the mark",
        ),
        (
            "33333333-3333-4333-8333-333333333333",
            "does not carry the mark",
        ),
        (
            "44444444-4444-4444-8444-444444444444",
            "its start is not blocked",
        ),
        (
            "55555555-5555-4555-8555-555555555555",
            "a VM in use is never destroyed",
        ),
    ] {
        let events = Arc::new(Recorded::default());
        let error = rogue
            .call(
                std::slice::from_ref(&lab),
                Arc::new(RunObjects::default()),
                events.clone(),
                &json!({ "pool": "lab", "vm": uuid }),
                Limits::default(),
            )
            .await
            .unwrap_err();
        let RuntimeError::Failed(failure) = &error else {
            panic!("expected the operation's failure, got {error:?}");
        };
        assert_eq!(failure.kind, "permission-denied", "{failure:?}");
        assert!(failure.message.contains(uuid), "{}", failure.message);
        assert!(failure.message.contains(why), "{}", failure.message);
        assert!(vm_exists(&lab, uuid).await, "VM {uuid} was destroyed");
        let warnings = events.warnings();
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("permission denied") && w.contains(uuid)),
            "{warnings:?}"
        );
    }
}

#[tokio::test]
async fn a_replica_of_the_job_may_be_destroyed_with_its_disks_and_snapshots() {
    let sim = simulator(FIXTURE).await;
    let lab = connect(&sim, "lab").await;
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let rogue = operation(&runtime, "rogue_destroyer");
    let ours = "22222222-2222-4222-8222-222222222222";
    let (vm, own_disk) = vm_and_disk(&lab, ours).await;
    let snapshot = lab.client.vm_snapshot(&vm, "someone's", &[]).await.unwrap();
    let snapshot_disk = first_disk(&lab, &snapshot).await;
    // A second disk of ours that precious uses too.
    let (_, precious_disk) = vm_and_disk(&lab, "11111111-1111-4111-8111-111111111111").await;
    lab.client
        .vbd_create(&vm, &precious_disk, "1", false)
        .await
        .unwrap();
    rogue
        .call(
            std::slice::from_ref(&lab),
            Arc::new(RunObjects::default()),
            Arc::default(),
            &json!({ "pool": "lab", "vm": ours }),
            Limits::default(),
        )
        .await
        .unwrap();
    assert!(!vm_exists(&lab, ours).await);
    assert!(
        lab.client.get_record(&own_disk).await.is_err(),
        "the VM's own disk went with it"
    );
    assert!(
        lab.client.get_record(&snapshot).await.is_err(),
        "and its snapshot"
    );
    assert!(lab.client.get_record(&snapshot_disk).await.is_err());
    assert!(
        lab.client.get_record(&precious_disk).await.is_ok(),
        "a disk another VM uses stays"
    );
}

#[tokio::test]
async fn a_disk_in_someones_use_is_not_destroyed_even_when_marked() {
    let sim = simulator(FIXTURE).await;
    let lab = connect(&sim, "lab").await;
    let (_, disk) = vm_and_disk(&lab, "22222222-2222-4222-8222-222222222222").await;
    let clone = lab
        .client
        .get_by_uuid::<Vm>("44444444-4444-4444-8444-444444444444")
        .await
        .unwrap();
    lab.client
        .vbd_create(&clone, &disk, "1", false)
        .await
        .unwrap();
    let uuid = lab.client.get_record(&disk).await.unwrap().uuid;
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let error = operation(&runtime, "rogue_destroyer")
        .call(
            std::slice::from_ref(&lab),
            Arc::new(RunObjects::default()),
            Arc::default(),
            &json!({ "pool": "lab", "vdi": uuid }),
            Limits::default(),
        )
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("its start is not blocked"),
        "{error}"
    );
    assert!(lab.client.get_record(&disk).await.is_ok());
}

/// Runs the rogue component's `action` on `vm`, in a run for `item` (its `for_each` VM).
async fn act(
    lab: &Arc<lifeboat_runtime::PoolConnection>,
    vm: &str,
    action: &str,
    item: Option<&str>,
) -> Result<serde_json::Value, RuntimeError> {
    act_on(
        lab,
        json!({ "pool": "lab", "vm": vm, "action": action }),
        item,
    )
    .await
}

async fn act_on(
    lab: &Arc<lifeboat_runtime::PoolConnection>,
    params: serde_json::Value,
    item: Option<&str>,
) -> Result<serde_json::Value, RuntimeError> {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let rogue = operation(&runtime, "rogue_destroyer");
    let mut env = common::env(
        "rogue_destroyer",
        common::context(1),
        std::slice::from_ref(lab),
        Arc::new(RunObjects::default()),
        Arc::default(),
    );
    env.item_vm = item.map(str::to_owned);
    rogue.run(env, &params, Limits::default()).await
}

#[tokio::test]
async fn a_clone_of_a_replica_is_not_the_jobs_though_it_carries_the_mark() {
    let sim = simulator(FIXTURE).await;
    let lab = connect(&sim, "lab").await;
    let clone = "44444444-4444-4444-8444-444444444444";
    for action in ["rename", "block_start", "start", "force_shutdown"] {
        let error = act(&lab, clone, action, None).await.unwrap_err();
        assert!(
            error.to_string().contains("its start is not blocked"),
            "{action}: {error}"
        );
    }
    let (vm, disk) = vm_and_disk(&lab, clone).await;
    let disk_uuid = lab.client.get_record(&disk).await.unwrap().uuid;
    let error = act_on(
        &lab,
        json!({ "pool": "lab", "vdi": disk_uuid, "action": "mark_disk" }),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("which is not the job's"),
        "{error}"
    );
    let record = lab.client.get_record(&vm).await.unwrap();
    assert_eq!(record.name_label, "a clone of ours");
    assert!(record.blocked_operations.is_empty());

    // The job may still take its marks off it (and off its disk), as before a snapshot.
    act_on(
        &lab,
        json!({ "pool": "lab", "vdi": disk_uuid, "action": "clear_disk_mark" }),
        None,
    )
    .await
    .unwrap();
    act(&lab, clone, "clear_mark", None).await.unwrap();
    let record = lab.client.get_record(&vm).await.unwrap();
    assert!(!record.other_config.contains_key("xo:backup:job"));
    // Which is all it may do to a VM that is not its own.
    let precious = "11111111-1111-4111-8111-111111111111";
    lab.client
        .set_map_entry(
            &lab.client.get_by_uuid::<Vm>(precious).await.unwrap(),
            "other_config",
            "xo:backup:job",
            "some-other-job",
        )
        .await
        .unwrap();
    let error = act(&lab, precious, "clear_mark", None).await.unwrap_err();
    assert!(
        error.to_string().contains("does not carry the mark"),
        "{error}"
    );
}

#[tokio::test]
async fn any_vm_may_have_its_migration_blocked_for_a_backup_and_nothing_else() {
    let sim = simulator(FIXTURE).await;
    let lab = connect(&sim, "lab").await;
    let precious = "11111111-1111-4111-8111-111111111111";
    let blocks = async || {
        let vm = lab.client.get_by_uuid::<Vm>(precious).await.unwrap();
        lab.client.get_record(&vm).await.unwrap().blocked_operations
    };
    act(&lab, precious, "block_migration", None).await.unwrap();
    assert_eq!(
        blocks().await["migrate_send"],
        "VM migration is blocked during backup"
    );
    act(&lab, precious, "unblock_migration", None)
        .await
        .unwrap();
    assert!(blocks().await.is_empty());
    for refused in ["block_migration_otherwise", "rename"] {
        let error = act(&lab, precious, refused, None).await.unwrap_err();
        assert!(
            error.to_string().contains("may be blocked with the reason"),
            "{refused}: {error}"
        );
    }
    let vm = lab.client.get_by_uuid::<Vm>(precious).await.unwrap();
    let record = lab.client.get_record(&vm).await.unwrap();
    assert_eq!(record.name_label, "precious");
    assert!(record.blocked_operations.is_empty());
}

#[tokio::test]
async fn only_the_vm_a_run_is_for_may_be_shut_down_cleanly_and_started() {
    let sim = simulator(FIXTURE).await;
    let lab = connect(&sim, "lab").await;
    let precious = "11111111-1111-4111-8111-111111111111";
    let error = act(&lab, precious, "start", None).await.unwrap_err();
    assert!(error.to_string().contains("for_each item"), "{error}");
    act(&lab, precious, "start", Some(precious)).await.unwrap();
    let error = act(&lab, precious, "force_shutdown", Some(precious))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("for_each item"), "{error}");
    act(&lab, precious, "shutdown", Some(precious))
        .await
        .unwrap();
    let other = "33333333-3333-4333-8333-333333333333";
    let error = act(&lab, other, "start", Some(precious)).await.unwrap_err();
    assert!(error.to_string().contains("for_each item"), "{error}");
}

#[tokio::test]
async fn a_snapshot_left_under_the_temporary_name_may_be_destroyed() {
    let sim = simulator(FIXTURE).await;
    let lab = connect(&sim, "lab").await;
    let precious = lab
        .client
        .get_by_uuid::<Vm>("11111111-1111-4111-8111-111111111111")
        .await
        .unwrap();
    let leftover = lab
        .client
        .vm_snapshot(&precious, "xo-backup-temp-snapshot-name", &[])
        .await
        .unwrap();
    let uuid = lab.client.get_record(&leftover).await.unwrap().uuid;
    act(&lab, &uuid, "destroy", None).await.unwrap();
    assert!(!vm_exists(&lab, &uuid).await);
}

#[tokio::test]
async fn a_vm_this_run_created_may_be_destroyed() {
    let sim = simulator(FIXTURE).await;
    let lab = connect(&sim, "lab").await;
    let precious = lab
        .client
        .get_by_uuid::<Vm>("11111111-1111-4111-8111-111111111111")
        .await
        .unwrap();
    let clone = lab
        .client
        .vm_clone(&precious, "made by this run")
        .await
        .unwrap();
    let clone_uuid = lab.client.get_record(&clone).await.unwrap().uuid;
    let objects = Arc::new(RunObjects::default());
    objects.record("lab", clone.as_str());
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    operation(&runtime, "rogue_destroyer")
        .call(
            std::slice::from_ref(&lab),
            objects,
            Arc::default(),
            &json!({ "pool": "lab", "vm": clone_uuid }),
            Limits::default(),
        )
        .await
        .unwrap();
    assert!(!vm_exists(&lab, &clone_uuid).await);
}

#[tokio::test]
async fn destroying_a_disk_the_job_does_not_own_is_refused() {
    let sim = simulator(FIXTURE).await;
    let lab = connect(&sim, "lab").await;
    let precious = lab
        .client
        .get_by_uuid::<Vm>("11111111-1111-4111-8111-111111111111")
        .await
        .unwrap();
    let record = lab.client.get_record(&precious).await.unwrap();
    let vbd = lab.client.get_record(&record.vbds[0]).await.unwrap();
    let disk = lab.client.get_record(&vbd.vdi).await.unwrap();
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let error = operation(&runtime, "rogue_destroyer")
        .call(
            std::slice::from_ref(&lab),
            Arc::new(RunObjects::default()),
            Arc::default(),
            &json!({ "pool": "lab", "vdi": disk.uuid }),
            Limits::default(),
        )
        .await
        .unwrap_err();
    let RuntimeError::Failed(failure) = &error else {
        panic!("expected the operation's failure, got {error:?}");
    };
    assert_eq!(failure.kind, "permission-denied");
    assert!(failure.message.contains(&disk.uuid), "{}", failure.message);
    assert!(
        lab.client.get_record(&vbd.vdi).await.is_ok(),
        "the disk is still there"
    );

    // A disk of a VM that carries the job's mark goes.
    let ours = lab
        .client
        .get_by_uuid::<Vm>("22222222-2222-4222-8222-222222222222")
        .await
        .unwrap();
    let ours = lab.client.get_record(&ours).await.unwrap();
    let ours_vbd = lab.client.get_record(&ours.vbds[0]).await.unwrap();
    let ours_disk = lab.client.get_record(&ours_vbd.vdi).await.unwrap();
    operation(&runtime, "rogue_destroyer")
        .call(
            std::slice::from_ref(&lab),
            Arc::new(RunObjects::default()),
            Arc::default(),
            &json!({ "pool": "lab", "vdi": ours_disk.uuid }),
            Limits::default(),
        )
        .await
        .unwrap();
    assert!(
        lab.client.get_record(&ours_vbd.vdi).await.is_err(),
        "the marked VM's disk is gone"
    );
}

#[tokio::test]
async fn a_connection_the_step_is_not_granted_is_refused() {
    let sim = simulator(FIXTURE).await;
    let lab = connect(&sim, "lab").await;
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let error = operation(&runtime, "rogue_destroyer")
        .call(
            &[lab],
            Arc::new(RunObjects::default()),
            Arc::default(),
            &json!({ "pool": "elsewhere", "vm": "11111111-1111-4111-8111-111111111111" }),
            Limits::default(),
        )
        .await
        .unwrap_err();
    let RuntimeError::Failed(failure) = &error else {
        panic!("expected the operation's failure, got {error:?}");
    };
    assert_eq!(failure.kind, "permission-denied");
    assert!(
        failure.message.contains("\"elsewhere\""),
        "{}",
        failure.message
    );
}
