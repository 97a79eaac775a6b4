//! The built-in DR copy, run by the runtime against two simulated pools: replicas named,
//! tagged, blocked and marked as Xen Orchestra makes them, with the source's bytes, rolling
//! retention through the keep-last policy, and interrupted copies removed.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{JOB, Recorded, SCHEDULE, connect, context, env, runtime, simulator};
use lifeboat_runtime::{Limits, PoolConnection, RunObjects};
use lifeboat_xapi::RawFormat;
use lifeboat_xapi::records::{Ref, Vdi, Vm};
use serde_json::{Value, json};

const FIXTURE: &str = r#"
pools:
  - name: production
    password: secret
    srs: [{name: Local, size: 100GiB, default: true}]
    vms:
      - name: web01
        uuid: aaaaaaaa-0000-4000-8000-000000000001
        power_state: Running
        disks:
          - {name: web01 root, size: 8MiB, content: {fill: 60, seed: 11}}
          - {name: web01 data, size: 4MiB, content: {fill: 30, seed: 12}}
      - name: db01
        uuid: aaaaaaaa-0000-4000-8000-000000000002
        power_state: Halted
        disks: [{name: db01 root, size: 6MiB, content: {fill: 50, seed: 13}}]
  - name: recovery
    password: secret
    srs: [{name: DR storage, uuid: bbbbbbbb-0000-4000-8000-000000000001, size: 100GiB, default: true}]
"#;

const DR_SR: &str = "bbbbbbbb-0000-4000-8000-000000000001";
const WEB01: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const DAY: u64 = 86_400_000;
/// 2024-11-02T03:04:05Z.
const START: u64 = 1_730_516_645_000;

struct Pools {
    _sim: lifeboat_sim::xapi::Simulator,
    production: Arc<PoolConnection>,
    recovery: Arc<PoolConnection>,
}

async fn pools() -> Pools {
    let sim = simulator(FIXTURE).await;
    Pools {
        production: connect(&sim, "production").await,
        recovery: connect(&sim, "recovery").await,
        _sim: sim,
    }
}

/// Runs dr-copy for `vm` at `now_ms` with `settings`.
async fn copy(pools: &Pools, vm: &str, now_ms: u64, settings: Value) -> Result<Value, String> {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let (dr_copy, _) = runtime
        .load_operation("dr-copy", lifeboat_builtins::DR_COPY)
        .unwrap();
    let (keep_last, _) = runtime
        .load_policy("keep-last", lifeboat_builtins::KEEP_LAST, Limits::POLICY)
        .unwrap();
    let mut env = env(
        "dr-copy",
        context(now_ms),
        &[pools.production.clone(), pools.recovery.clone()],
        Arc::new(RunObjects::default()),
        Arc::new(Recorded::default()),
    );
    env.policy = Some(keep_last);
    let params = json!({
        "vm": vm, "source": "production", "target": "recovery", "sr": DR_SR,
        "settings": settings,
    });
    dr_copy
        .run(env, &params, Limits::default())
        .await
        .map_err(|error| error.to_string())
}

/// The VMs on the recovery pool that are not templates or the control domain.
async fn replicas(pool: &PoolConnection) -> BTreeMap<Ref<Vm>, Vm> {
    pool.client
        .get_all_records::<Vm>()
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, vm)| !vm.is_a_template && !vm.is_control_domain)
        .collect()
}

async fn disks(pool: &PoolConnection, vm: &Vm) -> Vec<(String, Ref<Vdi>)> {
    let mut disks = Vec::new();
    for vbd in &vm.vbds {
        let vbd = pool.client.get_record(vbd).await.unwrap();
        disks.push((vbd.userdevice, vbd.vdi));
    }
    disks.sort();
    disks
}

async fn raw(pool: &PoolConnection, vdi: &Ref<Vdi>) -> Vec<u8> {
    let mut download = pool
        .client
        .export_raw_vdi(vdi, RawFormat::Raw, None)
        .await
        .unwrap();
    let mut bytes = Vec::new();
    while let Some(chunk) = download.chunk().await.unwrap() {
        bytes.extend_from_slice(&chunk);
    }
    download.finish().await.unwrap();
    bytes
}

#[tokio::test]
async fn a_replica_is_marked_as_xen_orchestra_marks_it_and_holds_the_source_disks() {
    let pools = pools().await;
    let outputs = copy(&pools, WEB01, START, json!({ "": { "copyRetention": 2 } }))
        .await
        .unwrap();
    let made = replicas(&pools.recovery).await;
    assert_eq!(made.len(), 1);
    let (_, replica) = made.iter().next().unwrap();
    // Named after the time right after its snapshot, a moment after the run's start.
    let datetime = &replica.other_config["xo:backup:datetime"];
    assert!(datetime.starts_with("20241102T03:04:"), "{datetime}");
    let seconds = &datetime[15..17];
    assert_eq!(
        replica.name_label,
        format!("web01 - Nightly DR - (20241102T0304{seconds}Z)")
    );
    assert!(
        replica.tags.contains(&"Disaster Recovery".to_owned()),
        "{:?}",
        replica.tags
    );
    let blocked = "Start operation for this vm is blocked, clone it if you want to use it.";
    assert_eq!(
        replica.blocked_operations.get("start").map(String::as_str),
        Some(blocked)
    );
    assert_eq!(
        replica
            .blocked_operations
            .get("start_on")
            .map(String::as_str),
        Some(blocked)
    );
    let marks = &replica.other_config;
    assert_eq!(marks["xo:backup:job"], JOB);
    assert_eq!(marks["xo:backup:schedule"], SCHEDULE);
    assert_eq!(marks["xo:backup:vm"], WEB01);
    assert_eq!(marks["xo:backup:sr"], DR_SR);
    assert_eq!(outputs["replicas"][0]["vm"], json!(replica.uuid));

    let source_vm = pools
        .production
        .client
        .get_by_uuid::<Vm>(WEB01)
        .await
        .unwrap();
    let source = pools
        .production
        .client
        .get_record(&source_vm)
        .await
        .unwrap();
    assert!(
        source.snapshots.is_empty(),
        "the source snapshot was removed"
    );
    let source_disks = disks(&pools.production, &source).await;
    let replica_disks = disks(&pools.recovery, replica).await;
    assert_eq!(source_disks.len(), 2);
    assert_eq!(replica_disks.len(), 2);
    for ((device, original), (_, copied)) in source_disks.iter().zip(&replica_disks) {
        let record = pools.recovery.client.get_record(copied).await.unwrap();
        assert_eq!(record.other_config["xo:backup:sr"], DR_SR, "disk {device}");
        assert_eq!(record.other_config["xo:backup:job"], JOB, "disk {device}");
        assert!(
            raw(&pools.production, original).await == raw(&pools.recovery, copied).await,
            "disk {device} differs"
        );
    }
}

