//! Xen Orchestra and Lifeboat on the same pools: replicas and snapshots written as Xen
//! Orchestra writes them (names, marks on VMs and disks, tags, blocks, the older forms without
//! a datetime mark or without marks on disks) are read by Lifeboat's retention as Xen
//! Orchestra reads them, and Lifeboat's replicas carry everything Xen Orchestra's
//! `listReplicatedVms` and retention look at.

use lifeboat_e2e::dr::{DR_SR, JOB, NIGHTLY, START, WEB01, dr, replicas, snapshots_of, stamp};
use lifeboat_e2e::{Harness, Pools, disks, mark, vms, xo_lists_as_replica};
use lifeboat_executor::RunStatus;
use lifeboat_xapi::Client;
use lifeboat_xapi::records::{Ref, Vm};

const BLOCKED: &str = "Start operation for this vm is blocked, clone it if you want to use it.";

/// The production pool of the DR tests, and a recovery pool holding what Xen Orchestra left
/// there for the same job: three complete replicas (the oldest from before Xen Orchestra wrote
/// `xo:backup:datetime`), one interrupted after it was blocked, one whose import ended but that
/// was never blocked, and a user's clone of a replica.
fn fixture() -> String {
    let replica = |uuid: &str, day: &str, sr: bool, blocked: bool, datetime: bool| {
        let mut other_config = format!(
            r#""xo:backup:job": "{JOB}", "xo:backup:schedule": "{NIGHTLY}", "xo:backup:vm": "{WEB01}""#
        );
        if datetime {
            other_config += &format!(r#", "xo:backup:datetime": "202410{day}T03:04:05Z""#);
        }
        if sr {
            other_config += &format!(r#", "xo:backup:sr": "{DR_SR}""#);
        }
        let blocks = if blocked {
            format!(r#"{{start: "{BLOCKED}", start_on: "{BLOCKED}"}}"#)
        } else {
            "{}".into()
        };
        format!(
            r#"
      - name: "web01 - Nightly DR - (202410{day}T030405Z)"
        uuid: {uuid}
        tags: [Disaster Recovery]
        other_config: {{{other_config}}}
        blocked_operations: {blocks}
        disks: [{{name: web01 root, size: 2MiB, sr: DR storage}}]"#
        )
    };
    let production = lifeboat_e2e::dr::FIXTURE
        .split("  - name: recovery")
        .next()
        .unwrap();
    format!(
        r#"{production}  - name: recovery
    password: secret
    srs:
      - {{name: DR storage, uuid: {DR_SR}, size: 100GiB, default: true}}
    vms:{}{}{}{}{}{}
"#,
        replica(
            "cccccccc-0000-4000-8000-000000000029",
            "29",
            true,
            true,
            false
        ),
        replica(
            "cccccccc-0000-4000-8000-000000000030",
            "30",
            true,
            true,
            true
        ),
        replica(
            "cccccccc-0000-4000-8000-000000000031",
            "31",
            true,
            true,
            true
        ),
        replica(
            "cccccccc-0000-4000-8000-000000000032",
            "31",
            false,
            true,
            true
        )
        .replace("(20241031T030405Z)", "(20241031T040405Z)"),
        replica(
            "cccccccc-0000-4000-8000-000000000033",
            "31",
            false,
            false,
            true
        )
        .replace("(20241031T030405Z)", "(20241031T050405Z)"),
        replica(
            "cccccccc-0000-4000-8000-000000000034",
            "31",
            true,
            false,
            true
        )
        .replace(
            "web01 - Nightly DR - (20241031T030405Z)",
            "web01 failover test"
        ),
    )
}

/// Takes a snapshot of web01 the way Xen Orchestra does: under the temporary name, then its
/// marks on the snapshot and (unless `vm_marks_only`, as Xen Orchestra wrote them before 2024)
/// on its disks, then the template flag lifted and the name set.
async fn xo_snapshot(pool: &Client, datetime: &str, vm_marks_only: bool) -> Ref<Vm> {
    let web01 = pool.get_by_uuid::<Vm>(WEB01).await.unwrap();
    let snapshot = pool
        .vm_snapshot(&web01, "xo-backup-temp-snapshot-name", &[])
        .await
        .unwrap();
    let record = pool.get_record(&snapshot).await.unwrap();
    let marks = [
        ("xo:backup:datetime", datetime),
        ("xo:backup:job", JOB),
        ("xo:backup:schedule", NIGHTLY),
        ("xo:backup:vm", WEB01),
    ];
    for (key, value) in marks {
        pool.set_map_entry(&snapshot, "other_config", key, value)
            .await
            .unwrap();
        if !vm_marks_only {
            for (_, disk) in disks(pool, &record).await {
                pool.set_map_entry(&disk, "other_config", key, value)
                    .await
                    .unwrap();
            }
        }
    }
    pool.set_field(
        &snapshot,
        "is_a_template",
        lifeboat_xapi::Value::Boolean(false),
    )
    .await
    .unwrap();
    pool.set_field(
        &snapshot,
        "name_label",
        lifeboat_xapi::Value::string("[XO Backup Nightly DR] web01"),
    )
    .await
    .unwrap();
    snapshot
}

/// What Xen Orchestra's full-replication writer deletes with `copyRetention`: all but the
/// newest `copyRetention - 1` replicas `listReplicatedVms` finds, ordered by
/// `xo:backup:datetime`, else by the date in the name (`getOldEntries`).
fn xo_would_delete(all: &[(Ref<Vm>, Vm)], copy_retention: usize) -> Vec<String> {
    let datetime = |vm: &Vm| -> String {
        match mark(&vm.other_config, "xo:backup:datetime") {
            Some(datetime) => datetime.to_owned(),
            None => {
                let name = &vm.name_label;
                name[name.len() - 17..name.len() - 1].to_owned()
            }
        }
    };
    let mut listed: Vec<&Vm> = all
        .iter()
        .map(|(_, vm)| vm)
        .filter(|vm| xo_lists_as_replica(vm, NIGHTLY, DR_SR, WEB01))
        .collect();
    listed.sort_by_key(|vm| datetime(vm));
    let keep = copy_retention - 1;
    let old = listed.len().saturating_sub(keep);
    listed[..old].iter().map(|vm| vm.uuid.clone()).collect()
}

#[tokio::test]
async fn xen_orchestras_replicas_and_snapshots_are_read_as_xen_orchestra_reads_them() {
    let pools = Pools::start(&fixture()).await;
    let harness = Harness::new(&pools);
    let production = pools.client("production").await;
    let recovery = pools.client("recovery").await;
    let oldest = xo_snapshot(&production, "20241030T03:04:05Z", true).await;
    let older = xo_snapshot(&production, "20241031T03:04:05Z", false).await;
    let newer = xo_snapshot(&production, "20241101T03:04:05Z", false).await;

    let before: Vec<(Ref<Vm>, Vm)> = vms(&recovery).await.into_iter().collect();
    let mut expected_gone = xo_would_delete(&before, 2);
    expected_gone.push("cccccccc-0000-4000-8000-000000000032".into());
    expected_gone.sort();
    assert_eq!(
        expected_gone,
        [
            "cccccccc-0000-4000-8000-000000000029",
            "cccccccc-0000-4000-8000-000000000030",
            "cccccccc-0000-4000-8000-000000000032",
        ],
        "Xen Orchestra drops the two oldest and its own interrupted copy"
    );

    let job = dr(
        &[WEB01],
        &[DR_SR],
        r#"{ "": { copyRetention: 2, snapshotRetention: 2 } }"#,
        "",
    );
    let (report, _) = harness.run(&job, START).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");

    let after = vms(&recovery).await;
    let mut gone: Vec<String> = before
        .iter()
        .filter(|(reference, _)| !after.contains_key(reference))
        .map(|(_, vm)| vm.uuid.clone())
        .collect();
    gone.sort();
    assert_eq!(gone, expected_gone);
    for kept in [
        "cccccccc-0000-4000-8000-000000000033",
        "cccccccc-0000-4000-8000-000000000034",
    ] {
        assert!(
            after.values().any(|vm| vm.uuid == kept),
            "{kept}, never blocked, is somebody's"
        );
    }
    let listed = replicas(&recovery, WEB01, NIGHTLY, DR_SR).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].1.uuid, "cccccccc-0000-4000-8000-000000000031");

    // Lifeboat's replica is one Xen Orchestra counts, in Xen Orchestra's forms.
    let (_, made) = &listed[1];
    assert!(stamp(made) >= START);
    assert_eq!(made.blocked_operations["start"], BLOCKED);
    assert_eq!(made.blocked_operations["start_on"], BLOCKED);
    assert!(made.tags.contains(&"Disaster Recovery".to_owned()));
    let datetime = mark(&made.other_config, "xo:backup:datetime").unwrap();
    assert_eq!(datetime.len(), "20241102T03:04:05Z".len());
    assert_eq!(&datetime[11..12], ":");
    assert_eq!(xo_would_delete(&listed, 2), [listed[0].1.uuid.clone()]);

    // Snapshots: the older two of Xen Orchestra's go (the oldest has marks on the VM only);
    // its newest and Lifeboat's stay.
    let snapshots = snapshots_of(&production, WEB01).await;
    let kept: Vec<&Ref<Vm>> = snapshots.iter().map(|(reference, _)| reference).collect();
    assert_eq!(kept.len(), 2);
    assert!(kept.contains(&&newer));
    assert!(!kept.contains(&&older) && !kept.contains(&&oldest));
}
