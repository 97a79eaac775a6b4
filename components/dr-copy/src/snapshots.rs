//! The job's snapshots of the source VM: found as Xen Orchestra finds them (by the job's and the
//! VM's marks on the snapshot disks of the VM's disks, and on the VM's snapshots), kept per schedule by that
//! schedule's `snapshotRetention`, the leftovers of interrupted runs removed, and a new one
//! taken and marked.

use std::collections::BTreeMap;

use lifeboat_sdk::dates;
use lifeboat_sdk::string_map;
use lifeboat_sdk::tasks;
use lifeboat_sdk::types::{Error, RunContext};
use lifeboat_sdk::xapi::{Pool, VdiChanges, VdiRecord, VmChanges, VmRecord};
use serde_json::{Map, Value, json};

use crate::marks;
use crate::params::{self, VmSettings};

/// The name Xen Orchestra (and this component) gives a snapshot until it is marked; a snapshot
/// still named so was left by a run that stopped in between.
pub const TEMPORARY_NAME: &str = "xo-backup-temp-snapshot-name";

/// One of the job's snapshots: the snapshot VMs and the disks that carry one schedule and one
/// `xo:backup:datetime`.
#[derive(Default)]
pub struct JobSnapshot {
    pub schedule: String,
    /// When it was taken (0 if its mark cannot be read, so that it sorts oldest).
    pub taken_ms: u64,
    pub vms: Vec<VmRecord>,
    /// Snapshot disks that no snapshot VM holds any more.
    pub orphan_disks: Vec<VdiRecord>,
}

/// The job's snapshots of `vm`, whose disks are `disks`.
pub fn of_vm(
    source: &Pool,
    vm: &VmRecord,
    disks: &[VdiRecord],
    context: &RunContext,
) -> Result<Vec<JobSnapshot>, Error> {
    let mut found: BTreeMap<(String, String), JobSnapshot> = BTreeMap::new();
    let mut seen: Vec<String> = Vec::new();
    // Xen Orchestra's test: the job's and the VM's marks, and not a copy of another object (a
    // snapshot a replication brought here).
    let is_jobs = |other_config: &[(String, String)]| {
        string_map::get(other_config, marks::JOB) == Some(context.job_id.as_str())
            && string_map::get(other_config, marks::VM) == Some(vm.uuid.as_str())
            && string_map::get(other_config, marks::COPY_OF).is_none()
    };
    let key = |other_config: &[(String, String)]| {
        let get = |k| {
            string_map::get(other_config, k)
                .unwrap_or_default()
                .to_owned()
        };
        (get(marks::SCHEDULE), get(marks::DATETIME))
    };
    for snapshot in &vm.snapshots {
        let record = source.vm(snapshot)?;
        if is_jobs(&record.other_config) && record.name_label != TEMPORARY_NAME {
            seen.push(record.opaque_ref.clone());
            entry(&mut found, key(&record.other_config))
                .vms
                .push(record);
        }
    }
    for disk in disks {
        for snapshot in &disk.snapshots {
            let record = source.vdi(snapshot)?;
            if !is_jobs(&record.other_config) || record.vdi_type == "cbt_metadata" {
                continue;
            }
            let group = entry(&mut found, key(&record.other_config));
            let mut held = false;
            for vbd in &record.vbds {
                let holder = source.vm(&source.vbd(vbd)?.vm)?;
                if !holder.is_a_snapshot {
                    continue;
                }
                held = true;
                if !seen.contains(&holder.opaque_ref) {
                    seen.push(holder.opaque_ref.clone());
                    group.vms.push(holder);
                }
            }
            if !held {
                group.orphan_disks.push(record);
            }
        }
    }
    Ok(found.into_values().collect())
}

fn entry(
    found: &mut BTreeMap<(String, String), JobSnapshot>,
    (schedule, datetime): (String, String),
) -> &mut JobSnapshot {
    let taken_ms = dates::parse_date(&datetime).unwrap_or(0);
    found
        .entry((schedule.clone(), datetime))
        .or_insert_with(|| JobSnapshot {
            schedule,
            taken_ms,
            ..JobSnapshot::default()
        })
}

/// Removes, schedule by schedule, the job's snapshots beyond that schedule's
/// `snapshotRetention` (the newest are kept); returns the snapshot VMs removed. A snapshot that
/// cannot be removed is a warning.
pub fn remove_expired(
    source: &Pool,
    vm_uuid: &str,
    mut snapshots: Vec<JobSnapshot>,
    settings: &Map<String, Value>,
) -> Result<Vec<String>, Error> {
    snapshots.sort_by_key(|s| s.taken_ms);
    let mut schedules: Vec<&str> = snapshots.iter().map(|s| s.schedule.as_str()).collect();
    schedules.sort_unstable();
    schedules.dedup();
    let mut expired = Vec::new();
    for schedule in schedules {
        let keep = params::snapshot_retention(settings, schedule, vm_uuid)?;
        let of_schedule: Vec<&JobSnapshot> = snapshots
            .iter()
            .filter(|s| s.schedule == schedule)
            .collect();
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        expired.extend(
            of_schedule
                .iter()
                .take(of_schedule.len().saturating_sub(keep))
                .copied(),
        );
    }
    let mut removed = Vec::new();
    for snapshot in expired {
        for vm in &snapshot.vms {
            if remove_vm(source, vm, "removing an old snapshot") {
                removed.push(vm.opaque_ref.clone());
            }
        }
        for disk in &snapshot.orphan_disks {
            let data = json!({ "vdi": disk.uuid, "name_label": disk.name_label });
            tasks::info("removing an old snapshot disk", Some(&data.to_string()));
            if let Err(error) = source.destroy_vdi(&disk.opaque_ref) {
                warn_kept(&disk.uuid, &error);
            }
        }
    }
    Ok(removed)
}

