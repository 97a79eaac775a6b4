//! The source side of the DR copy, as Xen Orchestra's backup runner leaves it: marks reset on
//! the VM and its disks before the snapshot; the snapshot and its disks marked (never with
//! `xo:backup:sr`); when a snapshot is taken and what it holds (`[NOBAK]` disks, offline
//! backups and snapshots, checkpoints); the migration block during the job; leftover and
//! rolling snapshots counted per schedule; and each copy stamped with its own time.

use std::time::Duration;

use lifeboat_e2e::dr::{
    APP01, DAY, DB01, DR_SR, FIXTURE, JOB, MEM01, NIGHTLY, START, WEB01, WEEKLY, copied_once, dr,
    dr_with_weekly, replicas, snapshots_of, stamp, vm,
};
use lifeboat_e2e::{Harness, Pools, disks, filename_date, mark, raw};
use lifeboat_executor::RunStatus;
use lifeboat_sim::xapi::faults::Fault;
use lifeboat_xapi::records::{PowerState, Vdi};

const KEYS: [&str; 4] = [
    "xo:backup:datetime",
    "xo:backup:job",
    "xo:backup:schedule",
    "xo:backup:vm",
];

#[tokio::test]
async fn marks_are_reset_on_the_vm_and_its_disks_and_written_on_the_snapshot_and_its_disks() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let production = pools.client("production").await;
    // As a VM reverted to one of the job's snapshots would carry them.
    let (web01, record) = vm(&production, WEB01).await;
    let (_, source_disk) = disks(&production, &record).await.remove(0);
    for (key, value) in [
        ("xo:backup:job", JOB),
        ("xo:backup:schedule", NIGHTLY),
        ("xo:backup:datetime", "20241101T03:04:05Z"),
        ("xo:backup:vm", WEB01),
        ("xo:backup:exported", "true"),
        ("xo:backup:sr", "kept: a replica may be replicated"),
    ] {
        production
            .set_map_entry(&web01, "other_config", key, value)
            .await
            .unwrap();
        production
            .set_map_entry(&source_disk, "other_config", key, value)
            .await
            .unwrap();
    }
    let job = dr(
        &[WEB01],
        &[DR_SR],
        r#"{ "": { snapshotRetention: 1 } }"#,
        "",
    );
    let (report, _) = harness.run(&job, START).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");

    let (_, record) = vm(&production, WEB01).await;
    let source_disk_record = production.get_record(&source_disk).await.unwrap();
    for other_config in [&record.other_config, &source_disk_record.other_config] {
        for key in KEYS.iter().chain(&["xo:backup:exported"]) {
            assert_eq!(mark(other_config, key), None, "{key} was reset");
        }
        assert_eq!(
            mark(other_config, "xo:backup:sr"),
            Some("kept: a replica may be replicated")
        );
    }

    let snapshots = snapshots_of(&production, WEB01).await;
    assert_eq!(snapshots.len(), 1);
    let (_, snapshot) = &snapshots[0];
    assert_eq!(snapshot.name_label, "[XO Backup Nightly DR] web01");
    assert!(!snapshot.is_a_template);
    let stamp_ms = stamp(snapshot);
    let mut objects = vec![snapshot.other_config.clone()];
    for (_, disk) in disks(&production, snapshot).await {
        objects.push(production.get_record(&disk).await.unwrap().other_config);
    }
    assert_eq!(objects.len(), 3, "the snapshot and its two disks");
    for other_config in &objects {
        assert_eq!(mark(other_config, "xo:backup:job"), Some(JOB));
        assert_eq!(mark(other_config, "xo:backup:schedule"), Some(NIGHTLY));
        assert_eq!(mark(other_config, "xo:backup:vm"), Some(WEB01));
        assert_eq!(
            lifeboat_e2e::parse_datetime(mark(other_config, "xo:backup:datetime").unwrap()),
            stamp_ms
        );
        assert_eq!(
            mark(other_config, "xo:backup:sr"),
            None,
            "never on a snapshot"
        );
    }
    let recovery = pools.client("recovery").await;
    let (_, replica) = replicas(&recovery, WEB01, NIGHTLY, DR_SR).await.remove(0);
    assert_eq!(
        stamp(&replica),
        stamp_ms,
        "the copy has the snapshot's time"
    );
}

#[tokio::test]
async fn a_snapshot_that_cannot_be_marked_is_removed() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    pools.arm(
        "production",
        Fault::Error {
            method: "VDI.add_to_other_config".into(),
            nth: 1,
            code: "INTERNAL_ERROR".into(),
            params: vec!["injected".into()],
        },
    );
    let job = dr(
        &[WEB01],
        &[DR_SR],
        r#"{ "": { snapshotRetention: 1 } }"#,
        "",
    );
    let (report, _) = harness.run(&job, START).await;
    assert_eq!(report.status, RunStatus::Failure);
    let production = pools.client("production").await;
    assert!(
        snapshots_of(&production, WEB01).await.is_empty(),
        "no unmarked snapshot is left"
    );
    let recovery = pools.client("recovery").await;
    assert!(replicas(&recovery, WEB01, NIGHTLY, DR_SR).await.is_empty());
}

