//! A DR pipeline, end to end: the executor selects VMs by tag, runs the built-in dr-copy
//! component for each, and the pools end up as Xen Orchestra leaves them: replicas named,
//! tagged, blocked and marked, holding the bytes of the source snapshot, rotated by the
//! retention policy, interrupted copies removed; the run's log has Xen Orchestra's shape.

use lifeboat_e2e::dr::interrupted_copy;
use lifeboat_e2e::{
    Harness, Pools, children, disks, end_of, filename_date, parse_datetime, pipeline, raw, vms,
};
use lifeboat_executor::RunStatus;
use lifeboat_xapi::records::Vm;
use serde_json::Value;

const FIXTURE: &str = r#"
pools:
  - name: production
    password: secret
    srs: [{name: Local, size: 100GiB, default: true}]
    vms:
      - name: web01
        uuid: aaaaaaaa-0000-4000-8000-000000000001
        power_state: Running
        tags: [prod]
        disks:
          - {name: web01 root, size: 8MiB, content: {fill: 60, seed: 11}}
          - {name: web01 data, size: 4MiB, content: {fill: 30, seed: 12}}
      - name: db01
        uuid: aaaaaaaa-0000-4000-8000-000000000002
        power_state: Halted
        tags: [prod]
        blocked_operations: {destroy: "protected"}
        disks: [{name: db01 root, size: 6MiB, content: {fill: 50, seed: 13}}]
      - name: scratch
        uuid: aaaaaaaa-0000-4000-8000-000000000003
        disks: [{name: scratch root, size: 2MiB}]
  - name: recovery
    password: secret
    srs: [{name: DR storage, uuid: bbbbbbbb-0000-4000-8000-000000000001, size: 100GiB, default: true}]
"#;

const PIPELINE: &str = r#"
version: 1
name: Nightly DR
connections:
  production: { kind: xapi, url: "sim://production" }
  recovery: { kind: xapi, url: "sim://recovery" }
steps:
  - id: replicate
    uses: dr-copy
    allow: { xapi: [production, recovery] }
    for_each: { vms: { pool: production, tags: [prod] } }
    max_parallel: 2
    with:
      vm: "${{ item.uuid }}"
      source: production
      target: recovery
      sr: bbbbbbbb-0000-4000-8000-000000000001
      settings: { "": { copyRetention: 2, snapshotRetention: 1 } }
"#;

const WEB01: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const DB01: &str = "aaaaaaaa-0000-4000-8000-000000000002";
const DAY: u64 = 86_400_000;
/// 2024-11-02T03:04:05Z.
const START: u64 = 1_730_516_645_000;

#[tokio::test]
async fn replicas_are_marked_hold_the_snapshot_bytes_and_rotate() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let dr = pipeline(PIPELINE);
    for day in 0..3 {
        let (report, _) = harness.run(&dr, START + day * DAY).await;
        assert_eq!(report.status, RunStatus::Success, "day {day}: {report:#?}");
    }
    let production = pools.client("production").await;
    let recovery = pools.client("recovery").await;
    let replicas = vms(&recovery).await;

    // Two copies of each tagged VM, the two newest, named after their time; none of the
    // untagged one.
    let mut copies: Vec<(String, u64)> = replicas
        .values()
        .map(|vm| {
            let stamp = parse_datetime(&vm.other_config["xo:backup:datetime"]);
            let (name, _) = vm.name_label.split_once(" - ").unwrap();
            assert_eq!(
                vm.name_label,
                format!("{name} - Nightly DR - ({})", filename_date(stamp))
            );
            (name.to_owned(), (stamp - START) / DAY)
        })
        .collect();
    copies.sort();
    let expected: Vec<(String, u64)> = [("db01", 1), ("db01", 2), ("web01", 1), ("web01", 2)]
        .into_iter()
        .map(|(name, day)| (name.to_owned(), day))
        .collect();
    assert_eq!(copies, expected);

    let blocked = "Start operation for this vm is blocked, clone it if you want to use it.";
    for replica in replicas.values() {
        assert!(replica.tags.contains(&"Disaster Recovery".to_owned()));
        assert_eq!(
            replica.blocked_operations.len(),
            2,
            "{:?}",
            replica.blocked_operations
        );
        assert_eq!(replica.blocked_operations["start"], blocked);
        assert_eq!(replica.blocked_operations["start_on"], blocked);
        let marks = &replica.other_config;
        assert_eq!(marks["xo:backup:job"], dr.id);
        assert_eq!(
            marks["xo:backup:sr"],
            "bbbbbbbb-0000-4000-8000-000000000001"
        );
        assert!(
            replica
                .name_label
                .starts_with(if marks["xo:backup:vm"].ends_with('1') {
                    "web01"
                } else {
                    "db01"
                }),
            "{} marked for {}",
            replica.name_label,
            marks["xo:backup:vm"]
        );
    }

    // The newest replica of web01 holds the bytes of the snapshot it was exported from.
    let web01 = production
        .get_by_uuid::<Vm>("aaaaaaaa-0000-4000-8000-000000000001")
        .await
        .unwrap();
    let web01 = production.get_record(&web01).await.unwrap();
    assert_eq!(
        web01.snapshots.len(),
        1,
        "snapshotRetention 1 keeps one snapshot"
    );
    let snapshot = production.get_record(&web01.snapshots[0]).await.unwrap();
    let newest = replicas
        .values()
        .filter(|vm| vm.name_label.starts_with("web01"))
        .max_by_key(|vm| parse_datetime(&vm.other_config["xo:backup:datetime"]))
        .unwrap();
    let snapshot_disks = disks(&production, &snapshot).await;
    let replica_disks = disks(&recovery, newest).await;
    assert_eq!(snapshot_disks.len(), 2);
    assert_eq!(replica_disks.len(), 2);
    for ((device, original), (_, copied)) in snapshot_disks.iter().zip(&replica_disks) {
        assert!(
            raw(&production, original).await == raw(&recovery, copied).await,
            "disk {device} of the replica differs from the snapshot's"
        );
    }
}

