//! The guards of DESIGN.md principle 2, through a real component against a simulated pool: a
//! component may destroy only what carries its job's mark or what its run created, and may
//! reach only the connections its step is granted.

mod common;

use std::sync::Arc;

use common::{Call, JOB, Recorded, connect, operation, runtime, simulator};
use lifeboat_runtime::{Limits, RunObjects, RuntimeError};
use lifeboat_xapi::records::Vm;
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
        disks: [{name: ours root, size: 4MiB}]
      - name: another job's
        uuid: 33333333-3333-4333-8333-333333333333
        other_config: {"xo:backup:job": "some-other-job"}
  - name: elsewhere
    password: secret
"#;

async fn vm_exists(pool: &lifeboat_runtime::PoolConnection, uuid: &str) -> bool {
    pool.client.get_by_uuid::<Vm>(uuid).await.is_ok()
}

#[tokio::test]
async fn destroying_a_vm_the_job_does_not_own_is_refused_and_logged() {
    assert_eq!(JOB, "7b0c4a9e-0000-4000-8000-00000000a001");
    let sim = simulator(FIXTURE).await;
    let lab = connect(&sim, "lab").await;
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let rogue = operation(&runtime, "rogue_destroyer");
    for uuid in [
        "11111111-1111-4111-8111-111111111111",
        "33333333-3333-4333-8333-333333333333",
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
async fn a_vm_with_the_jobs_mark_may_be_destroyed_with_its_disks() {
    let sim = simulator(FIXTURE).await;
    let lab = connect(&sim, "lab").await;
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let rogue = operation(&runtime, "rogue_destroyer");
    let ours = "22222222-2222-4222-8222-222222222222";
    let vm = lab.client.get_by_uuid::<Vm>(ours).await.unwrap();
    let record = lab.client.get_record(&vm).await.unwrap();
    let vbd = lab.client.get_record(&record.vbds[0]).await.unwrap();
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
        lab.client.get_record(&vbd.vdi).await.is_err(),
        "the VM's own disk went with it"
    );
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