#[tokio::test]
async fn a_halted_vm_is_exported_directly_unless_a_snapshot_is_asked_for() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let production = pools.client("production").await;
    let (report, events) = harness.run(&dr(&[DB01], &[DR_SR], "{}", ""), START).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    assert!(
        !events.iter().any(|e| e["message"] == "snapshot"),
        "no snapshot task"
    );
    let (report, events) = harness
        .run(
            &dr(
                &[DB01],
                &[DR_SR],
                r#"{ "": { unconditionalSnapshot: true } }"#,
                "",
            ),
            START + DAY,
        )
        .await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    assert!(events.iter().any(|e| e["message"] == "snapshot"));
    assert!(
        snapshots_of(&production, DB01).await.is_empty(),
        "snapshotRetention 0 removes it after the copy"
    );
}

#[tokio::test]
async fn disks_named_nobak_are_left_out() {
    let pools = copied_once(&[APP01], &[DR_SR], "{}").await;
    let production = pools.client("production").await;
    let recovery = pools.client("recovery").await;
    let (_, replica) = replicas(&recovery, APP01, NIGHTLY, DR_SR).await.remove(0);
    let copied = disks(&recovery, &replica).await;
    assert_eq!(copied.len(), 1, "the [NOBAK] disk is not copied");
    let name = recovery.get_record(&copied[0].1).await.unwrap().name_label;
    assert_eq!(name, "app01 root");
    let (_, app01) = vm(&production, APP01).await;
    let original = disks(&production, &app01).await.remove(0).1;
    assert!(raw(&production, &original).await == raw(&recovery, &copied[0].1).await);
    assert_eq!(
        disks(&production, &app01).await.len(),
        2,
        "the source keeps its disks"
    );
    assert!(snapshots_of(&production, APP01).await.is_empty());
}

#[tokio::test]
async fn an_offline_backup_copies_the_vm_halted_and_starts_it_again() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let (report, events) = harness
        .run(
            &dr(&[WEB01], &[DR_SR], r#"{ "": { offlineBackup: true } }"#, ""),
            START,
        )
        .await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    assert!(!events.iter().any(|e| e["message"] == "snapshot"));
    let production = pools.client("production").await;
    let (_, web01) = vm(&production, WEB01).await;
    assert_eq!(web01.power_state, PowerState::Running, "started again");
    assert!(snapshots_of(&production, WEB01).await.is_empty());

    let refused = harness
        .run(
            &dr(
                &[WEB01],
                &[DR_SR],
                r#"{ "": { offlineBackup: true, snapshotRetention: 1 } }"#,
                "",
            ),
            START + DAY,
        )
        .await
        .0;
    assert_eq!(refused.status, RunStatus::Failure);
    let error = refused.steps[0].items[0].error.as_deref().unwrap();
    assert!(
        error.contains("offlineBackup is not compatible with snapshotRetention"),
        "{error}"
    );
}

#[tokio::test]
async fn an_offline_snapshot_is_taken_halted_and_the_vm_runs_again() {
    let pools = copied_once(
        &[WEB01],
        &[DR_SR],
        r#"{ "": { offlineSnapshot: true, snapshotRetention: 1 } }"#,
    )
    .await;
    let production = pools.client("production").await;
    let (_, snapshot) = snapshots_of(&production, WEB01).await.remove(0);
    assert_eq!(
        snapshot
            .snapshot_info
            .get("power-state-at-snapshot")
            .map(String::as_str),
        Some("Halted")
    );
    assert_eq!(
        vm(&production, WEB01).await.1.power_state,
        PowerState::Running
    );
}

