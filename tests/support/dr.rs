//! What the DR copy tests share: two pools, a DR pipeline for chosen VMs, SRs and settings, and
//! readers of the replicas and snapshots the job made.

use lifeboat_pipeline::Pipeline;
use lifeboat_xapi::Client;
use lifeboat_xapi::records::{Ref, Vm};

use crate::{mark, parse_datetime, pipeline, vms};

/// A production pool (a running VM, a halted one with a `destroy` block, a halted one with a
/// disk left out of backups, a running one backed up with its memory and a disk left out) and a
/// recovery pool with two roomy SRs and a small one.
pub const FIXTURE: &str = r#"
pools:
  - name: production
    password: secret
    srs: [{name: Local, size: 100GiB, default: true}]
    vms:
      - name: web01
        uuid: aaaaaaaa-0000-4000-8000-000000000001
        power_state: Running
        memory: 64MiB
        disks:
          - {name: web01 root, size: 8MiB, content: {fill: 60, seed: 11}}
          - {name: web01 data, size: 4MiB, content: {fill: 30, seed: 12}}
      - name: db01
        uuid: aaaaaaaa-0000-4000-8000-000000000002
        power_state: Halted
        blocked_operations: {destroy: "protected"}
        disks: [{name: db01 root, size: 6MiB, content: {fill: 50, seed: 13}}]
      - name: app01
        uuid: aaaaaaaa-0000-4000-8000-000000000003
        power_state: Halted
        disks:
          - {name: app01 root, size: 4MiB, content: {fill: 50, seed: 14}}
          - {name: "app01 cache [NOBAK]", size: 4MiB, content: {fill: 50, seed: 15}}
      - name: mem01
        uuid: aaaaaaaa-0000-4000-8000-000000000004
        power_state: Running
        memory: 32MiB
        tags: [xo-memory-backup]
        disks:
          - {name: mem01 root, size: 4MiB, content: {fill: 50, seed: 16}}
          - {name: "mem01 swap [NOBAK]", size: 2MiB}
  - name: recovery
    password: secret
    srs:
      - {name: DR storage, uuid: bbbbbbbb-0000-4000-8000-000000000001, size: 100GiB, default: true}
      - {name: DR second, uuid: bbbbbbbb-0000-4000-8000-000000000002, size: 100GiB}
      - {name: DR small, uuid: bbbbbbbb-0000-4000-8000-000000000003, size: 8MiB}
"#;

pub const WEB01: &str = "aaaaaaaa-0000-4000-8000-000000000001";
pub const DB01: &str = "aaaaaaaa-0000-4000-8000-000000000002";
pub const APP01: &str = "aaaaaaaa-0000-4000-8000-000000000003";
pub const MEM01: &str = "aaaaaaaa-0000-4000-8000-000000000004";
pub const DR_SR: &str = "bbbbbbbb-0000-4000-8000-000000000001";
pub const SECOND_SR: &str = "bbbbbbbb-0000-4000-8000-000000000002";
pub const SMALL_SR: &str = "bbbbbbbb-0000-4000-8000-000000000003";

/// The job's id and its schedules' ids, fixed so that replicas written by hand (as Xen
/// Orchestra writes them) belong to it.
pub const JOB: &str = "11111111-0000-4000-8000-000000000001";
pub const NIGHTLY: &str = "22222222-0000-4000-8000-000000000001";
pub const WEEKLY: &str = "22222222-0000-4000-8000-000000000002";
pub const JOB_NAME: &str = "Nightly DR";

pub const DAY: u64 = 86_400_000;
/// 2024-11-02T03:04:05Z.
pub const START: u64 = 1_730_516_645_000;

/// The DR pipeline copying `vms` to `srs` with the layered `settings` (a YAML/JSON object),
/// `with` holding `extra` too (e.g. `compression: zstd`). Its one schedule is `nightly`.
pub fn dr(vms: &[&str], srs: &[&str], settings: &str, extra: &str) -> Pipeline {
    pipeline(&dr_yaml(vms, srs, settings, extra))
}

/// [`dr`] with a second schedule, `weekly`.
pub fn dr_with_weekly(vms: &[&str], srs: &[&str], settings: &str) -> Pipeline {
    let yaml = dr_yaml(vms, srs, settings, "").replace(
        "schedules:\n",
        &format!("schedules:\n  weekly: {{ cron: \"0 3 * * 0\", id: {WEEKLY} }}\n"),
    );
    pipeline(&yaml)
}

fn dr_yaml(vms: &[&str], srs: &[&str], settings: &str, extra: &str) -> String {
    format!(
        r#"
version: 1
name: {JOB_NAME}
id: {JOB}
connections:
  production: {{ kind: xapi, url: "sim://production" }}
  recovery: {{ kind: xapi, url: "sim://recovery" }}
schedules:
  nightly: {{ cron: "0 2 * * *", id: {NIGHTLY} }}
steps:
  - id: replicate
    uses: dr-copy
    allow: {{ xapi: [production, recovery] }}
    for_each: {{ vms: {{ pool: production, uuids: [{vms}] }} }}
    max_parallel: 2
    with:
      vm: "${{{{ item.uuid }}}}"
      source: production
      target: recovery
      srs: [{srs}]
      settings: {settings}
      {extra}
"#,
        vms = vms.join(", "),
        srs = srs.join(", "),
    )
}