/// Removes the snapshots of `vm` that a run left unmarked under the temporary name.
pub fn remove_leftovers(source: &Pool, vm: &VmRecord) -> Result<(), Error> {
    for snapshot in &vm.snapshots {
        let record = source.vm(snapshot)?;
        if record.name_label == TEMPORARY_NAME {
            remove_vm(
                source,
                &record,
                "removing a snapshot an interrupted run left",
            );
        }
    }
    Ok(())
}

/// Destroys a snapshot with its disks; says whether it is gone.
fn remove_vm(source: &Pool, vm: &VmRecord, why: &str) -> bool {
    let data = json!({ "vm": vm.uuid, "name_label": vm.name_label });
    tasks::info(why, Some(&data.to_string()));
    match source.destroy_vm(&vm.opaque_ref, true) {
        Ok(()) => true,
        Err(error) => {
            warn_kept(&vm.uuid, &error);
            false
        }
    }
}

fn warn_kept(uuid: &str, error: &Error) {
    tasks::warning(
        &format!(
            "the snapshot {uuid} could not be removed: {}",
            error.message
        ),
        Some(&error.to_json().to_string()),
    );
}

/// Whether Xen Orchestra's full copy snapshots the VM (`_mustDoSnapshot`): on request, when
/// snapshots are kept, when disks are to be left out, or when the VM runs (and is not to be
/// copied offline). `was_running` is the VM's state before any offline shutdown.
pub fn needed(settings: &VmSettings, was_running: bool, left_out: &[VdiRecord]) -> bool {
    settings.unconditional_snapshot
        || settings.snapshot_retention != 0
        || !left_out.is_empty()
        || (was_running && !settings.offline_backup)
}

/// Takes the snapshot (or, with `checkpointSnapshot`, the checkpoint) of `vm` under the
/// temporary name, without the disks `left_out`. A halted VM cannot be checkpointed; it is
/// snapshotted, as Xen Orchestra does.
pub fn take(
    source: &Pool,
    vm: &VmRecord,
    settings: &VmSettings,
    left_out: &[VdiRecord],
) -> Result<String, Error> {
    let left_out_refs: Vec<String> = left_out.iter().map(|d| d.opaque_ref.clone()).collect();
    if !settings.checkpoint_snapshot {
        return source.snapshot_vm(&vm.opaque_ref, TEMPORARY_NAME, &left_out_refs);
    }
    match source.checkpoint_vm(&vm.opaque_ref, TEMPORARY_NAME) {
        Ok(checkpoint) => {
            drop_left_out_disks(source, &checkpoint, left_out)?;
            Ok(checkpoint)
        }
        Err(error) if error.code.as_deref() == Some("VM_BAD_POWER_STATE") => {
            source.snapshot_vm(&vm.opaque_ref, TEMPORARY_NAME, &left_out_refs)
        }
        Err(error) => Err(error),
    }
}

/// `VM.checkpoint` cannot leave disks out: the checkpoint's copies of the disks `left_out` are
/// destroyed before anything exports it.
fn drop_left_out_disks(
    source: &Pool,
    checkpoint: &str,
    left_out: &[VdiRecord],
) -> Result<(), Error> {
    let record = source.vm(checkpoint)?;
    for disk in crate::disks::of(source, &record)? {
        if left_out.iter().any(|d| d.opaque_ref == disk.snapshot_of) {
            source.destroy_vdi(&disk.opaque_ref)?;
        }
    }
    Ok(())
}

/// Marks a snapshot just taken as the job's, then names it: the job's marks stamped
/// `stamp_ms` on the snapshot VM and its disks (`xo:backup:sr` cleared, so that a copy of it
/// is never complete before its end), the template flag lifted (an export keeps it), and only
/// then the name, so that a run stopped in between leaves a snapshot still under the
/// temporary name. If any of it fails, the snapshot is destroyed.
pub fn mark(
    source: &Pool,
    snapshot: &str,
    vm: &VmRecord,
    context: &RunContext,
    stamp_ms: u64,
) -> Result<VmRecord, Error> {
    let marked = (|| {
        let mut changes: Vec<(String, Option<String>)> =
            marks::job_marks(context, &vm.uuid, stamp_ms)
                .into_iter()
                .map(|(key, value)| (key, Some(value)))
                .collect();
        changes.push((marks::SR.into(), None));
        source.update_vm(
            snapshot,
            &VmChanges {
                other_config: changes.clone(),
                is_a_template: Some(false),
                ..VmChanges::none()
            },
        )?;
        let record = source.vm(snapshot)?;
        for disk in crate::disks::of(source, &record)? {
            source.update_vdi(
                &disk.opaque_ref,
                &VdiChanges {
                    other_config: changes.clone(),
                    ..VdiChanges::none()
                },
            )?;
        }
        source.update_vm(
            snapshot,
            &VmChanges {
                name_label: Some(marks::snapshot_name(&vm.name_label, &context.job_name)),
                ..VmChanges::none()
            },
        )?;
        source.vm(snapshot)
    })();
    if marked.is_err()
        && let Err(error) = source.destroy_vm(snapshot, true)
    {
        tasks::warning(
            &format!(
                "the snapshot that could not be marked could not be removed either: {}",
                error.message
            ),
            Some(&error.to_json().to_string()),
        );
    }
    marked
}