#[tokio::test]
async fn an_interrupted_copy_is_removed_by_the_next_run() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let dr = pipeline(PIPELINE);
    harness.run(&dr, START).await;
    let recovery = pools.client("recovery").await;
    let (replica, _) = vms(&recovery).await.into_iter().next().unwrap();
    // A copy whose transfer did not complete: the job's marks and blocks, no `xo:backup:sr`.
    let interrupted = interrupted_copy(&recovery, &replica, &[]).await;
    let (report, _) = harness.run(&dr, START + DAY).await;
    assert_eq!(report.status, RunStatus::Success);
    let left = vms(&recovery).await;
    assert!(
        !left.contains_key(&interrupted),
        "the interrupted copy is gone"
    );
    assert_eq!(left.len(), 4, "two runs, two VMs, copyRetention 2");
}

/// Xen Orchestra's backup log: `job.start` with the mode, the VMs selected, per VM its task with
/// a `snapshot` ending with the snapshot's uuid and, per SR, an `export` with its `clean` and its
/// `transfer` ending with the bytes moved.
#[tokio::test]
async fn the_log_has_xen_orchestras_shape() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let (report, events) = harness.run(&pipeline(PIPELINE), START).await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"job.start"));
    assert_eq!(kinds.last(), Some(&"job.end"));
    let run = report.run_id.as_str();
    assert_eq!(events[0]["runJobId"], run);
    assert_eq!(events[0]["jobName"], "Nightly DR");
    assert_eq!(
        events[0]["data"],
        serde_json::json!({ "mode": "full", "reportWhen": "failure" })
    );
    let selected = events
        .iter()
        .find(|e| e["event"] == "task.info" && e["message"] == "vms")
        .expect("the selected VMs are logged");
    assert_eq!(selected["taskId"], run);
    let mut uuids: Vec<&str> = selected["data"]["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    uuids.sort_unstable();
    assert_eq!(uuids, [WEB01, DB01]);

    let production = pools.client("production").await;
    let vm_tasks = children(&events, run);
    assert_eq!(vm_tasks.len(), 2);
    for task in vm_tasks {
        assert_eq!(task["data"]["type"], "VM");
        let vm = task["data"]["id"].as_str().unwrap();
        let id = task["taskId"].as_str().unwrap();
        assert_eq!(end_of(&events, id)["status"], "success");
        // The tasks of Xen Orchestra's tree; the host's `retention` tasks (one per call of the
        // policy) are Lifeboat's own extras.
        let subtasks: Vec<&Value> = children(&events, id)
            .into_iter()
            .filter(|e| e["message"] != "retention")
            .collect();
        let messages: Vec<&str> = subtasks
            .iter()
            .filter_map(|e| e["message"].as_str())
            .collect();
        assert_eq!(messages, ["snapshot", "export"], "{vm}");

        // The snapshot task ends with the uuid of the snapshot (kept: snapshotRetention 1).
        let snapshot = end_of(&events, subtasks[0]["taskId"].as_str().unwrap());
        assert_eq!(snapshot["status"], "success");
        let snapshot_uuid = snapshot["result"].as_str().expect("a uuid");
        let snapshot_vm = production.get_by_uuid::<Vm>(snapshot_uuid).await.unwrap();
        let snapshot_record = production.get_record(&snapshot_vm).await.unwrap();
        assert!(snapshot_record.is_a_snapshot);
        assert_eq!(snapshot_record.other_config["xo:backup:vm"], vm);

        let export = subtasks[1];
        assert_eq!(
            export["data"],
            serde_json::json!({
                "type": "SR",
                "id": "bbbbbbbb-0000-4000-8000-000000000001",
                "name_label": "DR storage",
                "isFull": true,
            })
        );
        let export_id = export["taskId"].as_str().unwrap();
        assert_eq!(end_of(&events, export_id)["status"], "success");
        let parts = children(&events, export_id);
        let names: Vec<&str> = parts.iter().filter_map(|e| e["message"].as_str()).collect();
        assert_eq!(names, ["clean", "transfer", "retention"]);
        let transfer = end_of(&events, parts[1]["taskId"].as_str().unwrap());
        assert_eq!(transfer["status"], "success");
        assert!(transfer["result"]["size"].as_u64().unwrap() > 1 << 20);
    }
}