/// The VMs of `pool` that Xen Orchestra and Lifeboat count as replicas of `vm_uuid` made on
/// `schedule` to `sr`.
pub async fn replicas(
    pool: &Client,
    vm_uuid: &str,
    schedule: &str,
    sr: &str,
) -> Vec<(Ref<Vm>, Vm)> {
    let mut found: Vec<(Ref<Vm>, Vm)> = vms(pool)
        .await
        .into_iter()
        .filter(|(_, vm)| crate::xo_lists_as_replica(vm, schedule, sr, vm_uuid))
        .collect();
    found.sort_by_key(|(_, vm)| stamp(vm));
    found
}

/// The `xo:backup:datetime` of a replica or snapshot, in milliseconds.
pub fn stamp(vm: &Vm) -> u64 {
    parse_datetime(mark(&vm.other_config, "xo:backup:datetime").expect("a datetime mark"))
}

/// The snapshots of `vm_uuid` on `pool`, oldest first.
pub async fn snapshots_of(pool: &Client, vm_uuid: &str) -> Vec<(Ref<Vm>, Vm)> {
    let vm = pool.get_by_uuid::<Vm>(vm_uuid).await.unwrap();
    let record = pool.get_record(&vm).await.unwrap();
    let mut snapshots = Vec::new();
    for snapshot in record.snapshots {
        let found = pool.get_record(&snapshot).await.unwrap();
        snapshots.push((snapshot, found));
    }
    snapshots.sort_by(|(_, a), (_, b)| a.snapshot_time.cmp(&b.snapshot_time));
    snapshots
}

/// The record of the VM `uuid` on `pool`.
pub async fn vm(pool: &Client, uuid: &str) -> (Ref<Vm>, Vm) {
    let reference = pool.get_by_uuid::<Vm>(uuid).await.unwrap();
    let record = pool.get_record(&reference).await.unwrap();
    (reference, record)
}

/// Asserts that every VM on `pool` (templates and the control domain aside) is a complete
/// replica of the job: tagged, start-blocked, marked with `xo:backup:sr` on the VM and its
/// disks, named after its time. What a fault or a kill may leave is that, or nothing.
pub async fn assert_only_complete_replicas(pool: &Client) {
    for (_, replica) in vms(pool).await {
        let name = &replica.name_label;
        assert!(
            replica.tags.contains(&"Disaster Recovery".to_owned()),
            "{name}"
        );
        assert!(replica.blocked_operations.contains_key("start"), "{name}");
        assert!(
            replica.blocked_operations.contains_key("start_on"),
            "{name}"
        );
        let sr = mark(&replica.other_config, "xo:backup:sr");
        assert!(sr.is_some(), "{name} is not complete");
        assert_eq!(
            mark(&replica.other_config, "xo:backup:job"),
            Some(JOB),
            "{name}"
        );
        assert!(
            name.ends_with(&format!("({})", crate::filename_date(stamp(&replica)))),
            "{name}"
        );
        for (_, disk) in crate::disks(pool, &replica).await {
            let disk = pool.get_record(&disk).await.unwrap();
            assert_eq!(
                mark(&disk.other_config, "xo:backup:sr"),
                sr,
                "a disk of {name}"
            );
        }
    }
}

/// A copy of `replica` as a run that stopped before its end leaves it: the job's marks and the
/// `start` block (and the other `blocks`), no `xo:backup:sr`.
pub async fn interrupted_copy(
    pool: &Client,
    replica: &Ref<Vm>,
    blocks: &[(&str, &str)],
) -> Ref<Vm> {
    let copy = pool.vm_clone(replica, "half a copy").await.unwrap();
    for (operation, reason) in [("start", "blocked")].iter().chain(blocks) {
        pool.set_map_entry(&copy, "blocked_operations", operation, reason)
            .await
            .unwrap();
    }
    pool.remove_map_entry(&copy, "other_config", "xo:backup:sr")
        .await
        .unwrap();
    copy
}

/// Starts the pools and runs [`dr`] of `vms` to `srs` with `settings` once, at [`START`]; the
/// run must succeed.
pub async fn copied_once(vms: &[&str], srs: &[&str], settings: &str) -> crate::Pools {
    let pools = crate::Pools::start(FIXTURE).await;
    let harness = crate::Harness::new(&pools);
    let (report, _) = harness.run(&dr(vms, srs, settings, ""), START).await;
    assert_eq!(
        report.status,
        lifeboat_executor::RunStatus::Success,
        "{report:#?}"
    );
    pools
}