#[tokio::test]
async fn a_memory_backup_checkpoints_the_vm() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let production = pools.client("production").await;
    let (web01, _) = vm(&production, WEB01).await;
    production
        .add_tag(&web01, "xo-memory-backup")
        .await
        .unwrap();
    let job = dr(
        &[WEB01],
        &[DR_SR],
        r#"{ "": { snapshotRetention: 1 } }"#,
        "",
    );
    let (report, _) = harness.run(&job, START).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    let (_, checkpoint) = snapshots_of(&production, WEB01).await.remove(0);
    assert_eq!(checkpoint.power_state, PowerState::Suspended);
    let memory: Vdi = production
        .get_record(&checkpoint.suspend_vdi)
        .await
        .unwrap();
    assert_eq!(memory.vdi_type, "suspend");
    let recovery = pools.client("recovery").await;
    let (_, replica) = replicas(&recovery, WEB01, NIGHTLY, DR_SR).await.remove(0);
    assert_eq!(replica.power_state, PowerState::Halted);
    assert_eq!(disks(&recovery, &replica).await.len(), 2);

    // The next run removes the old checkpoint, memory image included.
    harness.run(&job, START + DAY).await;
    assert!(
        production
            .get_record(&checkpoint.suspend_vdi)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_checkpoint_leaves_nobak_disks_out_too() {
    let pools = copied_once(&[MEM01], &[DR_SR], r#"{ "": { snapshotRetention: 1 } }"#).await;
    let production = pools.client("production").await;
    let (_, checkpoint) = snapshots_of(&production, MEM01).await.remove(0);
    assert_eq!(
        checkpoint.power_state,
        PowerState::Suspended,
        "a checkpoint"
    );
    let kept = disks(&production, &checkpoint).await;
    assert_eq!(kept.len(), 1, "without the [NOBAK] disk");
    let recovery = pools.client("recovery").await;
    let (_, replica) = replicas(&recovery, MEM01, NIGHTLY, DR_SR).await.remove(0);
    let copied = disks(&recovery, &replica).await;
    assert_eq!(copied.len(), 1);
    let name = recovery.get_record(&copied[0].1).await.unwrap().name_label;
    assert_eq!(name, "mem01 root");
    let (_, mem01) = vm(&production, MEM01).await;
    assert_eq!(
        disks(&production, &mem01).await.len(),
        2,
        "the VM keeps both"
    );
}

#[tokio::test]
async fn with_no_sr_to_copy_to_only_rolling_snapshots_are_taken() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let production = pools.client("production").await;
    let recovery = pools.client("recovery").await;
    let nothing = dr(&[WEB01], &[DR_SR], r#"{ "": { copyRetention: 0 } }"#, "");
    let (report, events) = harness.run(&nothing, START).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    assert!(
        events.iter().any(|e| e["event"] == "task.warning"
            && e["message"] == "nothing to do: no SR receives a copy and no snapshot is kept"),
        "said"
    );
    assert!(!events.iter().any(|e| e["message"] == "snapshot"));
    assert!(snapshots_of(&production, WEB01).await.is_empty());

    let snapshots_only = dr(
        &[WEB01],
        &[DR_SR],
        r#"{ "": { copyRetention: 0, snapshotRetention: 1 } }"#,
        "",
    );
    let (report, events) = harness.run(&snapshots_only, START + DAY).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    assert!(
        !events.iter().any(|e| e["message"] == "export"),
        "no export"
    );
    assert_eq!(snapshots_of(&production, WEB01).await.len(), 1);
    assert!(lifeboat_e2e::vms(&recovery).await.is_empty());
}

#[tokio::test]
async fn migration_is_blocked_during_the_job_and_a_migrating_vm_is_refused() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let production = pools.client("production").await;
    let (web01, _) = vm(&production, WEB01).await;
    production
        .set_map_entry(
            &web01,
            "blocked_operations",
            "pool_migrate",
            "the user's own",
        )
        .await
        .unwrap();
    pools.arm(
        "production",
        Fault::Latency {
            method: Some("VM.snapshot".into()),
            millis: 1_500,
        },
    );
    let job = dr(&[WEB01], &[DR_SR], "{}", "");
    let running = harness.run(&job, START);
    let watch = async {
        loop {
            let (_, record) = vm(&production, WEB01).await;
            if let Some(reason) = record.blocked_operations.get("migrate_send") {
                return (reason.clone(), record.blocked_operations.clone());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let watch = async {
        tokio::time::timeout(Duration::from_secs(60), watch)
            .await
            .expect("the migration block shows during the run")
    };
    let ((report, _), (reason, during)) = tokio::join!(running, watch);
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    assert_eq!(reason, "VM migration is blocked during backup");
    assert_eq!(
        during["pool_migrate"], "the user's own",
        "the user's block stays"
    );
    let (_, after) = vm(&production, WEB01).await;
    assert!(
        !after.blocked_operations.contains_key("migrate_send"),
        "lifted"
    );
    assert_eq!(after.blocked_operations["pool_migrate"], "the user's own");
    assert!(
        after
            .allowed_operations
            .contains(&"migrate_send".to_owned())
    );

    pools.clear_faults("production");
    pools.arm(
        "production",
        Fault::Busy {
            vm: WEB01.into(),
            operation: "migrate_send".into(),
        },
    );
    let (report, _) = harness.run(&job, START + DAY).await;
    assert_eq!(report.status, RunStatus::Failure);
    let error = report.steps[0].items[0].error.as_deref().unwrap();
    assert!(
        error.contains("is being migrated (migrate_send)"),
        "{error}"
    );
    let recovery = pools.client("recovery").await;
    assert_eq!(replicas(&recovery, WEB01, NIGHTLY, DR_SR).await.len(), 1);
}

#[tokio::test]
async fn a_snapshot_left_under_the_temporary_name_is_removed() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let production = pools.client("production").await;
    let (web01, _) = vm(&production, WEB01).await;
    let leftover = production
        .vm_snapshot(&web01, "xo-backup-temp-snapshot-name", &[])
        .await
        .unwrap();
    let users = production
        .vm_snapshot(&web01, "before the upgrade", &[])
        .await
        .unwrap();
    let (report, _) = harness.run(&dr(&[WEB01], &[DR_SR], "{}", ""), START).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    assert!(production.get_record(&leftover).await.is_err(), "removed");
    assert!(
        production.get_record(&users).await.is_ok(),
        "the user's stays"
    );
}

#[tokio::test]
async fn rolling_snapshots_are_counted_per_schedule() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let settings = format!(
        r#"{{ "": {{ copyRetention: 1, snapshotRetention: 2 }}, "{WEEKLY}": {{ snapshotRetention: 1 }} }}"#
    );
    let job = dr_with_weekly(&[WEB01], &[DR_SR], &settings);
    for day in 0..3 {
        let (report, _) = harness
            .run_schedule(&job, START + day * DAY, Some("nightly"))
            .await;
        assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    }
    for week in 0..2 {
        let (report, _) = harness
            .run_schedule(&job, START + (10 + week) * DAY, Some("weekly"))
            .await;
        assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    }
    let production = pools.client("production").await;
    let snapshots = snapshots_of(&production, WEB01).await;
    let per_schedule = |schedule: &str| -> Vec<u64> {
        let mut days: Vec<u64> = snapshots
            .iter()
            .filter(|(_, s)| mark(&s.other_config, "xo:backup:schedule") == Some(schedule))
            .map(|(_, s)| (stamp(s) - START) / DAY)
            .collect();
        days.sort_unstable();
        days
    };
    assert_eq!(
        per_schedule(NIGHTLY),
        [1, 2],
        "nightly keeps its two newest"
    );
    assert_eq!(per_schedule(WEEKLY), [11], "weekly keeps one");
    assert_eq!(snapshots.len(), 3);
}

#[tokio::test]
async fn each_copy_is_stamped_with_the_time_after_its_own_snapshot() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let job = dr(
        &[WEB01, DB01],
        &[DR_SR],
        r#"{ "": { snapshotRetention: 1 } }"#,
        "",
    );
    // The run's clock is the real one here, the clock the pool stamps its snapshots with.
    let started = lifeboat_runtime::task_log::now_ms();
    let (report, _) = harness.run(&job, started).await;
    assert_eq!(report.status, RunStatus::Success, "{report:#?}");
    let production = pools.client("production").await;
    let recovery = pools.client("recovery").await;
    for source in [WEB01, DB01] {
        let (_, snapshot) = snapshots_of(&production, source).await.remove(0);
        let taken = lifeboat_e2e::parse_datetime(&snapshot.snapshot_time);
        let (_, replica) = replicas(&recovery, source, NIGHTLY, DR_SR).await.remove(0);
        assert_eq!(stamp(&replica), stamp(&snapshot), "{source}");
        assert!(
            stamp(&replica) / 1000 >= taken / 1000,
            "{source}: stamped {} before its snapshot, taken {taken}",
            stamp(&replica)
        );
    }
}

#[tokio::test]
async fn each_copy_is_stamped_after_its_snapshot_and_two_runs_in_one_second_get_two_names() {
    let pools = Pools::start(FIXTURE).await;
    let harness = Harness::new(&pools);
    let job = dr(&[WEB01], &[DR_SR], r#"{ "": { copyRetention: 2 } }"#, "");
    let (first, _) = harness.run(&job, START).await;
    assert_eq!(first.status, RunStatus::Success, "{first:#?}");
    let (second, _) = harness.run(&job, START).await;
    assert_eq!(second.status, RunStatus::Success, "{second:#?}");
    let recovery = pools.client("recovery").await;
    let made = replicas(&recovery, WEB01, NIGHTLY, DR_SR).await;
    assert_eq!(made.len(), 2);
    let stamps: Vec<u64> = made.iter().map(|(_, vm)| stamp(vm)).collect();
    assert_ne!(stamps[0] / 1000, stamps[1] / 1000, "distinct seconds");
    for (_, replica) in &made {
        assert_eq!(
            replica.name_label,
            format!("web01 - Nightly DR - ({})", filename_date(stamp(replica)))
        );
    }
    // Both runs start at START: the second copy's time is its own, after its snapshot.
    assert!(stamps.iter().all(|&s| (START..START + 60_000).contains(&s)));
}