#[tokio::test]
async fn rolling_retention_keeps_the_newest_copies_and_interrupted_copies_go() {
    let pools = pools().await;
    let settings = json!({ "": { "copyRetention": 2 } });
    for day in 0..3 {
        copy(&pools, WEB01, START + day * DAY, settings.clone())
            .await
            .unwrap();
    }
    // Each copy is named after its own time, a moment after the run's start.
    let names: Vec<String> = replicas(&pools.recovery)
        .await
        .into_values()
        .map(|vm| vm.name_label[..35].to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        names,
        [
            "web01 - Nightly DR - (20241103T0304",
            "web01 - Nightly DR - (20241104T0304"
        ]
    );

    // An interrupted copy: the job's marks and start block, without `xo:backup:sr`.
    let (newest, _) = replicas(&pools.recovery).await.into_iter().next().unwrap();
    let interrupted = pools
        .recovery
        .client
        .vm_clone(&newest, "half a copy")
        .await
        .unwrap();
    pools
        .recovery
        .client
        .set_map_entry(&interrupted, "blocked_operations", "start", "blocked")
        .await
        .unwrap();
    pools
        .recovery
        .client
        .remove_map_entry(&interrupted, "other_config", "xo:backup:sr")
        .await
        .unwrap();
    copy(&pools, WEB01, START + 3 * DAY, settings)
        .await
        .unwrap();
    let left = replicas(&pools.recovery).await;
    assert!(
        !left.contains_key(&interrupted),
        "the interrupted copy was removed"
    );
    assert_eq!(left.len(), 2);
}

#[tokio::test]
async fn delete_first_makes_room_before_the_transfer() {
    let pools = pools().await;
    let settings = json!({ "": { "copyRetention": 1, "deleteFirst": true } });
    copy(&pools, WEB01, START, settings.clone()).await.unwrap();
    copy(&pools, WEB01, START + DAY, settings).await.unwrap();
    let made = replicas(&pools.recovery).await;
    assert_eq!(made.len(), 1);
    assert!(
        made.values()
            .all(|vm| vm.name_label.contains("(20241103T0304"))
    );
}

#[tokio::test]
async fn a_halted_vm_is_exported_directly_and_snapshots_are_kept_on_request() {
    let pools = pools().await;
    let db01 = "aaaaaaaa-0000-4000-8000-000000000002";
    let outputs = copy(&pools, db01, START, json!({})).await.unwrap();
    assert_eq!(outputs["snapshot"], Value::Null);
    let settings = json!({ "": { "snapshotRetention": 1 } });
    let outputs = copy(&pools, WEB01, START, settings.clone()).await.unwrap();
    let kept = outputs["snapshot"]
        .as_str()
        .expect("a snapshot is kept")
        .to_owned();
    copy(&pools, WEB01, START + DAY, settings).await.unwrap();
    let source_vm = pools
        .production
        .client
        .get_by_uuid::<Vm>(WEB01)
        .await
        .unwrap();
    let source = pools
        .production
        .client
        .get_record(&source_vm)
        .await
        .unwrap();
    assert_eq!(source.snapshots.len(), 1, "one snapshot kept");
    let snapshot = pools
        .production
        .client
        .get_record(&source.snapshots[0])
        .await
        .unwrap();
    assert_ne!(snapshot.uuid, kept, "the older snapshot went");
    assert_eq!(snapshot.other_config["xo:backup:job"], JOB);
}

#[tokio::test]
async fn a_replica_of_this_job_is_not_copied_again() {
    let pools = pools().await;
    copy(&pools, WEB01, START, json!({})).await.unwrap();
    let (_, replica) = replicas(&pools.recovery).await.into_iter().next().unwrap();
    // As if the recovery pool were the job's source: its own replica must be refused.
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let (dr_copy, _) = runtime
        .load_operation("dr-copy", lifeboat_builtins::DR_COPY)
        .unwrap();
    let error = dr_copy
        .run(
            env(
                "dr-copy",
                context(START + DAY),
                std::slice::from_ref(&pools.recovery),
                Arc::new(RunObjects::default()),
                Arc::default(),
            ),
            &json!({ "vm": replica.uuid, "source": "recovery", "target": "recovery", "sr": DR_SR }),
            Limits::default(),
        )
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("a replica made by this job"),
        "{error}"
    );
}
